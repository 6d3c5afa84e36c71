"""One camera's stream in its own thread: open with PyAV, decode, sample, reconnect with backoff.

A thread per stream, not the service's shared pool: reading a live stream blocks for as long as
the camera streams, so each stream would hold a pool thread forever and a slow or dead camera
would starve the others. PyAV releases the GIL while FFmpeg reads and decodes, so the threads
run in parallel. The thread never touches the event loop: it reports through `StreamSink`,
whose implementation hands everything to the loop thread-safely.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import av
import av.error
import numpy as np
from av.video.reformatter import VideoReformatter

from services.camera_ingest.settings import IngestSettings
from shared.imaging import encode_jpeg
from shared.messages.cameras import CameraState
from shared.sources import SourceRefused, check_source, protocol_whitelist, redact, redact_url

log = logging.getLogger(__name__)

NETWORK_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://", "srt://")


@dataclass(frozen=True)
class SampledFrame:
    """A frame chosen for analysis, as RGB pixels."""

    camera_id: str
    index: int  # sampled frames since the stream was (re)opened
    captured_at: datetime  # wall clock when decoded, spaced by stream time (StreamClock)
    stream_time_s: float | None  # presentation time in the stream, when it has one
    image: np.ndarray  # (height, width, 3) uint8, RGB
    _jpegs: dict[int, bytes] = field(default_factory=dict, repr=False, compare=False)

    def jpeg(self, quality: int) -> bytes:
        """The frame as a JPEG of `quality`, encoded once for the analyses that send it (faces,
        and pedestrians and objects): ~2 ms a 720p frame. Blocking: run it in the pool."""
        if quality not in self._jpegs:
            self._jpegs[quality] = encode_jpeg(self.image, quality)
        return self._jpegs[quality]


class StreamSink(Protocol):
    """Where a decoder thread reports; every method must be safe to call from that thread."""

    def connecting(self, attempt: int) -> None:
        """Opening the stream; `attempt` counts the retries (0 = first connection)."""

    def state(self, state: CameraState, reason: str | None) -> None: ...

    def decoded(self, count: int) -> None: ...

    def sampled(self, frame: SampledFrame) -> None: ...


class NoVideo(Exception):
    """The source opened but carries no video stream."""


class NoAnswer(Exception):
    """The camera took the connection but sent nothing for the read timeout: hung, frozen, or
    something that accepts connections and never speaks. It may recover by itself: offline."""


def classify(exc: BaseException, source: str = "") -> tuple[CameraState, str]:
    """`offline` when the camera cannot be reached (it may come back by itself), `error` when it
    answers with something unusable (wrong URL, credentials, format) or its source is refused,
    with a readable reason (the credentials of `source`, and of any URL, hidden)."""
    state, reason = _classify(exc)
    return state, redact(reason, source)


def _classify(exc: BaseException) -> tuple[CameraState, str]:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, SourceRefused):
        return "error", f"source refused: {text}"
    if isinstance(exc, socket.gaierror):
        return "offline", f"cannot resolve the camera's host name: {text}"
    if isinstance(exc, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return "error", f"access denied by the camera: {text}"
    if isinstance(exc, av.error.HTTPNotFoundError):
        return "error", f"no such stream on the camera: {text}"
    if isinstance(exc, av.error.HTTPServerError):
        return "offline", f"the camera answered with a server error: {text}"
    if isinstance(exc, ConnectionError | TimeoutError | av.error.ExitError | av.error.EOFError):
        return "offline", f"cannot reach the camera: {text}"
    if isinstance(exc, av.error.OSError) and getattr(exc, "errno", None) in (101, 110, 111, 113, 104, 32):
        return "offline", f"cannot reach the camera: {text}"
    if isinstance(exc, NoAnswer):
        return "offline", str(exc)
    if isinstance(exc, NoVideo):
        return "error", str(exc)
    if isinstance(exc, av.error.ProtocolNotFoundError):
        return "error", f"unsupported source URL: {text}"
    if isinstance(exc, av.error.InvalidDataError):
        return "error", f"the source is not a video stream FFmpeg can read: {text}"
    if isinstance(exc, FileNotFoundError):
        return "error", f"no such file or stream: {text}"
    return "error", f"{type(exc).__name__}: {text}"


def open_options(source: str, settings: IngestSettings) -> dict[str, str]:
    """FFmpeg options: RTSP over TCP (no UDP loss, passes firewalls) with a socket timeout, a
    short probe so a stream shows its first frame within a second or two, and only the protocols
    the source's scheme needs (a redirect or a playlist cannot switch to `file:` or others)."""
    options = {"analyzeduration": "1000000", "probesize": "1000000"}
    if (whitelist := protocol_whitelist(source)) is not None:
        options["protocol_whitelist"] = whitelist
    if source.startswith(("rtsp://", "rtsps://")):
        options |= {"rtsp_transport": "tcp", "timeout": str(int(settings.read_timeout_s * 1_000_000))}
    elif source.startswith(("http://", "https://")):
        options |= {"rw_timeout": str(int(settings.read_timeout_s * 1_000_000)), "reconnect": "0"}
    return options


