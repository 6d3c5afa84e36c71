"""Video record handlers: decode -> one statement -> event. A few lines each.

Every change is announced (`videoRecords.update`, or Facegate's deleted event): the schedulers
of all replicas listen, so enabling a record starts its analysis within about a second, and
disabling, clearing or deleting it stops it as fast.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from services.camera_ingest import records, video_events, video_sources, videos
from services.camera_ingest.image_store import ImageStore
from services.camera_ingest.settings import VideoSettings
from services.camera_ingest.video_config import new_settings, updated_settings
from shared.bus import Empty
from shared.errors import NotFound
from shared.messages.common import ById, Page
from shared.messages.seen import Frame, SeenQuery, Tracklet
from shared.messages.video_records import (
    RecordSeenQuery,
    TagsUpdate,
    VideoRecord,
    VideoRecordCreateRequest,
    VideoRecordStatus,
    VideoRecordTags,
    VideoRecordUpdateRequest,
)
from shared.runtime import ServiceContext
from shared.sources import SourcePolicy


def utc(value: datetime) -> datetime:
    """A time without an offset is UTC (as every time Facegate answers)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def not_found(record_id: str | uuid.UUID) -> NotFound:
    return NotFound(f"VideoRecord '{record_id}' does not exist.")


@dataclass
class VideoRecordHandlers:
    ctx: ServiceContext
    settings: VideoSettings
    images: ImageStore
    policy: SourcePolicy = video_sources.DEFAULT_POLICY  # for URLs: video_sources.record_policy

    async def create(self, req: VideoRecordCreateRequest) -> VideoRecord:
        await video_sources.check(req.source, self.settings.folder, self.policy)
        recorded_at = utc(req.recorded_at) if req.recorded_at is not None else datetime.now(UTC)
        async with self.ctx.db.acquire() as conn:
            row = await videos.insert(
                conn, uuid.uuid4(), req.name, req.source, bool(req.enabled), recorded_at, new_settings(req)
            )
        await video_events.state_changed(self.ctx.bus, row)
        return videos.to_record(row)

    async def update(self, req: VideoRecordUpdateRequest) -> VideoRecord:
        async with self.ctx.db.acquire() as conn:
            stored = await videos.get_row(conn, str(req.id))
        if stored is None:
            raise not_found(req.id)
        if req.source != stored["source"]:  # checked outside the transaction: it may wait for DNS
            await video_sources.check(req.source, self.settings.folder, self.policy)
        async with self.ctx.db.acquire() as conn, conn.transaction():
            stored = await videos.get_row(conn, str(req.id))
            if stored is None:
                raise not_found(req.id)
            recorded_at = utc(req.recorded_at) if req.recorded_at is not None else stored["recorded_at"]
            settings = updated_settings(videos.to_settings(stored), req)
            row = await videos.update(conn, req.id, req.name, req.source, req.enabled, recorded_at, settings)
        if row is None:  # deleted between the two statements
            raise not_found(req.id)
        await video_events.state_changed(self.ctx.bus, row)
        return videos.to_record(row)

    async def get(self, req: ById) -> VideoRecord:
        async with self.ctx.db.acquire() as conn:
            record = await videos.get(conn, req.id)
        if record is None:
            raise not_found(req.id)
        return record

    async def list_all(self, _req: Empty) -> list[VideoRecord]:
        async with self.ctx.db.acquire() as conn:
            return await videos.list_all(conn)

    async def delete(self, req: ById) -> None:
        """The record and everything it produced (faces, frames, tracklets, images, match results)."""
        async with self.ctx.db.acquire() as conn, conn.transaction():
            if not await videos.delete(conn, req.id):
                raise not_found(req.id)
        await video_events.deleted(self.ctx.bus, req.id)
        await self.images.sweep()  # files and objects of the deleted images go now

    async def clear(self, req: ById) -> None:
        """Everything the record produced goes; the record is Ready (and disabled) again."""
        async with self.ctx.db.acquire() as conn, conn.transaction():
            row = await videos.clear(conn, req.id)
        if row is None:
            raise not_found(req.id)
        await video_events.state_changed(self.ctx.bus, row)
        await self.images.sweep()

    async def status(self, req: ById) -> VideoRecordStatus:
        async with self.ctx.db.acquire() as conn:
            row = await videos.get_row(conn, req.id)
        if row is None:
            raise not_found(req.id)
        return videos.to_status(row, datetime.now(UTC))

    async def get_tags(self, req: ById) -> VideoRecordTags:
        async with self.ctx.db.acquire() as conn:
            tags = await videos.get_tags(conn, req.id)
        if tags is None:
            raise not_found(req.id)
        return VideoRecordTags(id=uuid.UUID(req.id), tags=tags)

    async def set_tags(self, req: TagsUpdate) -> VideoRecordTags:
        async with self.ctx.db.acquire() as conn:
            tags = await videos.set_tags(conn, req.id, req.tags)
        if tags is None:
            raise not_found(req.id)
        return VideoRecordTags(id=uuid.UUID(req.id), tags=tags)

    async def tracklets(self, q: RecordSeenQuery) -> Page[Tracklet]:
        async with self.ctx.db.acquire() as conn:
            if not await videos.exists(conn, q.id):
                raise not_found(q.id)
            return await records.list_tracklets(conn, SeenQuery(page=q.page, camera_id=q.id))

    async def frames(self, q: RecordSeenQuery) -> Page[Frame]:
        async with self.ctx.db.acquire() as conn:
            if not await videos.exists(conn, q.id):
                raise not_found(q.id)
            return await records.list_frames(conn, SeenQuery(page=q.page, camera_id=q.id))
