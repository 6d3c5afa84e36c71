"""Wires camera_ingest: the camera endpoints, then the scheduler that runs this replica's streams."""

from __future__ import annotations

from services.camera_ingest.handlers import CameraHandlers
from services.camera_ingest.pipeline import FramePipeline
from services.camera_ingest.scheduler import Scheduler
from services.camera_ingest.settings import IngestSettings
from services.camera_ingest.status import StatusBoard
from shared.bus import Empty
from shared.messages.cameras import (
    CAMERA_CREATE,
    CAMERA_DELETE,
    CAMERA_GET,
    CAMERA_LIST,
    CAMERA_STATUS,
    CAMERA_UPDATE,
    CameraCreateRequest,
    CameraUpdateRequest,
)
from shared.messages.common import ById
from shared.runtime import ServiceContext


async def setup(ctx: ServiceContext, settings: IngestSettings) -> None:
    """Register the endpoints (the event stream must exist before the first change) and start
    scheduling streams."""
    assert ctx.redis is not None, "camera_ingest needs Redis"
    await ctx.bus.ensure_event_stream()
    # A status outlives a few missed refreshes, not its owner's death.
    board = StatusBoard(ctx.redis, ctx.bus, ttl_s=settings.lease_ttl_s * 2)
    h = CameraHandlers(ctx, board)
    add = ctx.host.add
    await add(CAMERA_CREATE, CameraCreateRequest, h.create)
    await add(CAMERA_UPDATE, CameraUpdateRequest, h.update)
    await add(CAMERA_GET, ById, h.get)
    await add(CAMERA_LIST, Empty, h.list_all)
    await add(CAMERA_DELETE, ById, h.delete)
    await add(CAMERA_STATUS, ById, h.status)
    scheduler = Scheduler(ctx, settings, board, FramePipeline())
    await scheduler.start()
    ctx.extra_stats["cameras"] = scheduler.stats
