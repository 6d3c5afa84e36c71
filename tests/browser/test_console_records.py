"""The console's recorded-video pages in a real browser, against camera_ingest replicas reading a
video folder: add a video record of three people walking past, watch its analysis finish with
their three tracklets (each with a face crop), search the stored faces for one of them by
another photo (a Faces/Search session), then group the record and see three individuals."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import Console
from tests.e2e.test_grouping_video import TABLES, clip
from tests.e2e.test_video_records import folder, videos  # noqa: F401  (fixtures)
from tests.rtsp.media import write_clip
from tests.support import FACES, Cluster, truncate, wait_until

# The first person of the clip (img1.jpg), by another photo of theirs.
OTHER_PHOTO = FACES / "photos" / "img10.jpg"


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

    # Where else was the first person seen? Their other photo finds their stored faces only.
    page.get_by_role("link", name="Search").click()
    history = page.get_by_role("region", name="Where else was this person seen? Search camera history by photo")
    history.get_by_label("Photo file").set_input_files(OTHER_PHOTO)
    history.get_by_role("button", name="Search history").click()
    history.get_by_text("best first").wait_for(timeout=60_000)
    summary = history.get_by_text("best first").inner_text()
    found, stored = int(summary.split()[0]), int(summary.split(" among ")[1].split()[0])
    assert 1 <= found < stored, summary  # the person's faces, not the two others'
    console.wait_until("document.querySelectorAll('.history img.thumb').length >= 1")
    first_face = gallery.get("/api/v1/Faces", params={"PageSize": 100}).json()["items"]
    tracklet_of = {f["id"]: f["trackletId"] for f in first_face}
    assert len(tracklet_of) == stored
    console.screenshot("history", full_page=True)
    page.get_by_role("link", name="Recorded video").click()

    # A record grouping of it: link, group, three individuals with their best faces.
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
