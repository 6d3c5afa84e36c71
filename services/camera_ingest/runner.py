"""One camera on this replica: its decoder thread, its frame queue and its status.

The decoder thread reports through the `StreamSink` methods below, which only hand the call to
the event loop (`call_soon_threadsafe`); counters and state are touched on the loop alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from services.camera_ingest.cameras import StreamSpec
from services.camera_ingest.decoder import SampledFrame, start_thread
from services.camera_ingest.pipeline import CameraStats, FramePipeline
from services.camera_ingest.settings import IngestSettings
from services.camera_ingest.status import StatusBoard
from shared.messages.cameras import CameraState, CameraStatus

log = logging.getLogger(__name__)


class StreamRunner:
    """Runs one camera's stream until `stop()`."""

    def __init__(
        self, spec: StreamSpec, owner: str, settings: IngestSettings, board: StatusBoard, pipeline: FramePipeline
    ) -> None:
        self.spec, self.owner, self.settings, self.board, self.pipeline = spec, owner, settings, board, pipeline
        self.stats = CameraStats()
        self.current: CameraState = "connecting"
        self.reason: str | None = None
        self.since = datetime.now(UTC)
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[SampledFrame] = asyncio.Queue(settings.frame_queue)
        self._stopped = False
        self._stop_thread: threading.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self._spawn(self._consume())
        self._spawn(self.publish(changed=True))
        self._stop_thread = start_thread(
            self.spec.camera_id, self.spec.source, self.spec.sample_interval_ms, self, self.settings
        )

    async def stop(self) -> None:
        """Stop decoding (the thread notices within one frame or one read timeout) and forget
        the status, so the next owner starts from a clean one."""
        self._stopped = True
        if self._stop_thread is not None:
            self._stop_thread.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:  # its live tracklets end here: their events must not wait for the next owner
            await self.pipeline.camera_stopped(self.spec.camera_id)
        except Exception:
            log.exception("camera %s: ending its tracklets failed", self.spec.camera_id)
        with contextlib.suppress(Exception):  # Redis away: the status expires by itself
            await self.board.clear(self.spec.camera_id)

    def status(self) -> CameraStatus:
        s = self.stats
        return CameraStatus(
            camera_id=self.spec.camera_id, state=self.current, reason=self.reason, since=self.since,
            updated_at=datetime.now(UTC), owner=self.owner, frames_decoded=s.decoded, frames_sampled=s.sampled,
            frames_dropped=s.dropped, last_frame_at=s.last_frame_at, sample_interval_ms=self.spec.sample_interval_ms,
            width=s.width, height=s.height, reconnects=s.reconnects, frames_analysed=s.analysed,
            frames_failed=s.failed, analysis_ms=round(s.analysis_ms, 1),
        )

    async def publish(self, *, changed: bool) -> None:
        if not self._stopped:
            await self.board.write(self.status(), changed=changed)

    # --- StreamSink: called from the decoder thread ---

    def connecting(self, attempt: int) -> None:
        self._call(self._connecting, attempt)

    def state(self, state: CameraState, reason: str | None) -> None:
        self._call(self._set_state, state, reason)

    def decoded(self, count: int) -> None:
        self._call(self._add_decoded, count)

    def sampled(self, frame: SampledFrame) -> None:
        self._call(self._offer, frame)

    def _call(self, fn: Callable[..., None], *args: Any) -> None:
        if self._stopped:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed while the process exits
            self._loop.call_soon_threadsafe(fn, *args)

    # --- on the event loop ---

    def _connecting(self, attempt: int) -> None:
        if attempt:
            self.stats.reconnects += 1
        # A retry keeps showing why the camera is down (offline or error) until it is back online.
        if self.current not in ("offline", "error"):
            self._set_state("connecting", None)

    def _set_state(self, state: CameraState, reason: str | None) -> None:
        if self._stopped or (state, reason) == (self.current, self.reason):
            return
        if state != self.current:
            self.since = datetime.now(UTC)
        self.current, self.reason = state, reason
        self._spawn(self.publish(changed=True))

    def _add_decoded(self, count: int) -> None:
        self.stats.decoded += count

    def _offer(self, frame: SampledFrame) -> None:
        # Counted here, as the sampler picks it: `framesSampled` shows the stream and the rate,
        # whatever the face pipeline's speed (`framesAnalysed` and `framesDropped` show that).
        s = self.stats
        s.sampled += 1
        s.last_frame_at = frame.captured_at
        s.height, s.width = frame.image.shape[0], frame.image.shape[1]
        if self._queue.full():  # live video: the newest frame matters, an old one is dropped
            self._queue.get_nowait()
            self.stats.dropped += 1
        self._queue.put_nowait(frame)

    async def _consume(self) -> None:
        try:  # before the first frame: no tracklet of this stream exists yet
            await self.pipeline.camera_started(self.spec.camera_id)
        except Exception:  # Postgres or NATS away: the camera must stream all the same
            log.exception("camera %s: ending the tracklets a previous owner left open failed", self.spec.camera_id)
        while True:
            frame = await self._queue.get()
            try:
                await self.pipeline.process_sampled_frame(frame, self.stats)
            except Exception:  # one bad frame must not stop the camera
                log.exception("pipeline failed on a frame of camera %s", self.spec.camera_id)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("camera %s: %s", self.spec.camera_id, task.exception())
