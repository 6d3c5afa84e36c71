"""The gallery's change log (`template_changes`, 0002_faces.sql) as the cleanup prunes it.

Matcher replicas replay the log after the position their gallery reflects (services/matcher/
replica.py), and a starting replica replays it after the position of the snapshot in Redis
(services/matcher/cache.py). A row may go only once nothing will replay it: below the position
of every running replica (their `$SRV.STATS`) and of the Redis snapshot. The newest row always
stays (the log's position is its highest `seq`), and so does every row younger than a margin,
for a replica that started between the look and the prune.

The matcher writes the snapshot's manifest; `SnapshotHead` reads the two of its fields that
matter here (a unit test decodes a real manifest with it). The key is the matcher's setting
`FACEGATE_MATCHER_CACHE_KEY`, read here from the same variable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import asyncpg
import msgspec
import redis.asyncio as aioredis

from shared.settings import from_environment

DEFAULT_CACHE_KEY = "facegate:matcher:cache"
CACHE_PREFIX = "FACEGATE_MATCHER_"


class GalleryCacheLocation(msgspec.Struct, frozen=True, kw_only=True):
    cache_key: str = DEFAULT_CACHE_KEY


def load_cache_location(environ: Mapping[str, str] | None = None) -> GalleryCacheLocation:
    """The matcher's cache key from `FACEGATE_MATCHER_CACHE_KEY`."""
    return from_environment(GalleryCacheLocation, CACHE_PREFIX, "docs/matcher.md", environ)


def manifest_key(cache_key: str) -> str:
    """The Redis key of the cached gallery's manifest."""
    return f"{cache_key}:manifest"


class SnapshotHead(msgspec.Struct, frozen=True):
    """What a snapshot manifest says about its place in the log: the position and the database."""

    seq: int
    database: str


async def snapshot_seq(redis: aioredis.Redis, cache_key: str, database: str) -> int | None:
    """The log position of this database's snapshot in Redis; None when there is none."""
    raw = cast("bytes | None", await redis.get(manifest_key(cache_key)))
    if raw is None:
        return None
    try:
        head = msgspec.msgpack.decode(raw, type=SnapshotHead)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # unreadable: the matcher rebuilds it, it protects nothing
    return head.seq if head.database == database else None


async def database_identity(conn: asyncpg.Connection) -> str:
    """The id naming this database in snapshot manifests."""
    return str(await conn.fetchval("SELECT id FROM gallery_identity"))


async def prune(conn: asyncpg.Connection, below: int, keep_s: float, batch: int) -> int:
    """Delete up to `batch` log rows with `seq < below` older than `keep_s` seconds, never the
    newest row; how many."""
    return int(
        await conn.fetchval(
            """WITH gone AS (
                   DELETE FROM template_changes WHERE seq IN (
                       SELECT seq FROM template_changes
                       WHERE seq < $1 AND seq < (SELECT max(seq) FROM template_changes)
                         AND at < clock_timestamp() - make_interval(secs => $2)
                       ORDER BY seq LIMIT $3)
                   RETURNING 1)
               SELECT count(*) FROM gone""",
            below,
            keep_s,
            batch,
        )
    )
