"""Video records on the real cluster: recorded files made at test time (PyAV, faces of
../shared/faces walking across the picture, MP4 and MKV, with and without audio) analysed by
two camera_ingest replicas with the real detector, extractor and matcher: state changes and
their events, tracklets at their times in the video, stored faces and frames, a match for an
enrolled member, Clear, Delete, sources that cannot be read, a path outside the allowed folder,
and a replica killed mid-file."""

from __future__ import annotations

import asyncio
import http.server
import itertools
import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import cv2
import httpx
import numpy as np
import pytest

from services.gateway.compatibility import SMARTFACE_OPENAPI
from tests.graphql_client import query
from tests.rtsp.conftest import FAST_INGEST
from tests.rtsp.events import Event, camera_events, wait_workers
from tests.rtsp.media import Scene, write_clip
from tests.support import REPO, Cluster, assert_problem, photo_b64, serve_http, truncate, wait_until

# seen_match_results go with seen_faces and seen_tracklets (their TRUNCATE trigger; naming the table
# in the same TRUNCATE would truncate it twice in one statement).
TABLES = ("video_records", "seen_faces", "seen_frames", "seen_tracklets", "seen_images")
RECORDED_AT = "2024-03-04T05:06:07.000Z"
MEMBER_PHOTO_VIDEO = "img1.jpg"  # person01 walks in the videos...
MEMBER_PHOTO_ENROLLED = "img10.jpg"  # ...and was registered from another photo of theirs
STRANGER_PHOTO = "img20.jpg"  # person03, in no watchlist
# Two passes, each longer than the tracklet timeout apart: 1 s empty, 3 s person01, 3 s empty,
# 3 s the stranger, 1 s empty.
TWO_PASSES: list[Scene] = [(None, 1), (MEMBER_PHOTO_VIDEO, 3), (None, 3), (STRANGER_PHOTO, 3), (None, 1)]
INTERVAL_MS = 200
# The replicas' settings: the cameras' address policy allows 127.0.0.0/8 here (a recording served
# from this machine; not ::1, which the rest of the suite allows too), and a record's URL follows
# it as a camera's would.
VIDEO_ENV = {"FACEGATE_VIDEO_PROGRESS_INTERVAL_S": "0.5", "FACEGATE_CAMERA_SOURCE_ALLOW_NETWORKS": "127.0.0.0/8"}


def smartface_fields(schema: str) -> set[str]:
    doc = json.loads(SMARTFACE_OPENAPI.read_text())
    found = doc["components"]["schemas"][schema]
    return set(found["properties"]) | set(found.get("required", []))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("videos")


@pytest.fixture(scope="module")
def videos(cluster: Cluster, folder: Path) -> Iterator[Cluster]:
    """Two camera_ingest replicas reading FACEGATE_VIDEO_FOLDER in place of the session's one."""
    services = cluster.services
    had_default = ("camera_ingest", 0) in services.procs
    if had_default:
        services.stop_one("camera_ingest", 0)
    models = {"FACEGATE_MODELS_DIR": os.environ.get("FACEGATE_MODELS_DIR", str(REPO / "var" / "models"))}
    started = []
    for worker in ("detector", "extractor"):
        if (worker, 0) not in services.procs:
            services.start(worker, 0, extra_env=models)
            started.append((worker, 0))
    env = {**FAST_INGEST, **VIDEO_ENV, "FACEGATE_VIDEO_FOLDER": str(folder)}
    for index in (0, 1):
        services.start("camera_ingest", index, extra_env=env)
        started.append(("camera_ingest", index))
    try:
        wait_workers(cluster.servers.nats_url)
        with cluster.http() as client:
            wait_until(lambda: client.get("/api/v1/VideoRecords").status_code == 200, 60, "camera_ingest")
        yield cluster
    finally:
        for key in started:
            if key in services.procs:
                services.stop_one(*key)
        if had_default:
            services.start("camera_ingest", 0)
            # The next module's first request must not meet a camera_ingest still starting.
            wait_workers(cluster.servers.nats_url)
            with cluster.http() as client:
                wait_until(lambda: client.get("/api/v1/VideoRecords").status_code == 200, 60, "camera_ingest")


