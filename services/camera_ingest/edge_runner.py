"""An enabled edge stream on the replica that owns it (leases.py, as a camera's stream): its
device's results enter the camera pipeline where a camera's frames leave the workers.

A device publishes one `EdgeResultsMessage` per analysed frame on MQTT topic
`facegate/edge/<clientId>/results`, which NATS delivers on `facegate.edge.<clientId>.results`.
The owner reads that subject and hands each frame's faces, with the device's detection and
extraction, to the stream's `StreamSession.track` (session.py): tracked into tracklets, stored
per faceSaveStrategy, matched (the device's own match when it made one, else the matcher's
search over every watchlist, as for a camera) and announced with the same events. A frame that
cannot be read is counted and logged, never stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from dataclasses import dataclass

import asyncpg
import msgspec
import numpy as np
from nats.aio.msg import Msg

from services.camera_ingest import analysis, edge_streams, edge_sync
from services.camera_ingest.decoder import SampledFrame
from services.camera_ingest.edge_streams import EdgeSpec
from services.camera_ingest.pipeline import FramePipeline
from services.camera_ingest.session import AnalysisSettings, Prepared, SaveStrategy, StreamSession
from shared import subjects
from shared.analysis import NOT_EXTRACTED, Analysed, Analysis
from shared.errors import FacegateError
from shared.messages import faces as wire
from shared.messages import matcher as m
from shared.messages.cameras import CameraSpoofDetectorConfig
from shared.messages.edge_streams import EdgeFace, EdgeResultsMessage, EdgeStream
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

QUEUE = 32  # frames waiting per stream; beyond this the oldest is dropped (results are live)
WARN_EVERY_S = 30.0
NO_PIXELS = np.zeros((0, 0, 3), np.uint8)  # the pipeline needs no pixels: the device analysed them


def edge_analysis_settings(stream: EdgeStream) -> AnalysisSettings:
    """What the camera pipeline follows for an edge stream's results."""
    spoof = stream.spoof_detector_config
    return AnalysisSettings(
        detector=wire.FaceDetectorConfig(), detects=True,
        image_quality=round(stream.settings.full_frame.image_quality), redetection_ms=0, template_generation_ms=0,
        save=SaveStrategy.parse(stream.face_save_strategy), save_frames=stream.save_frame_image_data,
        spoof_ids=tuple(stream.spoof_detector_resource_ids),
        spoof_config=CameraSpoofDetectorConfig(
            external_score_threshold=0, distant_liveness_score_threshold=spoof.distant_liveness_score_threshold,
            nearby_liveness_score_threshold=spoof.nearby_liveness_score_threshold,
            distant_liveness_conditions=spoof.distant_liveness_conditions,
            nearby_liveness_conditions=spoof.nearby_liveness_conditions,
        ),
    )  # fmt: skip


async def edge_settings(conn: asyncpg.Connection, edge_id: str) -> AnalysisSettings | None:
    stored = await edge_streams.get(conn, edge_id)
    return edge_analysis_settings(stored.stream) if stored is not None else None


@dataclass
class EdgeCounters:
    received: int = 0
    analysed: int = 0
    dropped: int = 0  # replaced by newer frames before the pipeline took them
    invalid: int = 0  # not an EdgeResultsMessage
    failed: int = 0  # the pipeline failed on it (a worker down, Postgres away)


