"""Cameras CRUD through the real gateway, NATS, camera_ingest and Postgres."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import nats
import pytest

from services.gateway.compatibility import SMARTFACE_OPENAPI
from tests.support import REPO, Cluster, assert_problem, truncate, wait_until

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SOURCE = "rtsp://127.0.0.1:9/nothing"


def smartface_fields(schema: str) -> set[str]:
    doc = json.loads(SMARTFACE_OPENAPI.read_text())
    return set(doc["components"]["schemas"][schema]["properties"])


def ensure_ingest(cluster: Cluster) -> None:
    """Start camera_ingest unless the session cluster already runs it."""
    if ("camera_ingest", 0) not in cluster.services.procs:
        cluster.services.start("camera_ingest", 0)
    with cluster.http() as client:
        wait_until(lambda: client.get("/api/v1/Cameras").status_code == 200, 60, "camera_ingest")


@pytest.fixture(scope="module")
def ingest(cluster: Cluster) -> Iterator[Cluster]:
    started_here = ("camera_ingest", 0) not in cluster.services.procs
    ensure_ingest(cluster)
    yield cluster
    if started_here:
        cluster.services.stop_one("camera_ingest", 0)


@pytest.fixture
def api(ingest: Cluster) -> Iterator[httpx.Client]:
    truncate(ingest.servers.database_url, ("cameras",))
    with ingest.http() as client:
        yield client


def create(api: httpx.Client, **extra: object) -> dict[str, Any]:
    r = api.post("/api/v1/Cameras", json={"name": "Entrance", "source": SOURCE, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


FULL: dict[str, Any] = {
    "name": "Lobby",
    "source": SOURCE,
    "enabled": False,
    "faceDetectorConfig": {"minFaceSize": 40, "maxFaceSize": 500, "maxFaces": 5, "confidenceThreshold": 600},
    "faceDetectorResourceId": "gpu",
    "pedestrianDetectorConfig": {
        "minPedestrianSize": 90.5, "maxPedestrianSize": 1500, "maxPedestrians": 3, "confidenceThreshold": 3000,
    },
    "palmDetectorConfig": {"minPalmSize": 100, "maxPalmSize": 900, "maxPalms": 2, "confidenceThreshold": 4000},
    "pedestrianDetectorResourceId": "cpu",
    "pedestrianExtractorResourceId": "cpu",
    "templateGeneratorResourceId": "gpu",
    "palmDetectorResourceId": "cpu",
    "palmTemplateGeneratorResourceId": "cpu",
    "redetectionTime": 200,
    "templateGenerationTime": 300,
    "trackMotionOptimization": "track.motion_optimization.disabled",
    "trackSpeedAccuracyMode": "fast",
    "faceSaveStrategy": "BestFace",
    "pedestrianSaveStrategy": "First",
    "maskImagePath": "/masks/lobby.png",
    "saveFrameImageData": False,
    "imageQuality": 75,
    "mpeG1PreviewEnabled": False,
    "mpeG1PreviewPort": 31234,
    "mpeG1VideoBitrate": 300000,
    "previewMaxDimension": 800,
    "serviceName": "lobby-svc",
    "spoofDetectorResourceIds": ["liveness_distant_cpu"],
    "palmSpoofDetectorResourceIds": ["liveness_any_remote"],
    "spoofDetectorConfig": {
        "externalScoreThreshold": 10, "distantLivenessScoreThreshold": 80, "nearbyLivenessScoreThreshold": 70,
        "distantLivenessConditions": "strict", "nearbyLivenessConditions": "relaxed",
    },
    "palmSpoofDetectorConfig": {"livenessScoreThreshold": 60},
    "previewAttributesConfig": {
        "textFontSize": 14, "order": True, "size": True, "quality": True, "yawAngle": True, "pitchAngle": True,
        "rollAngle": True, "watchlistMemberId": True, "watchlistMemberName": False, "watchlistName": True,
        "matchingScore": True, "age": False, "gender": False, "templateQuality": True, "faceMaskStatus": True,
        "faceMaskConfidence": True, "sharpness": True, "brightness": True, "tintedGlasses": True,
        "heavyFrame": True, "glassStatus": True,
    },
    "objectDetectorResourceId": "sfe_object_cpu_remote",
    "objectSaveStrategy": "All",
    "objectDetectorConfig": {
        "minObjectSize": 50, "maxObjectSize": 1000, "maxObjects": 7, "confidenceThreshold": 6000,
        "objectTypesConfiguration": {"detectCar": True, "detectDog": True},
    },
}


def test_create_with_defaults_answers_every_smartface_field(api: httpx.Client) -> None:
    cam = create(api)
    assert set(cam) == smartface_fields("Camera")
    assert GUID.match(cam["id"]) and cam["name"] == "Entrance" and cam["source"] == SOURCE
    assert cam["enabled"] is False
    assert cam["redetectionTime"] == 500 and cam["templateGenerationTime"] == 500
    assert cam["faceSaveStrategy"] == "FirstFace, BestFace" and cam["imageQuality"] == 90
    assert cam["previewMaxDimension"] == 640 and cam["mpeG1VideoBitrate"] == 450000
    face_defaults = {"minFaceSize": 35, "maxFaceSize": 600, "maxFaces": 20, "confidenceThreshold": 450}
    assert cam["faceDetectorConfig"] == face_defaults
    assert cam["spoofDetectorResourceIds"] == ["none"] and cam["faceDetectorResourceId"] == "cpu"
    assert cam["spoofDetectorConfig"]["distantLivenessScoreThreshold"] == 90
    assert cam["palmSpoofDetectorConfig"] == {"livenessScoreThreshold": 85}
    assert cam["pedestrianSaveStrategy"] == "Best" and cam["maskImagePath"] is None
    assert cam["mpeG1PreviewPort"] >= 30000  # assigned, each camera its own
    assert cam["objectDetectorConfig"]["objectTypesConfiguration"]["detectCar"] is False
    assert api.get(f"/api/v1/Cameras/{cam['id']}").json() == cam
    # null means "the default", as in SmartFace
    nulls = create(api, enabled=None, redetectionTime=None, faceDetectorConfig={"maxFaces": None})
    assert nulls["enabled"] is False and nulls["redetectionTime"] == 500
    assert nulls["faceDetectorConfig"]["maxFaces"] == 20
    assert nulls["mpeG1PreviewPort"] != cam["mpeG1PreviewPort"]


def test_every_field_is_stored_and_echoed(api: httpx.Client) -> None:
    cam = create(api, **FULL)
    expected = {**FULL, "id": cam["id"]}
    objects = dict(expected["objectDetectorConfig"])
    objects["objectTypesConfiguration"] = {
        **{k: False for k in smartface_fields("ObjectTypesForDetection")}, "detectCar": True, "detectDog": True,
    }
    expected["objectDetectorConfig"] = objects
    assert cam == expected
    assert api.get(f"/api/v1/Cameras/{cam['id']}").json() == expected


def test_partial_nested_configs_keep_their_other_defaults(api: httpx.Client) -> None:
    cam = create(api, spoofDetectorConfig={"nearbyLivenessScoreThreshold": 50}, previewAttributesConfig={"age": False})
    assert cam["spoofDetectorConfig"]["nearbyLivenessScoreThreshold"] == 50
    assert cam["spoofDetectorConfig"]["distantLivenessScoreThreshold"] == 90
    assert cam["previewAttributesConfig"]["age"] is False and cam["previewAttributesConfig"]["gender"] is True


def test_list_is_a_plain_array_in_creation_order_and_delete(api: httpx.Client) -> None:
    assert api.get("/api/v1/Cameras").json() == []
    ids = [create(api, name=f"C{i}")["id"] for i in range(3)]
    listed = api.get("/api/v1/Cameras")
    assert listed.status_code == 200 and isinstance(listed.json(), list)
    assert [c["id"] for c in listed.json()] == ids
    r = api.delete(f"/api/v1/Cameras/{ids[1]}")
    assert r.status_code == 204 and r.content == b""
    assert [c["id"] for c in api.get("/api/v1/Cameras").json()] == [ids[0], ids[2]]
    assert_problem(api.get(f"/api/v1/Cameras/{ids[1]}"), 404)
    assert_problem(api.delete(f"/api/v1/Cameras/{ids[1]}"), 404)


def update_body(cam: dict[str, Any], **changes: object) -> dict[str, Any]:
    required = (
        "id", "name", "source", "enabled", "faceDetectorConfig", "faceDetectorResourceId",
        "templateGeneratorResourceId", "redetectionTime", "templateGenerationTime", "trackMotionOptimization",
        "faceSaveStrategy", "maskImagePath", "saveFrameImageData", "imageQuality", "mpeG1PreviewEnabled",
        "mpeG1PreviewPort", "mpeG1VideoBitrate", "previewMaxDimension",
    )
    return {**{k: cam[k] for k in required}, **changes}


def test_put_replaces_and_keeps_what_it_leaves_out(api: httpx.Client) -> None:
    cam = create(api, **FULL)
    body = update_body(cam, name="Lobby 2", redetectionTime=1000, maskImagePath=None,
                       spoofDetectorConfig={"externalScoreThreshold": 5})
    r = api.put("/api/v1/Cameras", json=body)
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["name"] == "Lobby 2" and updated["redetectionTime"] == 1000 and updated["maskImagePath"] is None
    assert updated["spoofDetectorConfig"]["externalScoreThreshold"] == 5
    assert updated["spoofDetectorConfig"]["nearbyLivenessConditions"] == "relaxed"  # kept
    assert updated["palmDetectorConfig"] == FULL["palmDetectorConfig"]  # left out: kept
    assert updated["serviceName"] == "lobby-svc"  # not in the update request at all
    assert api.get(f"/api/v1/Cameras/{cam['id']}").json() == updated


def test_put_unknown_camera_is_404(api: httpx.Client) -> None:
    cam = create(api)
    missing = str(uuid.uuid4())
    problem = assert_problem(api.put("/api/v1/Cameras", json=update_body(cam, id=missing)), 404)
    assert missing in problem["detail"]


def test_a_taken_preview_port_is_409_on_create_400_on_update(api: httpx.Client) -> None:
    first = create(api, mpeG1PreviewPort=32000)
    assert_problem(api.post("/api/v1/Cameras", json={"name": "b", "source": SOURCE, "mpeG1PreviewPort": 32000}), 409)
    second = create(api, mpeG1PreviewPort=32001)
    # PUT declares no 409 in SmartFace's document: its 400 instead.
    problem = assert_problem(api.put("/api/v1/Cameras", json=update_body(second, mpeG1PreviewPort=32000)), 400)
    assert "32000" in problem["detail"]
    assert api.get(f"/api/v1/Cameras/{first['id']}").json()["mpeG1PreviewPort"] == 32000


BAD_CREATE = [
    ({"source": SOURCE}, "name"),
    ({"name": "", "source": SOURCE}, "name"),
    ({"name": "x" * 201, "source": SOURCE}, "name"),
    ({"name": "a\u0000", "source": SOURCE}, "name"),
    ({"name": 5, "source": SOURCE}, "name"),
    ({"name": "a"}, "source"),
    ({"name": "a", "source": ""}, "source"),
    ({"name": "a", "source": "rtsp://x\u0000"}, "source"),
    ({"name": "a", "source": SOURCE, "enabled": "yes"}, "enabled"),
    ({"name": "a", "source": SOURCE, "redetectionTime": 0}, "redetectionTime"),
    ({"name": "a", "source": SOURCE, "redetectionTime": -5}, "redetectionTime"),
    ({"name": "a", "source": SOURCE, "redetectionTime": "fast"}, "redetectionTime"),
    ({"name": "a", "source": SOURCE, "templateGenerationTime": 2**31}, "templateGenerationTime"),
    ({"name": "a", "source": SOURCE, "imageQuality": 101}, "imageQuality"),
    ({"name": "a", "source": SOURCE, "imageQuality": 0}, "imageQuality"),
    ({"name": "a", "source": SOURCE, "mpeG1PreviewPort": 70000}, "mpeG1PreviewPort"),
    ({"name": "a", "source": SOURCE, "mpeG1VideoBitrate": 0}, "mpeG1VideoBitrate"),
    ({"name": "a", "source": SOURCE, "previewMaxDimension": 0}, "previewMaxDimension"),
    ({"name": "a", "source": SOURCE, "faceDetectorConfig": {"confidenceThreshold": 10001}}, "faceDetectorConfig"),
    ({"name": "a", "source": SOURCE, "faceDetectorConfig": {"maxFaces": -1}}, "faceDetectorConfig"),
    ({"name": "a", "source": SOURCE, "faceDetectorConfig": "big"}, "faceDetectorConfig"),
    ({"name": "a", "source": SOURCE, "spoofDetectorConfig": {"distantLivenessScoreThreshold": 101}},
     "spoofDetectorConfig"),
    ({"name": "a", "source": SOURCE, "spoofDetectorResourceIds": "none"}, "spoofDetectorResourceIds"),
    ({"name": "a", "source": SOURCE, "previewAttributesConfig": {"age": "yes"}}, "previewAttributesConfig"),
    ({"name": "a", "source": SOURCE, "objectDetectorConfig": {"objectTypesConfiguration": {"detectCar": "maybe"}}},
     "objectDetectorConfig"),
    ({"name": "a", "source": SOURCE, "pedestrianDetectorConfig": {"minPedestrianSize": -1}},
     "pedestrianDetectorConfig"),
    # Values SmartFace does not accept on a camera (its lists: shared/smartface_values.py).
    ({"name": "a", "source": SOURCE, "faceDetectorResourceId": "tpu"}, "faceDetectorResourceId"),
    ({"name": "a", "source": SOURCE, "templateGeneratorResourceId": "none"}, "templateGeneratorResourceId"),
    ({"name": "a", "source": SOURCE, "spoofDetectorResourceIds": ["none", "liveness_any_remote"]},
     "spoofDetectorResourceIds[1]"),
    ({"name": "a", "source": SOURCE, "objectDetectorResourceId": "cpu"}, "objectDetectorResourceId"),
    ({"name": "a", "source": SOURCE, "palmSpoofDetectorResourceIds": ["palm_liveness_cpu"]},
     "palmSpoofDetectorResourceIds[0]"),
    ({"name": "a", "source": SOURCE, "faceSaveStrategy": "Sometimes"}, "faceSaveStrategy"),
    ({"name": "a", "source": SOURCE, "pedestrianSaveStrategy": "MatchedOnly"}, "pedestrianSaveStrategy"),
]


@pytest.mark.parametrize(("body", "field"), BAD_CREATE)
def test_bad_create_bodies_are_400_with_field(api: httpx.Client, body: dict[str, object], field: str) -> None:
    problem = assert_problem(api.post("/api/v1/Cameras", json=body), 400)
    assert any(field in key for key in problem["errors"]), problem
    assert api.get("/api/v1/Cameras").json() == []


def test_bad_update_bodies_are_400(api: httpx.Client) -> None:
    cam = create(api)
    good = update_body(cam)
    for missing in ("id", "name", "source", "enabled", "faceDetectorConfig", "redetectionTime", "maskImagePath"):
        body = {k: v for k, v in good.items() if k != missing}
        problem = assert_problem(api.put("/api/v1/Cameras", json=body), 400)
        assert missing in problem["errors"], (missing, problem)
    for field, value in [("id", "not-a-guid"), ("id", 5), ("imageQuality", 1000), ("name", ""),
                         ("faceDetectorConfig", {"maxFaces": 1}), ("redetectionTime", 0)]:
        assert_problem(api.put("/api/v1/Cameras", json={**good, field: value}), 400)
    problem = assert_problem(api.put("/api/v1/Cameras", json={**good, "faceSaveStrategy": "Every"}), 400)
    assert problem["detail"] == (
        "faceSaveStrategy 'Every': not a value SmartFace accepts here; use one of Balanced, None, All, MatchedOnly, "
        "FirstFace (alone or joined by ', '), BestFace (alone or joined by ', ')."
    ), problem


def test_every_value_smartface_lists_for_a_camera_is_accepted_and_kept_as_sent(api: httpx.Client) -> None:
    for face, template, strategy in (("none", "any", "Balanced"), ("accurate_any_remote", "gpu", "matchedonly"),
                                     ("GPU_REMOTE", "cpu", "None"), ("cpu", "cpu", "firstface")):  # fmt: skip
        cam = create(
            api, faceDetectorResourceId=face, templateGeneratorResourceId=template, faceSaveStrategy=strategy,
            spoofDetectorResourceIds=["liveness_nearby_gpu_remote", "Liveness_Distant_Any_Remote"],
            pedestrianDetectorResourceId="sfe_object_any_remote", pedestrianExtractorResourceId="any",
            objectDetectorResourceId="sfe_object_gpu_remote", objectSaveStrategy="MatchedOnly",
            pedestrianSaveStrategy="None", palmDetectorResourceId="none", palmSpoofDetectorResourceIds=["none"],
        )  # fmt: skip
        assert (cam["faceDetectorResourceId"], cam["faceSaveStrategy"]) == (face, strategy)
        assert cam["spoofDetectorResourceIds"] == ["liveness_nearby_gpu_remote", "Liveness_Distant_Any_Remote"]
    assert api.get(f"/api/v1/Cameras/{cam['id']}").json() == cam


def test_not_json_and_wrong_shapes_are_400(api: httpx.Client) -> None:
    json_type = {"content-type": "application/json"}
    assert_problem(api.post("/api/v1/Cameras", content=b"{not json", headers=json_type), 400)
    assert_problem(api.post("/api/v1/Cameras", json=[1, 2]), 400)
    assert_problem(api.post("/api/v1/Cameras", json=None), 400)
    assert_problem(api.put("/api/v1/Cameras", content=b"[", headers=json_type), 400)


def test_ids_that_are_not_guids_are_404_like_unknown_guids(api: httpx.Client) -> None:
    """SmartFace declares only 404 there; its addition Status keeps the 400."""
    for method in ("GET", "DELETE"):
        assert_problem(api.request(method, "/api/v1/Cameras/not-a-guid"), 404)
        assert_problem(api.request(method, "/api/v1/Cameras/a%00b"), 404)
        problem = assert_problem(api.request(method, f"/api/v1/Cameras/{uuid.uuid4()}"), 404)
        assert "does not exist" in problem["detail"]
    assert_problem(api.get("/api/v1/Cameras/not-a-guid/Status"), 400)
    assert_problem(api.get(f"/api/v1/Cameras/{uuid.uuid4()}/Status"), 404)


def test_status_of_a_disabled_camera(api: httpx.Client) -> None:
    cam = create(api)
    status = api.get(f"/api/v1/Cameras/{cam['id']}/Status").json()
    assert status["cameraId"] == cam["id"] and status["state"] == "disabled" and status["owner"] is None
    assert status["sampleIntervalMs"] == 500 and status["framesSampled"] == 0


def test_changes_are_published_as_camera_events(api: httpx.Client, ingest: Cluster) -> None:
    """The events that wake every camera_ingest replica, also there for outside subscribers."""

    async def run() -> list[tuple[str, dict[str, Any]]]:
        nc = await nats.connect(ingest.servers.nats_url)
        sub = await nc.subscribe("facegate.evt.camera.*.*")
        cam = await asyncio.to_thread(create, api, source="rtsp://admin:secret@127.0.0.1:9/nothing")
        await asyncio.to_thread(api.put, "/api/v1/Cameras", json=update_body(cam, name="renamed"))
        await asyncio.to_thread(api.delete, f"/api/v1/Cameras/{cam['id']}")
        got: list[tuple[str, dict[str, Any]]] = []
        with contextlib.suppress(nats.errors.TimeoutError):
            while len(got) < 3:
                msg = await sub.next_msg(timeout=5)
                assert b"secret" not in msg.data, msg.data  # outside subscribers get no credentials
                got.append((msg.subject, json.loads(msg.data)))
        await nc.close()
        return got

    events = asyncio.run(run())
    verbs = [subject.split(".")[3] for subject, _ in events]
    assert verbs == ["created", "updated", "deleted"], events
    camera_id = events[0][1]["id"]
    assert all(subject.endswith(camera_id) for subject, _ in events)
    assert events[1][1]["camera"]["name"] == "renamed" and events[2][1]["camera"] is None
    assert events[0][1]["camera"]["source"] == "rtsp://***@127.0.0.1:9/nothing"


class Subscriber:
    """deploy/examples/subscribe_events.py as an integrator runs it, its output collected."""

    SCRIPT = REPO / "deploy" / "examples" / "subscribe_events.py"

    def __init__(self, nats_url: str, *args: str) -> None:
        command = [sys.executable, str(self.SCRIPT), "--nats", nats_url, *args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(lambda: any(line.startswith("listening on") for line in self.lines), 30,
                   f"the example subscriber to listen: {self.lines}")  # fmt: skip

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(10)


def test_the_example_subscriber_prints_a_cameras_events_and_resumes(api: httpx.Client, ingest: Cluster) -> None:
    cam = create(api)
    other = create(api, name="Other")
    nats_url = ingest.servers.nats_url
    durable = f"example_{uuid.uuid4().hex[:8]}"
    first = Subscriber(nats_url, "--camera", cam["id"], "--durable", durable)
    try:
        assert api.put("/api/v1/Cameras", json=update_body(cam, name="renamed")).status_code == 200
        assert api.put("/api/v1/Cameras", json=update_body(other, name="other renamed")).status_code == 200
        wait_until(lambda: first.saw(f"facegate.evt.camera.updated.{cam['id']}"), 10, "the update printed")
        assert first.saw('"name": "renamed"') and not first.saw(other["id"])  # one camera's events only
    finally:
        assert first.stop() == 0, first.lines
    # Changed while nobody listened: the same durable name picks it up on the next run.
    assert api.delete(f"/api/v1/Cameras/{cam['id']}").status_code == 204
    second = Subscriber(nats_url, "--camera", cam["id"], "--durable", durable)
    try:
        wait_until(lambda: second.saw(f"facegate.evt.camera.deleted.{cam['id']}"), 10, "the missed delete printed")
        assert not second.saw(f"facegate.evt.camera.updated.{cam['id']}")  # acknowledged by the first run
    finally:
        assert second.stop() == 0, second.lines
