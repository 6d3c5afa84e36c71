"""Video records without a cluster: which sources are allowed, the settings a request gives, and
real files (made with PyAV from ../shared/faces photos) decoded as a record's analysis reads them."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import msgspec
import numpy as np
import pytest

from services.camera_ingest import video_decoder
from services.camera_ingest.decoder import SampledFrame
from services.camera_ingest.settings import IngestSettings, VideoSettings, load_video_settings
from services.camera_ingest.video_config import new_settings, updated_settings
from services.camera_ingest.video_decoder import Ended, Failed, Item, Opened, decode_record, truncated
from services.camera_ingest.video_sources import SourceRefused, check, record_policy, resolve
from shared.errors import ValidationFailed
from shared.messages.video_records import VideoRecordCreateRequest, VideoRecordUpdateRequest, state_enum
from shared.sources import SourcePolicy
from tests.rtsp.media import write_clip, write_h264

RECORDED = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    write_clip(root / "walk.mp4", [(None, 1), ("img1.jpg", 2), (None, 1)], audio=True)
    write_clip(root / "walk.mkv", [(None, 1), ("img1.jpg", 2), (None, 1)])
    return root


def test_files_outside_the_video_folder_are_refused_whatever_the_path_says(folder: Path, tmp_path: Path) -> None:
    assert resolve("walk.mp4", str(folder)).target == str(folder / "walk.mp4")
    assert resolve(str(folder / "walk.mp4"), str(folder)).protocols == "file"
    assert resolve(f"file://{folder}/walk.mkv", str(folder)).is_file
    outside = tmp_path / "secret.mp4"
    outside.write_bytes(b"x")
    (folder / "link.mp4").symlink_to(outside)
    for source in (
        "../secret.mp4",
        str(outside),
        "link.mp4",
        "sub/../../x.mp4",
        "/etc/passwd",
        ".",
        f"file://{outside}",
    ):
        with pytest.raises(SourceRefused, match="outside the video folder"):
            resolve(source, str(folder))
    with pytest.raises(SourceRefused, match="FACEGATE_VIDEO_FOLDER"):
        resolve("walk.mp4", "")
    with pytest.raises(ValidationFailed) as refused:
        asyncio.run(check("../x.mp4", str(folder)))
    assert refused.value.errors == {"source": ["the file is outside the video folder (FACEGATE_VIDEO_FOLDER)"]}


def test_urls_of_recordings_allow_only_their_own_protocols(folder: Path) -> None:
    assert resolve("https://host/rec.mp4", str(folder)).protocols == "http,https,tcp,tls"
    assert resolve("rtsp://host/rec", "").protocols.startswith("rtsp")
    for source in ("ftp://host/a.mp4", "concat://a|b", "smb://host/x"):
        with pytest.raises(SourceRefused, match="not allowed"):
            resolve(source, str(folder))
    # FFmpeg's meta-protocols without "//" are file names inside the folder, opened as files only.
    assert resolve("concat:a.mp4|b.mp4", str(folder)) == resolve(str(folder / "concat:a.mp4|b.mp4"), str(folder))


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("http://127.0.0.1:8080/rec.mp4", "a loopback address"),
        ("http://localhost/rec.mkv", "a loopback address"),
        ("https://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
        ("rtsp://[fe80::1]/rec", "a link-local address"),
        ("rtsps://0.0.0.0/rec", "an unspecified address"),
        ("http://10.0.0.1/rec mp4", "spaces or control characters"),
    ],
)
def test_recording_urls_are_refused_where_a_cameras_would_be(folder: Path, source: str, why: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        asyncio.run(check(source, str(folder)))
    assert refused.value.errors is not None and why in refused.value.errors["source"][0], refused.value.errors


def test_recording_urls_the_policy_allows_are_accepted_and_checked_again_before_opening(folder: Path) -> None:
    for source in ("http://192.0.2.10/exports/lobby.mp4", "rtsp://10.1.2.3:8554/rec", "https://[2001:db8::7]/a.mkv"):
        asyncio.run(check(source, str(folder)))
    # The cameras' allowed networks allow a record's URL too; their schemes do not limit records.
    local = record_policy(SourcePolicy.parse("rtsp", "127.0.0.0/8"))
    asyncio.run(check("http://127.0.0.1:8080/rec.mp4", str(folder), local))
    assert resolve("http://127.0.0.1:8080/rec.mp4", str(folder), local).policy == local
    # Right before opening, the name is resolved again: refused, never connected to.
    (failed,) = read(folder, "http://localhost:9/rec.mp4")
    assert isinstance(failed, Failed) and failed.reason.startswith("localhost resolves to"), failed
    assert "a loopback address (FACEGATE_CAMERA_SOURCE_ALLOW_NETWORKS can allow it)" in failed.reason


def test_a_create_request_gets_smartfaces_defaults_and_an_update_keeps_what_it_leaves_out() -> None:
    created = new_settings(msgspec.convert({"name": "n", "source": "s", "faceDetectorConfig": {"minFaceSize": 50}},
                                           VideoRecordCreateRequest))  # fmt: skip
    assert created.face_detector_config.min_face_size == 50 and created.face_detector_config.max_faces == 20
    assert created.face_save_strategy == "FirstFace, BestFace" and created.redetection_time == 500
    assert created.matching_config.match_detected_faces and created.matching_config.max_results_count == 1
    update = {
        "id": str(uuid.uuid4()), "name": "n", "source": "s", "enabled": True, "redetectionTime": 200,
        "templateGenerationTime": 400, "maskImagePath": None, "saveFrameImageData": False, "imageQuality": 70,
        "faceDetectorConfig": {"minFaceSize": 30, "maxFaceSize": 500, "maxFaces": 5, "confidenceThreshold": 600},
        "matchingConfig": {"matchDetectedFaces": False, "maxResultsCount": 3},
    }  # fmt: skip
    updated = updated_settings(created, msgspec.convert(update, VideoRecordUpdateRequest))
    assert updated.redetection_time == 200 and not updated.save_frame_image_data
    assert updated.face_save_strategy == "FirstFace, BestFace"  # left out: kept
    assert updated.matching_config.max_results_count == 3 and not updated.matching_config.match_detected_faces
    assert state_enum("Processed") == "PROCESSED"


def test_bad_video_settings_exit_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_video_settings({"FACEGATE_VIDEO_FOLDER": "/videos"}).folder == "/videos"
    with pytest.raises(SystemExit):
        load_video_settings({"FACEGATE_VIDEO_FRAMES_IN_FLIGHT": "0"})
    assert "FACEGATE_VIDEO_FRAMES_IN_FLIGHT" in capsys.readouterr().err


def read(folder: Path, source: str, start_ms: int = 0, interval_ms: int = 200) -> list[Item]:
    items: list[Item] = []

    def put(item: Item) -> bool:
        items.append(item)
        return True

    target = resolve(source, str(folder))
    stop = threading.Event()
    decode_record("r", target, start_ms, interval_ms, RECORDED, put, stop, VideoSettings(), IngestSettings())
    return items


def frames_of(items: list[Item]) -> list[SampledFrame]:
    return [i for i in items if isinstance(i, SampledFrame)]


@pytest.mark.parametrize("name", ["walk.mp4", "walk.mkv"])
def test_a_file_is_read_to_its_end_sampled_by_video_time_and_stamped_recorded_at_plus_offset(
    folder: Path, name: str
) -> None:
    items = read(folder, name)
    assert isinstance(items[0], Opened) and items[0].duration_ms is not None and 3900 <= items[0].duration_ms <= 4100
    assert isinstance(items[-1], Ended) and (items[-1].end_ms, items[-1].truncated) == (3900, None)
    frames = frames_of(items)
    assert [round(f.stream_time_s or 0, 3) for f in frames] == [round(0.2 * i, 3) for i in range(20)]
    assert all(f.captured_at == RECORDED + timedelta(seconds=f.stream_time_s or 0) for f in frames)
    assert frames[0].image.shape == (360, 640, 3)


def test_a_resumed_run_starts_at_its_position(folder: Path) -> None:
    frames = frames_of(read(folder, "walk.mkv", start_ms=2400))
    assert [round(f.stream_time_s or 0, 3) for f in frames] == [2.4, 2.6, 2.8, 3.0, 3.2, 3.4, 3.6, 3.8]


def test_the_decoder_waits_for_the_pipeline_and_stops_when_told(folder: Path) -> None:
    taken: list[Item] = []
    stop = threading.Event()

    def put(item: Item) -> bool:  # the pipeline takes three frames, then the run is stopped
        taken.append(item)
        if len(frames_of(taken)) == 3:
            stop.set()
        return not stop.is_set()

    target = resolve("walk.mp4", str(folder))
    decode_record("r", target, 0, 100, RECORDED, put, stop, VideoSettings(), IngestSettings())
    assert len(frames_of(taken)) == 3 and not any(isinstance(i, Ended | Failed) for i in taken)


def audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        sound = out.add_stream("aac", rate=16000)
        sound.layout = "mono"
        for start in range(0, 16000, 1024):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 16000, start, Fraction(1, 16000)
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return path


@pytest.fixture(scope="module")
def camera_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of H.264 as a camera records it: 25 fps, B-frames, a keyframe a second."""
    root = tmp_path_factory.mktemp("camera")
    write_h264(root / "camera.mp4", 640, 360, 12)
    write_h264(root / "camera.ts", 640, 360, 12)  # MPEG-TS: no keyframe index, seeks land on any packet
    return root


