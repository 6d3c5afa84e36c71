"""One video record's analysis on this replica, from where the last run left off to the end.

Three stages overlap: the decoder thread (video_decoder.py) fills a small queue with sampled
frames; a feeder asks where each frame is searched (`look`, in frame order: a camera's
narrowing, regions.py; recorded footage is mostly still background, so most frames are read
only around the tracked faces and where the picture moved) and starts its `prepare` (JPEG,
detection, extraction, search) as soon as fewer than `frames_in_flight` are in the pipeline;
the tracker takes the prepared frames in frame order (`track`). Each stage waits for the next,
so memory stays bounded whatever the file's length, and the workers are kept busy rather than
paced by the video's frame rate.

Every `progress_interval_s` the position is stored and announced (progressMessage); where no
tracklet is live (a "quiet" frame: every tracklet seen so far is complete and stored), that
position becomes the one a new owner resumes from. A replica that takes the record over deletes
what was produced after it and analyses from there, so no tracklet is stored twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from dataclasses import dataclass
from functools import partial

import asyncpg

from services.camera_ingest import video_events, videos
from services.camera_ingest.decoder import SampledFrame, start_daemon
from services.camera_ingest.image_store import ImageStore
from services.camera_ingest.regions import Look
from services.camera_ingest.session import AnalysisSettings, Prepared, SaveStrategy, StreamSession, detector_config
from services.camera_ingest.settings import IngestSettings, VideoSettings
from services.camera_ingest.video_decoder import Ended, Failed, Item, Opened, Put, decode_record
from services.camera_ingest.video_sources import SourceRefused, record_policy, resolve
from services.camera_ingest.videos import RecordSpec
from shared.errors import FacegateError, RequestTimeout, ServiceUnavailable
from shared.messages.setup import FaceFeaturesConfigFeaturesConfig
from shared.messages.video_records import VideoRecordSettings, VideoState
from shared.runtime import ServiceContext
from shared.setup import Followed
from shared.smartface_values import runs

log = logging.getLogger(__name__)

RETRY_MAX_S = 10.0  # a worker that is away: the frame is tried again, at most this long apart


def of_record(s: VideoRecordSettings) -> AnalysisSettings:
    """A record's analysis settings (no liveness: a record has no spoof detector settings)."""
    return AnalysisSettings(
        detector=detector_config(s.face_detector_config), detects=runs(s.face_detector_resource_id),
        image_quality=s.image_quality, redetection_ms=s.redetection_time,
        template_generation_ms=s.template_generation_time, save=SaveStrategy.parse(s.face_save_strategy),
        save_frames=s.save_frame_image_data, match=s.matching_config.match_detected_faces,
        max_candidates=s.matching_config.max_results_count,
    )  # fmt: skip


async def record_settings(conn: asyncpg.Connection, record_id: str) -> AnalysisSettings | None:
    row = await videos.get_row(conn, record_id)
    return of_record(videos.to_settings(row)) if row else None


class Lost(Exception):
    """This replica no longer runs the record (cleared, disabled, deleted or taken over)."""


@dataclass
class Progress:
    """Where the run stands (owned by the tracker stage)."""

    position_ms: int
    frames: int
    duration_ms: int | None = None
    announced_frames: int = 0
    resume: tuple[int, int] | None = None  # (position, frames before it) of the last quiet frame
    stored_at: float = 0.0


