"""A live RTSP camera that asks for pedestrians (pedestrianDetectorResourceId) stores a person
passing with the face hidden as a pedestrian tracklet, and no face; pedestrianInserted is
announced. Real RTSP server, detector (faces, pedestrians) and camera_ingest."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from shared.embedded import free_port
from shared.messages.bodies import object_type_number
from tests.graphql_client import Subscriber, query
from tests.registry_images import sample
from tests.rtsp.conftest import RtspServer
from tests.rtsp.events import Event, wait_events
from tests.rtsp.test_pipeline import SEEN_TABLES, of, running_pipeline, watch
from tests.support import FACES, Cluster, truncate

pytestmark = pytest.mark.rtsp

PHOTO = "img1.jpg"  # a portrait: head and shoulders
BODY_TABLES = ("seen_pedestrians", "seen_objects", *SEEN_TABLES)


@pytest.fixture(scope="module")
def pipeline(gstreamer: None, cluster: Cluster) -> Iterator[Cluster]:
    with running_pipeline(cluster) as ready:
        yield ready


@pytest.fixture
def api(pipeline: Cluster) -> Iterator[httpx.Client]:
    truncate(pipeline.servers.database_url, BODY_TABLES)
    with pipeline.http() as client:
        yield client
    truncate(pipeline.servers.database_url, BODY_TABLES)


def faceless_person(api: httpx.Client, height: int) -> np.ndarray:
    """The portrait (BGR) scaled to `height`, its face painted over with the hair's dark tone,
    as a person seen from behind: no face to detect, a head and shoulders all the same."""
    bgr = np.asarray(cv2.imread(str(FACES / "photos" / PHOTO)))
    body = {"image": {"data": base64.b64encode((FACES / "photos" / PHOTO).read_bytes()).decode()}}
    r = api.post("/api/v1/Faces/Detect", json={**body, "faceDetectorConfig": {"maxFaceSize": 5000}})
    assert r.status_code == 200, r.text
    (face,) = r.json()["faces"]
    size = face["faceSize"]
    centre = ((face["leftEyeX"] + face["rightEyeX"]) / 2, (face["leftEyeY"] + face["rightEyeY"]) / 2 + 0.3 * size)
    axes = (int(0.65 * size), int(0.9 * size))
    cv2.ellipse(bgr, (int(centre[0]), int(centre[1])), axes, 0, 0, 360, (30, 35, 40), -1)
    scale = height / bgr.shape[0]
    return cv2.resize(bgr, (int(bgr.shape[1] * scale), height), interpolation=cv2.INTER_AREA)


def serve_person(api: httpx.Client, folder: Path, walk: int = 20, empty: int = 15) -> RtspServer:
    """640x360 frames: the faceless person crossing left to right, then an empty picture."""
    return serve_crossing(faceless_person(api, 300), folder, walk, empty)


def serve_crossing(person: np.ndarray, folder: Path, walk: int = 20, empty: int = 15) -> RtspServer:
    """640x360 frames: `person` (BGR, at most 360 px high) crossing left to right, then nothing."""
    folder.mkdir(parents=True, exist_ok=True)
    h, w = person.shape[:2]
    for i in range(walk + empty):
        frame = np.full((360, 640, 3), 96, np.uint8)
        if i < walk:
            x = int((640 - w) * i / max(1, walk - 1))
            frame[360 - h :, x : x + w] = person
        cv2.imwrite(str(folder / f"frame{i:03d}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    server = RtspServer(str(folder / "frame%03d.jpg"), free_port())
    server.start()
    return server


def preview_boxes_a_pedestrian(cluster: Cluster, camera_id: str, timeout: float = 90) -> bool:
    """Whether the camera's MJPEG preview shows a box in Setup/Preview's default pedestrian colour
    (#0000ff) within `timeout` s (the served picture has no such blue)."""
    deadline = time.monotonic() + timeout
    with cluster.http() as client, client.stream("GET", f"/api/v1/Cameras/{camera_id}/Preview", timeout=timeout) as r:
        assert r.status_code == 200, r.read()
        buffer = b""
        for chunk in r.iter_bytes():
            buffer += chunk
            while (start := buffer.find(b"\xff\xd8")) >= 0 and (end := buffer.find(b"\xff\xd9", start)) >= 0:
                jpeg, buffer = buffer[start : end + 2], buffer[end + 2 :]
                bgr = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                if bgr is not None and int(((bgr[..., 0] > 170) & (bgr[..., 1] < 90) & (bgr[..., 2] < 90)).sum()) > 200:
                    return True
            if time.monotonic() > deadline:
                return False
    return False


PEDESTRIAN_INSERTED = """subscription { pedestrianInserted { id trackletId streamId pose size quality noseX
  shoulderLeftY } }"""


def test_a_person_without_a_face_gives_a_pedestrian_tracklet(
    api: httpx.Client, pipeline: Cluster, tmp_path: Path
) -> None:
    async def live() -> tuple[str, list[Event], dict[str, Any]]:
        async with Subscriber(pipeline.graphql_url, "graphql-transport-ws", PEDESTRIAN_INSERTED) as subscriber:
            server = await asyncio.to_thread(serve_person, api, tmp_path / "walk")
            camera = ""
            try:
                camera = await asyncio.to_thread(
                    watch, api, server.url, pedestrianDetectorResourceId="cpu_remote",
                    pedestrianSaveStrategy="Balanced",
                    pedestrianDetectorConfig={"minPedestrianSize": 60, "maxPedestrianSize": 2000,
                                              "maxPedestrians": 5, "confidenceThreshold": 2500},
                )  # fmt: skip
                boxed = asyncio.create_task(asyncio.to_thread(preview_boxes_a_pedestrian, pipeline, camera))
                notified = (await subscriber.next(90))["data"]["pedestrianInserted"]
                assert await boxed, "the preview never boxed the pedestrian"
                events = await asyncio.to_thread(
                    wait_events, pipeline.servers.nats_url, camera,
                    lambda es: any(e.kind == "pedestrian.created" for e in es), 90, "a stored pedestrian",
                )  # fmt: skip
            finally:
                server.stop()
                if camera:
                    await asyncio.to_thread(api.delete, f"/api/v1/Cameras/{camera}")
            return camera, events, notified

    camera, events, notified = asyncio.run(live())
    inserted = [e for e in events if e.kind == "pedestrian.created"]
    assert inserted[0].topic == "pedestrians.insert"
    first = inserted[0].body
    assert first["streamId"] == camera and first["pose"] == "UNSPECIFIED" and first["size"] >= 60
    assert notified["id"] in {e.body["id"] for e in inserted} and notified["streamId"] == camera
    assert notified["pose"] == "UNSPECIFIED" and notified["noseX"] is not None
    assert not [e for e in events if e.kind == "face.created"]  # the face is hidden: no face stored
    stored = api.get("/api/v1/Pedestrians", params={"PageSize": 100}).json()["items"]
    assert first["id"] in [p["id"] for p in stored]
    tracklet = api.get(f"/api/v1/Tracklet/{first['trackletId']}")
    assert tracklet.status_code == 200, tracklet.text
    # Its end is announced as a face tracklet's is (the camera was deleted: the stream stopped).
    ended = wait_events(
        pipeline.servers.nats_url, camera, lambda es: bool(of(es, "tracklet.completed", first["trackletId"])), 30,
        "the pedestrian tracklet's tracklet.completed",
    )  # fmt: skip
    (done,) = of(ended, "tracklet.completed", first["trackletId"])
    assert done["streamId"] == camera and done["timeDisappeared"] >= done["timeAppeared"]
    assert {e.topic for e in ended if e.kind == "tracklet.completed"} == {"tracklets.completed"}
    closed = api.get(f"/api/v1/Tracklet/{first['trackletId']}").json()
    assert closed["timeDisappeared"] is not None


def test_a_cat_passing_gives_a_stored_object_that_graphql_reads(
    api: httpx.Client, pipeline: Cluster, tmp_path: Path
) -> None:
    cat = sample("chelsea.png")
    if cat is None:
        pytest.skip("scikit-image's sample photos could not be fetched (tests/registry_images.py)")
    server = serve_crossing(cv2.cvtColor(cat, cv2.COLOR_RGB2BGR), tmp_path / "cat")
    camera = ""
    try:
        camera = watch(
            api, server.url, faceDetectorResourceId="none", objectDetectorResourceId="sfe_object_cpu_remote",
            objectDetectorConfig={"confidenceThreshold": 3000, "objectTypesConfiguration": {"detectCat": True}},
        )  # fmt: skip
        events = wait_events(
            pipeline.servers.nats_url, camera, lambda es: any(e.kind == "object.created" for e in es), 90,
            "a stored object",
        )  # fmt: skip
    finally:
        server.stop()
        if camera:
            api.delete(f"/api/v1/Cameras/{camera}")
    (first, *_) = [e for e in events if e.kind == "object.created"]
    assert first.topic == "objects.insert" and first.body["genericObjectType"] == object_type_number("cat")
    assert not [e for e in events if e.kind == "pedestrian.created"]  # the camera did not ask for them
    found = query(pipeline.graphql_url, "{ genericObjects { items { id genericObjectType streamId } } }")
    assert {"id": first.body["id"], "genericObjectType": 10, "streamId": camera} in found["genericObjects"]["items"]
