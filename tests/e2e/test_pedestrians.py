"""Pedestrians and objects over HTTP and GraphQL (issue 21): POST /api/v1/Detect on composed
scenes, /api/v1/Pedestrians get/list/delete and the GraphQL `pedestrians` / `genericObjects`
roots over stored rows."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import cv2
import httpx
import numpy as np
import pytest

from services.camera_ingest import records
from services.camera_ingest.pedestrians import Placement, insert_object, insert_pedestrian, object_json, pedestrian_json
from shared.db.pool import init_connection
from shared.messages.bodies import DetectedObject, DetectedPedestrian, Keypoint
from tests.body_scenes import OBJECT_SOURCES, object_scenes, portrait_scenes, score
from tests.graphql_client import query
from tests.registry_images import sample
from tests.support import Cluster, assert_problem, truncate

BODY_TABLES = ("seen_pedestrians", "seen_objects", "seen_frames", "seen_tracklets", "seen_images", "cameras")
PEOPLE = {
    "pedestrianDetectorResourceId": "sfe_object_cpu_remote",
    "pedestrianDetectorConfig": {"minPedestrianSize": 40},
}


def png(rgb: np.ndarray) -> str:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return base64.b64encode(data.tobytes()).decode()


@pytest.fixture(scope="module")
def client(cluster: Cluster) -> Iterator[httpx.Client]:
    with cluster.http() as api:
        yield api


def detect(client: httpx.Client, image: str, **body: Any) -> dict[str, Any]:
    r = client.post("/api/v1/Detect", json={"image": {"data": image}, **body})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def box(item: dict[str, Any]) -> tuple[float, float, float, float]:
    c = item["cropCoordinates"]
    return (c["cropLeftTopX"], c["cropLeftTopY"], c["cropRightBottomX"], c["cropRightBottomY"])


def test_detect_finds_the_people_placed_in_a_scene(client: httpx.Client) -> None:
    scene = next(s for s in portrait_scenes(count=6) if len(s.truths) == 3)
    answer = detect(client, png(scene.rgb), includeCrops=True, **PEOPLE)
    assert answer["objects"] == []  # objectDetectorResourceId defaults to "none"
    people = answer["pedestrians"]
    found, false = score([box(p) for p in people], scene.truths)
    assert found >= 2 and false == 0, people
    assert [p["pedestrianOrder"] for p in people] == list(range(1, len(people) + 1))
    for p in people:
        assert 2500 <= p["quality"] <= 10000 and p["size"] >= 40
        assert base64.b64decode(p["cropImage"])[:2] == b"\xff\xd8"
    without = detect(client, png(scene.rgb), **PEOPLE)["pedestrians"]
    assert [p["cropImage"] for p in without] == [None] * len(without)
    assert (
        len(
            detect(client, png(scene.rgb), **{**PEOPLE, "pedestrianDetectorConfig": {"maxPedestrians": 1}})[
                "pedestrians"
            ]
        )
        == 1
    )


def test_detect_finds_the_objects_placed_in_a_scene_and_only_the_types_asked(client: httpx.Client) -> None:
    sources = {n: rgb for n in OBJECT_SOURCES if (rgb := sample(n)) is not None}
    if not sources:
        pytest.skip("scikit-image's sample photos could not be fetched (tests/registry_images.py)")
    scene = object_scenes(sources, count=1)[0]
    every = detect(
        client, png(scene.rgb), objectDetectorResourceId="sfe_object_any_remote", includeCrops=True, **PEOPLE
    )
    for kind in ("cat", "motorcycle"):
        truths = [t for t, k in zip(scene.truths, scene.kinds, strict=True) if k == kind]
        things = [o for o in every["objects"] if o["type"] == kind]
        assert score([box(o) for o in things], truths) == (1, 0), every["objects"]
        assert things[0]["objectOrderOnFrameForType"] == 1 and things[0]["quality"] >= 3000
        assert base64.b64decode(things[0]["cropImage"])[:2] == b"\xff\xd8"
    astronaut = [t for t, k in zip(scene.truths, scene.kinds, strict=True) if k == "person"]
    assert score([box(p) for p in every["pedestrians"]], astronaut) == (1, 0)  # the cat is no pedestrian
    asked = {"objectDetectorResourceId": "sfe_object_any_remote",
             "objectDetectorConfig": {"confidenceThreshold": 3000,
                                     "objectTypesConfiguration": {"detectCar": True, "detectCat": True}}}  # fmt: skip
    answer = detect(client, png(scene.rgb), **asked)
    assert answer["pedestrians"] == [] and [o["type"] for o in answer["objects"]] == ["cat"]
    nothing = detect(client, png(scene.rgb))  # both "none": nothing looked for
    assert nothing == {"pedestrians": [], "objects": []}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"pedestrianDetectorResourceId": "cpu"}, "pedestrianDetectorResourceId"),
        ({"objectDetectorResourceId": "gpu_remote"}, "objectDetectorResourceId"),
        ({**PEOPLE, "pedestrianDetectorConfig": {"confidenceThreshold": 10001}}, "confidenceThreshold"),
        (
            {**PEOPLE, "pedestrianDetectorConfig": {"minPedestrianSize": 500, "maxPedestrianSize": 100}},
            "pedestrianDetectorConfig",
        ),
    ],
)
def test_bad_detect_requests_are_400(client: httpx.Client, body: dict[str, Any], field: str) -> None:
    scene = portrait_scenes(count=1)[0]
    r = client.post("/api/v1/Detect", json={"image": {"data": png(scene.rgb)}, **body})
    assert field in str(assert_problem(r, 400))


def test_an_image_that_is_not_one_is_400(client: httpx.Client) -> None:
    r = client.post("/api/v1/Detect", json={"image": {"data": base64.b64encode(b"not an image").decode()}, **PEOPLE})
    assert_problem(r, 400)


async def _seed(database_url: str, camera: str) -> dict[str, list[str]]:
    """Two pedestrian tracklets of two pedestrians each and one car, as a camera stores them."""
    conn = await asyncpg.connect(database_url)
    await init_connection(conn)
    ids: dict[str, list[str]] = {"pedestrians": [], "objects": [], "tracklets": []}
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    points = [Keypoint(100.0 + k, 50.0 + 10 * k, 0.9 if k != 3 else 0.05) for k in range(17)]
    try:
        for t in range(3):
            tracklet = str(uuid.uuid4())
            ids["tracklets"].append(tracklet)
            await records.insert_tracklet(conn, tracklet, camera, at, 0)
            for _ in range(2 if t < 2 else 1):
                frame = str(uuid.uuid4())
                await records.insert_frame(conn, frame, camera, None, at, 0)
                where = Placement(camera, tracklet, frame, None)
                if t < 2:
                    p = DetectedPedestrian(order=1, box=(90.0, 40.0, 130.0, 260.0), confidence=8000, size=220.0,
                                           keypoints=points)  # fmt: skip
                    body = pedestrian_json(p, 1, at, 640 * 480)
                    ids["pedestrians"].append(await insert_pedestrian(conn, where, body))
                else:
                    o = DetectedObject(
                        type="car", order=1, box=(300.0, 200.0, 500.0, 300.0), confidence=7000, size=200.0
                    )
                    ids["objects"].append(await insert_object(conn, where, object_json(o, 1, at, 640 * 480)))
    finally:
        await conn.close()
    return ids


@pytest.fixture
def stored(cluster: Cluster) -> Iterator[tuple[httpx.Client, str, dict[str, list[str]]]]:
    truncate(cluster.servers.database_url, BODY_TABLES)
    with cluster.http() as api:
        r = api.post("/api/v1/Cameras", json={"name": "street", "source": "rtsp://127.0.0.1:9/none"})
        assert r.status_code == 201, r.text
        camera = r.json()["id"]
        yield api, camera, asyncio.run(_seed(cluster.servers.database_url, camera))
    truncate(cluster.servers.database_url, BODY_TABLES)


def test_pedestrians_list_get_delete(stored: tuple[httpx.Client, str, dict[str, list[str]]]) -> None:
    api, camera, ids = stored
    page = api.get("/api/v1/Pedestrians", params={"PageSize": 3, "ShowTotalCount": "true"}).json()
    assert page["totalItemsCount"] == 4 and len(page["items"]) == 3 and "PageNumber=2" in page["nextPage"]
    assert [p["id"] for p in page["items"]] == ids["pedestrians"][:3]
    one = api.get(f"/api/v1/Pedestrians/{ids['pedestrians'][0]}").json()
    assert one["streamId"] == camera and one["trackletId"] == ids["tracklets"][0]
    assert one["quality"] == 8000 and one["size"] == 220.0 and one["cropRightBottomY"] == 260.0
    assert one["noseX"] == 100.0 and one["earLeftX"] is None  # a point the model is unsure of is null
    assert one["neckX"] == pytest.approx((105.0 + 106.0) / 2) and one["poses"] == []
    assert one["processedAt"].startswith("2026-01-02T03:04:05")
    r = api.delete(f"/api/v1/Pedestrians/{ids['pedestrians'][0]}")
    assert r.status_code == 204
    assert_problem(api.get(f"/api/v1/Pedestrians/{ids['pedestrians'][0]}"), 404)
    assert_problem(api.delete(f"/api/v1/Pedestrians/{ids['pedestrians'][0]}"), 404)
    assert_problem(api.get(f"/api/v1/Pedestrians/{uuid.uuid4()}"), 404)


def test_graphql_pedestrians_and_generic_objects(
    stored: tuple[httpx.Client, str, dict[str, list[str]]], cluster: Cluster
) -> None:
    _, camera, ids = stored
    data = query(
        cluster.graphql_url,
        """{ pedestrians(order: [{createdAt: ASC}]) { totalCount items { id trackletId streamId quality size noseX
               earLeftX objectType cropLeftTopX tracklet { id } } }
             genericObjects { totalCount items { id genericObjectType objectType quality size streamId } } }""",
    )
    people = data["pedestrians"]
    assert people["totalCount"] == 4 and [p["id"] for p in people["items"]] == ids["pedestrians"]
    first = people["items"][0]
    assert first["streamId"] == camera and first["quality"] == 8000 and first["noseX"] == 100.0
    assert first["earLeftX"] is None and first["objectType"] == 2 and first["tracklet"]["id"] == ids["tracklets"][0]
    (car,) = data["genericObjects"]["items"]
    assert car["id"] == ids["objects"][0] and car["genericObjectType"] == 1 and car["size"] == 200.0
    filtered = query(
        cluster.graphql_url,
        "query($t: UUID) { pedestrians(where: {trackletId: {eq: $t}}) { items { id } } }",
        {"t": ids["tracklets"][1]},
    )
    assert [p["id"] for p in filtered["pedestrians"]["items"]] == ids["pedestrians"][2:]
    nested = query(cluster.graphql_url, "{ tracklets { items { id pedestrians { id } genericObjects { id } } } }")
    by_id = {t["id"]: t for t in nested["tracklets"]["items"]}
    assert [p["id"] for p in by_id[ids["tracklets"][0]]["pedestrians"]] == ids["pedestrians"][:2]
    assert [o["id"] for o in by_id[ids["tracklets"][2]]["genericObjects"]] == ids["objects"]
