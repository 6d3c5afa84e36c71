"""One replica's copy of the gallery: start from Redis (or Postgres), then follow the change log.

- Start: load the cached gallery from Redis and replay the log rows after its position; a
  missing, stale or corrupt cache means a rebuild from Postgres, saved back to Redis at once.
  Redis unreachable means a rebuild from Postgres too (the cache only saves time): the replica
  starts and serves, and saves to Redis once it is back (retried every `SAVE_RETRY_S`).
- Follow: every committed write publishes `GalleryChanged(seq)` on the JetStream events stream;
  each replica has its own ordered consumer and, when `seq` is ahead of it, replays the log from
  Postgres (the log is the truth; the event only says "look now"). A poll every `poll_s` is
  the safety net for a missed event (NATS down while a write committed).
- Read-your-writes: a write's reply carries its `seq`; a search with `min_seq` makes this
  replica catch up at once (not waiting for the event) and fails with 503 if it cannot.
- One task applies changes and snapshots (single writer of the gallery); snapshots are
  uploaded to Redis in the background after `cache_save_changes` changes or
  `cache_save_interval_s` seconds.
- A graph that grew into a larger size class (tuning.py) or holds many deleted slots is rebuilt
  in a background thread while searches and changes go on (`Gallery.rebuild`); once swapped in,
  the gallery is saved to Redis at once, so replicas that start later load the new graph.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import msgspec
import redis.exceptions
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from services.matcher import cache
from services.matcher.changes import database_identity, log_position, oldest_position, read_changes, read_everything
from services.matcher.config import MatcherConfig
from services.matcher.gallery import Gallery
from shared.errors import ServiceUnavailable
from shared.messages.matcher import GalleryChanged, IndexStats
from shared.runtime import ServiceContext
from shared.subjects import GALLERY_CHANGED, GALLERY_CHANGED_FILTER

log = logging.getLogger(__name__)

# After a failed upload to Redis (down, out of memory), wait this long before snapshotting again:
# a snapshot of a large gallery is costly, and Redis rarely comes back within seconds.
SAVE_RETRY_S = 60.0


class Replica:
    """The gallery of this process and the machinery that keeps it current."""

    def __init__(self, ctx: ServiceContext, cfg: MatcherConfig) -> None:
        self.ctx = ctx
        self.cfg = cfg
        self.gallery = Gallery(cfg, ctx.settings.worker_threads)
        self.database = ""
        self.load_source = ""
        self.load_seconds = 0.0
        self.saves = 0
        self.saved_seq = 0
        self._writer = asyncio.Lock()  # one task mutates the gallery at a time
        self._poke = asyncio.Event()
        self._must_save = False
        self._changes_since_save = 0
        self._last_save = time.monotonic()
        self._retry_save_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self._upload: asyncio.Task[None] | None = None
        self._rebuilding: asyncio.Task[None] | None = None
        self._stopping = threading.Event()  # ends a rebuild running in its thread

    # ---- lifecycle ----

    async def start(self) -> None:
        """Load the gallery and follow the change log (call before registering endpoints)."""
        async with self.ctx.db.acquire() as conn:
            self.database = await database_identity(conn)
        # Subscribe first: an event published while loading is then not lost.
        await self.ctx.bus.js.subscribe(
            GALLERY_CHANGED_FILTER, cb=self._on_event, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
        )
        started = time.perf_counter()
        await self._load()
        self.load_seconds = round(time.perf_counter() - started, 3)
        log.info(
            "gallery loaded from %s in %.2f s: %d templates at change %d",
            self.load_source,
            self.load_seconds,
            self.templates,
            self.gallery.seq,
        )
        self._spawn(self._follow())

    async def stop(self) -> None:
        self._stopping.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _on_event(self, msg: Msg) -> None:
        try:
            event = msgspec.json.decode(msg.data, type=GalleryChanged)
        except msgspec.DecodeError:
            log.warning("unreadable gallery event on %s", msg.subject)
            return
        if event.seq > self.gallery.seq:
            self._poke.set()

    async def announce(self, seq: int) -> None:
        """Tell every replica (this one too) that the log reaches `seq`."""
        await self.ctx.bus.publish_event(GALLERY_CHANGED, GalleryChanged(seq=seq))

    # ---- loading ----

    async def _load(self) -> None:
        gallery: Gallery | None = None
        if self.ctx.redis is not None and self.cfg.cache_save_changes > 0:
            try:
                gallery = await self._load_cached()
            except cache.CacheInvalid as exc:
                log.warning("cached gallery not used (%s); rebuilding from Postgres", exc)
            except redis.exceptions.RedisError as exc:
                log.warning("Redis unavailable (%s); rebuilding the gallery from Postgres", exc)
        if gallery is None:
            gallery = await self._load_database()
            self.load_source = "postgres"
            self._must_save = True
        else:
            self.load_source = "redis"
            self.saved_seq = gallery.seq
        self.gallery = gallery
        await self.catch_up()

    async def _load_cached(self) -> Gallery | None:
        assert self.ctx.redis is not None
        async with self.ctx.db.acquire() as conn:
            oldest, newest = await oldest_position(conn), await log_position(conn)
        folder = Path(tempfile.mkdtemp(prefix="facegate-matcher-"))
        try:
            manifest = await cache.fetch(self.ctx.redis, self.cfg, folder, self.database, oldest, newest)
            if manifest is None:
                return None
            try:
                gallery = await self.ctx.run_blocking(cache.restore, folder, self.cfg, self.ctx.settings.worker_threads)
            except (ValueError, RuntimeError, OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise cache.CacheInvalid(f"unreadable snapshot: {exc}") from None
            if gallery.seq != manifest.seq:
                raise cache.CacheInvalid("snapshot position differs from its manifest")
            return gallery
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    async def _load_database(self) -> Gallery:
        gallery = Gallery(self.cfg, self.ctx.settings.worker_threads)
        async with self.ctx.db.acquire() as conn:
            async for changes in read_everything(conn, self.cfg.batch * 10):
                await self.ctx.run_blocking(gallery.apply, changes)
        return gallery

    # ---- following the log ----

    async def catch_up(self) -> None:
        """Apply every committed change this replica has not applied yet."""
        async with self._writer:
            while True:
                async with self.ctx.db.acquire() as conn:
                    changes = await read_changes(conn, self.gallery.seq, self.cfg.batch)
                if changes.upto == changes.after:
                    return
                if changes.reset:
                    # Tables were truncated: everything goes; reload (searches use the old
                    # gallery until the new one is complete).
                    log.info("gallery reset at change %d; reloading", changes.upto)
                    self.gallery = await self._load_database()
                    self._must_save = True
                    continue
                await self.ctx.run_blocking(self.gallery.apply, changes)
                self._changes_since_save += changes.upto - changes.after

    async def wait_for(self, seq: int) -> None:
        """Return once this replica reflects change `seq` (read-your-writes)."""
        if seq <= self.gallery.seq:
            return
        with contextlib.suppress(TimeoutError):
            # Shielded: a timeout must not cancel a catch-up halfway (its batch runs in a thread
            # and would finish anyway, with the writer lock already given up).
            await asyncio.wait_for(asyncio.shield(self.catch_up()), self.cfg.read_your_writes_wait_s)
        if seq > self.gallery.seq:
            raise ServiceUnavailable(
                f"This matcher replica has applied changes up to {self.gallery.seq}, not yet {seq}; retry."
            )

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self.cfg.poll_s)
            self._poke.clear()
            try:
                await self.catch_up()
                await self._maintain()
            except Exception:  # keep following; the next poke or poll retries
                log.exception("applying gallery changes failed")
                await asyncio.sleep(1)

    async def _maintain(self) -> None:
        async with self._writer:
            if self._rebuilding is None or self._rebuilding.done():
                due = self.gallery.due_for_rebuild()
                if due:
                    self._rebuilding = self._spawn(self._rebuild(self.gallery, due))
            if self._save_due():
                await self._snapshot()

    async def _rebuild(self, gallery: Gallery, names: list[str]) -> None:
        """Rebuild graphs in a thread of its own (not the search pool); changes keep flowing."""
        for name in names:
            try:
                swapped = await asyncio.to_thread(gallery.rebuild, name, 10_000, self._stopping)
            except Exception:
                log.exception("rebuilding index %s failed", name)
                continue
            if swapped and gallery is self.gallery:
                self._must_save = True
                self._poke.set()  # save now rather than at the next poll

    def _save_due(self) -> bool:
        if self.ctx.redis is None or self.cfg.cache_save_changes == 0:
            return False
        if self._upload is not None and not self._upload.done():
            return False
        if time.monotonic() < self._retry_save_at:
            return False
        if self._must_save or self._changes_since_save >= self.cfg.cache_save_changes:
            return True
        elapsed = time.monotonic() - self._last_save
        return (
            bool(self.cfg.cache_save_interval_s)
            and elapsed >= self.cfg.cache_save_interval_s
            and (self._changes_since_save > 0)
        )

    async def _snapshot(self) -> None:
        """Write the gallery to local files (the writer lock is held), upload them in the background."""
        folder = Path(tempfile.mkdtemp(prefix="facegate-matcher-save-"))
        seq = await self.ctx.run_blocking(cache.snapshot, self.gallery, folder)
        self._must_save = False
        self._changes_since_save = 0
        self._last_save = time.monotonic()
        self._upload = self._spawn(self._upload_snapshot(folder, seq))

    async def _upload_snapshot(self, folder: Path, seq: int) -> None:
        assert self.ctx.redis is not None
        try:
            if await cache.save(self.ctx.redis, self.cfg, folder, seq, self.database, self.ctx.host.instance_id):
                self.saves += 1
                self.saved_seq = seq
                log.info("gallery saved to Redis at change %d", seq)
        except redis.exceptions.RedisError as exc:
            log.warning("saving the gallery to Redis failed (%s); retrying in %.0f s", exc, SAVE_RETRY_S)
            self._must_save = True
            self._retry_save_at = time.monotonic() + SAVE_RETRY_S
        except Exception:
            log.exception("saving the gallery to Redis failed")
            self._must_save = True
            self._retry_save_at = time.monotonic() + SAVE_RETRY_S
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    async def save_now(self) -> None:
        """Snapshot and upload before returning (tests, benchmarks)."""
        async with self._writer:
            await self._snapshot()
        if self._upload is not None:
            await self._upload

    # ---- figures ----

    @property
    def templates(self) -> int:
        return sum(len(i) for i in self.gallery.models.values())

    def stats(self) -> IndexStats:
        lock = self.gallery.lock
        models = self.gallery.model_stats()
        return IndexStats(
            instance=self.ctx.host.instance_id,
            templates=sum(m.templates for m in models),
            index_bytes=sum(m.index_bytes for m in models),
            seq=self.gallery.seq,
            load_source=self.load_source,
            load_seconds=self.load_seconds,
            models=models,
            search_lock_wait_ms=round(lock.read_wait_s * 1000, 3),
            write_lock_wait_ms=round(lock.write_wait_s * 1000, 3),
            write_lock_held_ms=round(lock.write_held_s * 1000, 3),
            cache_saves=self.saves,
            cache_saved_seq=self.saved_seq,
        )