@pytest.fixture(scope="module")
def member(videos: Cluster) -> str:
    """person01 in a watchlist, enrolled from a photo other than the videos'."""
    truncate(videos.servers.database_url)
    with videos.http() as api:
        r = api.post("/api/v1/Watchlists", json={"displayName": "staff", "fullName": "Staff", "threshold": 40})
        assert r.status_code == 201, r.text
        photos = [{"data": photo_b64(MEMBER_PHOTO_ENROLLED)}]
        body = {"id": "person01", "images": photos, "watchlistIds": [r.json()["id"]]}
        r = api.post("/api/v1/WatchlistMembers/Register", json=body)
        assert r.status_code == 201, r.text
    return "person01"


@pytest.fixture
def api(videos: Cluster) -> Iterator[httpx.Client]:
    truncate(videos.servers.database_url, TABLES)
    with videos.http() as client:
        yield client


def create(api: httpx.Client, source: str, **extra: Any) -> dict[str, Any]:
    body = {"name": "lobby export", "source": source, "recordedAt": RECORDED_AT, "redetectionTime": INTERVAL_MS,
            "templateGenerationTime": INTERVAL_MS, **extra}  # fmt: skip
    r = api.post("/api/v1/VideoRecords", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def wait_state(api: httpx.Client, record_id: str, states: set[str], timeout: float = 180) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def check() -> bool:
        seen.append(api.get(f"/api/v1/VideoRecords/{record_id}/Status").json())
        return seen[-1]["state"] in states

    try:
        wait_until(check, timeout, f"video record in {states}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {seen[-1] if seen else None}") from None
    return seen[-1]


def items(api: httpx.Client, path: str) -> list[dict[str, Any]]:
    r = api.get(path, params={"PageSize": 1000, "Ascending": True})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rows(cluster: Cluster, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(cluster.servers.database_url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events]


def test_crud_with_smartfaces_fields_defaults_and_statuses(api: httpx.Client, folder: Path) -> None:
    record = create(api, "lobby.mp4")
    assert set(record) == smartface_fields("VideoRecord")
    assert record["state"] == "Ready" and record["enabled"] is False and record["videoDurationMs"] is None
    assert record["recordedAt"].startswith("2024-03-04T05:06:07")
    assert record["matchingConfig"] == {"matchDetectedFaces": True, "maxResultsCount": 1}
    assert record["faceSaveStrategy"] == "FirstFace, BestFace" and record["redetectionTime"] == INTERVAL_MS
    assert record["processingStartTime"] is None and record["processingDurationMs"] is None
    rid = record["id"]
    assert api.get(f"/api/v1/VideoRecords/{rid}").json() == record
    assert [r["id"] for r in api.get("/api/v1/VideoRecords").json()] == [rid]

    update = {**record, "name": "renamed", "matchingConfig": {"matchDetectedFaces": False, "maxResultsCount": 3}}
    for key in ("state", "videoDurationMs", "processingStartTime", "processingDurationMs"):
        update.pop(key)
    r = api.put("/api/v1/VideoRecords", json=update)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "renamed" and r.json()["matchingConfig"]["maxResultsCount"] == 3

    r = api.put(f"/api/v1/VideoRecords/{rid}/Tags", json={"tags": ["case-17", "lobby", "case-17"]})
    assert r.status_code == 200 and r.json() == {"id": rid, "tags": ["case-17", "lobby"]}
    assert api.get(f"/api/v1/VideoRecords/{rid}/Tags").json() == {"id": rid, "tags": ["case-17", "lobby"]}
    assert items(api, f"/api/v1/VideoRecords/{rid}/Tracklets") == []
    assert items(api, f"/api/v1/VideoRecords/{rid}/Frames") == []

    unknown = str(uuid.uuid4())
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/Tracklets"), ("GET", "/Frames"),
                         ("POST", "/Clear"), ("GET", "/Tags"), ("GET", "/Status")):  # fmt: skip
        assert_problem(api.request(method, f"/api/v1/VideoRecords/{unknown}{path}"), 404)
    assert_problem(api.put(f"/api/v1/VideoRecords/{unknown}/Tags", json={"tags": []}), 404)
    assert_problem(api.put("/api/v1/VideoRecords", json={**update, "id": unknown}), 404)
    assert_problem(api.get("/api/v1/VideoRecords/not-a-guid"), 404)

    # Anything outside the video folder is refused before it is ever opened; so are other schemes.
    for source in ("../outside.mp4", "/etc/passwd", "ftp://host/a.mp4"):
        body = assert_problem(api.post("/api/v1/VideoRecords", json={"name": "x", "source": source}), 400)
        assert "source" in body["errors"], body
        assert_problem(api.put("/api/v1/VideoRecords", json={**update, "source": source}), 400)
    (folder.parent / "outside.mp4").write_bytes(b"x")
    (folder / "escape.mp4").symlink_to(folder.parent / "outside.mp4")
    assert_problem(api.post("/api/v1/VideoRecords", json={"name": "x", "source": "escape.mp4"}), 400)
    bad_strategy = {"name": "x", "source": "a.mp4", "faceSaveStrategy": "x"}
    assert_problem(api.post("/api/v1/VideoRecords", json=bad_strategy), 400)

    assert api.delete(f"/api/v1/VideoRecords/{rid}").status_code == 204
    assert_problem(api.get(f"/api/v1/VideoRecords/{rid}"), 404)


@pytest.mark.parametrize(("name", "audio", "matching"), [("walk.mp4", True, True), ("walk.mkv", False, False)])
def test_a_recording_is_analysed_into_tracklets_at_their_times_in_the_video(
    api: httpx.Client, videos: Cluster, member: str, folder: Path, name: str, audio: bool, matching: bool
) -> None:
    write_clip(folder / name, TWO_PASSES, audio=audio)
    matching_config = {"matchDetectedFaces": matching, "maxResultsCount": 1}
    record = create(api, name, enabled=True, matchingConfig=matching_config)
    rid = record["id"]
    status = wait_state(api, rid, {"Processed", "Error"})
    assert status["state"] == "Processed", status
    assert status["framesAnalysed"] == 55 and status["positionMs"] == 10_900, status

    done = api.get(f"/api/v1/VideoRecords/{rid}").json()
    assert done["videoDurationMs"] in range(10_900, 11_100)
    assert done["processingStartTime"] is not None and done["processingDurationMs"] > 0
    recorded = at(RECORDED_AT)

    tracklets = items(api, f"/api/v1/VideoRecords/{rid}/Tracklets")
    assert len(tracklets) == 2, tracklets
    first, second = sorted(tracklets, key=lambda t: t["timeAppearedRelativeMs"])
    assert 1000 <= first["timeAppearedRelativeMs"] <= 1600 and 3000 <= first["timeDisappearedRelativeMs"] <= 3900
    assert 7000 <= second["timeAppearedRelativeMs"] <= 7600 and 9000 <= second["timeDisappearedRelativeMs"] <= 9900
    for t in tracklets:  # wall times: recordedAt + the offset in the video
        assert at(t["timeAppeared"]) == recorded + timedelta(milliseconds=t["timeAppearedRelativeMs"])
        assert at(t["timeDisappeared"]) == recorded + timedelta(milliseconds=t["timeDisappearedRelativeMs"])

    frames = items(api, f"/api/v1/VideoRecords/{rid}/Frames")
    assert frames and all(1000 <= f["positionInMs"] <= 9900 for f in frames)
    assert all(at(f["receivedAt"]) == recorded + timedelta(milliseconds=f["positionInMs"]) for f in frames)
    assert all(api.get(f"/api/v1/Images/{f['imageDataId']}").status_code == 200 for f in frames)
    faces = items(api, f"/api/v1/Faces?CameraId={rid}")
    assert {f["trackletId"] for f in faces} == {first["id"], second["id"]}  # first and best of each
    # Age and gender are asked for as a face is stored (not on every frame), and kept.
    assert all(f["age"] is not None and f["gender"] is not None for f in faces), faces

    events = camera_events(videos.servers.nats_url, rid)
    states = [e.body["state"] for e in events if e.kind == "videorecord.changed"]
    assert states == ["READY", "PROCESSING", "PROCESSED"], states
    assert all(e.topic == "videoRecords.update" for e in events if e.kind == "videorecord.changed")
    progress = [e.body for e in events if e.kind == "videorecord.progressed"]
    assert progress[-1]["status"] == "READY" and progress[-1]["numUnprocFrames"] == 0
    assert sum(p["numNewFrames"] for p in progress) == 55
    completed = [e.body for e in events if e.kind == "tracklet.completed"]
    assert sorted(c["timeAppearedRelativeMs"] for c in completed) == [first["timeAppearedRelativeMs"],
                                                                       second["timeAppearedRelativeMs"]]  # fmt: skip
    assert all(c["streamId"] == rid for c in completed)
    created = [e.body for e in events if e.kind == "face.created"]
    assert created and all(c["age"] is not None and c["gender"] is not None for c in created), created
    found = [e.body for e in events if e.kind == "match.found"]
    stored = rows(videos, "SELECT tracklet_id::text, watchlist_member_id FROM seen_match_results "
                          "WHERE camera_id = $1", uuid.UUID(rid))  # fmt: skip
    if matching:
        assert [(f["trackletId"], f["watchlistMemberId"]) for f in found] == [(first["id"], member)]
        assert [tuple(r) for r in stored] == [(first["id"], member)]
        missed = [e.body["trackletId"] for e in events if e.kind == "match.missed"]
        assert missed == [second["id"]]
    else:
        assert found == [] and stored == []


def test_a_phone_video_of_a_member_in_portrait_gives_their_match(
    api: httpx.Client, videos: Cluster, member: str, folder: Path
) -> None:
    """A phone stores a portrait video turned on its side with a display matrix (here -90: the
    way phones write it): analysed as players show it, upright, its stored frames included."""
    write_clip(folder / "phone.mp4", [(None, 0.5), (MEMBER_PHOTO_VIDEO, 2), (None, 1)], 360, 640, rotation=-90)
    rid = create(api, "phone.mp4", enabled=True)["id"]
    status = wait_state(api, rid, {"Processed", "Error"})
    assert status["state"] == "Processed", status
    (tracklet,) = items(api, f"/api/v1/VideoRecords/{rid}/Tracklets")
    found = [e.body for e in camera_events(videos.servers.nats_url, rid) if e.kind == "match.found"]
    assert [(f["trackletId"], f["watchlistMemberId"]) for f in found] == [(tracklet["id"], member)]
    frame = items(api, f"/api/v1/VideoRecords/{rid}/Frames")[0]
    stored = cv2.imdecode(np.frombuffer(api.get(f"/api/v1/Images/{frame['imageDataId']}").content, np.uint8), 1)
    assert stored is not None and stored.shape[:2] == (640, 360)


@pytest.fixture
def served(folder: Path) -> Iterator[str]:
    """The video folder over HTTP on 127.0.0.1 (no ranges: read from start to end), its base URL."""
    with serve_http(partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))) as base:
        yield base


