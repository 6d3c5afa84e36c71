"""Wires cleanup: the Setup endpoints (any replica answers)."""

from __future__ import annotations

from services.cleanup.setup_values import SetupHandlers, announce_all
from shared import subjects
from shared.bus import Empty
from shared.messages.setup import (
    DbCleanupConfigUpdateRequest,
    FeaturesConfigUpdateRequestFeaturesConfig,
    PreviewConfig,
    SearchSessionsCleanupConfig,
    VideoDataStorageConfig,
    WatchlistAutoLearnConfig,
)
from shared.runtime import ServiceContext


async def setup(ctx: ServiceContext) -> None:
    """Register the Setup endpoints, announce the stored values."""
    await ctx.bus.ensure_event_stream()
    h = SetupHandlers(ctx)
    add = ctx.host.add
    await add(subjects.SETUP_DB_CLEANUP_GET, Empty, h.get_db_cleanup)
    await add(subjects.SETUP_DB_CLEANUP_SET, DbCleanupConfigUpdateRequest, h.set_db_cleanup)
    await add(subjects.SETUP_SEARCH_SESSIONS_CLEANUP_GET, Empty, h.get_search_sessions_cleanup)
    await add(subjects.SETUP_SEARCH_SESSIONS_CLEANUP_SET, SearchSessionsCleanupConfig, h.set_search_sessions_cleanup)
    await add(subjects.SETUP_AUTO_LEARN_GET, Empty, h.get_auto_learn)
    await add(subjects.SETUP_AUTO_LEARN_SET, WatchlistAutoLearnConfig, h.set_auto_learn)
    await add(subjects.SETUP_FEATURES_GET, Empty, h.get_features)
    await add(subjects.SETUP_FEATURES_SET, FeaturesConfigUpdateRequestFeaturesConfig, h.set_features)
    await add(subjects.SETUP_PREVIEW_GET, Empty, h.get_preview)
    await add(subjects.SETUP_PREVIEW_SET, PreviewConfig, h.set_preview)
    await add(subjects.SETUP_VIDEO_STORAGE_GET, Empty, h.get_video_storage)
    await add(subjects.SETUP_VIDEO_STORAGE_SET, VideoDataStorageConfig, h.set_video_storage)
    await announce_all(ctx)

