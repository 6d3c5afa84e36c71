"""A record grouping over video records, on the real cluster: the same three people walk through
two recordings (other photos of them in the second); the records are analysed by camera_ingest,
each tracklet's template reaches the grouping service, and one Trigger makes three individuals,
each with that person's tracklet of each record."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_groupings import RECORDS, individuals, run_to_ready, sql
from tests.e2e.test_video_records import INTERVAL_MS, RECORDED_AT, folder, items, videos, wait_state  # noqa: F401
from tests.rtsp.media import Scene, write_clip
from tests.support import Cluster, assert_problem, truncate, wait_until

TABLES = ("video_records", "seen_faces", "seen_frames", "seen_tracklets", "seen_images", "groupings")
# person01, person07 and person03 one after the other; the second recording shows other photos of
# them (photos whose face is large enough in the clip's 640x360 frames: 50 px and more).
PEOPLE = (("img1.jpg", "img10.jpg"), ("img24.jpg", "img25.jpg"), ("img20.jpg", "img21.jpg"))


def clip(which: int) -> list[Scene]:
    scenes: list[Scene] = [(None, 0.5)]
    for photos in PEOPLE:
        scenes += [(photos[which], 2.0), (None, 1.5)]
    return scenes


@pytest.fixture
def api(videos: Cluster) -> Iterator[httpx.Client]:  # noqa: F811
    truncate(videos.servers.database_url, TABLES)
    with videos.http() as client:
        yield client


def test_two_recordings_of_three_people_give_three_individuals(
    api: httpx.Client,
    videos: Cluster,  # noqa: F811
    folder: Path,  # noqa: F811
) -> None:
    records = []
    for which in (0, 1):
        name = f"people-{which}.mp4"
        write_clip(folder / name, clip(which))
        body = {"name": name, "source": name, "enabled": True, "recordedAt": RECORDED_AT,
                "redetectionTime": INTERVAL_MS, "templateGenerationTime": INTERVAL_MS}  # fmt: skip
        r = api.post("/api/v1/VideoRecords", json=body)
        assert r.status_code == 201, r.text
        records.append(r.json()["id"])
    grouping = api.post(RECORDS, json={"description": "two recordings"}).json()["id"]
    assert api.post(f"{RECORDS}/{grouping}/LinkVideoRecords", json={"ids": records}).status_code == 204
    linked = api.get(f"{RECORDS}/{grouping}/VideoRecords").json()
    assert sorted(r["id"] for r in linked) == sorted(records)
    assert_problem(api.post(f"{RECORDS}/{grouping}/LinkVideoRecords", json={"ids": [str(uuid.uuid4())]}), 404)

    person_of: dict[str, int] = {}
    for record in records:
        assert wait_state(api, record, {"Processed", "Error"})["state"] == "Processed"
        tracklets = sorted(items(api, f"/api/v1/VideoRecords/{record}/Tracklets"),
                           key=lambda t: t["timeAppearedRelativeMs"])  # fmt: skip
        assert len(tracklets) == 3, tracklets
        person_of |= {t["id"]: person for person, t in enumerate(tracklets)}

    def summarised() -> bool:
        (row,) = sql(videos, "SELECT count(*) AS n FROM grouping_tracklets WHERE stream_id = ANY($1::uuid[])",
                     [uuid.UUID(r) for r in records])  # fmt: skip
        return int(row["n"]) == 6

    wait_until(summarised, 30, "the six tracklets' templates at the grouping service")
    assert api.get(f"{RECORDS}/{grouping}/State").json()["numUnprocFrames"] > 0
    run_to_ready(api, grouping)
    found = individuals(api, RECORDS, grouping)
    assert len(found) == 3, found
    for tracklet_ids in found.values():
        assert len(tracklet_ids) == 2 and len({person_of[t] for t in tracklet_ids}) == 1, found
    state = api.get(f"{RECORDS}/{grouping}/State").json()
    assert state["status"] == "Ready" and state["numUnprocFrames"] == 0

    # Unlinking a record keeps the individuals; the grouping's frames are those of its records.
    frames = api.get(f"{RECORDS}/{grouping}/Frames", params={"ShowTotalCount": True}).json()["totalItemsCount"]
    assert frames == sum(len(items(api, f"/api/v1/VideoRecords/{r}/Frames")) for r in records)
    assert api.post(f"{RECORDS}/{grouping}/UnlinkVideoRecords", json={"ids": records[:1]}).status_code == 204
    assert [r["id"] for r in api.get(f"{RECORDS}/{grouping}/VideoRecords").json()] == records[1:]
    assert len(individuals(api, RECORDS, grouping)) == 3
