"""The Setup values the cleanup service keeps (`setup_values`, one JSON value per key): each one's
key, shape and default, and how the workers that apply one follow it.

The cleanup service writes them (services/cleanup/setup_values.py) and announces each change on
`facegate.evt.setup.changed.<key>` with the new value; it announces every value again when it
starts, so a worker that started first learns them then. A worker with Postgres reads the value
at start and every `refresh_s` (a missed announcement costs at most that long) and follows the
announcements (`Followed`); the gateway, which has no Postgres, asks the cleanup service once at
start and follows the announcements (services/gateway/setup_features.py).

Defaults: SmartFace's where its documentation gives one (DbCleanup's deleteSql and
deleteMatchResults false, every face feature on, video data stored: `All`); Facegate's own
otherwise, chosen so that nothing is deleted or learnt until an operator asks (README, Setup).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
import msgspec

from shared import subjects
from shared.messages.setup import (
    DbCleanupConfig,
    FaceFeaturesConfigFeaturesConfig,
    FeaturesConfig,
    PreviewConfig,
    SearchSessionsCleanupConfig,
    VideoDataStorageConfig,
    WatchlistAutoLearnConfig,
)
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

T = TypeVar("T", bound=msgspec.Struct)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One Setup value: its `setup_values` key (also its event's id), its shape, its default."""

    key: str
    shape: type[T]
    default: T

    @property
    def changed(self) -> str:
        """The subject its changes are announced on."""
        return subjects.SETUP_CHANGES.subject(self.key)

    def decode(self, stored: Any) -> T:
        """A stored (or announced) value; ValueError when it is not of this shape."""
        try:
            return msgspec.convert(stored, self.shape)
        except msgspec.ValidationError as exc:
            raise ValueError(f"setup value {self.key}: {exc}") from exc


DB_CLEANUP = Setting(
    "db_cleanup",
    DbCleanupConfig,
    DbCleanupConfig(
        cleanup_amount=None, enabled=False, max_frames_count=None, max_image_data_age=None,
        cleanup_start="00:00:00", delete_sql=False, delete_match_results=False,
    ),
)  # fmt: skip
SEARCH_SESSIONS_CLEANUP = Setting(
    "search_sessions_cleanup",
    SearchSessionsCleanupConfig,
    SearchSessionsCleanupConfig(enabled=True, max_items_count=None, max_session_age="1.00:00:00", interval="01:00:00"),
)
AUTO_LEARN = Setting(
    "auto_learn",
    WatchlistAutoLearnConfig,
    WatchlistAutoLearnConfig(
        enabled=False, execution_start_time="01:00:00", max_auto_learn_faces_count=30, selection_threshold=60
    ),
)
FEATURES = Setting(
    "features",
    FaceFeaturesConfigFeaturesConfig,
    FaceFeaturesConfigFeaturesConfig(face_features_config=FeaturesConfig.all_on()),
)
PREVIEW = Setting(
    "preview",
    PreviewConfig,
    PreviewConfig(
        face_bounding_box_color="#00ff00", pedestrian_bounding_box_color="#0000ff", object_bounding_box_color="#ffff00"
    ),
)
VIDEO_STORAGE = Setting("video_storage", VideoDataStorageConfig, VideoDataStorageConfig(storage_mode="All"))

SETTINGS: tuple[Setting[Any], ...] = (DB_CLEANUP, SEARCH_SESSIONS_CLEANUP, AUTO_LEARN, FEATURES, PREVIEW, VIDEO_STORAGE)


async def read(conn: asyncpg.Connection, setting: Setting[T]) -> T:
    """The stored value, or the default when none was stored (or it no longer fits the shape)."""
    stored = await conn.fetchval("SELECT value FROM setup_values WHERE key = $1", setting.key)
    if stored is None:
        return setting.default
    try:
        return setting.decode(stored)
    except ValueError:  # edited by hand, or an older shape: the default until the next PUT
        log.warning("setup value %s is unreadable (%r); using the default", setting.key, stored)
        return setting.default


class Followed(Generic[T]):
    """A Setup value as a worker with Postgres applies it: `value` is always the latest known."""

    def __init__(self, setting: Setting[T], on_change: Callable[[T], None] | None = None) -> None:
        """`on_change` is called with each announced value (not with what a refresh reads)."""
        self.setting = setting
        self.value: T = setting.default
        self.on_change = on_change
        self._task: asyncio.Task[None] | None = None

    async def start(self, ctx: ServiceContext, refresh_s: float) -> None:
        """Read it, follow its announcements, re-read it every `refresh_s`."""

        async def on_change(msg: Any) -> None:
            try:
                self.value = self.setting.decode(msgspec.json.decode(msg.data))
            except (ValueError, msgspec.DecodeError):
                log.warning("unreadable announcement of setup value %s", self.setting.key)
                return
            if self.on_change is not None:
                self.on_change(self.value)

        await self.refresh(ctx)
        await ctx.bus.nc.subscribe(self.setting.changed, cb=on_change)
        await ctx.bus.nc.flush()  # subscribed at the server before this replica serves
        self._task = asyncio.create_task(self._refresh_every(ctx, refresh_s), name=f"setup-{self.setting.key}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh(self, ctx: ServiceContext) -> None:
        async with ctx.db.acquire() as conn:
            self.value = await read(conn, self.setting)

    async def _refresh_every(self, ctx: ServiceContext, refresh_s: float) -> None:
        while True:
            await asyncio.sleep(refresh_s)
            try:
                await self.refresh(ctx)
            except Exception:  # Postgres away for a moment: keep the value, retry next round
                log.warning("setup value %s: refresh failed", self.setting.key, exc_info=True)
