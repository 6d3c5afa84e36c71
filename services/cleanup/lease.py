"""One active cleanup at a time: a Postgres advisory lock, held by the replica that runs the schedule.

The holder keeps one connection of its own with `pg_try_advisory_lock` taken on it, and runs
every delete of a run on that same connection. So the lock also fences: a replica whose
connection died (its lock released, another replica now holding it) cannot commit another batch,
and two replicas never delete at once. Standbys try to take the lock every `lease_retry_s`.

Why not a Redis lease, as camera_ingest's cameras have (services/camera_ingest/leases.py): a
lease expiring during a long batch would let a second replica start while the first still
commits; cameras need fast failover, a daily cleanup needs that fence. A hung holder keeps the
lock until Postgres drops its connection (TCP keepalive); the cleanup waits meanwhile.
"""

from __future__ import annotations

import asyncpg

from shared.db.pool import init_connection

LOCK_KEY = 0x464743  # "FGC": any constant every cleanup replica shares


async def try_lead(database_url: str) -> asyncpg.Connection | None:
    """A connection holding the cleanup lock, or None when another replica holds it."""
    conn = await asyncpg.connect(database_url)
    try:
        await init_connection(conn)
        if await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
            return conn
    except BaseException:
        await conn.close()
        raise
    await conn.close()
    return None


async def still_leading(conn: asyncpg.Connection) -> bool:
    """Whether `conn` is open and holds the lock (a connection Postgres dropped does not)."""
    if conn.is_closed():
        return False
    held = await conn.fetchval(
        """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
           AND objid = $1 AND granted""",
        LOCK_KEY,
    )
    return bool(held)