def test_frames_no_other_refers_to_are_not_decoded_when_sampling_skips_them(camera_file: Path) -> None:
    every = read(camera_file, "camera.mp4", interval_ms=40)  # every frame sampled: all decoded
    assert len(frames_of(every)) == 300 and isinstance(every[-1], Ended) and every[-1].decoded == 300
    items = read(camera_file, "camera.mp4", interval_ms=200)  # 5 frames an interval: B-frames skipped
    frames, end = frames_of(items), items[-1]
    assert isinstance(end, Ended) and end.decoded < 250 and end.truncated is None, end
    times = [f.stream_time_s or 0 for f in frames]
    assert len(times) == 60 and times == sorted(times)
    assert all(-1e-3 < t - 0.2 * i < 0.09 for i, t in enumerate(times)), times  # a frame or two late at most


@pytest.mark.parametrize("name", ["camera.mp4", "camera.ts"])
def test_sparse_sampling_seeks_over_keyframe_gaps(
    camera_file: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    seeks: list[float] = []
    seek = video_decoder._Reader.seek

    def counted(self: video_decoder._Reader, offset_s: float) -> None:
        seeks.append(offset_s)
        seek(self, offset_s)

    monkeypatch.setattr(video_decoder._Reader, "seek", counted)
    items = read(camera_file, name, interval_ms=3000)
    times = [round(f.stream_time_s or 0, 2) for f in frames_of(items)]
    assert [round(t) for t in times] == [0, 3, 6, 9] and all(t - round(t) < 0.09 for t in times), times
    end = items[-1]
    assert isinstance(end, Ended) and end.truncated is None and end.end_ms >= 11_900, end
    # (A seek that lands past 6 s, on the keyframe after the packet it found, is tried from further back.)
    assert seeks[0] == 6.0 and end.decoded <= 76 + 150 + 25, (seeks, end)  # 0-3 s and 5-12 s at most
    resumed = [round(f.stream_time_s or 0, 2) for f in frames_of(read(camera_file, name, 4000, 2500))]
    assert resumed[0] == 4.0 and [round(t) for t in resumed] == [4, 7, 9, 12], resumed


def test_bad_files_end_with_a_reason(folder: Path) -> None:
    whole = (folder / "walk.mkv").read_bytes()
    (folder / "cut.mkv").write_bytes(whole[: len(whole) // 2])
    (folder / "cut.mp4").write_bytes((folder / "walk.mp4").read_bytes()[:5000])
    (folder / "notes.mp4").write_text("not a video " * 100)
    audio_only(folder / "song.m4a")
    os.makedirs(folder / "dir.mp4", exist_ok=True)
    reasons = {name: read(folder, name)[-1] for name in ("cut.mkv", "cut.mp4", "notes.mp4", "missing.mp4",
                                                         "song.m4a", "dir.mp4")}  # fmt: skip
    cut = reasons.pop("cut.mkv")
    assert isinstance(cut, Ended) and cut.truncated and "truncated" in cut.truncated
    failed = {name: item.reason for name, item in reasons.items() if isinstance(item, Failed)}
    assert failed.keys() == reasons.keys(), reasons
    assert "not a video FFmpeg can read" in failed["cut.mp4"] and "not a video" in failed["notes.mp4"]
    assert failed["missing.mp4"] == "the file does not exist"
    assert "no video stream" in failed["song.m4a"]
    assert "not a regular file" in failed["dir.mp4"]


def test_truncation_needs_frames_missing_beyond_the_tolerance() -> None:
    assert truncated(9_000, 10_000, 2.0) is None
    assert truncated(100_000, 110_000, 2.0) is None  # a tenth of a long file is allowed
    assert truncated(5_000, 10_000, 2.0) is not None
    assert truncated(5_000, None, 2.0) is None


def test_records_skip_the_deblocking_filter_but_on_keyframes(camera_file: Path) -> None:
    """RECORD_DECODER_OPTIONS reach FFmpeg: the sampled keyframes are the fully decoded ones, the
    frames between them differ (no deblocking) but only slightly (docs/video_records.md)."""
    target = resolve("camera.mp4", str(camera_file))
    container, video = video_decoder.open_source(target, VideoSettings(), IngestSettings())
    assert video.codec_context.options.get("skip_loop_filter") == "nokey"
    container.close()
    with av.open(str(camera_file / "camera.mp4")) as plain:
        full = {round(f.time, 3): f.to_ndarray(format="rgb24") for f in plain.decode(video=0)}
    frames = frames_of(read(camera_file, "camera.mp4", interval_ms=200))
    keyframes = [f for f in frames if abs((f.stream_time_s or 0) - round(f.stream_time_s or 0)) < 1e-3]
    others = [f for f in frames if f not in keyframes]
    assert len(keyframes) == 12 and len(others) == 48
    assert all(np.array_equal(f.image, full[round(f.stream_time_s or 0, 3)]) for f in keyframes)
    changed = 0
    for f in others:
        error = np.mean((f.image.astype(np.float32) - full[round(f.stream_time_s or 0, 3)]) ** 2)
        assert 10 * np.log10(255**2 / max(error, 1e-9)) > 38, f.stream_time_s  # a JPEG at 90 changes more
        changed += error > 0
    assert changed > len(others) / 2  # the option is in effect: the loop filter was skipped


def test_sampled_frames_are_converted_as_to_ndarray_converts_them_with_one_context(camera_file: Path) -> None:
    with av.open(str(camera_file / "camera.mp4")) as container:
        reader = video_decoder._Reader("r", container, container.streams.video[0], 0, 0.2, RECORDED)
        frames = [f for _, f in zip(range(3), container.decode(video=0), strict=False)]
        for colorspace in (2, 1):  # untagged (BT.601), BT.709: the frame's own matrix
            images = []
            for frame in frames:
                frame.colorspace = colorspace
                images.append(reader.rgb(frame))
                assert np.array_equal(images[-1], frame.to_ndarray(format="rgb24"))
            assert images[0].shape == (360, 640, 3) and not np.array_equal(images[0], images[2])  # no buffer shared
