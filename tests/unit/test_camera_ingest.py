"""camera_ingest's pure parts: sampling, failure classification, ownership, request merging."""

from __future__ import annotations

import itertools
import socket
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import av
import av.error
import cv2
import msgspec
import numpy as np
import pytest

from services.camera_ingest import decoder
from services.camera_ingest.config import new_camera, updated_camera
from services.camera_ingest.decoder import NoAnswer, NoVideo, SampledFrame, Sampler, classify, decode_once
from services.camera_ingest.leases import preferred_owner
from services.camera_ingest.scheduler import camera_enabled
from services.camera_ingest.settings import IngestSettings, load_ingest_settings
from shared.imaging import decode_image
from shared.messages.cameras import CameraCreateRequest, CameraEvent, CameraUpdateRequest
from shared.sources import redact
from tests.rtsp.media import walking_face, write_clip, write_h264
from tests.support import FACES


def test_sampler_takes_one_frame_per_interval_of_stream_time() -> None:
    sampler = Sampler(0.2)
    taken = [i for i in range(100) if sampler.due(i * 0.04)]  # 25 fps for 4 s
    assert len(taken) == 20 and taken[:3] == [0, 5, 10]


def test_sampler_restarts_its_schedule_when_timestamps_jump() -> None:
    sampler = Sampler(0.2)
    assert sampler.due(100.0) and not sampler.due(100.1)
    assert sampler.due(5.0)  # the stream restarted from zero
    assert not sampler.due(5.1) and sampler.due(5.2)


def test_sampler_skips_the_slots_a_gap_missed_instead_of_catching_up() -> None:
    sampler = Sampler(0.2)
    assert sampler.due(0.0) and sampler.due(0.2)
    assert sampler.due(0.96)  # frames from 0.24 to 0.92 lost: one frame, on the same grid
    assert [t for t in (1.0, 1.04, 1.08, 1.12, 1.16, 1.2) if sampler.due(t)] == [1.0, 1.2]


def test_frame_times_trust_moving_stamps_and_go_by_the_clock_once_they_stand_still() -> None:
    from services.camera_ingest.decoder import FrameTimes

    times = FrameTimes(stuck_s=2.0)
    # 10 fps with moving stamps, a repeated stamp and a step back (a wrapped clock) among them.
    stamps = [0.0, 0.1, 0.2, 0.2, 0.3, 0.05, 0.15]
    assert [times.trusted(t, 100.0 + 0.1 * i) for i, t in enumerate(stamps)] == stamps
    assert times.trusted(None, 101.0) is None and not times.distrusted  # one frame without a stamp
    # Every frame stamped 7.0 from then on: trusted for 2 s of frames, then never again.
    assert [times.trusted(7.0, 101.0 + 0.5 * i) for i in range(5)] == [7.0] * 5
    assert times.trusted(7.0, 103.1) is None and times.distrusted
    assert times.trusted(8.0, 103.2) is None  # however it moves afterwards: this connection is clock-timed


def test_frame_times_go_by_the_clock_when_a_live_streams_stamps_run_at_another_rate() -> None:
    from services.camera_ingest.decoder import FrameTimes

    # MJPEG over HTTP: FFmpeg numbers the frames 25 a second, the camera sends 10.
    mjpeg = FrameTimes(live=True)
    trusted = [mjpeg.trusted(i / 25, 100.0 + i / 10) for i in range(100)]
    first = trusted.index(None)  # the third drift past a second, ~5 s in
    assert 40 <= first <= 60 and all(t is None for t in trusted[first:]), first
    # A file decoded as fast as it goes is not live: its stamps are right.
    file = FrameTimes(live=False)
    assert all(file.trusted(i / 25, 100.0 + i / 1000) == i / 25 for i in range(100))
    # A camera: 1.5 s of buffered frames at once at connect, then its clock 1 % fast, for a minute.
    camera = FrameTimes(live=True)
    stamps = [camera.trusted(i / 25, 100.0 + max(0.0, i / 25 - 1.5) * 1.01) for i in range(25 * 60)]
    assert None not in stamps and len(camera.drifted) == 1