def test_recording_urls_follow_the_camera_address_policy(api: httpx.Client, folder: Path, served: str) -> None:
    # Refused as a camera's source would be (this cluster allows 127.0.0.0/8 only): a 400 naming
    # `source` at create and at update, never opened.
    refused = ["http://169.254.169.254/latest/meta-data/", "rtsp://[::1]:8554/rec", "http://169.254.7.7/rec.mp4",
               "http://0.0.0.0:8080/rec.mp4"]  # fmt: skip
    record = create(api, "lobby.mp4")
    update = {k: v for k, v in record.items() if k not in ("state", "videoDurationMs", "processingStartTime",
                                                           "processingDurationMs")}  # fmt: skip
    for source in refused:
        body = assert_problem(api.post("/api/v1/VideoRecords", json={"name": "x", "source": source}), 400)
        assert "source" in body["errors"], body
        body = assert_problem(api.put("/api/v1/VideoRecords", json={**update, "source": source}), 400)
        assert "source" in body["errors"], body
    assert [r["id"] for r in api.get("/api/v1/VideoRecords").json()] == [record["id"]]

    # Allowed: a recording served over HTTP is read and analysed like a file.
    write_clip(folder / "served.mkv", [(None, 0.5), (MEMBER_PHOTO_VIDEO, 2), (None, 1)])
    r = api.put("/api/v1/VideoRecords", json={**update, "source": f"{served}/served.mkv", "enabled": True})
    assert r.status_code == 200, r.text
    status = wait_state(api, record["id"], {"Processed", "Error"})
    assert status["state"] == "Processed" and status["framesAnalysed"] == 18, status
    assert len(items(api, f"/api/v1/VideoRecords/{record['id']}/Tracklets")) == 1


