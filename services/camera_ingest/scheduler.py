"""Each replica's scheduling round: which enabled cameras and video records to analyse are
mine, start and stop their streams.

A round runs every `schedule_interval_s` and at once when a camera or a video record is created,
updated or deleted (their events wake it), so enabling starts a stream within about a second
and disabling or deleting stops it as fast. See leases.py for how cameras (and records, the
same way) are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid

import msgspec
from nats.aio.msg import Msg

from services.camera_ingest import cameras, decoder, edge_streams, videos
from services.camera_ingest.edge_runner import EdgeRunner
from services.camera_ingest.edge_streams import EdgeSpec
from services.camera_ingest.leases import Leases, preferred_owner
from services.camera_ingest.pipeline import FramePipeline
from services.camera_ingest.runner import StreamRunner
from services.camera_ingest.settings import IngestSettings, VideoSettings
from services.camera_ingest.status import StatusBoard
from services.camera_ingest.video_runner import RecordRunner
from services.camera_ingest.videos import RecordSpec
from shared import subjects
from shared.encryption import SecretBox
from shared.messages.cameras import CameraEvent, StreamCounters
from shared.messages.edge_streams import EdgeStreamEvent
from shared.runtime import ServiceContext
from shared.sources import redact_url

log = logging.getLogger(__name__)


def camera_enabled(event: bytes) -> bool:
    """Whether a camera event says the camera is enabled (an unreadable one: assume it is)."""
    try:
        camera = msgspec.json.decode(event, type=CameraEvent).camera
    except msgspec.DecodeError:
        return True
    return camera is None or camera.enabled


def edge_stream_enabled(event: bytes) -> bool:
    """Whether an edge stream event says the stream is enabled (an unreadable one: assume it is)."""
    try:
        stream = msgspec.json.decode(event, type=EdgeStreamEvent).edge_stream
    except msgspec.DecodeError:
        return True
    return stream is None or stream.enabled


Spec = cameras.StreamSpec | RecordSpec | EdgeSpec
Runner = StreamRunner | RecordRunner | EdgeRunner


def stream_id(spec: Spec) -> str:
    """The id a spec's stream is leased and known by: the camera's, the video record's or the
    edge stream's."""
    if isinstance(spec, cameras.StreamSpec):
        return spec.camera_id
    return spec.edge_id if isinstance(spec, EdgeSpec) else spec.record_id