def open_stream(source: str, options: dict[str, str], settings: IngestSettings) -> av.container.InputContainer:
    """`av.open` with `options` and the settings' timeouts. RTSP goes over TCP (`open_options`);
    a camera that offers RTP over UDP only answers TCP with 461 Unsupported Transport, which
    FFmpeg reports as "Protocol not supported": such a camera is played over UDP, as it offers,
    instead of failing for ever on a setting the user cannot change."""
    timeout = (settings.open_timeout_s, settings.read_timeout_s)
    try:
        return av.open(source, options=options, timeout=timeout)
    except av.error.OSError as exc:
        if exc.errno != errno.EPROTONOSUPPORT or options.get("rtsp_transport") != "tcp":
            raise
        if not source.startswith("rtsp://"):  # rtsps: TLS over TCP only
            raise
    log.info("%s offers RTP over UDP only: playing it over UDP", redact_url(source))
    return av.open(source, options={**options, "rtsp_transport": "udp"}, timeout=timeout)


class Sampler:
    """Picks one frame per interval of stream time (wall time when frames carry none); a jump in
    the timestamps (stream restarted, clock wrapped) starts the schedule afresh. After a gap of
    more than an interval (frames lost or skipped, a seek that landed late) the slots it missed
    go: one frame is taken, not a burst of consecutive ones to catch up."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.next_due: float | None = None

    def due(self, t: float) -> bool:
        jumped = self.next_due is not None and abs(t - self.next_due) > 10 * self.interval_s
        if self.next_due is None or jumped:
            self.next_due = t + self.interval_s
            return True
        if t >= self.next_due - 1e-6:  # sums of intervals drift by float rounding (0.2 * 3 > 0.6)
            while self.next_due <= t + 1e-6:  # at most 10 rounds: a longer gap is a jump
                self.next_due += self.interval_s
            return True
        return False


class StreamClock:
    """Wall-clock times of frames, spaced as their stream times are. Frames a camera buffered
    arrive in a burst at connect (10 ms apart for 400 ms of video); stamped by arrival they
    would look simultaneous to the tracker and to templateGenerationTime. A frame's time is the
    anchor's wall time plus its stream time since the anchor, re-anchored at the wall clock
    when the two drift further apart than `tolerance_s` (a stalled or restarted stream)."""

    def __init__(self, tolerance_s: float = 1.0) -> None:
        self.tolerance_s = tolerance_s
        self.anchor: tuple[float, float] | None = None  # (wall time, stream time)

    def at(self, stream_time: float | None, now: float) -> float:
        if stream_time is None:
            return now
        if self.anchor is not None:
            wall = self.anchor[0] + stream_time - self.anchor[1]
            if abs(wall - now) <= self.tolerance_s:
                return wall
        self.anchor = (now, stream_time)
        return now


# A stream's timestamps are not trusted (FrameTimes) once they stand still this long while its
# frames keep coming, or once a live stream's drift from the clock went past DRIFT_S more than
# DRIFTS times within DRIFT_WINDOW_S (after it started).
STUCK_S = 2.0
DRIFT_S, DRIFTS, DRIFT_WINDOW_S = 1.0, 2, 30.0


class FrameTimes:
    """A connection's frames' stream times, where they can be trusted; the frames of one whose
    stamps fail are timed by the wall clock until it ends (a new connection trusts its stamps
    again), as is a frame without a stamp. Stamps fail two ways:
    - standing still: a camera or re-streamer that stamps every frame alike (an RTSP server
      passing JPEG files on unstamped) would be sampled once by its stream time and never
      again: online, analysing nothing; after `stuck_s` of frames with one stamp;
    - on a `live` connection, running at another rate than the clock: MJPEG over HTTP has no
      stamps and FFmpeg numbers its frames 25 a second whatever the camera sends, so a 10 fps
      camera sampled by them would be analysed at 2 fps instead of 5 (and its frames' capture
      times jump at every StreamClock re-anchoring); after the stamps drifted from the clock by
      more than `drift_s` since they last agreed more than DRIFTS times within DRIFT_WINDOW_S.
      A camera's bursts (buffered frames at connect, after a stall) drift once each. A file
      is not live (decoded as fast as it goes, its stamps are right).
    A step back (a wrapped clock, a restarted stream) is movement: the Sampler restarts."""

    def __init__(self, live: bool = True, stuck_s: float = STUCK_S, drift_s: float = DRIFT_S) -> None:
        self.live, self.stuck_s = live, stuck_s
        self.previous: float | None = None
        self.moved_at = 0.0  # wall time the stamps last changed
        self.clock = StreamClock(drift_s)  # re-anchors where the drift went past drift_s
        self.drifted: list[float] = []  # wall times it did
        self.distrusted = False  # for the rest of the connection

    def trusted(self, stream_time: float | None, now: float) -> float | None:
        """`stream_time` (seconds), or None when the frame is to be timed by the wall clock."""
        if self.distrusted or stream_time is None:
            return None
        if stream_time != self.previous:
            self.previous, self.moved_at = stream_time, now
        elif now - self.moved_at > self.stuck_s:
            self._distrust(f"stood still for {self.stuck_s:g} s")
            return None
        if not self.live:
            return stream_time
        anchor = self.clock.anchor
        self.clock.at(stream_time, now)
        if anchor is not None and self.clock.anchor is not anchor:
            self.drifted = [t for t in self.drifted if now - t < DRIFT_WINDOW_S] + [now]
            if len(self.drifted) > DRIFTS:
                self._distrust("run at another rate than the clock")
                return None
        return stream_time

    def _distrust(self, why: str) -> None:
        self.distrusted = True
        log.warning("the stream's timestamps %s: timing its frames by the clock", why)


class RgbConverter:
    """Sampled frames as RGB (height, width, 3): the pixels `frame.to_ndarray(format="rgb24")`
    gives (swscale, the frame's colorspace and range), for less CPU time: one swscale context
    for the stream (to_ndarray makes one for every frame; a new frame size or format makes it
    anew), in the decoding thread (swscale's own threads cost more CPU time for a frame this
    thread waits on anyway). A camera's decode loop and a record's reader each hold one.
    Each frame is turned upright as its display matrix says (`upright`)."""

    def __init__(self) -> None:
        self.reformatter = VideoReformatter()

    def __call__(self, frame: av.VideoFrame) -> np.ndarray:
        return upright(self.reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray(), frame.rotation)


def upright(rgb: np.ndarray, rotation: float) -> np.ndarray:
    """`rgb` turned as the frame's display matrix says (`rotation`: degrees counter-clockwise, as
    PyAV reads it). A phone records a portrait video as landscape frames with such a matrix,
    which players apply and decoding does not: its faces would lie on their side, where the
    detector does not find them (it reads faces rolled up to about 45 degrees). Only quarter
    turns are applied: PyAV reads a degenerate matrix (all zeros, from a broken or crafted file)
    as -2**31 degrees, and a mirrored one as some other angle; those frames are left as stored."""
    turns = round(rotation / 90)
    if abs(rotation) > 360 or abs(rotation - 90 * turns) > 1 or turns % 4 == 0:
        return rgb
    return np.ascontiguousarray(np.rot90(rgb, turns % 4))


def video_stream(container: av.container.InputContainer, threads: int) -> av.video.stream.VideoStream:
    """The container's (first) video stream, decoded with `threads` FFmpeg threads (0: FFmpeg
    decides; frame and slice threading); NoVideo when it has none."""
    if not container.streams.video:
        raise NoVideo("the source has no video stream")
    video = container.streams.video[0]
    video.codec_context.thread_count = threads
    if threads != 1:
        video.thread_type = "AUTO"
    return video


def decode_once(
    camera_id: str,
    source: str,
    interval_ms: int,
    sink: StreamSink,
    stop: threading.Event,
    settings: IngestSettings,
    pace: bool | None = None,
) -> int:
    """Decode one connection until it ends or `stop`; return the frames decoded. Raises on failure.

    `pace` plays the source at its own speed (default: for files, so a file behaves like a
    camera; a network stream arrives at its own speed anyway). Benchmarks turn it off."""
    if pace is None:
        pace = not source.startswith(NETWORK_SCHEMES)
    if "://" not in source and os.path.exists(source) and not os.path.isfile(source):
        # A device or pipe (/dev/stdin, a FIFO) would block a read forever: FFmpeg's file
        # protocol has no timeout.
        raise NoVideo(f"{source} is not a regular file")
    opening = time.monotonic()
    try:
        container = open_stream(source, open_options(source, settings), settings)
    except (av.error.InvalidDataError, av.error.ExitError) as exc:
        # A silent peer ends FFmpeg's RTSP handshake with "invalid data" once its socket timeout
        # passes: garbage answers fail at once, silence only after the timeout.
        waited = time.monotonic() - opening
        network = source.startswith(NETWORK_SCHEMES)
        if network and (isinstance(exc, av.error.ExitError) or waited >= 0.9 * settings.read_timeout_s):
            raise NoAnswer(f"the camera took the connection but did not answer within {waited:.0f} s") from exc
        raise
    try:
        video = video_stream(container, settings.decoder_threads)
        sampler = Sampler(interval_ms / 1000)
        clock = StreamClock()
        times = FrameTimes(live=source.startswith(NETWORK_SCHEMES))
        rgb = RgbConverter()
        decoded = sampled = 0
        started, first_t = time.monotonic(), None
        try:
            frames = container.decode(video)
            for frame in frames:
                if stop.is_set():
                    break
                decoded += 1
                if decoded == 1:
                    sink.state("online", None)
                if decoded % 25 == 0:
                    sink.decoded(25)
                stream_time = times.trusted(frame.time, time.monotonic())
                t = stream_time if stream_time is not None else time.monotonic() - started
                if pace:
                    first_t = t if first_t is None else first_t
                    delay = started + (t - first_t) - time.monotonic()
                    if delay > 0 and stop.wait(min(delay, 1.0)):
                        break
                if sampler.due(t):
                    # Only sampled frames are converted to RGB: the conversion costs as much as decoding.
                    image = rgb(frame)
                    captured = datetime.fromtimestamp(clock.at(stream_time, time.time()), UTC)
                    sink.sampled(SampledFrame(camera_id, sampled, captured, stream_time, image))
                    sampled += 1
        except av.error.ExitError as exc:  # PyAV's read timeout interrupted FFmpeg
            raise NoAnswer(f"the camera stopped sending (nothing for {settings.read_timeout_s:g} s)") from exc
        sink.decoded(decoded % 25)
        return decoded
    finally:
        container.close()


class _Watched:
    """Passes a decoder's reports on, noting whether the connection ever got online."""

    def __init__(self, sink: StreamSink) -> None:
        self.sink, self.online = sink, False

    def connecting(self, attempt: int) -> None:
        self.sink.connecting(attempt)

    def state(self, state: CameraState, reason: str | None) -> None:
        self.online = self.online or state == "online"
        self.sink.state(state, reason)

    def decoded(self, count: int) -> None:
        self.sink.decoded(count)

    def sampled(self, frame: SampledFrame) -> None:
        self.sink.sampled(frame)


