"""A live grouping on a live RTSP camera: two people pass each other again and again (the server
loops the clip); every pass gives each a tracklet, and the live grouping, stepping every few
seconds, keeps one individual per person however often they come back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.embedded import free_port
from tests.e2e.test_groupings import individuals, sql
from tests.rtsp.conftest import RtspServer
from tests.rtsp.media import write_jpegs
from tests.rtsp.test_pipeline import pipeline, watch  # noqa: F401  (the module's fixture)
from tests.support import Cluster, truncate, wait_until

pytestmark = pytest.mark.rtsp

TABLES = ("seen_faces", "seen_frames", "seen_tracklets", "seen_images", "cameras", "groupings", "grouping_tracklets")
PEOPLE = ("img1.jpg", "img20.jpg")  # person01 and person03
LIVE = "/api/v1/LiveGroupings"


@pytest.fixture
def api(pipeline: Cluster) -> Iterator[httpx.Client]:  # noqa: F811
    truncate(pipeline.servers.database_url, TABLES)
    with pipeline.http() as client:
        yield client
    truncate(pipeline.servers.database_url, TABLES)


def grouped(cluster: Cluster, camera: str, grouping: str) -> tuple[int, int]:
    """(tracklets of the camera with a template, those the grouping has grouped)."""
    (row,) = sql(
        cluster,
        """SELECT count(*) AS summarised, count(it.tracklet_id) AS grouped FROM grouping_tracklets t
           LEFT JOIN individual_tracklets it ON it.tracklet_id = t.id AND it.grouping_id = $2
           WHERE t.stream_id = $1""",
        uuid.UUID(camera), uuid.UUID(grouping),
    )  # fmt: skip
    return int(row["summarised"]), int(row["grouped"])


def test_people_coming_back_stay_one_individual_each(api: httpx.Client, pipeline: Cluster, tmp_path: Path) -> None:  # noqa: F811
    # 2 s of both walking (10 fps), then 1.5 s empty: longer than the tracklet timeout.
    frames = write_jpegs(tmp_path / "two", count=20, photo=PEOPLE[0], other=PEOPLE[1], empty=15)
    server = RtspServer(frames, free_port())
    server.start()
    try:
        created = api.post(LIVE, json={"config": {"step": 2, "slidingWindow": 600, "threshold": 40}})
        assert created.status_code == 201, created.text
        grouping = created.json()["id"]
        camera = watch(api, server.url)
        assert api.post(f"{LIVE}/{grouping}/LinkCameras", json={"ids": [camera]}).status_code == 204

        # Both people passed at least three times, and a step grouped every tracklet so far.
        def settled() -> bool:
            summarised, done = grouped(pipeline, camera, grouping)
            return summarised >= 6 and done == summarised

        wait_until(settled, 240, "three passes of both people, grouped")
    finally:
        server.stop()
    found = individuals(api, LIVE, grouping)
    assert len(found) == 2, {i: len(ts) for i, ts in found.items()}
    assert all(len(ts) >= 3 for ts in found.values()), {i: len(ts) for i, ts in found.items()}
    frames_page = api.get(f"{LIVE}/{grouping}/Frames", params={"ShowTotalCount": True}).json()
    assert frames_page["totalItemsCount"] >= 3
