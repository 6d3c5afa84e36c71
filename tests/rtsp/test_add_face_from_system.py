"""POST /api/v1/WatchlistMembers/{id}/AddFaceFromSystem on a face a live RTSP camera stored: the
face becomes the member's, template included, so a search with another photo of that person
finds the member; SmartFace's 404/409/422/400 for the error cases. Real RTSP server, detector,
extractor, matcher."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.rtsp.test_pipeline import SEEN_TABLES, first_completed, running_pipeline, serve, watch
from tests.support import Cluster, assert_problem, photo_b64, truncate

pytestmark = pytest.mark.rtsp

VIDEO_PHOTO = "img1.jpg"  # person01 walks past the camera...
SEARCH_PHOTO = "img10.jpg"  # ...and is searched for with another photo of theirs


@pytest.fixture(scope="module")
def pipeline(gstreamer: None, cluster: Cluster) -> Iterator[Cluster]:
    with running_pipeline(cluster) as ready:
        yield ready


@pytest.fixture
def api(pipeline: Cluster) -> Iterator[httpx.Client]:
    truncate(pipeline.servers.database_url)
    truncate(pipeline.servers.database_url, SEEN_TABLES)
    with pipeline.http() as client:
        yield client
    truncate(pipeline.servers.database_url, SEEN_TABLES)


def camera_face(api: httpx.Client, pipeline: Cluster, tmp_path: Path) -> dict[str, Any]:
    """The best extracted face of the first tracklet a camera stored of person01 walking past."""
    server = serve(tmp_path, VIDEO_PHOTO)
    try:
        camera = watch(api, server.url)
        _, tracklet = first_completed(pipeline, camera)
    finally:
        server.stop()
        api.delete(f"/api/v1/Cameras/{camera}")
    faces = api.get(f"/api/v1/Tracklet/{tracklet}/Faces").json()["items"]
    extracted = [f for f in faces if f["state"] == "Extracted"]
    assert extracted, faces
    return max(extracted, key=lambda f: f["quality"])


def search(api: httpx.Client, watchlist: str) -> list[str]:
    body = {"image": {"data": photo_b64(SEARCH_PHOTO)}, "watchlistIds": [watchlist]}
    r = api.post("/api/v1/Watchlists/Search", json=body)
    assert r.status_code == 200, r.text
    return [m["watchlistMemberId"] for face in r.json() for m in face["matchResults"]]


def forget_template(cluster: Cluster, face_id: str) -> None:
    """As a face stored before camera faces kept their templates."""

    async def run() -> None:
        conn = await asyncpg.connect(cluster.servers.database_url)
        try:
            await conn.execute("UPDATE seen_faces SET template = NULL WHERE id = $1", uuid.UUID(face_id))
        finally:
            await conn.close()

    asyncio.run(run())


def test_a_camera_face_becomes_a_members_face_that_search_finds(
    api: httpx.Client, pipeline: Cluster, tmp_path: Path
) -> None:
    face = camera_face(api, pipeline, tmp_path)
    r = api.post("/api/v1/Watchlists", json={"displayName": "staff", "fullName": "Staff", "threshold": 40})
    assert r.status_code == 201, r.text
    watchlist = r.json()["id"]
    r = api.put("/api/v1/WatchlistMembers", json={"id": "person01", "displayName": "Person 01"})
    assert r.status_code == 200, r.text
    link = {"watchlistId": watchlist, "watchlistMembersIds": ["person01"]}
    assert api.post("/api/v1/WatchlistMembers/LinkToWatchlist", json=link).status_code == 204
    assert search(api, watchlist) == []  # no face yet

    url = "/api/v1/WatchlistMembers/person01/AddFaceFromSystem"
    # Faces of a video are blurrier than photos: "none" takes the face as it is.
    r = api.post(url, json={"faceId": face["id"], "faceValidationMode": "none"})
    assert r.status_code == 204, r.text
    assert search(api, watchlist) == ["person01"]
    (mine,) = api.get("/api/v1/WatchlistMembers/person01/Faces").json()["items"]
    assert mine["id"] == face["id"] and mine["quality"] == face["quality"] and mine["state"] == "Extracted"
    assert mine["imageDataId"] and mine["imageDataId"] != face["imageDataId"]  # the member's own copy
    crop = api.get(f"/api/v1/Images/{mine['imageDataId']}")
    assert crop.status_code == 200 and crop.content == api.get(f"/api/v1/Images/{face['imageDataId']}").content

    # SmartFace's statuses: linked already, unknown member or face, a bad mode, no template.
    assert_problem(api.post(url, json={"faceId": face["id"], "faceValidationMode": "none"}), 409)
    r = api.put("/api/v1/WatchlistMembers", json={"id": "person02"})
    assert r.status_code == 200, r.text
    other = "/api/v1/WatchlistMembers/person02/AddFaceFromSystem"
    assert_problem(api.post(other, json={"faceId": face["id"], "faceValidationMode": "none"}), 409)
    assert_problem(api.post(other.replace("person02", "nobody"), json={"faceId": face["id"]}), 404)
    assert_problem(api.post(other, json={"faceId": str(uuid.uuid4()), "faceValidationMode": "none"}), 404)
    assert_problem(api.post(other, json={"faceId": face["id"], "faceValidationMode": "strict"}), 400)
    assert_problem(api.post(other, json={"faceValidationMode": "none"}), 400)

    forget_template(pipeline, face["id"])
    problem = assert_problem(api.post(other, json={"faceId": face["id"], "faceValidationMode": "none"}), 422)
    assert "no template" in problem["detail"], problem

    # The member keeps its face when the camera's face is deleted.
    assert api.delete(f"/api/v1/Faces/{face['id']}").status_code == 204
    assert search(api, watchlist) == ["person01"]
    assert api.get(f"/api/v1/Images/{mine['imageDataId']}").status_code == 200
    r = api.post("/api/v1/WatchlistMembers/person01/RemoveFace", json={"faceId": face["id"]})
    assert r.status_code == 204, r.text
    assert search(api, watchlist) == []
