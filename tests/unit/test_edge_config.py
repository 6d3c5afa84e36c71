"""An edge stream's configuration from SmartFace's requests: defaults, updates field by field,
and what the fields' own ranges cannot check."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from services.camera_ingest.edge_config import new_edge_stream, updated_edge_stream
from services.camera_ingest.edge_sync import digest
from shared import subjects
from shared.errors import ValidationFailed
from shared.messages.edge_streams import (
    EdgeStreamCreateRequest,
    EdgeStreamUpdateRequest,
    EdgeWatchlistsMessage,
    SyncedWatchlist,
)


def create(**fields: object) -> EdgeStreamCreateRequest:
    return msgspec.json.decode(msgspec.json.encode({"name": "n", "clientId": "c-1", **fields}),
                               type=EdgeStreamCreateRequest)  # fmt: skip


def test_a_create_gets_smartfaces_defaults_and_keeps_the_licence_apart() -> None:
    stream, licence = new_edge_stream(uuid.uuid4(), create(settings={"license": {"data": "bGljZW5jZQ=="}}))
    assert licence == b"licence"
    s = stream.settings
    assert (s.face_detection.min_face_size, s.face_detection.max_face_size, s.face_detection.max_detections) == (
        20, 200, 10,
    )  # fmt: skip
    assert s.face_detection.crop.max_size == 50 and s.face_detection.crop.size_extension == 2
    assert s.pedestrian_detection.tracking.input_threshold == 5000 and s.palm_detection.crop.max_size == 288
    assert s.messaging.interval == 250 and s.messaging.strategy == "OnNewAndInterval"
    assert s.face_liveness_passive.strategy == "OnEachExtractedFace" and s.face_liveness_passive.conditions == []
    assert stream.pedestrian_save_strategy == "Balanced" and stream.spoof_detector_resource_ids == ["none"]
    assert "license" not in msgspec.to_builtins(stream)["settings"]


def test_an_update_keeps_what_it_leaves_out_field_by_field() -> None:
    stream, _ = new_edge_stream(uuid.uuid4(), create(settings={"messaging": {"interval": 100}}))
    body = {"id": str(stream.id), "clientId": "c-2", "enabled": True, "name": "m", "templateGeneratorResourceId": "cpu",
            "faceSaveStrategy": "All", "settings": {"faceDetection": {"tracking": {"stability": 50}}}}  # fmt: skip
    req = msgspec.json.decode(msgspec.json.encode(body), type=EdgeStreamUpdateRequest)
    updated, licence = updated_edge_stream(stream, req)
    assert licence is None and updated.client_id == "c-2" and updated.enabled
    assert updated.settings.messaging.interval == 100
    assert updated.settings.face_detection.tracking.stability == 50
    assert updated.settings.face_detection.tracking.input_threshold == 1000


@pytest.mark.parametrize("client_id", ["a/b", "a.b", "+", "#", "a b", "-lead", ""])
def test_a_client_id_is_one_topic_level(client_id: str) -> None:
    with pytest.raises(msgspec.ValidationError):
        create(clientId=client_id)


def test_an_empty_face_size_range_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        new_edge_stream(uuid.uuid4(), create(settings={"faceDetection": {"minFaceSize": 300}}))
    assert caught.value.errors and "settings.faceDetection.minFaceSize" in caught.value.errors


def test_topics_map_to_nats_subjects() -> None:
    assert subjects.edge_topic("door-1", "settings") == "facegate/edge/door-1/settings"
    assert subjects.edge_subject("door-1", "results") == "facegate.edge.door-1.results"


def test_a_watchlists_digest_ignores_the_revision() -> None:
    message = EdgeWatchlistsMessage("All", [SyncedWatchlist("w", "W", "W", 40, "#fff")], [], revision=1)
    later = msgspec.structs.replace(message, revision=9)
    assert digest(msgspec.json.encode(message)) == digest(msgspec.json.encode(later))
    other = msgspec.structs.replace(message, watchlist_sync_option="Selected")
    assert digest(msgspec.json.encode(message)) != digest(msgspec.json.encode(other))