class RecordRunner:
    """Analyses one video record until it ends or `stop()`."""

    def __init__(
        self,
        spec: RecordSpec,
        owner: str,
        ctx: ServiceContext,
        ingest: IngestSettings,
        video: VideoSettings,
        images: ImageStore,
        setup_features: Followed[FaceFeaturesConfigFeaturesConfig] | None = None,
    ) -> None:
        self.spec, self.owner, self.ctx, self.ingest, self.video, self.images = spec, owner, ctx, ingest, video, images
        self.setup_features = setup_features  # the Setup's Features, as a camera's faces follow them
        self.record_id = spec.record_id
        self._task: asyncio.Task[None] | None = None
        self._stop_thread = threading.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"video-{self.record_id[:8]}")

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def publish(self, *, changed: bool) -> None:
        """The scheduler's per-round refresh: a record's progress is stored as it goes."""

    async def stop(self) -> None:
        """Stop decoding and analysing; what was stored after the resume position goes (it is
        analysed again when the record resumes), unless another replica runs the record now."""
        self._stop_thread.set()
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            async with self.ctx.db.acquire() as conn:
                await videos.purge_stray(conn, self.record_id, self.owner)
        except Exception:  # Postgres away: the next run deletes it as it starts
            log.exception("video record %s: removing what the stopped run left failed", self.record_id)

    # --- the run ---

    async def _run(self) -> None:
        try:
            await self._analyse()
        except Lost:
            log.info("video record %s: no longer analysed here", self.record_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # Postgres or NATS away: the scheduler starts the record again
            log.exception("video record %s: the analysis failed", self.record_id)
        finally:
            self._stop_thread.set()

    async def _analyse(self) -> None:
        async with self.ctx.db.acquire() as conn:
            run = await videos.start_run(conn, self.record_id, self.owner)
        if run is None:
            return
        await video_events.state_changed(self.ctx.bus, run.row)
        log.info("video record %s: analysing from %d ms", self.record_id, run.resume_ms)
        progress = Progress(run.resume_ms, run.frames_analysed, run.record.video_duration_ms)
        progress.announced_frames, progress.stored_at = run.frames_analysed, time.monotonic()
        session = StreamSession.create(
            self.ctx, self.record_id, self.images, self.ingest.tracklet_timeout_s, self.ingest.confirm_votes,
            load_settings=record_settings, setup_features=self.setup_features, narrow=True, defer_attributes=True,
        )  # fmt: skip
        try:
            source = resolve(run.record.source, self.video.folder, record_policy(self.ingest.source_policy()))
        except SourceRefused as exc:
            await self._finish(session, progress, "Error", str(exc))
            return
        frames: asyncio.Queue[Item] = asyncio.Queue(self.video.frame_queue)
        start_daemon(f"video-{self.record_id[:8]}", partial(  # its `stop` stops it within a frame
            decode_record, self.record_id, source, run.resume_ms, self.spec.sample_interval_ms,
            run.record.recorded_at, self._putter(frames), self._stop_thread, self.video, self.ingest,
        ))  # fmt: skip
        prepared: asyncio.Queue[tuple[SampledFrame, asyncio.Task[Prepared | None]] | Item] = asyncio.Queue(
            self.video.frames_in_flight
        )
        feeder = asyncio.create_task(self._feed(frames, prepared, session))
        try:
            await self._follow(prepared, session, progress)
        finally:
            feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)
            while not prepared.empty():  # cancelled mid-file: their analyses are not awaited
                item = prepared.get_nowait()
                if isinstance(item, tuple):
                    item[1].cancel()

    def _putter(self, frames: asyncio.Queue[Item]) -> Put:
        """`put` for the decoder thread: wait while the queue is full; False once stopped."""
        loop, stop = asyncio.get_running_loop(), self._stop_thread

        def put(item: Item) -> bool:
            try:
                future = asyncio.run_coroutine_threadsafe(frames.put(item), loop)
            except RuntimeError:  # the loop closed: the process is exiting
                return False
            while True:
                try:
                    future.result(timeout=0.5)
                    return not stop.is_set()
                except concurrent.futures.TimeoutError:
                    if stop.is_set():
                        future.cancel()
                        return False
                except concurrent.futures.CancelledError:
                    return False

        return put

    async def _feed(
        self,
        frames: asyncio.Queue[Item],
        prepared: asyncio.Queue[tuple[SampledFrame, asyncio.Task[Prepared | None]] | Item],
        session: StreamSession,
    ) -> None:
        """Start each frame's analysis as soon as there is room in the pipeline, in order."""
        while True:
            item = await frames.get()
            if isinstance(item, SampledFrame):
                look = await session.look(item, ahead_of_tracking=True)  # in frame order (motion)
                task = asyncio.create_task(self._prepare(session, item, look))
                try:
                    await prepared.put((item, task))
                except asyncio.CancelledError:  # stopped while the pipeline was full
                    task.cancel()
                    raise
            else:
                await prepared.put(item)
                if isinstance(item, Ended | Failed):
                    return

    async def _prepare(self, session: StreamSession, frame: SampledFrame, look: Look) -> Prepared | None:
        """A frame's analysis; tried again while a worker is away (every frame of a record counts),
        skipped (logged) when a worker refuses it."""
        wait = 0.5
        while True:
            try:
                return await session.prepare(frame, look=look)
            except (ServiceUnavailable, RequestTimeout) as exc:
                log.warning("video record %s: a worker is away (%s); retrying in %.1f s", self.record_id, exc, wait)
                await asyncio.sleep(wait)
                wait = min(wait * 2, RETRY_MAX_S)
            except FacegateError as exc:
                log.warning("video record %s: frame at %.3f s skipped: %s", self.record_id, frame.stream_time_s, exc)
                return None

    async def _follow(
        self,
        prepared: asyncio.Queue[tuple[SampledFrame, asyncio.Task[Prepared | None]] | Item],
        session: StreamSession,
        progress: Progress,
    ) -> None:
        """The tracker stage: frames in order, progress and resume positions, the end."""
        while True:
            item = await prepared.get()
            if isinstance(item, tuple):
                frame, task = item
                await session.track(frame, await task)
                position = session.position_ms(frame)
                if session.quiet:  # every tracklet so far is complete: a new owner may start here
                    progress.resume = (position, progress.frames)
                progress.position_ms, progress.frames = position, progress.frames + 1
                if time.monotonic() - progress.stored_at >= self.video.progress_interval_s:
                    await self._store_progress(progress)
            elif isinstance(item, Opened):
                progress.duration_ms = item.duration_ms
                async with self.ctx.db.acquire() as conn:
                    if not await videos.set_duration(conn, self.record_id, self.owner, item.duration_ms):
                        raise Lost
            elif isinstance(item, Ended):
                progress.position_ms = max(progress.position_ms, item.end_ms)
                state: VideoState = "Error" if item.truncated else "Processed"
                await self._finish(session, progress, state, item.truncated)
                return
            elif isinstance(item, Failed):
                await self._finish(session, progress, "Error", item.reason)
                return

    async def _store_progress(self, progress: Progress) -> None:
        async with self.ctx.db.acquire() as conn:
            ok = await videos.progress(conn, self.record_id, self.owner, progress.position_ms, progress.frames)
            if ok and progress.resume is not None:
                ok = await videos.checkpoint(conn, self.record_id, self.owner, *progress.resume)
                progress.resume = None
        if not ok:
            raise Lost
        progress.stored_at = time.monotonic()
        new = progress.frames - progress.announced_frames
        progress.announced_frames = progress.frames
        await video_events.progressed(self.ctx.bus, self.record_id, new, self._left(progress), "PROCESSING")

    def _left(self, progress: Progress) -> int:
        if progress.duration_ms is None:
            return 0
        return max(0, (progress.duration_ms - progress.position_ms) // self.spec.sample_interval_ms)

    async def _finish(self, session: StreamSession, progress: Progress, state: VideoState, reason: str | None) -> None:
        """End every live tracklet, then the record's state (Processed, or Error with why)."""
        await session.close()
        async with self.ctx.db.acquire() as conn:
            row = await videos.finish(
                conn, self.record_id, self.owner, state, reason, progress.position_ms, progress.frames
            )
        if row is None:
            raise Lost
        new = progress.frames - progress.announced_frames
        await video_events.progressed(self.ctx.bus, self.record_id, new, 0, "READY")
        await video_events.state_changed(self.ctx.bus, row)
        if reason:
            log.info("video record %s: %s: %s", self.record_id, state, reason)
        else:
            log.info("video record %s: %s (%d frames analysed)", self.record_id, state, progress.frames)
