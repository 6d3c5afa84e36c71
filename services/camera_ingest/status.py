"""Camera status: kept in Redis by the replica that owns the camera, read by any replica.

Redis rather than Postgres: the status changes every second (frame counters) and means nothing
once its owner is gone, so it expires (`ttl_s`) unless the owner refreshes it; a camera whose
status expired is shown as `pending` until another replica takes it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import redis.asyncio as aioredis

from shared import subjects
from shared.bus import Bus
from shared.messages.cameras import CameraState, CameraStatus

KEY = "facegate:camera_ingest:status:"


class StatusBoard:
    """Writes and reads camera status; publishes `facegate.evt.camera.status.<id>` on changes."""

    def __init__(self, redis: aioredis.Redis, bus: Bus, ttl_s: float) -> None:
        self.redis, self.bus, self.ttl_ms = redis, bus, int(ttl_s * 1000)

    async def write(self, status: CameraStatus, *, changed: bool) -> None:
        """Store the status; announce it when the state (or its reason) changed."""
        await self.redis.set(KEY + status.camera_id, msgspec.json.encode(status), px=self.ttl_ms)
        if changed:
            await self.bus.publish_event(subjects.CAMERA_STATUS_CHANGED.subject(status.camera_id), status)

    async def read(self, camera_id: str) -> CameraStatus | None:
        raw = await self.redis.get(KEY + camera_id)
        return msgspec.json.decode(raw, type=CameraStatus) if raw else None

    async def clear(self, camera_id: str) -> None:
        await self.redis.delete(KEY + camera_id)


def bare_status(camera_id: str, state: CameraState, reason: str | None, interval_ms: int) -> CameraStatus:
    """The status of a camera no replica processes (disabled, or waiting for a replica)."""
    now = datetime.now(UTC)
    return CameraStatus(
        camera_id=camera_id, state=state, reason=reason, since=now, updated_at=now, sample_interval_ms=interval_ms
    )
