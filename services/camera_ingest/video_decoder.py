"""A video record's file (or finite URL) decoded in its own thread, as fast as the pipeline takes
the frames: no pacing, and no frame dropped. Sampled frames are handed over one at a time
(`put` blocks while the pipeline's queue is full), so a 2-hour file never fills memory.

Each sampled frame carries its offset in the video (from the first frame's time, whatever the
container's start time) and `recordedAt + offset` as its wall time. A run that resumes seeks to
the keyframe before its start position and skips the frames before it.

The thread never touches the event loop and nothing escapes it: the end of the file, or why it
could not be read, arrives through `put` as the last item.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import av
import av.error

from services.camera_ingest.decoder import NoVideo, SampledFrame, Sampler, classify, redact
from services.camera_ingest.settings import IngestSettings, VideoSettings
from services.camera_ingest.video_sources import Openable, SourceRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    """The source opened: its duration as the container declares it (None when unknown)."""

    duration_ms: int | None


@dataclass(frozen=True)
class Ended:
    """The last frame was decoded at `end_ms`; `truncated` says why the file looks cut short."""

    end_ms: int
    truncated: str | None = None


@dataclass(frozen=True)
class Failed:
    """The source could not be read (to the end): why, for the record's status."""

    reason: str


Item = SampledFrame | Opened | Ended | Failed
# Hands an item to the pipeline, waiting while its queue is full; False when the run stopped.
Put = Callable[[Item], bool]


def failure_reason(exc: BaseException, source: Openable) -> str:
    """Why a record's source could not be read, in words for its status (credentials hidden)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, SourceRefused):
        return str(exc)
    if isinstance(exc, FileNotFoundError | av.error.FileNotFoundError):
        return "the file does not exist" if source.is_file else f"no such recording: {redact(text)}"
    if isinstance(exc, PermissionError | av.error.PermissionError):
        return "the file cannot be read (permission denied)"
    if isinstance(exc, NoVideo | IsADirectoryError | av.error.IsADirectoryError):
        return str(exc) if isinstance(exc, NoVideo) else "the source is a folder, not a video file"
    if isinstance(exc, av.error.InvalidDataError | av.error.PatchWelcomeError | av.error.DecoderNotFoundError):
        return f"not a video FFmpeg can read, or corrupt: {redact(text)}"
    if not source.is_file:
        return classify(exc)[1]
    return f"{type(exc).__name__}: {redact(text)}"


def _options(source: Openable, ingest: IngestSettings) -> dict[str, str]:
    options = {"protocol_whitelist": source.protocols}
    timeout_us = str(int(ingest.read_timeout_s * 1_000_000))
    if source.target.startswith(("rtsp://", "rtsps://")):
        options |= {"rtsp_transport": "tcp", "timeout": timeout_us}
    elif not source.is_file:
        options |= {"rw_timeout": timeout_us, "reconnect": "0"}
    return options


def decode_record(
    record_id: str,
    source: Openable,
    start_ms: int,
    interval_ms: int,
    recorded_at: datetime,
    put: Put,
    stop: threading.Event,
    settings: VideoSettings,
    ingest: IngestSettings,
) -> None:
    """The thread's body: every sampled frame from `start_ms` on, then `Ended` (or `Failed`)."""
    try:
        if source.is_file and os.path.exists(source.target) and not os.path.isfile(source.target):
            raise NoVideo("the source is not a regular file")  # a FIFO or device would block for ever
        container = av.open(
            source.target, options=_options(source, ingest), timeout=(ingest.open_timeout_s, ingest.read_timeout_s)
        )
    except Exception as exc:
        put(Failed(failure_reason(exc, source)))
        return
    try:
        end = _decode(record_id, container, start_ms, interval_ms, recorded_at, put, stop, settings)
        if end is not None:
            put(end)
    except Exception as exc:  # corrupt data the demuxer or decoder could not get past
        log.info("video record %s: reading stopped: %s", record_id, exc)
        put(Failed(failure_reason(exc, source)))
    finally:
        container.close()


def _decode(
    record_id: str,
    container: av.container.InputContainer,
    start_ms: int,
    interval_ms: int,
    recorded_at: datetime,
    put: Put,
    stop: threading.Event,
    settings: VideoSettings,
) -> Ended | None:
    if not container.streams.video:
        raise NoVideo("the source has no video stream")
    video = container.streams.video[0]
    video.codec_context.thread_count = settings.decoder_threads
    if settings.decoder_threads != 1:
        video.thread_type = "AUTO"
    base = float(video.time_base) if video.time_base else 0.0
    origin = video.start_time * base if video.start_time is not None and base else None
    if origin is None and start_ms > 0:
        origin = 0.0  # the first frame after a seek is not the video's first
    duration_ms = None
    if video.duration is not None and base:
        duration_ms = int(video.duration * base * 1000)
    elif container.duration is not None:
        duration_ms = int(container.duration / 1000)
    if not put(Opened(duration_ms)):
        return None
    if start_ms > 0 and base:
        # To the keyframe before the start position; the frames before it are skipped below.
        container.seek(int(((origin or 0.0) + start_ms / 1000) / base), stream=video, backward=True)
    sampler = Sampler(interval_ms / 1000)
    if start_ms > 0:
        sampler.next_due = start_ms / 1000
    rate = float(video.average_rate) if video.average_rate else 25.0
    decoded = sampled = 0
    offset = start_ms / 1000
    for frame in container.decode(video):
        if stop.is_set():
            return None
        if frame.time is not None:
            origin = frame.time if origin is None else origin
            offset = frame.time - origin
        else:  # no timestamps (raw streams): frame count at the declared rate
            offset = start_ms / 1000 + decoded / rate
        decoded += 1
        if offset < start_ms / 1000 - 1e-3:
            continue
        if sampler.due(offset):
            # Only sampled frames are converted to RGB: the conversion costs as much as decoding.
            image = frame.to_ndarray(format="rgb24")
            captured = recorded_at + timedelta(seconds=offset)
            if not put(SampledFrame(record_id, sampled, captured, offset, image)):
                return None
            sampled += 1
    end_ms = max(start_ms, int(offset * 1000))
    return Ended(end_ms, truncated(end_ms, duration_ms, settings.truncated_tolerance_s))


def truncated(end_ms: int, duration_ms: int | None, tolerance_s: float) -> str | None:
    """Why a file whose frames end at `end_ms` looks cut short of the `duration_ms` its container
    declares (by more than the tolerance and a tenth of it); None when it does not."""
    if not duration_ms:
        return None
    missing = duration_ms - end_ms
    if missing <= max(tolerance_s * 1000, duration_ms / 10):
        return None
    return (
        f"the file is truncated or corrupt: its frames end at {end_ms / 1000:.1f} s of the "
        f"{duration_ms / 1000:.1f} s its container declares"
    )


def start_thread(
    record_id: str,
    source: Openable,
    start_ms: int,
    interval_ms: int,
    recorded_at: datetime,
    put: Put,
    stop: threading.Event,
    settings: VideoSettings,
    ingest: IngestSettings,
) -> None:
    """Start the record's daemon decoder thread (a hung read must never keep the process
    alive); setting `stop` stops it within a frame."""
    threading.Thread(
        target=decode_record,
        args=(record_id, source, start_ms, interval_ms, recorded_at, put, stop, settings, ingest),
        name=f"video-{record_id[:8]}",
        daemon=True,
    ).start()
