"""A real RTSP server on 127.0.0.1 (Debian's GStreamer RTSP server, run by the system python3)
and camera_ingest replicas with short timeouts, for the live-ingest tests."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.embedded import free_port
from tests.e2e.test_replicas import discover
from tests.rtsp.media import write_jpegs
from tests.support import Cluster, truncate, wait_until

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"
INSTALL = HERE.parent / "install_debs.sh"
# What the server needs: the RTSP server bindings and the elements of its pipeline.
PROBE = """
import gi
gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
Gst.init(None)
missing = [e for e in ("multifilesrc", "jpegdec", "videoconvert", "x264enc", "rtph264pay", "x265enc", "rtph265pay",
                       "jpegenc", "jpegparse", "rtpjpegpay")
           if Gst.ElementFactory.find(e) is None]
assert not missing, "missing GStreamer elements: " + ", ".join(missing)
"""

# Short timeouts so that failures and failover show within seconds in tests.
FAST_INGEST = {
    "FACEGATE_CAMERA_LEASE_TTL_S": "2",
    "FACEGATE_CAMERA_SCHEDULE_INTERVAL_S": "0.5",
    "FACEGATE_CAMERA_OPEN_TIMEOUT_S": "5",
    "FACEGATE_CAMERA_READ_TIMEOUT_S": "3",
    "FACEGATE_CAMERA_BACKOFF_INITIAL_S": "0.3",
    "FACEGATE_CAMERA_BACKOFF_MAX_S": "2",
    # Files served over HTTP stand for cameras that send something unusable.
    "FACEGATE_CAMERA_SOURCE_SCHEMES": "rtsp,rtsps,http",
}


def _probe() -> str | None:
    """None when the RTSP server can run, else why not."""
    if not os.path.exists(SYSTEM_PYTHON):
        return f"{SYSTEM_PYTHON} not found"
    try:
        result = subprocess.run([SYSTEM_PYTHON, "-c", PROBE], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return "probing GStreamer timed out"
    return None if result.returncode == 0 else (result.stderr.strip().splitlines() or ["unknown error"])[-1]


@pytest.fixture(scope="session")
def gstreamer() -> None:
    """Skip (with the reason) only when the GStreamer RTSP server cannot be installed."""
    why = _probe()
    if why is not None:
        subprocess.run(["sh", str(INSTALL), "rtsp"], capture_output=True, timeout=600, check=False)
        why = _probe()
    if why is not None:
        pytest.skip(f"GStreamer RTSP server unavailable ({why}); `tests/install_debs.sh rtsp` could not fix it")


def port_free(port: int) -> bool:
    """Whether a listener could bind 127.0.0.1:`port` now, as GStreamer's RTSP server binds it
    (SO_REUSEADDR: connections of an earlier server left in TIME_WAIT do not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class RtspServer:
    """tests/rtsp/rtsp_server.py as a child process; stop() and start() keep the port."""

    def __init__(
        self,
        frames: str,
        port: int,
        sent_log: Path | None = None,
        codec: str = "h264",
        login: tuple[str, str] = ("", ""),
        udp_only: bool = False,
    ) -> None:
        self.frames, self.port, self.sent_log, self.codec = frames, port, sent_log, codec
        self.login = login  # (user, password) the server asks for (Digest), none when empty
        self.udp_only = udp_only  # RTP over UDP only, as some cameras offer
        self.url = f"rtsp://127.0.0.1:{port}/cam"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        command = [SYSTEM_PYTHON, str(HERE / "rtsp_server.py"), "--port", str(self.port), "--frames", self.frames]
        command += ["--codec", self.codec]
        if self.login[0]:
            command += ["--user", self.login[0], "--password", self.login[1]]
        if self.udp_only:
            command.append("--udp-only")
        if self.sent_log is not None:  # paced frames, each one's send time logged (rtsp_server.py)
            command += ["--sent-log", str(self.sent_log)]
        # GStreamer's warnings go to a file: an undrained pipe would block the server once full.
        log = Path(self.frames).parent / f"rtsp_server_{self.port}.log"
        for _ in range(3):
            # Right after a stop the port may still be held (by the old server's last sockets).
            wait_until(lambda: port_free(self.port), 30, f"port {self.port} to be free for the RTSP server")
            with log.open("a") as errors:
                self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True)
            assert self.proc.stdout is not None
            ready, _, _ = select.select([self.proc.stdout], [], [], 30)
            if ready and self.proc.stdout.readline().startswith("READY"):
                return
            self.stop()  # e.g. another process took the free port between the check and the bind
        raise RuntimeError(f"the RTSP server did not start: {log.read_text()[-2000:]}")

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing more is sent (a hung camera)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.thaw()  # a frozen server would not act on SIGTERM
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="session")
def frames(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The walking-face frames the server loops, made from ../shared/faces/ photos."""
    return write_jpegs(tmp_path_factory.mktemp("frames"))


@pytest.fixture
def rtsp_server(gstreamer: None, frames: str) -> Iterator[RtspServer]:
    server = RtspServer(frames, free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ingest(gstreamer: None, cluster: Cluster) -> Iterator[Cluster]:
    """Two camera_ingest replicas with short timeouts in place of the session's one (if any),
    which comes back afterwards with its own settings."""
    had_default = ("camera_ingest", 0) in cluster.services.procs
    if had_default:
        cluster.services.stop_one("camera_ingest", 0)
    for index in (0, 1):
        cluster.services.start("camera_ingest", index, extra_env=FAST_INGEST)
    try:
        wait_until(
            lambda: len(asyncio.run(discover(cluster.servers.nats_url, "PING", "camera_ingest"))) == 2,
            60,
            "two camera_ingest replicas",
        )
        yield cluster
    finally:
        for index in (0, 1):
            if ("camera_ingest", index) in cluster.services.procs:
                cluster.services.stop_one("camera_ingest", index)
        if had_default:
            cluster.services.start("camera_ingest", 0)


@pytest.fixture
def cams(ingest: Cluster) -> Iterator[Cluster]:
    truncate(ingest.servers.database_url, ("cameras",))
    yield ingest
    truncate(ingest.servers.database_url, ("cameras",))