class EdgeRunner:
    """Reads one device's results while this replica owns its stream."""

    def __init__(self, spec: EdgeSpec, ctx: ServiceContext, pipeline: FramePipeline) -> None:
        self.spec, self.ctx, self.pipeline = spec, ctx, pipeline
        self.stats = EdgeCounters()
        self.current = "online"
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(QUEUE)
        self._task: asyncio.Task[None] | None = None
        self._warned = -WARN_EVERY_S
        self._index = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.pipeline.camera_stopped(self.spec.edge_id)

    async def publish(self, changed: bool = False) -> None:
        """(The scheduler's per-round refresh: an edge stream has no status board entry.)"""

    async def _run(self) -> None:
        await self.pipeline.camera_started(self.spec.edge_id)
        subject = subjects.edge_subject(self.spec.client_id, "results")
        sub = await self.ctx.bus.nc.subscribe(subject, cb=self._received)
        try:
            while True:
                data = await self._queue.get()
                try:
                    await self.handle(data)
                except msgspec.ValidationError as exc:
                    self.stats.invalid += 1
                    self._warn(f"a message is not an EdgeResultsMessage: {exc}")
                except msgspec.DecodeError as exc:
                    self.stats.invalid += 1
                    self._warn(f"a message is not JSON: {exc}")
                except (FacegateError, asyncpg.PostgresError, OSError) as exc:
                    self.stats.failed += 1
                    self._warn(f"a frame's faces were not processed: {exc}")
                except Exception:  # a bug must not stop the stream's next frames
                    self.stats.failed += 1
                    log.exception("edge stream %s: a frame's faces were not processed", self.spec.edge_id)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _received(self, msg: Msg) -> None:
        self.stats.received += 1
        if self._queue.full():
            self._queue.get_nowait()
            self.stats.dropped += 1
        self._queue.put_nowait(msg.data)

    def session(self) -> StreamSession:
        return self.pipeline.session(self.spec.edge_id, load_settings=edge_settings)

    async def handle(self, data: bytes) -> None:
        """One frame's results through the stream's session: tracked, stored, matched, announced."""
        message = msgspec.json.decode(data, type=EdgeResultsMessage)
        session = self.session()
        settings = await session.settings()
        if settings is None:  # deleted meanwhile
            return
        if message.frame is None and settings.save_frames:
            settings = dataclasses.replace(settings, save_frames=False)
        faces = [Analysed(f.detected, f.extracted if f.extracted.template is not None else NOT_EXTRACTED)
                 for f in message.faces]  # fmt: skip
        found = Analysis(width=message.width, height=message.height, faces=faces)
        candidates = await self.candidates(message.faces, faces, settings)
        self._index += 1
        at = None if message.position_ms is None else message.position_ms / 1000
        frame = SampledFrame(self.spec.edge_id, self._index, message.captured_at, at, NO_PIXELS)
        session.frames_in_flight += 1
        session.frame_taken_at = time.monotonic()
        try:
            await session.track(frame, Prepared(settings, message.frame or b"", found, candidates))
        finally:
            session.frames_in_flight -= 1
        self.stats.analysed += 1

    async def candidates(
        self, sent: list[EdgeFace], faces: list[Analysed], settings: AnalysisSettings
    ) -> dict[int, list[m.Candidate]]:
        """Per face (by id()): the member the device matched, or else the matcher's candidates for
        its template; a face without a template has none."""
        found: dict[int, list[m.Candidate]] = {}
        if not settings.match:
            return found
        searched: list[Analysed] = []
        for edge_face, face in zip(sent, faces, strict=True):
            if edge_face.match is not None:
                claim = edge_face.match
                async with self.ctx.db.acquire() as conn:
                    named = await edge_sync.matched(conn, claim.watchlist_member_id, claim.watchlist_id)
                if named is not None:
                    member, watchlist = named
                    found[id(face)] = [m.Candidate(member=member, watchlists=[watchlist], face_id="", similarity=0.0,
                                                   score=claim.score)]  # fmt: skip
                    continue
                # The member or its link is gone since the device's last synchronisation: search.
            if face.extracted.template is not None:
                searched.append(face)
        if searched:
            model = searched[0].extracted.template_model
            templates = [f.extracted.template or b"" for f in searched]
            results = await analysis.search(self.ctx.bus, templates, model, settings.max_candidates)
            found.update(zip((id(f) for f in searched), results, strict=True))
        return found

    def _warn(self, why: str) -> None:
        now = time.monotonic()
        if now - self._warned >= WARN_EVERY_S:
            self._warned = now
            log.warning("edge stream %s (%s): %s", self.spec.edge_id, self.spec.client_id, why)