def test_a_stream_stamped_alike_is_sampled_by_the_clock_not_once() -> None:
    """What decode_once does with each frame (FrameTimes, then the Sampler on the stream time or
    the time since the connection opened): a 10 fps camera whose every frame carries stamp 0."""
    times, sampler = decoder.FrameTimes(stuck_s=2.0), Sampler(0.2)
    sampled = []
    for i in range(100):  # 10 s
        now = 50.0 + 0.1 * i
        stream_time = times.trusted(0.0, now)
        if sampler.due(stream_time if stream_time is not None else now - 50.0):
            sampled.append(i)
    # The first frame by its stamp; none while the stamps might still move (2 s); then 5 a second.
    assert sampled[0] == 0 and all(i > 20 for i in sampled[1:])
    assert 35 <= len(sampled) <= 42, sampled


@pytest.mark.parametrize(
    ("exc", "state", "words"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "offline", "cannot reach"),
        (TimeoutError("timed out"), "offline", "cannot reach"),
        (av.error.HTTPNotFoundError(-1414092869, "Server returned 404 Not Found"), "error", "no such stream"),
        (av.error.HTTPUnauthorizedError(-825242872, "401"), "error", "access denied"),
        (av.error.InvalidDataError(-1094995529, "Invalid data"), "error", "not a video stream"),
        (av.error.ProtocolNotFoundError(-1330794744, "Protocol not found"), "error", "unsupported source URL"),
        (NoVideo("the source has no video stream"), "error", "no video stream"),
        (NoAnswer("the camera took the connection but did not answer within 3 s"), "offline", "did not answer"),
        (RuntimeError("boom"), "error", "RuntimeError: boom"),
    ],
)
def test_failures_are_classified_with_a_reason(exc: BaseException, state: str, words: str) -> None:
    got_state, reason = classify(exc)
    assert got_state == state and words in reason


def test_rendezvous_spreads_cameras_and_moves_only_the_leavers_share() -> None:
    replicas = ["a", "b", "c"]
    cameras = [str(uuid.UUID(int=i)) for i in range(300)]
    owners = {c: preferred_owner(c, replicas) for c in cameras}
    assert all(60 <= n <= 140 for n in Counter(owners.values()).values())
    after = {c: preferred_owner(c, ["a", "b"]) for c in cameras}
    moved = [c for c in cameras if after[c] != owners[c]]
    assert all(owners[c] == "c" for c in moved)  # only c's cameras move
    assert preferred_owner("x", []) is None


def test_update_keeps_what_it_leaves_out_and_merges_nested_objects() -> None:
    created = new_camera(uuid.uuid4(), CameraCreateRequest(name="a", source="rtsp://x", service_name="svc"))
    body = msgspec.to_builtins(created)
    body["spoofDetectorConfig"] = {"externalScoreThreshold": 3}
    body["maskImagePath"] = None
    update = msgspec.convert({k: v for k, v in body.items() if k != "serviceName"}, CameraUpdateRequest)
    updated = updated_camera(created, update)
    assert updated.service_name == "svc"
    assert updated.spoof_detector_config.external_score_threshold == 3
    assert updated.spoof_detector_config.distant_liveness_score_threshold == 90


def test_a_camera_event_wakes_the_scheduler_to_stop_only_a_disabled_camera() -> None:
    created = new_camera(uuid.uuid4(), CameraCreateRequest(name="a", source="rtsp://x", enabled=False))
    assert not camera_enabled(msgspec.json.encode(CameraEvent(str(created.id), created)))
    enabled = msgspec.structs.replace(created, enabled=True)
    assert camera_enabled(msgspec.json.encode(CameraEvent(str(created.id), enabled)))
    assert camera_enabled(msgspec.json.encode(CameraEvent(str(created.id))))  # deleted: no camera
    assert camera_enabled(b"not json")  # unreadable: assume it is


def test_bad_ingest_settings_exit_with_a_message() -> None:
    assert load_ingest_settings({"FACEGATE_CAMERA_LEASE_TTL_S": "3"}).lease_ttl_s == 3
    with pytest.raises(SystemExit):
        load_ingest_settings({"FACEGATE_CAMERA_BACKOFF_MAX_S": "-1"})


def test_a_device_path_is_refused_rather_than_read_forever() -> None:
    with pytest.raises(NoVideo, match="not a regular file"):
        decode_once("cam", "/dev/stdin", 200, None, threading.Event(), IngestSettings())  # type: ignore[arg-type]


class Reports:
    """A StreamSink that keeps what the decoder thread reported."""

    def __init__(self) -> None:
        self.states: list[tuple[str, str | None]] = []

    def connecting(self, attempt: int) -> None:
        pass

    def state(self, state: str, reason: str | None) -> None:
        self.states.append((state, reason))

    def decoded(self, count: int) -> None:
        pass

    def sampled(self, frame: object) -> None:
        pass


