"""What cameras send besides a plain H.264 RTSP stream, live against camera_ingest replicas:
stamps that stand still, credentials, RTP over UDP only, MJPEG over HTTP (H.265 and MJPEG over
RTSP: test_pipeline.py). Each test also checks that no camera_ingest worker died, so that a
crash shows here and not as an unrelated failure of a later test."""

from __future__ import annotations

import contextlib
import http.server
import itertools
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from shared.embedded import free_port
from tests.rtsp.conftest import RtspServer
from tests.rtsp.test_ingest import add_camera, dead_workers, in_state, online, status_of, wait_status
from tests.support import Cluster

pytestmark = pytest.mark.rtsp


@pytest.fixture(autouse=True)
def no_worker_dies(cams: Cluster) -> Iterator[None]:
    yield
    assert not dead_workers(cams), f"a camera_ingest worker died: exit codes {dead_workers(cams)}"


@contextlib.contextmanager
def mjpeg_camera(frames: str, fps: int = 10) -> Iterator[str]:
    """An MJPEG camera over HTTP on 127.0.0.1 while in the block (multipart/x-mixed-replace, the
    JPEG files of `frames` looped at `fps`, without timestamps, as such cameras send them); its
    stream's URL."""
    files = itertools.takewhile(Path.exists, (Path(frames % i) for i in itertools.count()))
    jpegs = [f.read_bytes() for f in files]

    class Camera(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            with contextlib.suppress(OSError):
                for jpeg in itertools.cycle(jpegs):
                    head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                    self.wfile.write(head.encode() + jpeg + b"\r\n")
                    time.sleep(1 / fps)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Camera) as server:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/video.mjpg"
        finally:
            server.shutdown()


def test_a_camera_whose_frames_all_carry_one_timestamp_is_sampled_by_the_clock(cams: Cluster, frames: str) -> None:
    """A re-streamer with a broken clock (every frame stamped alike, sent as fast as it goes):
    by its stream time the camera would be sampled once and never again (online, analysing
    nothing); after FrameTimes' 2 s it is sampled by the wall clock, at its rate."""
    server = RtspServer(frames, free_port(), codec="mjpeg-unstamped")
    server.start()
    try:
        with cams.http() as client:
            camera_id = add_camera(client, server.url, interval_ms=200)
            wait_status(client, camera_id, online, 30, "online")
            since = time.monotonic()
            status = wait_status(client, camera_id, lambda s: s["framesSampled"] >= 15, 30, "15 frames sampled")
            spent = time.monotonic() - since
            assert status["framesDecoded"] > 2 * status["framesSampled"], status  # not every frame: the rate
            assert status["framesSampled"] <= 5 * (spent + 2) + 3, (status, spent)
    finally:
        server.stop()


def test_a_camera_asking_for_a_password_plays_with_it_and_says_why_without(cams: Cluster, frames: str) -> None:
    """IP cameras ask for credentials (RTSP Digest): a source with them, its special characters
    percent-encoded as a URL needs, goes online; a wrong password is an `error` saying access
    was denied, and the reason does not repeat the password."""
    password = "p@ss:w/rd#1"
    server = RtspServer(frames, free_port(), login=("admin", password))
    server.start()
    try:
        with cams.http() as client:
            good = add_camera(client, f"rtsp://admin:{quote(password, safe='')}@127.0.0.1:{server.port}/cam")
            bad = add_camera(client, f"rtsp://admin:wrong-secret@127.0.0.1:{server.port}/cam")
            wait_status(client, good, lambda s: online(s) and s["framesSampled"] >= 3, 30, "frames from the camera")
            status = wait_status(client, bad, in_state("error"), 30, "an error")
            assert "access denied" in status["reason"] and "wrong-secret" not in status["reason"], status
    finally:
        server.stop()


def test_a_camera_offering_rtp_over_udp_only_plays_over_udp(cams: Cluster, frames: str) -> None:
    """Cameras are asked for RTP over TCP (no loss, through firewalls); one that offers UDP only
    answers 461, and is played over UDP at once rather than failing for ever (without the
    fallback it stays in `error`)."""
    server = RtspServer(frames, free_port(), udp_only=True)
    server.start()
    try:
        with cams.http() as client:
            camera_id = add_camera(client, server.url)
            status = wait_status(client, camera_id, lambda s: online(s) and s["framesSampled"] >= 5, 30, "frames")
            assert status["reason"] is None and status["reconnects"] == 0, status
    finally:
        server.stop()


def test_an_mjpeg_camera_over_http_is_sampled_at_its_rate(cams: Cluster, frames: str) -> None:
    """FFmpeg numbers an HTTP MJPEG stream's frames 25 a second whatever the camera sends: by
    those stamps a 10 fps camera sampled every 200 ms was sampled at 2 fps. Once they drift from
    the clock (decoder.FrameTimes, a few seconds) it is sampled by the clock, at 5."""
    with mjpeg_camera(frames) as url, cams.http() as client:  # test replicas allow http
        camera_id = add_camera(client, url, interval_ms=200)
        wait_status(client, camera_id, lambda s: online(s) and s["framesDecoded"] >= 100, 30, "10 s of frames")
        before = status_of(client, camera_id)
        after = wait_status(client, camera_id, lambda s: s["framesDecoded"] >= before["framesDecoded"] + 50, 15, "5 s")
        decoded = after["framesDecoded"] - before["framesDecoded"]
        sampled = after["framesSampled"] - before["framesSampled"]
        assert 1.4 <= decoded / max(sampled, 1) <= 3, (decoded, sampled)
