"""The console's recorded-video pages in a real browser, against camera_ingest replicas reading a
video folder: add a video record of three people walking past, watch its analysis finish with
their three tracklets (each with a face crop), then group it and see three individuals."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import Console
from tests.e2e.test_grouping_video import TABLES, clip
from tests.e2e.test_video_records import folder, videos  # noqa: F401  (fixtures)
from tests.rtsp.media import write_clip
from tests.support import Cluster, truncate, wait_until


@pytest.fixture
def gallery(videos: Cluster) -> httpx.Client:  # noqa: F811
    truncate(videos.servers.database_url, TABLES)
    return videos.http()


def test_a_video_record_and_its_grouping(gallery: httpx.Client, folder: Path, console: Console) -> None:  # noqa: F811
    write_clip(folder / "door.mp4", clip(0))
    page = console.page
    console.open("#/records")
    console.sign_in()
    page.get_by_role("heading", name="Recorded video").wait_for()
    page.get_by_label("Name", exact=True).fill("Front door, Monday")
    page.get_by_label("Source").fill("door.mp4")
    page.get_by_role("button", name="Add video record").click()

    # The record's page follows its analysis to the end: three tracklets, each with a face.
    page.get_by_role("heading", name="Front door, Monday").wait_for()
    page.locator(".state", has_text="Processed").wait_for(timeout=120_000)
    page.get_by_text("3 tracklets.").wait_for(timeout=30_000)
    console.wait_until("document.querySelectorAll('.tracklet img.thumb').length === 3")
    (record,) = gallery.get("/api/v1/VideoRecords").json()
    assert record["name"] == "Front door, Monday" and record["state"] == "Processed"
    console.screenshot("video-record")

    # A record grouping of it: link, group, three individuals with their best faces.
    page.get_by_role("link", name="← Recorded video").click()
    page.get_by_label("Description").fill("Front door")
    page.get_by_role("button", name="Create grouping").click()
    page.get_by_role("heading", name="Front door", exact=True).wait_for()
    page.get_by_label("Video record", exact=True).select_option(label="Front door, Monday")
    page.get_by_role("button", name="Link record").click()
    page.get_by_role("link", name="Front door, Monday").wait_for()

    def summarised() -> bool:  # the tracklets' templates reached the grouping service
        state = gallery.get(f"/api/v1/RecordGroupings/{grouping_id()}/State").json()
        return int(state["numUnprocFrames"]) > 0

    def grouping_id() -> str:
        (found,) = gallery.get("/api/v1/RecordGroupings").json()
        return str(found["id"])

    wait_until(summarised, 30, "the record's frames waiting for the grouping")
    page.get_by_role("button", name="Group now").click()
    page.get_by_text("3 individuals.").wait_for(timeout=60_000)
    console.wait_until("document.querySelectorAll('.individual img.thumb').length === 3")
    page.get_by_text("Ready. 0 frames not grouped yet.").wait_for(timeout=30_000)
    console.screenshot("grouping")
