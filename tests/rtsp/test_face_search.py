"""POST /api/v1/Faces/Search over what a live RTSP camera stored: a registered member walks past
the camera, a stranger past another, and a search with the member's enrolment photo finds the
member's tracklet (best first) and none of the stranger's. Real RTSP server, detector,
extractor, camera_ingest and matcher."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.rtsp.test_pipeline import (
    MEMBER_PHOTO_ENROLLED,
    MEMBER_PHOTO_VIDEO,
    SEEN_TABLES,
    STRANGER_PHOTO,
    first_completed,
    member,
    running_pipeline,
    serve,
    watch,
)
from tests.support import Cluster, photo_b64, truncate, wait_until

pytestmark = pytest.mark.rtsp

__all__ = ["member"]  # the fixture, used here as in test_pipeline


@pytest.fixture(scope="module")
def pipeline(gstreamer: None, cluster: Cluster) -> Iterator[Cluster]:
    with running_pipeline(cluster) as ready:
        yield ready


@pytest.fixture
def api(pipeline: Cluster) -> Iterator[httpx.Client]:
    truncate(pipeline.servers.database_url, (*SEEN_TABLES, "search_sessions"))
    with pipeline.http() as client:
        yield client
    truncate(pipeline.servers.database_url, (*SEEN_TABLES, "search_sessions"))


def walk_past(api: httpx.Client, pipeline: Cluster, tmp_path: Path, photo: str) -> tuple[str, str]:
    """(camera, tracklet) of one pass of the person in `photo` past a new camera."""
    server = serve(tmp_path, photo)
    try:
        camera = watch(api, server.url)
        _, tracklet = first_completed(pipeline, camera)
    finally:
        server.stop()
    assert api.delete(f"/api/v1/Cameras/{camera}").status_code == 204  # what it stored stays
    return camera, tracklet


def search(api: httpx.Client, photo: str) -> dict[str, Any]:
    """A Faces/Search session for the photo, once finished: the session and its hits."""
    r = api.post("/api/v1/Faces/Search", json={"image": {"data": photo_b64(photo)}})
    assert r.status_code == 200, r.text
    url = f"/api/v1/Faces/Search/{r.json()['searchSessionId']}"
    answer: dict[str, Any] = {}

    def done() -> bool:
        page = api.get(url, params={"PageSize": 1000})
        assert page.status_code == 200, page.text
        answer.update(page.json())
        return bool(answer["session"]["state"] != "Running")

    wait_until(done, 60, "the search session to finish")
    assert answer["session"]["state"] == "Finished", answer
    return answer


def test_the_search_finds_the_tracklet_where_the_registered_member_walked_past(
    api: httpx.Client, pipeline: Cluster, member: dict[str, str], tmp_path: Path
) -> None:
    camera, tracklet = walk_past(api, pipeline, tmp_path, MEMBER_PHOTO_VIDEO)
    stranger_camera, stranger_tracklet = walk_past(api, pipeline, tmp_path, STRANGER_PHOTO)
    stored = api.get("/api/v1/Faces", params={"PageSize": 1000}).json()["items"]
    assert {f["trackletId"] for f in stored} >= {tracklet, stranger_tracklet}

    found = search(api, MEMBER_PHOTO_ENROLLED)
    session, hits = found["session"], found["items"]
    assert session["searchedFacesCount"] >= 2 and session["matchesCount"] == len(hits) > 0
    # The pass may have been cut into pieces (tracklets) of that camera: all of them are its.
    assert tracklet in {h["trackletId"] for h in hits} and {h["streamId"] for h in hits} == {camera}
    assert stranger_tracklet not in {h["trackletId"] for h in hits} and hits[0]["score"] >= 30
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    face = api.get(f"/api/v1/Faces/{hits[0]['faceId']}").json()
    assert face["trackletId"] == hits[0]["trackletId"] and hits[0]["imageDataId"] == face["imageDataId"]

    # The stranger's own photo finds the stranger's pass, not the member's.
    other = search(api, STRANGER_PHOTO)["items"]
    assert stranger_tracklet in {h["trackletId"] for h in other} and {h["streamId"] for h in other} == {stranger_camera}
