"""docs/asyncapi.yaml is generated from the event Structs and lists every camera event."""

from __future__ import annotations

import yaml

from shared.messages import asyncapi
from shared.messages import events as ev


def test_document_is_current() -> None:
    assert asyncapi.DOCUMENT.read_text() == asyncapi.render(), "run: python -m shared.messages.asyncapi"


def test_every_camera_event_has_a_channel_with_its_smartface_topic() -> None:
    doc = yaml.safe_load(asyncapi.DOCUMENT.read_text())
    addresses = {c["address"]: name for name, c in doc["channels"].items()}
    for entity, verb, topic in ev.CAMERA_EVENT_KINDS:
        name = addresses[f"facegate.evt.{entity}.{verb}.{{cameraId}}"]
        header = doc["components"]["messages"][name]["headers"]["properties"][ev.TOPIC_HEADER]
        assert header["const"] == topic
    match = doc["components"]["schemas"]["MatchResultNotification"]["properties"]
    assert {"watchlistMemberId", "score", "trackletId", "faceId", "streamId", "cropImage"} <= set(match)