def test_clear_and_delete_remove_what_the_record_produced(api: httpx.Client, videos: Cluster, folder: Path) -> None:
    write_clip(folder / "short.mp4", [(None, 0.5), (MEMBER_PHOTO_VIDEO, 2), (None, 1)])
    rid = create(api, "short.mp4", enabled=True)["id"]
    assert wait_state(api, rid, {"Processed", "Error"})["state"] == "Processed"
    key = uuid.UUID(rid)

    def produced() -> dict[str, int]:
        return {table: rows(videos, f"SELECT count(*) FROM {table} WHERE camera_id = $1", key)[0][0]
                for table in ("seen_tracklets", "seen_frames", "seen_faces", "seen_images")}  # fmt: skip

    assert all(produced().values()), produced()
    assert api.post(f"/api/v1/VideoRecords/{rid}/Clear").status_code == 204
    cleared = api.get(f"/api/v1/VideoRecords/{rid}").json()
    assert cleared["state"] == "Ready" and cleared["enabled"] is False and cleared["processingStartTime"] is None
    assert not any(produced().values()) and items(api, f"/api/v1/VideoRecords/{rid}/Tracklets") == []

    # Enabled again, it is analysed anew; deleting it takes everything with it.
    r = api.put("/api/v1/VideoRecords", json={**{k: v for k, v in cleared.items() if k != "state"}, "enabled": True})
    assert r.status_code == 200, r.text
    assert wait_state(api, rid, {"Processed", "Error"})["state"] == "Processed"
    assert len(items(api, f"/api/v1/VideoRecords/{rid}/Tracklets")) == 1
    assert api.delete(f"/api/v1/VideoRecords/{rid}").status_code == 204
    assert not any(produced().values())
    assert [e.kind for e in camera_events(videos.servers.nats_url, rid)][-1] == "videorecord.deleted"