class Scheduler:
    """Keeps this replica's streams equal to the cameras and video records it owns."""

    def __init__(
        self,
        ctx: ServiceContext,
        settings: IngestSettings,
        board: StatusBoard,
        pipeline: FramePipeline,
        box: SecretBox,
        video: VideoSettings | None = None,
    ):
        assert ctx.redis is not None, "camera_ingest needs Redis"
        self.ctx, self.settings, self.board, self.pipeline = ctx, settings, board, pipeline
        self.box = box  # decrypts the sources of the cameras to open
        self.video = video or VideoSettings()
        # Unique per process even when two replicas were given the same instance id.
        self.token = f"{ctx.host.instance_id}/{uuid.uuid4().hex[:6]}"
        self.leases = Leases(ctx.redis, self.token, settings.lease_ttl_s)
        self.runners: dict[str, Runner] = {}
        self.replicas: list[str] = []
        self._wake = asyncio.Event()
        self._last_claim = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._later: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        for event in (*subjects.CAMERA_CHANGES, *subjects.VIDEO_RECORD_CHANGES, *subjects.EDGE_STREAM_CHANGES):
            await self.ctx.bus.nc.subscribe(event.filter, cb=self._on_event)
        self._tasks = [asyncio.create_task(self._loop())]
        self.ctx.on_shutdown.append(self.shutdown)

    async def _on_event(self, msg: Msg) -> None:
        self._wake.set()
        deleted = subjects.CAMERA_DELETED.matches(msg.subject) or subjects.EDGE_STREAM_DELETED.matches(msg.subject)
        disabled = (subjects.CAMERA_UPDATED.matches(msg.subject) and not camera_enabled(msg.data)) or (
            subjects.EDGE_STREAM_UPDATED.matches(msg.subject) and not edge_stream_enabled(msg.data)
        )
        if deleted or disabled:
            # Its owner ends its tracklets as it stops; if that owner is dead, nobody would.
            task = asyncio.create_task(self._abandoned(subjects.event_id(msg.subject)))
            self._later.add(task)
            task.add_done_callback(self._later.discard)

    async def _abandoned(self, camera_id: str) -> None:
        await asyncio.sleep(2 * self.settings.lease_ttl_s)  # a live owner has stopped by then
        try:
            await self.pipeline.camera_abandoned(camera_id)
        except Exception as exc:  # Postgres or NATS away: its next start ends them
            log.warning("camera %s: ending its abandoned tracklets failed: %s", camera_id, exc)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_round()
            except Exception as exc:  # Redis or Postgres away: keep what we have while leases last
                log.warning("scheduling round failed: %s", exc)
                if time.monotonic() - self._last_claim > self.settings.lease_ttl_s:
                    await self._stop_all("leases could not be renewed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.schedule_interval_s)
            self._wake.clear()

    async def run_round(self) -> None:
        """One round: read the enabled cameras, heartbeat, claim mine, start/stop streams.

        Postgres first: a replica that cannot read the cameras must not heartbeat, or the others
        would keep leaving it the cameras it is preferred for while it cannot run them. The read
        is bounded by half a lease TTL, so that an unreachable database (a connect that hangs)
        fails the round in time to stop the streams before their leases go to another replica."""
        specs = await asyncio.wait_for(self._enabled_streams(), self.settings.lease_ttl_s / 2)
        self.replicas = await self.leases.heartbeat()
        wanted = {stream_id(s): s for s in specs if preferred_owner(stream_id(s), self.replicas) == self.token}
        # Not mine any more (disabled, deleted, done, or a better-placed replica joined): stop, hand over.
        gone = [cid for cid in self.runners if cid not in wanted]
        for cid in gone:
            await self.runners.pop(cid).stop()
        await self.leases.release(gone)
        held = await self.leases.claim(list(wanted))
        self._last_claim = time.monotonic()
        for cid, spec in wanted.items():
            runner = self.runners.get(cid)
            ended = isinstance(runner, RecordRunner) and runner.done  # a record still wanted: start it again
            if runner is not None and (cid not in held or runner.spec != spec or ended):
                # Lease lost (we were presumed dead), or the source or rate changed: restart.
                await self.runners.pop(cid).stop()
                runner = None
            if runner is None and cid in held:
                runner = self._runner(spec)
                self.runners[cid] = runner
                runner.start()
                kind = {StreamRunner: "camera", RecordRunner: "video record", EdgeRunner: "edge stream"}[type(runner)]
                log.info("%s %s started (%s)", kind, cid, redact_url(spec.source))
        for runner in self.runners.values():  # refresh counters and the status TTL
            await runner.publish(changed=False)

    def _runner(self, spec: Spec) -> Runner:
        if isinstance(spec, EdgeSpec):
            return EdgeRunner(spec, self.ctx, self.pipeline)
        if isinstance(spec, RecordSpec):
            images, features = self.pipeline.images, self.pipeline.setup_features
            assert images is not None
            return RecordRunner(spec, self.token, self.ctx, self.settings, self.video, images, features)
        return StreamRunner(spec, self.ctx.host.instance_id, self.settings, self.board, self.pipeline)

    async def _enabled_streams(self) -> list[Spec]:
        async with self.ctx.db.acquire() as conn:
            return [
                *await cameras.enabled_streams(conn, self.box), *await videos.wanted(conn),
                *await edge_streams.enabled_streams(conn),
            ]  # fmt: skip

    async def _stop_all(self, why: str) -> None:
        if self.runners:
            log.warning("stopping %d camera(s): %s", len(self.runners), why)
        for cid in list(self.runners):
            await self.runners.pop(cid).stop()

    async def shutdown(self) -> None:
        """On SIGTERM (the runtime's shutdown hook, NATS, Postgres and Redis still open): stop the
        streams, which ends their tracklets with their events, and release the leases, so that
        the other replicas take over at once instead of after a lease TTL."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        ids = list(self.runners)
        await self._stop_all("shutting down")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.leases.leave(ids), 2)
        # Last: the process must not exit with a decoder thread still inside FFmpeg. Within the
        # runtime's 10 s for this hook, after the leases: the other replicas need not wait.
        await decoder.join_threads(self.settings.read_timeout_s)

    def stats(self) -> dict[str, StreamCounters]:
        """Per-camera counters for $SRV.STATS."""
        return {
            cid: StreamCounters(
                state=r.current,
                decoded=s.decoded,
                sampled=s.sampled,
                dropped=s.dropped,
                analysed=s.analysed,
                failed=s.failed,
            )
            for cid, r in self.runners.items()
            if isinstance(r, StreamRunner)
            for s in (r.stats,)
        }
