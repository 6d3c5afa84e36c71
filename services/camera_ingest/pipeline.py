"""The hand-off from ingest to analysis: every sampled frame goes through `process_sampled_frame`.

It runs the camera's face pipeline (session.py): detector -> extractor -> matcher -> tracker ->
stored faces and events. A sweeper ends tracklets whose person left while no frame arrives.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from services.camera_ingest import payloads as p
from services.camera_ingest import records
from services.camera_ingest.bodies import BodySessions
from services.camera_ingest.decoder import SampledFrame
from services.camera_ingest.image_store import ImageStore
from services.camera_ingest.preview import Previews
from services.camera_ingest.session import SettingsLoader, StreamSession, camera_settings, publish_camera_event
from services.camera_ingest.settings import IngestSettings
from shared.errors import ServiceUnavailable
from shared.messages import events as ev
from shared.messages.setup import FaceFeaturesConfigFeaturesConfig, VideoDataStorageConfig
from shared.runtime import ServiceContext
from shared.setup import Followed

log = logging.getLogger(__name__)

SWEEP_INTERVAL_S = 0.25
WARN_EVERY_S = 30.0  # a missing detector must not flood the log: one line per camera per 30 s


@dataclass
class CameraStats:
    """Counters of one camera's stream on this replica (owned by the event loop)."""

    decoded: int = 0
    sampled: int = 0
    dropped: int = 0  # sampled but replaced by a newer frame before the pipeline took it
    reconnects: int = 0
    analysed: int = 0  # went through the face pipeline
    failed: int = 0  # the face pipeline failed on it (a worker down, a timeout)
    last_frame_at: datetime | None = None
    width: int | None = None
    height: int | None = None
    analysis_ms: float = 0.0  # the last frame's time in the face pipeline


class FramePipeline:
    """What happens to a sampled frame; one per replica, with a session per camera."""

    def __init__(
        self,
        ctx: ServiceContext | None = None,
        settings: IngestSettings | None = None,
        images: ImageStore | None = None,
        setup_features: Followed[FaceFeaturesConfigFeaturesConfig] | None = None,
        previews: Previews | None = None,
        setup_video: Followed[VideoDataStorageConfig] | None = None,
    ) -> None:
        self.ctx, self.settings, self.images = ctx, settings or IngestSettings(), images
        self.setup_features = setup_features
        self.previews = previews
        self.setup_video = setup_video
        self.sessions: dict[str, StreamSession] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._warned: dict[str, float] = {}
        # Pedestrians and objects, for the cameras that ask (services/camera_ingest/bodies.py).
        self.bodies = BodySessions(ctx, images, self.settings.tracklet_timeout_s) if ctx and images else None

    @property
    def analysing(self) -> bool:
        return self.ctx is not None and self.settings.analyse_faces

    def session(self, camera_id: str, load_settings: SettingsLoader = camera_settings) -> StreamSession:
        """The stream's session (a camera's, or an edge stream's with its own `load_settings`)."""
        assert self.ctx is not None and self.images is not None
        found = self.sessions.get(camera_id)
        if found is None:
            found = StreamSession.create(
                self.ctx, camera_id, self.images, self.settings.tracklet_timeout_s, self.settings.confirm_votes,
                load_settings=load_settings, setup_features=self.setup_features, previews=self.previews,
                setup_video=self.setup_video, narrow=True, defer_attributes=True,
            )  # fmt: skip
            self.sessions[camera_id] = found
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep())
        return found

    async def process_sampled_frame(self, frame: SampledFrame, stats: CameraStats) -> None:
        """Find, track, store and announce the frame's faces (the runner counted it sampled)."""
        if not self.analysing:
            return
        started = time.perf_counter()
        try:
            # Pedestrians and objects first: the preview boxes them with the frame's faces.
            bodies = await self.bodies.process(frame) if self.bodies is not None else []
            await self.session(frame.camera_id).process(frame, bodies)
            stats.analysed += 1
        except ServiceUnavailable as exc:
            stats.failed += 1
            self._warn(frame.camera_id, str(exc))
        finally:
            stats.analysis_ms = (time.perf_counter() - started) * 1000

    async def camera_started(self, camera_id: str) -> None:
        """The stream starts here, before its first frame: tracklets a previous owner left open
        (it was killed, or its shutdown closed NATS before they ended) end now, announced with
        `tracklet.completed`, so no tracklet stays live for ever."""
        await self._end_orphans(camera_id, unless_enabled=False)

    async def camera_abandoned(self, camera_id: str) -> None:
        """A while after the camera was disabled or deleted: its owner ended its tracklets when
        it stopped the stream, unless that owner was dead; then they end here (any replica, the
        first one wins)."""
        await self._end_orphans(camera_id, unless_enabled=True)

    async def _end_orphans(self, camera_id: str, *, unless_enabled: bool) -> None:
        if self.ctx is None:
            return
        async with self.ctx.db.acquire() as conn:
            rows = await records.close_orphaned_tracklets(conn, camera_id, unless_enabled=unless_enabled)
        for r in rows:
            payload = p.tracklet_completed(
                r["id"], camera_id, r["time_appeared"], r["time_disappeared"], r["appeared_ms"],
                r["disappeared_ms"], r["created_at"], r["updated_at"],
            )  # fmt: skip
            await publish_camera_event(self.ctx.bus, ev.TRACKLET_COMPLETED, camera_id, payload)
        if rows:
            log.info("camera %s: ended %d tracklet(s) its previous owner left open", camera_id, len(rows))

    async def camera_stopped(self, camera_id: str) -> None:
        """The stream stopped here (disabled, deleted, handed over): its tracklets end now."""
        session = self.sessions.pop(camera_id, None)
        if session is not None:
            await session.close()
        if self.bodies is not None:
            await self.bodies.close(camera_id)

    def _warn(self, camera_id: str, why: str) -> None:
        now = time.monotonic()
        if now - self._warned.get(camera_id, -WARN_EVERY_S) >= WARN_EVERY_S:
            self._warned[camera_id] = now
            log.warning("camera %s: frames are not analysed: %s", camera_id, why)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_S)
            for session in list(self.sessions.values()):
                try:
                    await session.sweep()
                except Exception:  # Postgres or NATS away: the next sweep retries
                    log.exception("camera %s: ending tracklets failed", session.camera_id)
            if self.bodies is not None:
                try:
                    await self.bodies.sweep()
                except Exception:
                    log.exception("ending pedestrian and object tracklets failed")