def test_sources_that_cannot_be_read_end_in_error_with_the_reason(api: httpx.Client, folder: Path) -> None:
    write_clip(folder / "whole.mkv", [(MEMBER_PHOTO_VIDEO, 2), (None, 6)])
    data = (folder / "whole.mkv").read_bytes()
    (folder / "cut.mkv").write_bytes(data[: len(data) // 2])  # in the walk: the empty frames weigh little
    (folder / "notes.mp4").write_text("minutes of the meeting " * 200)
    expected = {"cut.mkv": "truncated", "notes.mp4": "not a video", "missing.mp4": "does not exist"}
    ids = {name: create(api, name, enabled=True)["id"] for name in expected}
    for name, words in expected.items():
        status = wait_state(api, ids[name], {"Processed", "Error"})
        assert status["state"] == "Error" and words in status["reason"], (name, status)
        assert api.get(f"/api/v1/VideoRecords/{ids[name]}").json()["state"] == "Error"
    # What the truncated file yielded before it broke off is kept.
    assert items(api, f"/api/v1/VideoRecords/{ids['cut.mkv']}/Frames")


def test_a_replica_killed_mid_file_hands_the_record_over_without_duplicate_tracklets(
    api: httpx.Client, videos: Cluster, folder: Path
) -> None:
    passes = 6
    scenes: list[Scene] = [(None, 1)]
    for i in range(passes):
        scenes += [(MEMBER_PHOTO_VIDEO if i % 2 == 0 else STRANGER_PHOTO, 2.5), (None, 3)]
    write_clip(folder / "long.mkv", scenes, width=480, height=270)
    # A frame every 100 ms of video: a fast machine analysed the whole clip at 400 ms in about
    # a second, its position stored every 0.5 s, too quick to catch between two stored positions.
    rid = create(api, "long.mkv", enabled=True, redetectionTime=100, templateGenerationTime=400)["id"]
    wait_state(api, rid, {"Processing"}, 60)
    polled: list[dict[str, Any]] = []

    def past_the_second_pass() -> bool:  # the owner as of the same answer: it may finish next
        polled.append(api.get(f"/api/v1/VideoRecords/{rid}/Status").json())
        now = polled[-1]
        return now["state"] != "Processing" or bool(now["resumeMs"] >= 8000 and now["owner"])

    wait_until(past_the_second_pass, 180, "a resume position past the second pass")
    assert polled[-1]["state"] == "Processing", polled[-1]  # to be killed mid-file, not after it
    owner = polled[-1]["owner"].split("/")[0]
    index = int(owner.rsplit("-", 1)[1])
    videos.services.procs[("camera_ingest", index)].kill()  # no goodbye: its lease expires
    videos.services.procs.pop(("camera_ingest", index)).wait()
    try:
        done = wait_state(api, rid, {"Processed", "Error"}, 240)
        assert done["state"] == "Processed" and done["owner"] is None, done
        tracklets = items(api, f"/api/v1/VideoRecords/{rid}/Tracklets")
        appeared = sorted(t["timeAppearedRelativeMs"] for t in tracklets)
        assert len(appeared) == passes, appeared  # each pass once: nothing stored twice, nothing lost
        assert all(later - earlier > 4000 for earlier, later in itertools.pairwise(appeared)), appeared
        events = camera_events(videos.servers.nats_url, rid)
        assert [e.body["state"] for e in events if e.kind == "videorecord.changed"].count("PROCESSED") == 1
    finally:
        env = {**FAST_INGEST, **VIDEO_ENV, "FACEGATE_VIDEO_FOLDER": str(folder)}
        videos.services.start("camera_ingest", index, extra_env=env)


def test_graphql_answers_video_records_and_their_state_changes(api: httpx.Client, videos: Cluster) -> None:
    record = create(api, "lobby.mp4", faceSaveStrategy="FirstFace, BestFace", description="export of camera 3")
    create(api, "other.mp4")
    document = """{ videoRecords(where: {state: {eq: READY}, source: {eq: "lobby.mp4"}}) {
        totalCount items { id streamId state source enabled minFaceSize redetectionTime faceSaveStrategy
                           matchDetectedFaces matchMaxResultsCount description recordedAt videoDurationMs } } }"""
    found = query(videos.graphql_url, document)["videoRecords"]
    assert found["totalCount"] == 1
    assert found["items"] == [{
        "id": record["id"], "streamId": record["id"], "state": "READY", "source": "lobby.mp4", "enabled": False,
        "minFaceSize": 35, "redetectionTime": INTERVAL_MS, "faceSaveStrategy": "FIRST_FACE_BEST_FACE",
        "matchDetectedFaces": True, "matchMaxResultsCount": 1, "description": "export of camera 3",
        "recordedAt": "2024-03-04T05:06:07Z", "videoDurationMs": None,
    }]  # fmt: skip
