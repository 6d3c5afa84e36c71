"""The audit log: who changed or searched what, when, from where, with which outcome.

`security.py` records an AuditEntry for every change (POST/PUT/DELETE/PATCH) and every
biometric search, allowed or refused; `AuditLog.record` only puts it on a bounded queue, so the
answer never waits for Postgres. One task writes the queue in batches (one round trip each): an
entry waits up to LINGER_S for the ones after it (unless a full batch is already queued), so
that requests one after another make one commit every LINGER_S, not one each (a Search, one at a
time: Postgres 1.0 ms of CPU per Search before, issue #23). When
Postgres cannot be reached, or the queue is full, the entries go to the log (logger
`services.gateway.audit`, one JSON line each) instead: nothing blocks, nothing is lost silently.

The gateway writes Postgres itself through a small pool of its own (two connections, opened
lazily) instead of sending the entries over NATS to a service that owns the table: the entry
then depends on one server, not two, no message type or worker is needed, and a slow or missing
worker cannot hold audit entries. The table (migration 0020) is append-only; the same writer
deletes rows older than FACEGATE_AUDIT_RETENTION_DAYS once an hour (every replica may: the
delete is idempotent). Admins read it with GET /api/v1/Audit (`audit_api.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import datetime
from typing import Any, Literal

import asyncpg
import msgspec

from shared.errors import ServiceUnavailable
from shared.messages.common import Page, PageQuery

log = logging.getLogger(__name__)

QUEUE_SIZE = 10_000
BATCH_SIZE = 500
LINGER_S = 0.5  # how long an entry may wait for others to share its commit
RETENTION_EVERY_S = 3600.0
RETRY_AFTER_S = 5.0  # after a failed write, log entries for this long before trying Postgres again
CONNECT_TIMEOUT_S = 5.0

AuthOutcome = Literal["jwt", "api_key", "none", "missing", "invalid"]


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """One audited request, as stored and as GET /api/v1/Audit answers it."""

    at: datetime
    action: Literal["change", "search"]
    subject: str | None
    name: str | None = None
    auth: AuthOutcome
    role: str | None = None
    method: str
    route: str
    resource_ids: dict[str, str] = msgspec.field(default_factory=dict)
    client: str | None = None
    status: int
    duration_ms: float
    instance: str = ""
    id: int | None = None  # set when read back


class AuditEntryPagedCollection(msgspec.Struct, frozen=True, rename="camel"):
    total_items_count: int | None
    items: list[AuditEntry]
    page_size: int
    page_number: int
    previous_page: str | None
    next_page: str | None


class AuditFilter(msgspec.Struct, frozen=True):
    subject: str | None = None
    action: Literal["change", "search"] | None = None
    since: datetime | None = None
    until: datetime | None = None


COLUMNS = (
    "at", "action", "subject", "name", "auth", "role", "method", "route", "resource_ids", "client",
    "status", "duration_ms", "instance",
)  # fmt: skip
_INSERT = (
    f"INSERT INTO audit_log ({', '.join(COLUMNS)}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13)"
)


def _row(entry: AuditEntry) -> tuple[Any, ...]:
    return (
        entry.at, entry.action, entry.subject, entry.name, entry.auth, entry.role, entry.method, entry.route,
        json.dumps(entry.resource_ids), entry.client, entry.status, entry.duration_ms, entry.instance,
    )  # fmt: skip


class AuditLog:
    """The queue, its writer task and the reader of the audit table (one per gateway process)."""

    def __init__(
        self, database_url: str, retention_days: int, queue_size: int = QUEUE_SIZE, linger_s: float = LINGER_S
    ) -> None:
        self.database_url = database_url
        self.retention_days = retention_days
        self.linger_s = linger_s
        self.queue: asyncio.Queue[AuditEntry] = asyncio.Queue(queue_size)
        self._pool: asyncpg.Pool | None = None
        self._down_until = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    def record(self, entry: AuditEntry) -> None:
        """Queue an entry for the writer; never waits (a full queue logs the entry instead)."""
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            _log_unstored([entry], "audit queue full")

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write_forever()), asyncio.create_task(self._retain_forever())]

    async def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued (for up to `timeout`; what is left then is logged), stop the tasks,
        close the pool."""
        await self.flush(timeout)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        _log_unstored([self.queue.get_nowait() for _ in range(self.queue.qsize())], "gateway stopping")
        if self._pool is not None:
            await self._pool.close()

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued entry has been written or logged (tests, shutdown)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout)

    async def _write_forever(self) -> None:
        while True:
            batch = [await self.queue.get()]
            try:
                if self.queue.qsize() < BATCH_SIZE - 1:
                    await asyncio.sleep(self.linger_s)  # the entries that follow share the commit
                while len(batch) < BATCH_SIZE and not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                await self._write(batch)
            except asyncio.CancelledError:
                _log_unstored(batch, "gateway stopping")  # may have been written too
                raise
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _write(self, batch: list[AuditEntry]) -> None:
        if time.monotonic() < self._down_until:
            _log_unstored(batch, "Postgres unavailable")
            return
        try:
            pool = await self.pool()
            async with pool.acquire() as conn:
                await conn.executemany(_INSERT, [_row(e) for e in batch])
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            self._down_until = time.monotonic() + RETRY_AFTER_S
            _log_unstored(batch, f"Postgres unavailable: {exc}")

    async def pool(self) -> asyncpg.Pool:
        """The audit pool, opened on first use (min_size 0: opening does not connect, so a
        gateway starts while Postgres is down)."""
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self.database_url, min_size=0, max_size=2, timeout=CONNECT_TIMEOUT_S, command_timeout=30
            )
        return self._pool

    async def _retain_forever(self) -> None:
        while True:
            await asyncio.sleep(60)  # not at once: a restarting fleet would all delete together
            try:
                await self.apply_retention()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("audit retention skipped: %s", exc)
            await asyncio.sleep(RETENTION_EVERY_S - 60)

    async def apply_retention(self) -> int:
        """Delete the entries older than the retention; how many went."""
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            # The append-only trigger lets DELETE through only with this flag (migration 0020).
            await conn.execute("SET LOCAL facegate.audit_retention = 'on'")
            status = await conn.execute(
                "DELETE FROM audit_log WHERE at < now() - make_interval(days => $1)", self.retention_days
            )
        deleted = int(status.split()[-1])
        if deleted:
            log.info("audit retention: %d entries older than %d days deleted", deleted, self.retention_days)
        return deleted

    async def page(self, query: PageQuery, where: AuditFilter) -> Page[AuditEntry]:
        """One page of entries, oldest first when `query.ascending`; 503 when Postgres is down."""
        conditions, args = [], []
        for column, op, value in (
            ("subject", "=", where.subject), ("action", "=", where.action),
            ("at", ">=", where.since), ("at", "<", where.until),
        ):  # fmt: skip
            if value is not None:
                args.append(value)
                conditions.append(f"{column} {op} ${len(args)}")
        sql_where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        order = "ASC" if query.ascending else "DESC"
        try:
            pool = await self.pool()
            async with pool.acquire() as conn:
                rows = await conn.fetch(
                    f"SELECT id, {', '.join(COLUMNS)} FROM audit_log {sql_where} "
                    f"ORDER BY at {order}, id {order} LIMIT {query.page_size + 1} OFFSET {query.offset}",
                    *args,
                )
                total = None
                if query.show_total_count:
                    total = await conn.fetchval(f"SELECT count(*) FROM audit_log {sql_where}", *args)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise ServiceUnavailable(f"Postgres (the audit log) is unavailable: {type(exc).__name__}") from exc
        items = [_entry(r) for r in rows[: query.page_size]]
        return Page(items=items, has_next=len(rows) > query.page_size, total_items_count=total)


def _entry(row: asyncpg.Record) -> AuditEntry:
    values = dict(row)
    values["resource_ids"] = json.loads(values["resource_ids"])
    return AuditEntry(**values)


def _log_unstored(entries: list[AuditEntry], why: str) -> None:
    for entry in entries:
        log.warning("audit entry not stored (%s): %s", why, msgspec.json.encode(entry).decode())
