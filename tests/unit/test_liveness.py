"""The liveness decision on camera faces (and the REST edge's, shared/liveness.py): which checks
a camera's spoofDetectorResourceIds ask for, the camera's thresholds, and the event shapes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest

from services.camera_ingest import analysis
from services.camera_ingest import payloads as p
from services.camera_ingest.config import new_camera
from services.camera_ingest.session import AnalysisSettings
from services.camera_ingest.session import spoof_check as stream_spoof_check
from shared.errors import ValidationFailed
from shared.liveness import liveness_wanted, spoof_result
from shared.messages import events as ev
from shared.messages import faces as wire
from shared.messages.cameras import Camera, CameraCreateRequest
from shared.messages.identification import SpoofCheckConfig

LIVENESS_IDS = [f"liveness_{k}_{u}_remote" for k in ("distant", "nearby") for u in ("cpu", "gpu", "any")]


def spoof_check(extracted: wire.ExtractedFace, camera: Camera) -> ev.SpoofCheck | None:
    """A camera face's check, with the camera's settings as its stream's session reads them."""
    return stream_spoof_check(extracted, AnalysisSettings.of_camera(camera))


def camera(ids: list[str] | None, **thresholds: float) -> Camera:
    body: dict[str, Any] = {"name": "door", "source": "rtsp://127.0.0.1/cam"}
    if ids is not None:
        body["spoofDetectorResourceIds"] = ids
    if thresholds:
        body["spoofDetectorConfig"] = thresholds
    return new_camera(uuid.uuid4(), msgspec.convert(body, CameraCreateRequest))


def extracted(distant: float | None = None, nearby: float | None = None) -> wire.ExtractedFace:
    return wire.ExtractedFace(distant_liveness=distant, nearby_liveness=nearby)


@pytest.mark.parametrize(
    ("ids", "wanted"),
    [
        (["none"], (False, False)),
        (["liveness_distant_cpu_remote"], (True, False)),
        (["liveness_nearby_cpu_remote"], (False, True)),
        (["Liveness_Distant_GPU_Remote", "liveness_nearby_cpu", "none"], (True, True)),  # any case, _remote or not
        ([], (False, False)),
    ],
)
def test_resource_ids_ask_for_distant_and_nearby_liveness(ids: list[str], wanted: tuple[bool, bool]) -> None:
    assert liveness_wanted(ids) == wanted
    assert analysis.features(*wanted).distant_liveness is wanted[0]
    assert analysis.features(*wanted).nearby_liveness is wanted[1]
    assert analysis.features(*wanted).template


def test_an_unknown_resource_id_is_a_400_at_the_edge_and_ignored_on_a_camera() -> None:
    for unknown in ("cpu", "liveness_distant_gpu_local", "liveness_any_remote"):
        with pytest.raises(ValidationFailed) as refused:
            liveness_wanted(["none", unknown])
        assert refused.value.errors == {
            "spoofDetectorResourceIds[1]": [f"'{unknown}' is not one of none, " + ", ".join(LIVENESS_IDS)]
        }
    # A camera stored before ids were checked keeps running as it did.
    assert liveness_wanted(["cpu", "liveness_distant_gpu_local"], strict=False) == (True, False)


def test_a_camera_without_liveness_gives_no_spoof_check() -> None:
    assert spoof_check(extracted(99.0, 99.0), camera(None)) is None  # SmartFace's default: ["none"]
    assert spoof_check(extracted(99.0, 99.0), camera(["none"])) is None


def test_camera_distant_liveness_uses_the_cameras_threshold_default_90() -> None:
    live = spoof_check(extracted(distant=95.0), camera(["liveness_distant_cpu_remote"]))
    assert live is not None and live.performed and live.passed
    assert live.distant_liveness_spoof_check == ev.LivenessSpoofCheck(performed=True, passed=True, score=95.0)
    assert live.nearby_liveness_spoof_check is None  # not asked: null in the event
    spoof = spoof_check(extracted(distant=80.0), camera(["liveness_distant_cpu_remote"]))
    assert spoof is not None and spoof.performed and not spoof.passed
    lenient = camera(["liveness_distant_cpu_remote"], distantLivenessScoreThreshold=75)
    assert lenient.spoof_detector_config.nearby_liveness_score_threshold == 90  # the rest keeps its default
    checked = spoof_check(extracted(distant=80.0), lenient)
    assert checked is not None and checked.passed


def test_every_asked_check_must_pass_and_an_unscored_one_is_not_performed() -> None:
    both = camera(["liveness_distant_cpu_remote", "liveness_nearby_cpu_remote"], nearbyLivenessScoreThreshold=50)
    one_fails = spoof_check(extracted(distant=95.0, nearby=40.0), both)
    assert one_fails is not None and one_fails.performed and not one_fails.passed
    both_pass = spoof_check(extracted(distant=95.0, nearby=60.0), both)
    assert both_pass is not None and both_pass.passed
    unscored = spoof_check(extracted(distant=None), camera(["liveness_distant_cpu_remote"]))
    assert unscored is not None and not unscored.performed and not unscored.passed
    # The REST answer: the same decision, both checks always present.
    rest = spoof_result(extracted(distant=95.0), SpoofCheckConfig(), True, False)
    assert rest.passed and rest.nearby_liveness_spoof_check.performed is False


def test_the_liveness_and_stored_match_payloads() -> None:
    check = spoof_check(extracted(distant=95.0), camera(["liveness_distant_cpu_remote"]))
    frame = p.FrameRef(str(uuid.uuid4()), str(uuid.uuid4()), datetime.now(UTC), 0, 10, 10, None)
    face = p.SeenFace(
        id=str(uuid.uuid4()), frame=frame, analysed=None, fields={}, processed_at=datetime.now(UTC), spoof=check,  # type: ignore[arg-type]
    )  # fmt: skip
    event = p.liveness_result(face, "t1")
    assert event is not None
    body = msgspec.json.decode(msgspec.json.encode(event))
    assert body == {
        "faceId": face.id, "trackletId": "t1", "streamId": face.frame.camera_id, "performed": True, "passed": True,
        "distantLivenessSpoofCheck": {"performed": True, "passed": True, "score": 95.0},
        "nearbyLivenessSpoofCheck": None,
    }  # fmt: skip
    face.spoof = None
    assert p.liveness_result(face, "t1") is None
    assert set(ev.MatchResultInsert.__struct_fields__) <= set(ev.MatchResultNotification.__struct_fields__)
