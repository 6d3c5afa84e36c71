"""A video record's file (or finite URL) decoded in its own thread, as fast as the pipeline takes
the frames: no pacing, and no frame dropped. Sampled frames are handed over one at a time
(`put` blocks while the pipeline's queue is full), so a 2-hour file never fills memory.

Each sampled frame carries its offset in the video (from the first frame's time, whatever the
container's start time) and `recordedAt + offset` as its wall time. A run that resumes seeks to
the keyframe before its start position and skips the frames before it. Only what sampling needs
is decoded (`_Reader`: non-reference frames skipped, keyframe gaps seeked over when sparse), with
the deblocking filter skipped but on keyframes (RECORD_DECODER_OPTIONS), and only the sampled
frames converted to RGB (`_Reader.rgb`: decoder.RgbConverter, as a camera's are).

The thread never touches the event loop and nothing escapes it: the end of the file, or why it
could not be read, arrives through `put` as the last item.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import av
import av.error

from services.camera_ingest.decoder import (
    NoVideo,
    RgbConverter,
    SampledFrame,
    Sampler,
    classify,
    open_stream,
    redact,
    video_stream,
)
from services.camera_ingest.settings import IngestSettings, VideoSettings
from services.camera_ingest.video_sources import Openable, SourceRefused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opened:
    """The source opened: its duration as the container declares it (None when unknown)."""

    duration_ms: int | None


@dataclass(frozen=True)
class Ended:
    """The last frame was decoded at `end_ms`; `truncated` says why the file looks cut short;
    `decoded` counts the frames decoded (fewer than the file's where sampling let some go)."""

    end_ms: int
    truncated: str | None = None
    decoded: int = 0


@dataclass(frozen=True)
class Failed:
    """The source could not be read (to the end): why, for the record's status."""

    reason: str


# Skip frames no other frame refers to when a sampling interval spans this many frames or more.
SKIP_NONREF_FRAMES = 3
# Seek to the next sampled frame when it lies this many keyframe gaps ahead, and this far.
SEEK_GAPS, SEEK_MIN_S = 2, 1.0
# A seek whose first frame is this much past where it was meant to land is tried again from a
# keyframe gap further back, up to this far back.
LANDED_LATE_S, SEEK_BACK_MAX_S = 0.1, 10.0

# FFmpeg decoder options of a record's video (not a live camera's: decoder.py decodes those as
# FFmpeg does by default; this was measured on records' analysis only): the in-loop deblocking
# filter skipped on every frame but keyframes (the codecs that have one and honour the option:
# H.264, HEVC; measured with H.264): about a sixth of decoding's CPU time at 720p. It changes the
# pixels about as much as the JPEG (quality 90) the detector is sent does. With the shipped
# models, on 720p files made from the test photos (2 and 0.8 Mbit/s, keyframes 1 to 10 s apart):
# the same faces in every frame but for faces at minFaceSize (which noise of one level changes
# too), templates' cosine similarity to the fully decoded frames' 0.988 or more, 0.996-0.999 on
# average (docs/video_records.md, "Decoding"; benchmarks/video_decode.py).
RECORD_DECODER_OPTIONS = {"skip_loop_filter": "nokey"}

Item = SampledFrame | Opened | Ended | Failed
# Hands an item to the pipeline, waiting while its queue is full; False when the run stopped.
Put = Callable[[Item], bool]


def failure_reason(exc: BaseException, source: Openable) -> str:
    """Why a record's source could not be read, in words for its status (credentials hidden)."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, SourceRefused):
        return str(exc)
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the recording's host name: {text}"
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


def open_source(
    source: Openable, settings: VideoSettings, ingest: IngestSettings
) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """The source checked again (a link or a name may point elsewhere by now), opened, and its
    video stream set up for decoding; raises why it cannot be (see `failure_reason`)."""
    if source.is_file and os.path.exists(source.target) and not os.path.isfile(source.target):
        raise NoVideo("the source is not a regular file")  # a FIFO or device would block for ever
    source.check()
    container = open_stream(source.target, _options(source, ingest), ingest)
    try:
        video = video_stream(container, settings.decoder_threads)
        video.codec_context.options = {**video.codec_context.options, **RECORD_DECODER_OPTIONS}  # before it opens
        return container, video
    except BaseException:
        container.close()
        raise


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
        container, video = open_source(source, settings, ingest)
    except Exception as exc:
        put(Failed(failure_reason(exc, source)))
        return
    try:
        reader = _Reader(record_id, container, video, start_ms / 1000, interval_ms / 1000, recorded_at)
        end = reader.run(put, stop, settings, seekable=source.is_file)
        if end is not None:
            put(end)
    except Exception as exc:  # corrupt data the demuxer or decoder could not get past
        log.info("video record %s: reading stopped: %s", record_id, exc)
        put(Failed(failure_reason(exc, source)))
    finally:
        container.close()


class _Reader:
    """One run over a container's video stream: decode only what sampling needs, stamp offsets.

    Decoding is most of the cost that is not the face pipeline's, so frames are skipped where
    the sampling allows: when a sampling interval spans SKIP_NONREF_FRAMES frames or more, the
    decoder skips frames no other frame refers to (B-frames: about half of a camera's H.264 with
    B-frames, none of one without; a sampled frame is then at most a frame or two late, stamped
    with its own time); when the next sampled frame is further ahead than SEEK_GAPS keyframe
    gaps (and SEEK_MIN_S), a file is seeked to the keyframe before it instead of decoded through
    (a seek that lands late is tried again from further back; one that fails decodes through).
    Only sampled frames are converted to RGB (`rgb`)."""

    def __init__(
        self,
        record_id: str,
        container: av.container.InputContainer,
        video: av.video.stream.VideoStream,
        start_s: float,
        interval_s: float,
        recorded_at: datetime,
    ) -> None:
        self.record_id, self.container, self.video = record_id, container, video
        self.start_s, self.interval_s, self.recorded_at = start_s, interval_s, recorded_at
        self.base = float(video.time_base) if video.time_base else 0.0
        self.origin = video.start_time * self.base if video.start_time is not None and self.base else None
        if self.origin is None and start_s > 0:
            self.origin = 0.0  # the first frame after a seek is not the video's first
        self.duration_ms: int | None = None
        if video.duration is not None and self.base:
            self.duration_ms = int(video.duration * self.base * 1000)
        elif container.duration is not None:
            self.duration_ms = int(container.duration / 1000)
        self.rate = float(video.average_rate) if video.average_rate else 25.0
        self.keyframes: list[float] = []  # offsets of the last two keyframes decoded
        self.rgb = RgbConverter()  # the sampled frames as RGB, with one swscale context for the run

    def seek(self, offset_s: float) -> None:
        """To the keyframe at or before `offset_s` (the frames before the offset are skipped)."""
        self.container.seek(int(((self.origin or 0.0) + offset_s) / self.base), stream=self.video, backward=True)

    def run(self, put: Put, stop: threading.Event, settings: VideoSettings, *, seekable: bool) -> Ended | None:
        if not put(Opened(self.duration_ms)):
            return None
        sampler = Sampler(self.interval_s)
        if self.start_s > 0:
            sampler.next_due = self.start_s
        skip_nonref = self.interval_s * self.rate >= SKIP_NONREF_FRAMES  # once frames have timestamps
        seekable = seekable and bool(self.base) and self.duration_ms is not None
        # (where to be, how far before it to seek) of the next seek; a seek that lands late (a
        # format without a keyframe index seeks to a packet, and decoding starts at the keyframe
        # after it) is tried again from further back.
        target: tuple[float, float] | None = (self.start_s, 0.0) if self.start_s > 0 and self.base else None
        landing: tuple[float, float] | None = None
        decoded = sampled = 0
        offset = self.start_s
        while True:
            if target is not None:
                try:
                    self.seek(max(0.0, target[0] - target[1]))
                    landing = target
                except av.error.FFmpegError as exc:  # not seekable after all: decode through
                    log.info("video record %s: seeking failed (%s); decoding on", self.record_id, exc)
                    seekable = False
                target = None
            for frame in self.container.decode(self.video):
                if stop.is_set():
                    return None
                if frame.time is not None:
                    self.origin = frame.time if self.origin is None else self.origin
                    offset = frame.time - self.origin
                    if skip_nonref:  # timestamps, not frame counts, place the frames: skip at will
                        self.video.codec_context.skip_frame, skip_nonref = "NONREF", False
                else:  # no timestamps (raw streams): frame count at the declared rate
                    offset = (self.start_s if self.base else 0.0) + decoded / self.rate  # seeked when base
                decoded += 1
                if landing is not None:
                    wanted, back = landing
                    landing = None
                    if offset > wanted + LANDED_LATE_S and back < SEEK_BACK_MAX_S:
                        target = (wanted, back + max(self._gap(), SEEK_MIN_S))
                        break
                if frame.key_frame:
                    self.keyframes = [*self.keyframes[-1:], offset]
                if offset < self.start_s - 1e-3 or not sampler.due(offset):
                    continue
                image = self.rgb(frame)
                captured = self.recorded_at + timedelta(seconds=offset)
                if not put(SampledFrame(self.record_id, sampled, captured, offset, image)):
                    return None
                sampled += 1
                if seekable and sampler.next_due is not None and self._worth_seeking(offset, sampler.next_due):
                    target = (sampler.next_due, 0.0)
                    break
            if target is None:
                break
        end_ms = max(int(self.start_s * 1000), int(offset * 1000))
        return Ended(end_ms, truncated(end_ms, self.duration_ms, settings.truncated_tolerance_s), decoded)

    def _gap(self) -> float:
        """Seconds between the last two keyframes decoded (0 before two were)."""
        return self.keyframes[1] - self.keyframes[0] if len(self.keyframes) == 2 else 0.0

    def _worth_seeking(self, offset: float, due: float) -> bool:
        """The next sampled frame lies keyframes ahead (not in the last interval of the file,
        which is decoded through, so that its end and a truncation are seen)."""
        gap = self._gap()
        if gap <= 0 or self.duration_ms is None:
            return False
        last = self.duration_ms / 1000 - self.interval_s
        return due - offset >= max(SEEK_GAPS * gap, SEEK_MIN_S) and due < last


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