def run_stream(
    camera_id: str, source: str, interval_ms: int, sink: StreamSink, stop: threading.Event, settings: IngestSettings
) -> None:
    """The thread's body: connect, decode, and on any failure report why and retry with backoff,
    until `stop` is set. Nothing escapes: a bad camera must not take the worker down."""
    backoff = settings.backoff_initial_s
    attempt = 0
    while not stop.is_set():
        sink.connecting(attempt)
        attempt += 1
        state: CameraState
        watched = _Watched(sink)
        try:
            # Checked before every connection, not only when the camera was saved: the policy
            # may have changed, and a host name may resolve to another address now.
            check_source(source, settings.source_policy())
            decode_once(camera_id, source, interval_ms, watched, stop, settings)
            state, reason = "offline", "the stream ended"
        except Exception as exc:  # every failure becomes a status, then a retry
            state, reason = classify(exc, source)
        if stop.is_set():
            break
        if watched.online:
            # It worked until now (even if it ended in an error): retry soon.
            backoff = settings.backoff_initial_s
        log.info("camera %s %s: %s; retrying in %.1f s", camera_id, state, reason, backoff)
        sink.state(state, f"{reason} (retrying in {backoff:g} s)")
        if stop.wait(backoff):
            break
        backoff = min(backoff * 2, settings.backoff_max_s)


