"""SearchSessionsCleanup: every `interval` while enabled, the finished Faces/Search sessions
older than `maxSessionAge` and the oldest finished ones beyond `maxItemsCount` sessions are
deleted, their objects with them (ON DELETE CASCADE, migration 0070).

Finished: Finished or Failed, or Running with its progress silent for STALE_S (its matcher replica
died; the matcher reads such a session as Failed after a minute). A session still running is
never deleted. A null `interval` is SmartFace's default, an hour; null `maxSessionAge` and
`maxItemsCount` leave that rule out.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg

from shared import timespan
from shared.messages.setup import CleanupRemoved, SearchSessionsCleanupConfig
from shared.setup import Followed

DEFAULT_INTERVAL_S = 3600.0
STALE_S = 600.0
# Sessions per delete transaction: each takes at most 10 000 objects with it (MAX_SESSION_OBJECTS).
SESSIONS_PER_BATCH = 20

_FINISHED = (
    f"(state <> 'Running' OR coalesce(updated_at, created_at) < clock_timestamp() - make_interval(secs => {STALE_S}))"
)


class SessionsCleanup:
    """When the next run is due, and the run itself (on the lease holder's connection)."""

    def __init__(self, config: Followed[SearchSessionsCleanupConfig], wake: Callable[[], None] | None = None) -> None:
        self.config = config
        self.wake = wake
        self.next_at = 0.0  # time.monotonic() of the next run: at once after a start or a change

    def changed(self, _value: SearchSessionsCleanupConfig) -> None:
        """SearchSessionsCleanup changed: apply it now."""
        self.next_at = 0.0
        if self.wake is not None:
            self.wake()

    def due(self) -> bool:
        value = self.config.value
        rules = value.max_session_age is not None or value.max_items_count is not None
        return value.enabled and rules and time.monotonic() >= self.next_at

    async def remove(self, conn: asyncpg.Connection) -> CleanupRemoved:
        """Delete what the value says, SESSIONS_PER_BATCH sessions per transaction."""
        value = self.config.value
        interval = timespan.parse(value.interval).total_seconds() if value.interval else DEFAULT_INTERVAL_S
        self.next_at = time.monotonic() + interval
        sessions = objects = 0
        if value.max_session_age is not None:
            age = timespan.parse(value.max_session_age).total_seconds()
            old = f"""SELECT id FROM search_sessions
                       WHERE {_FINISHED} AND created_at < clock_timestamp() - make_interval(secs => $1::float8)
                       ORDER BY created_at, id LIMIT $2"""
            n, m = await _delete_all(conn, old, age)
            sessions, objects = sessions + n, objects + m
        if value.max_items_count is not None:
            over = f"""SELECT id FROM search_sessions WHERE {_FINISHED}
                        ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT $2"""
            n, m = await _delete_all(conn, over, value.max_items_count)
            sessions, objects = sessions + n, objects + m
        return CleanupRemoved(search_sessions=sessions, search_session_objects=objects)


async def _delete_all(conn: asyncpg.Connection, select: str, arg: float | int) -> tuple[int, int]:
    """Delete the sessions `select` names (its $1 is `arg`, $2 the batch size) until none is
    left: (sessions, objects) deleted."""
    sessions = objects = 0
    while True:
        rows = await conn.fetch(
            f"DELETE FROM search_sessions s USING ({select}) gone WHERE s.id = gone.id RETURNING s.matched",
            arg, SESSIONS_PER_BATCH,
        )  # fmt: skip
        sessions += len(rows)
        objects += sum(int(r["matched"]) for r in rows)
        if len(rows) < SESSIONS_PER_BATCH:
            return sessions, objects