class Kept(Reports):
    def __init__(self) -> None:
        super().__init__()
        self.frames: list[SampledFrame] = []

    def sampled(self, frame: object) -> None:
        assert isinstance(frame, SampledFrame)
        self.frames.append(frame)


def test_a_cameras_sampled_frames_are_the_pixels_to_ndarray_gives(tmp_path: Path) -> None:
    """The decode loop converts its sampled frames with one swscale context (RgbConverter):
    the same pixels as a context per frame, each frame its own array."""
    video = tmp_path / "camera.mp4"
    write_h264(video, 640, 360, 2)
    kept = Kept()
    decode_once("cam", str(video), 200, kept, threading.Event(), IngestSettings(decoder_threads=1), pace=False)
    with av.open(str(video)) as container:
        plain = {round(f.time, 3): f.to_ndarray(format="rgb24") for f in container.decode(video=0)}
    assert len(kept.frames) == 10
    for frame in kept.frames:
        assert frame.stream_time_s is not None and frame.image.shape == (360, 640, 3)
        assert np.array_equal(frame.image, plain[round(frame.stream_time_s, 3)])
    assert not np.array_equal(kept.frames[0].image, kept.frames[-1].image)  # no buffer shared


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_a_phone_video_stored_turned_is_decoded_upright(tmp_path: Path, rotation: int) -> None:
    """A phone stores a portrait video as landscape frames with a display matrix: the sampled
    frames are the picture as players show it (the face walking in from the left, upright),
    not on its side or upside down."""
    video = write_clip(tmp_path / "phone.mp4", [("img1.jpg", 1)], width=360, height=640, rotation=rotation)
    with av.open(str(video)) as container:
        stored = container.streams.video[0]
        assert (stored.width, stored.height) == ((640, 360) if rotation % 180 else (360, 640))
    kept = Kept()
    decode_once("cam", str(video), 200, kept, threading.Event(), IngestSettings(decoder_threads=1), pace=False)
    first = kept.frames[0].image
    expected = cv2.cvtColor(walking_face(360, 640, 10, "img1.jpg", size=0.5 * 360 / 640)[0], cv2.COLOR_BGR2RGB)
    assert first.shape == expected.shape == (640, 360, 3)
    assert np.abs(first.astype(int) - expected).mean() < 6
    assert np.abs(np.rot90(first, 2).astype(int) - expected).mean() > 12  # upside down: far


def test_only_a_display_matrixs_quarter_turns_are_applied() -> None:
    from services.camera_ingest.decoder import upright

    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    assert np.array_equal(upright(rgb, 90), np.rot90(rgb, 1)) and np.array_equal(upright(rgb, -90), np.rot90(rgb, 3))
    assert np.array_equal(upright(rgb, 180), np.rot90(rgb, 2)) and np.array_equal(upright(rgb, -180), np.rot90(rgb, 2))
    # As stored: no turn, a degenerate matrix (PyAV reads -2**31), a 30 degree or mirrored one.
    for rotation in (0, 360, -(2**31), 30, 150):
        assert upright(rgb, rotation) is rgb, rotation


def test_a_frame_is_encoded_once_for_the_analyses_that_send_it() -> None:
    """Faces and pedestrians of a camera send the same JPEG of a frame: one encoding, ~2 ms."""
    image = decode_image((FACES / "photos" / "img1.jpg").read_bytes())
    frame = SampledFrame("cam", 0, datetime.now(UTC), 0.0, image)
    first = frame.jpeg(90)
    assert frame.jpeg(90) is first
    assert np.abs(decode_image(first).astype(int) - image).mean() < 3  # the frame's own pixels
    assert len(frame.jpeg(50)) < len(first)  # another quality: its own encoding


async def test_the_shutdown_waits_for_a_decoder_thread_until_its_stop_ends_it(tmp_path: Path) -> None:
    """A decoder thread still inside FFmpeg when the interpreter finalises crashes the process
    (SIGSEGV at exit): join_threads waits for each, within its bound."""
    video = tmp_path / "camera.mp4"
    write_h264(video, 320, 240, 10)  # played at its own speed: 10 s of decoding
    stop = decoder.start_thread("cam", str(video), 200, Reports(), IngestSettings(decoder_threads=1))
    try:
        assert await decoder.join_threads(0.3) == 1  # not stopped: still decoding after the bound
    finally:
        stop.set()
    started = time.monotonic()
    assert await decoder.join_threads(5) == 0
    assert time.monotonic() - started < 2  # noticed within a frame, not at the end of the file
    assert not [t for t in threading.enumerate() if t.name.startswith("camera-cam")]


