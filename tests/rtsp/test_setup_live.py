"""Setup values on a live RTSP camera: a member learns the face a camera matched to them
(Watchlists/AutoLearn) and Search then scores higher; with DataStorage/Video `None` the camera
stores nothing and announces only its match. Real RTSP server, detector, extractor, matcher."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.autolearn import AutoLearnCompleted
from shared.settings import Settings
from tests.rtsp.events import camera_events, wait_events
from tests.rtsp.test_pipeline import (
    MEMBER_PHOTO_ENROLLED,
    MEMBER_PHOTO_VIDEO,
    SEEN_TABLES,
    first_completed,
    of,
    running_pipeline,
    serve,
    watch,
)
from tests.support import Cluster, photo_b64, truncate, wait_until

pytestmark = pytest.mark.rtsp

THRESHOLD = 40


@pytest.fixture(scope="module")
def pipeline(gstreamer: None, cluster: Cluster) -> Iterator[Cluster]:
    with running_pipeline(cluster) as ready:
        yield ready


@pytest.fixture
def api(pipeline: Cluster) -> Iterator[httpx.Client]:
    """person01 registered from another photo than the camera's, in a watchlist at THRESHOLD."""
    truncate(pipeline.servers.database_url)
    truncate(pipeline.servers.database_url, SEEN_TABLES)
    with pipeline.http() as client:
        yield client
        client.put("/api/v1/Setup/DataStorage/Video", json={"storageMode": "All"})
        client.put("/api/v1/Setup/Watchlists/AutoLearn", json={
            "enabled": False, "executionStartTime": "01:00:00", "maxAutoLearnFacesCount": 30,
            "selectionThreshold": 60})  # fmt: skip
    truncate(pipeline.servers.database_url, SEEN_TABLES)


def register(api: httpx.Client) -> tuple[str, str]:
    r = api.post("/api/v1/Watchlists", json={"displayName": "staff", "fullName": "Staff", "threshold": THRESHOLD})
    assert r.status_code == 201, r.text
    watchlist = r.json()["id"]
    body = {"id": "person01", "images": [{"data": photo_b64(MEMBER_PHOTO_ENROLLED)}], "watchlistIds": [watchlist],
            "keepAutoLearnPhotos": True}  # fmt: skip
    r = api.post("/api/v1/WatchlistMembers/Register", json=body)
    assert r.status_code == 201, r.text
    return "person01", watchlist


def score(api: httpx.Client, watchlist: str) -> int:
    body = {"image": {"data": photo_b64(MEMBER_PHOTO_VIDEO)}, "watchlistIds": [watchlist], "threshold": 0}
    r = api.post("/api/v1/Watchlists/Search", json=body)
    assert r.status_code == 200, r.text
    (result,) = r.json()[0]["matchResults"]
    return int(result["score"])


def run_auto_learn(cluster: Cluster) -> AutoLearnCompleted:
    async def run() -> AutoLearnCompleted:
        bus = await Bus.connect(Settings(nats_url=cluster.servers.nats_url), "autolearn-test")
        try:
            return await bus.request(subjects.AUTO_LEARN_RUN, Empty(), AutoLearnCompleted, timeout=120)
        finally:
            await bus.close()

    return asyncio.run(run())


def rows_of_camera(cluster: Cluster, camera: str) -> dict[str, int]:
    async def run() -> dict[str, int]:
        conn = await asyncpg.connect(cluster.servers.database_url)
        try:
            return {
                table: int(await conn.fetchval(f"SELECT count(*) FROM {table} WHERE camera_id = $1", uuid.UUID(camera)))
                for table in ("seen_frames", "seen_tracklets", "seen_faces", "seen_images", "seen_match_results")
            }
        finally:
            await conn.close()

    return asyncio.run(run())


def test_a_member_learns_the_face_a_camera_matched_and_search_then_scores_higher(
    api: httpx.Client, pipeline: Cluster, tmp_path: Path
) -> None:
    member, watchlist = register(api)
    r = api.put("/api/v1/Setup/Watchlists/AutoLearn", json={
        "enabled": True, "executionStartTime": "01:00:00", "maxAutoLearnFacesCount": 5,
        "selectionThreshold": THRESHOLD})  # fmt: skip
    assert r.status_code == 200, r.text
    before = score(api, watchlist)
    server = serve(tmp_path, MEMBER_PHOTO_VIDEO)
    camera = watch(api, server.url)
    try:
        events, tracklet = first_completed(pipeline, camera)
    finally:
        server.stop()
        api.delete(f"/api/v1/Cameras/{camera}")
    (stored,) = of(events, "match.stored", tracklet)
    assert stored["watchlistMemberId"] == member and stored["score"] >= THRESHOLD

    done = run_auto_learn(pipeline)

    learnt = {f.face_id for f in done.learnt if f.member_id == member}
    assert stored["faceId"] in learnt, done
    faces = api.get(f"/api/v1/WatchlistMembers/{member}/Faces").json()["items"]
    assert {f["type"] for f in faces} == {"Regular", "AutoLearn"}
    assert [f["id"] for f in faces if f["type"] == "Regular"] and all(
        f["imageDataId"] for f in faces if f["type"] == "AutoLearn"
    )  # keepAutoLearnPhotos: the camera's crop
    wait_until(lambda: score(api, watchlist) > before, 10, f"Search scoring above {before}")


def test_with_video_storage_none_a_camera_stores_nothing_and_announces_only_its_match(
    api: httpx.Client, pipeline: Cluster, tmp_path: Path
) -> None:
    member, _ = register(api)
    r = api.put("/api/v1/Setup/DataStorage/Video", json={"storageMode": "None"})
    assert r.status_code == 200 and r.json() == {"storageMode": "None"}, r.text
    server = serve(tmp_path, MEMBER_PHOTO_VIDEO)
    camera = watch(api, server.url)
    try:
        events = wait_events(
            pipeline.servers.nats_url, camera, lambda es: any(e.kind == "match.found" for e in es), 90, "a match"
        )
        time.sleep(4)  # the pass ends (its tracklet would complete): nothing more may come
        events = camera_events(pipeline.servers.nats_url, camera)
    finally:
        server.stop()
        api.delete(f"/api/v1/Cameras/{camera}")
    (match,) = [e.body for e in events if e.kind == "match.found"][:1]
    assert match["watchlistMemberId"] == member
    kinds = {e.kind for e in events if not e.kind.startswith("camera.")}
    assert kinds <= {"match.found", "match.missed"}, kinds
    assert rows_of_camera(pipeline, camera) == dict.fromkeys(
        ("seen_frames", "seen_tracklets", "seen_faces", "seen_images", "seen_match_results"), 0
    )