# Decoder threads (cameras' and video records') not yet ended. They are daemons, so that a hung
# FFmpeg read never keeps the process alive; but one still inside FFmpeg or PyAV when the
# interpreter finalises crashes the process (SIGSEGV at exit, seen in CI), so the shutdown
# waits for them (`join_threads`) once their stop events are set.
_live: set[threading.Thread] = set()
_live_lock = threading.Lock()


def start_daemon(name: str, body: Callable[[], None]) -> threading.Thread:
    """Run a decoder's `body` in a daemon thread that `join_threads` waits for."""

    def run() -> None:
        try:
            body()
        finally:
            with _live_lock:
                _live.discard(threading.current_thread())

    thread = threading.Thread(target=run, name=name, daemon=True)
    with _live_lock:
        _live.add(thread)
    thread.start()
    return thread


async def join_threads(timeout_s: float) -> int:
    """Wait, off the event loop and at most `timeout_s` in all, for the decoder threads to end
    (their stop events set: each notices within a frame, or a read or open timeout); return
    how many are still running."""
    deadline = time.monotonic() + timeout_s
    with _live_lock:
        threads = list(_live)
    for thread in threads:
        await asyncio.to_thread(thread.join, max(0.0, deadline - time.monotonic()))
    left = sum(thread.is_alive() for thread in threads)
    if left:
        log.warning("%d decoder thread(s) still inside FFmpeg after %.0f s", left, timeout_s)
    return left


def start_thread(
    camera_id: str, source: str, interval_ms: int, sink: StreamSink, settings: IngestSettings
) -> threading.Event:
    """Start the stream's decoder thread; setting the event returned stops it."""
    stop = threading.Event()
    start_daemon(f"camera-{camera_id[:8]}", lambda: run_stream(camera_id, source, interval_ms, sink, stop, settings))
    return stop