def test_a_camera_that_accepts_but_never_answers_is_offline_not_garbage() -> None:
    """FFmpeg ends the RTSP handshake with a silent peer as "invalid data": that is a hung
    camera (offline, it may come back), not an unreadable stream (error)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"rtsp://127.0.0.1:{listener.getsockname()[1]}/cam"
        started = time.monotonic()
        with pytest.raises(NoAnswer) as raised:
            decode_once("cam", url, 200, Reports(), threading.Event(),
                        IngestSettings(open_timeout_s=3, read_timeout_s=1))  # fmt: skip
        assert time.monotonic() - started < 3
    assert classify(raised.value) == ("offline", "the camera took the connection but did not answer within 1 s")


def test_garbage_from_an_rtsp_port_is_an_error_at_once() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)

        def answer_garbage() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(bytes(range(256)) * 8 + b"\r\n\r\n")
                time.sleep(0.5)

        threading.Thread(target=answer_garbage, daemon=True).start()
        url = f"rtsp://127.0.0.1:{listener.getsockname()[1]}/cam"
        with pytest.raises(av.error.InvalidDataError) as raised:
            decode_once("cam", url, 200, Reports(), threading.Event(),
                        IngestSettings(open_timeout_s=5, read_timeout_s=3))  # fmt: skip
    assert classify(raised.value)[0] == "error"


def test_backoff_starts_again_after_a_connection_that_got_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two failed connections double the wait; one that streamed before it failed resets it."""
    script = iter(["fail", "fail", "online-then-fail", "fail", "stop"])
    stop = threading.Event()

    def fake_decode(_cid: str, _src: str, _ms: int, sink: decoder.StreamSink, *_: object) -> int:
        step = next(script)
        if step == "stop":
            stop.set()
            return 0
        if step.startswith("online"):
            sink.state("online", None)
        raise NoAnswer("the camera stopped sending")

    monkeypatch.setattr(decoder, "decode_once", fake_decode)
    reports = Reports()
    settings = IngestSettings(backoff_initial_s=0.01, backoff_max_s=1)
    decoder.run_stream("cam", "rtsp://10.0.0.1/x", 200, reports, stop, settings)  # an address: no DNS
    waits = [reason.rsplit("retrying in ", 1)[1] for state, reason in reports.states if state == "offline" and reason]
    assert waits == ["0.01 s)", "0.02 s)", "0.01 s)", "0.02 s)"], reports.states


def test_credentials_in_urls_never_reach_a_reason() -> None:
    text = "Invalid data found when processing input: 'rtsp://admin:pa@ss@10.0.0.1:554/Streaming/Channels/101'"
    assert redact(text) == "Invalid data found when processing input: 'rtsp://***@10.0.0.1:554/Streaming/Channels/101'"
    assert redact("http://10.0.0.1/a@b and rtsp://cam/x") == "http://10.0.0.1/a@b and rtsp://cam/x"
    state, reason = classify(av.error.InvalidDataError(1094995529, "Invalid data", "rtsp://u:secret@h/x"))
    assert state == "error" and "secret" not in reason and "rtsp://***@h/x" in reason


def test_stream_clock_spaces_a_burst_by_stream_time_and_reanchors_on_drift() -> None:
    from services.camera_ingest.decoder import StreamClock

    clock = StreamClock(tolerance_s=1.0)
    # Five buffered frames 200 ms apart in the stream arrive 10 ms apart at connect.
    stamps = [clock.at(0.2 * i, 100.0 + 0.01 * i) for i in range(5)]
    assert [round(b - a, 3) for a, b in itertools.pairwise(stamps)] == [0.2] * 4
    # Live frames then follow at real time.
    assert clock.at(1.0, 100.2) == pytest.approx(101.0)
    # The stream stalls for 5 s: wall clock wins and becomes the new anchor.
    assert clock.at(1.2, 106.0) == 106.0
    assert clock.at(1.4, 106.2) == pytest.approx(106.2)
    # No stream time: the wall clock.
    assert clock.at(None, 107.0) == 107.0
