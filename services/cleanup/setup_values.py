"""The Setup values this service keeps: read, checked, stored in `setup_values`, announced.

Why here: DbCleanup and SearchSessionsCleanup are this service's own work, and the other four
(AutoLearn, Features, Preview, DataStorage/Video) need an owner that is not on a hot path and
holds no camera or gallery state; one owner for all six keeps the table's writes in one place.
(Image storage, `image_storage`, stays camera_ingest's: applying it needs camera_ingest's folder
and bucket checked from camera_ingest.)

A PUT answers once the value is committed and announced; every replica applying it follows the
announcement at once (shared/setup.py). Field checks are the messages' (a 400 at the gateway);
checks across fields are here, each a 400 naming the field.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

import msgspec

from shared import setup, timespan
from shared.bus import Empty
from shared.errors import ValidationFailed
from shared.messages.setup import (
    DbCleanupConfig,
    DbCleanupConfigUpdateRequest,
    FaceFeaturesConfigFeaturesConfig,
    FeaturesConfigUpdateRequestFeaturesConfig,
    PreviewConfig,
    SearchSessionsCleanupConfig,
    VideoDataStorageConfig,
    WatchlistAutoLearnConfig,
)
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

T = TypeVar("T", bound=msgspec.Struct)


async def store(ctx: ServiceContext, setting: setup.Setting[T], value: T) -> T:
    """Commit `value` and announce it; the value as stored."""
    async with ctx.db.acquire() as conn:
        await conn.execute(
            """INSERT INTO setup_values (key, value) VALUES ($1, $2)
               ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = clock_timestamp()""",
            setting.key, msgspec.to_builtins(value),
        )  # fmt: skip
    await ctx.bus.publish_event(setting.changed, value)
    return value


async def announce_all(ctx: ServiceContext) -> None:
    """Announce every value as stored now: workers that started before this service learn them."""
    async with ctx.db.acquire() as conn:
        values = [(s, await setup.read(conn, s)) for s in setup.SETTINGS]
    for setting, value in values:
        await ctx.bus.publish_event(setting.changed, value)


def _positive_span(field: str, text: str | None) -> str | None:
    if text is not None and timespan.parse(text).total_seconds() <= 0:
        raise ValidationFailed(f"{field} must be longer than zero.", errors={field: ["must be longer than zero"]})
    return timespan.canonical(text)


class SetupHandlers:
    """GET and PUT of each Setup value this service keeps."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def _read(self, setting: setup.Setting[T]) -> T:
        async with self.ctx.db.acquire() as conn:
            return await setup.read(conn, setting)

    async def get_db_cleanup(self, _: Empty) -> DbCleanupConfig:
        return await self._read(setup.DB_CLEANUP)

    async def set_db_cleanup(self, req: DbCleanupConfigUpdateRequest) -> DbCleanupConfig:
        fields: dict[str, Any] = msgspec.structs.asdict(req)
        fields["cleanup_start"] = timespan.canonical(req.cleanup_start)
        return await store(self.ctx, setup.DB_CLEANUP, DbCleanupConfig(**fields))

    async def get_search_sessions_cleanup(self, _: Empty) -> SearchSessionsCleanupConfig:
        return await self._read(setup.SEARCH_SESSIONS_CLEANUP)

    async def set_search_sessions_cleanup(self, req: SearchSessionsCleanupConfig) -> SearchSessionsCleanupConfig:
        value = msgspec.structs.replace(
            req,
            max_session_age=_positive_span("maxSessionAge", req.max_session_age),
            interval=_positive_span("interval", req.interval),
        )
        return await store(self.ctx, setup.SEARCH_SESSIONS_CLEANUP, value)

    async def get_auto_learn(self, _: Empty) -> WatchlistAutoLearnConfig:
        return await self._read(setup.AUTO_LEARN)

    async def set_auto_learn(self, req: WatchlistAutoLearnConfig) -> WatchlistAutoLearnConfig:
        if req.no_face_mask_confidence_threshold > req.face_mask_confidence_threshold:
            message = "must not be above faceMaskConfidenceThreshold"
            raise ValidationFailed(
                f"noFaceMaskConfidenceThreshold {message}.", errors={"noFaceMaskConfidenceThreshold": [message]}
            )
        value = msgspec.structs.replace(req, execution_start_time=timespan.canonical(req.execution_start_time))
        return await store(self.ctx, setup.AUTO_LEARN, value)

    async def get_features(self, _: Empty) -> FaceFeaturesConfigFeaturesConfig:
        return await self._read(setup.FEATURES)

    async def set_features(self, req: FeaturesConfigUpdateRequestFeaturesConfig) -> FaceFeaturesConfigFeaturesConfig:
        value = FaceFeaturesConfigFeaturesConfig(face_features_config=req.face_features_config.switches())
        return await store(self.ctx, setup.FEATURES, value)

    async def get_preview(self, _: Empty) -> PreviewConfig:
        return await self._read(setup.PREVIEW)

    async def set_preview(self, req: PreviewConfig) -> PreviewConfig:
        return await store(self.ctx, setup.PREVIEW, req)

    async def get_video_storage(self, _: Empty) -> VideoDataStorageConfig:
        return await self._read(setup.VIDEO_STORAGE)

    async def set_video_storage(self, req: VideoDataStorageConfig) -> VideoDataStorageConfig:
        return await store(self.ctx, setup.VIDEO_STORAGE, req)
