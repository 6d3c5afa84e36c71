"""Wires cleanup: the Setup endpoints (any replica answers), then the schedule (one replica at a
time runs it: lease.py)."""

from __future__ import annotations

from services.cleanup.autolearn import AutoLearner
from services.cleanup.scheduler import Scheduler
from services.cleanup.search_sessions import SessionsCleanup
from services.cleanup.settings import load_cleanup_settings
from services.cleanup.setup_values import SetupHandlers, announce_all
from shared import subjects
from shared.bus import Empty
from shared.gallery_log import load_cache_location
from shared.image_storage import ImageFiles, load_image_location
from shared.messages.setup import (
    DbCleanupConfigUpdateRequest,
    FeaturesConfigUpdateRequestFeaturesConfig,
    PreviewConfig,
    SearchSessionsCleanupConfig,
    VideoDataStorageConfig,
    WatchlistAutoLearnConfig,
)
from shared.runtime import ServiceContext
from shared.setup import AUTO_LEARN, DB_CLEANUP, SEARCH_SESSIONS_CLEANUP, Followed


async def setup(ctx: ServiceContext) -> None:
    """Register the Setup endpoints, announce the stored values, start the schedule."""
    settings = load_cleanup_settings()
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

    location = load_image_location()
    files = ImageFiles(ctx, location.image_folder, location.image_bucket)
    db_cleanup = Followed(DB_CLEANUP)
    sessions = SessionsCleanup(Followed(SEARCH_SESSIONS_CLEANUP))
    scheduler = Scheduler(ctx, settings, files, db_cleanup, load_cache_location().cache_key, sessions)
    db_cleanup.on_change = scheduler.changed
    sessions.wake = scheduler.wake
    sessions.config.on_change = sessions.changed
    await db_cleanup.start(ctx, settings.setup_refresh_s)
    await sessions.config.start(ctx, settings.setup_refresh_s)
    await scheduler.start()
    ctx.extra_stats["cleanup"] = scheduler.totals.stats
    ctx.metrics.append(scheduler.totals.metrics_text)
    ctx.on_shutdown.append(scheduler.stop)
    ctx.on_shutdown.append(db_cleanup.stop)
    ctx.on_shutdown.append(sessions.config.stop)

    # Watchlist auto-learn (autolearn.py): daily at executionStartTime, or now when asked.
    auto_learn = Followed(AUTO_LEARN)
    learner = AutoLearner(ctx, settings, auto_learn)
    auto_learn.on_change = learner.changed
    await auto_learn.start(ctx, settings.setup_refresh_s)
    await add(subjects.AUTO_LEARN_RUN, Empty, learner.run_now)
    await learner.start()
    ctx.extra_stats["autoLearn"] = learner.stats
    ctx.on_shutdown.append(learner.stop)
    ctx.on_shutdown.append(auto_learn.stop)
