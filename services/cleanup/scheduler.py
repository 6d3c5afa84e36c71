"""The cleanup schedule, run by whichever replica holds the lease (lease.py).

The holder checks every `check_interval_s` (and at once when DbCleanup changes):
- `schedule`: DbCleanup enabled and `cleanupStart` passed since the last scheduled run
  (schedule.py): frames past `maxFramesCount` or `maxImageDataAge` with what belongs to them,
  tracklets left empty, match results without faces (`deleteMatchResults`), orphaned images,
  files and objects, then the maintenance below.
- `maxFramesCount`: DbCleanup enabled with `deleteSql` and more frames stored than
  `maxFramesCount`: the oldest frames over the count, at once rather than at the next start time.
- `maintenance`: every `maintenance_interval_s`, enabled or not: the gallery's change log,
  expired blobs, files of deleted images, run records older than 90 days.
- `searchSessions`: SearchSessionsCleanup enabled, every its `interval` (and at once when it
  changes): finished Faces/Search sessions (search_sessions.py).

Each run is recorded (`cleanup_runs`), announced (`facegate.evt.cleanup.completed.<runId>`)
and counted on this replica's `/metrics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import msgspec

from services.cleanup import housekeeping, lease, schedule
from services.cleanup.report import Totals
from services.cleanup.retention import Policy, Retention, frame_count, frames_bound
from services.cleanup.search_sessions import SessionsCleanup
from services.cleanup.settings import CleanupSettings
from shared import subjects
from shared.image_storage import ImageFiles
from shared.messages.setup import CleanupCompleted, CleanupRemoved, CleanupTrigger, DbCleanupConfig
from shared.runtime import ServiceContext
from shared.setup import DB_CLEANUP, Followed

log = logging.getLogger(__name__)

RUNS_KEPT_DAYS = 90


class Scheduler:
    """Takes the lease when free, then runs the schedule until it loses it or stops."""

    def __init__(
        self,
        ctx: ServiceContext,
        settings: CleanupSettings,
        files: ImageFiles,
        db_cleanup: Followed[DbCleanupConfig],
        cache_key: str,
        sessions: SessionsCleanup | None = None,
    ) -> None:
        self.ctx, self.settings, self.files = ctx, settings, files
        self.db_cleanup, self.cache_key, self.sessions = db_cleanup, cache_key, sessions
        self.totals = Totals(ctx.host.instance_id)
        self.changed_at = datetime.min.replace(tzinfo=UTC)  # DbCleanup's last change announced here
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def changed(self, _config: DbCleanupConfig) -> None:
        """DbCleanup changed: look again now (a new count), and from now on for the start time."""
        self.changed_at = datetime.now(UTC)
        self._wake.set()

    def wake(self) -> None:
        """Look again now (another Setup value changed)."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run_forever(), name="cleanup-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()

    async def _run_forever(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await lease.try_lead(self.ctx.settings.database_url)
                if conn is None:
                    await asyncio.sleep(self.settings.lease_retry_s)
                    continue
                self.totals.leading = True
                log.info("cleanup: %s holds the lease and runs the schedule", self.ctx.host.instance_id)
                await self._lead(conn)
            except asyncio.CancelledError:
                raise
            except Exception:  # Postgres or NATS away: let go, try again (another replica may take over)
                log.exception("cleanup: the schedule stopped; retrying")
                await asyncio.sleep(self.settings.lease_retry_s)
            finally:
                self.totals.leading = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()

    async def _lead(self, conn: asyncpg.Connection) -> None:
        baseline = max(await self._baseline(conn), self.changed_at)
        next_maintenance = time.monotonic()
        while await lease.still_leading(conn):
            config = self.db_cleanup.value
            baseline = max(baseline, self.changed_at)
            now = datetime.now(UTC)
            if config.enabled and schedule.due(config.cleanup_start, baseline, now):
                await self.run(conn, "schedule", config)
                baseline = now
                next_maintenance = time.monotonic() + self.settings.maintenance_interval_s
            elif self._count_applies(config) and await frame_count(conn) > (config.max_frames_count or 0):
                await self.run(conn, "maxFramesCount", config)
            if self.sessions is not None and self.sessions.due():
                await self.run(conn, "searchSessions", config)
            if time.monotonic() >= next_maintenance:
                await self.run(conn, "maintenance", config)
                next_maintenance = time.monotonic() + self.settings.maintenance_interval_s
            await self._sleep(self.settings.check_interval_s)

    @staticmethod
    def _count_applies(config: DbCleanupConfig) -> bool:
        # Without deleteSql the rows stay and the count never falls: the daily run strips their images.
        return config.enabled and bool(config.max_frames_count) and bool(config.delete_sql)

    async def _baseline(self, conn: asyncpg.Connection) -> datetime:
        """The last scheduled run or the last change of DbCleanup, whichever is later (now when
        neither happened): a start time passed since then is a run nobody made."""
        row = await conn.fetchrow(
            """SELECT (SELECT max(started_at) FROM cleanup_runs WHERE trigger = 'schedule') AS ran,
                      (SELECT updated_at FROM setup_values WHERE key = $1) AS changed""",
            DB_CLEANUP.key,
        )
        known = [at for at in (row["ran"], row["changed"]) if at is not None]
        return max(known) if known else datetime.now(UTC)

    async def run(self, conn: asyncpg.Connection, trigger: CleanupTrigger, config: DbCleanupConfig) -> CleanupCompleted:
        """One run on the lease's connection: remove, record, announce, count."""
        started = datetime.now(UTC)
        retention = Retention(conn, self.settings.batch)
        removed = await self._remove(conn, retention, trigger, config)
        done = CleanupCompleted(
            run_id=str(uuid.uuid4()), instance=self.ctx.host.instance_id, trigger=trigger,
            started_at=started, finished_at=datetime.now(UTC), removed=removed,
        )  # fmt: skip
        await conn.execute(
            """INSERT INTO cleanup_runs (id, instance, trigger, started_at, finished_at, removed)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            uuid.UUID(done.run_id), done.instance, trigger, done.started_at, done.finished_at,
            msgspec.to_builtins(removed),
        )  # fmt: skip
        self.totals.add(done, retention.batch_ms)
        await self.ctx.bus.publish_event(subjects.CLEANUP_COMPLETED.subject(done.run_id), done)
        log.info("cleanup %s (%s): removed %s", done.run_id, trigger, msgspec.json.encode(removed).decode())
        return done

    async def _remove(
        self, conn: asyncpg.Connection, retention: Retention, trigger: CleanupTrigger, config: DbCleanupConfig
    ) -> CleanupRemoved:
        s = self.settings
        removed = CleanupRemoved()
        if trigger in ("schedule", "maxFramesCount") and config.enabled:
            policy = Policy.of(config, by_age=trigger == "schedule")
            bound = await frames_bound(conn, policy, s.keep_recent_s)
            if bound is not None:
                removed += await retention.frames(policy, bound)
                if trigger == "schedule" and policy.delete_rows:
                    removed += await retention.empty_tracklets(policy, bound)
            if trigger == "schedule":
                if policy.delete_match_results:
                    removed += await retention.orphaned_match_results(s.keep_recent_s)
                removed += await retention.orphaned_images(s.orphan_grace_s)
                removed += await housekeeping.orphaned_files(self.files, self.ctx.db, s.orphan_grace_s, s.batch)
        if trigger in ("schedule", "maintenance"):
            assert self.ctx.redis is not None
            removed += await housekeeping.prune_changes(
                conn, self.ctx.bus, self.ctx.redis, self.cache_key, s.changes_keep_s, s.batch
            )
            removed += await housekeeping.expired_blobs(self.ctx.bus)
            await conn.execute(
                "DELETE FROM cleanup_runs WHERE started_at < clock_timestamp() - make_interval(days => $1)",
                RUNS_KEPT_DAYS,
            )
        if trigger == "searchSessions" and self.sessions is not None:
            removed += await self.sessions.remove(conn)
        removed += await housekeeping.sweep_garbage(self.files, self.ctx.db)
        return removed
