"""DbCleanup's deletes of what cameras saw, oldest first, in batches on the lease's connection.

Frames are walked in (created_at, id) order up to a bound (the oldest frame `maxFramesCount`
keeps, or `maxImageDataAge` days ago, whichever is later; never a frame younger than
`keep_recent_s`). Each batch is one short transaction: with `deleteSql` the frames go with their
faces and images (a trigger moves the files' names to `seen_image_garbage`) and the tracklets
left without a face; without it only their images go. Camera ingest writes new rows meanwhile
and only waits on a row lock of a batch it touches (it never touches old rows), for milliseconds.

Match results: every transaction here sets `facegate.keep_match_results` (0050_cleanup.sql), so
the trigger that takes them along with faces and tracklets stands aside; with
`deleteMatchResults` they are deleted here, counted, and so are match results whose faces are
gone. Nothing here touches a member's rows: members, their faces, watchlists and the gallery log
live in other tables, and an image any other table points at (a foreign key) is never an orphan.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from shared.messages.setup import CleanupRemoved, DbCleanupConfig

NIL = uuid.UUID(int=0)
Position = tuple[datetime, uuid.UUID]  # (created_at, id): the order rows are walked in
START: Position = (datetime(1970, 1, 1, tzinfo=UTC), NIL)

KEEP_MATCH_RESULTS = "SELECT set_config('facegate.keep_match_results', 'on', true)"

# Faces of tracklets still open: their frames stay until the tracklet ends (it may store a face
# on one of them again).
IN_USE = """SELECT DISTINCT f.frame_id FROM seen_faces f JOIN seen_tracklets t ON t.id = f.tracklet_id
            WHERE f.frame_id = ANY($1::uuid[]) AND t.time_disappeared IS NULL"""
DELETE_EMPTY_TRACKLETS = """
    DELETE FROM seen_tracklets t WHERE t.id = ANY($1::uuid[]) AND t.time_disappeared IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM seen_faces f WHERE f.tracklet_id = t.id)
    RETURNING t.id"""
DELETE_MATCH_RESULTS = """
    WITH gone AS (DELETE FROM seen_match_results WHERE face_id = ANY($1::uuid[]) OR tracklet_id = ANY($2::uuid[])
                  RETURNING 1)
    SELECT count(*) FROM gone"""


@dataclass(frozen=True)
class Policy:
    """DbCleanup as the deletes read it (null flags are SmartFace's default, false)."""

    max_frames: int | None
    max_age_days: int | None
    delete_rows: bool
    delete_match_results: bool

    @classmethod
    def of(cls, config: DbCleanupConfig, *, by_age: bool = True) -> Policy:
        return cls(
            max_frames=config.max_frames_count,
            max_age_days=config.max_image_data_age if by_age else None,
            delete_rows=bool(config.delete_sql),
            delete_match_results=bool(config.delete_match_results),
        )


async def database_now(conn: asyncpg.Connection) -> datetime:
    """Postgres's clock: rows are stamped with it, so ages are measured with it too."""
    now: datetime = await conn.fetchval("SELECT clock_timestamp()")
    return now


async def frame_count(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM seen_frames"))


async def frames_bound(conn: asyncpg.Connection, policy: Policy, keep_recent_s: float) -> Position | None:
    """Frames before this position are past retention; None when no rule applies."""
    bounds: list[Position] = []
    if policy.max_frames:
        kept = await conn.fetchrow(
            "SELECT created_at, id FROM seen_frames ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1",
            policy.max_frames - 1,
        )
        if kept is not None:  # the oldest frame kept: the ones before it go
            bounds.append((kept["created_at"], kept["id"]))
    now = await database_now(conn)
    if policy.max_age_days:
        bounds.append((now - timedelta(days=policy.max_age_days), NIL))
    if not bounds:
        return None
    return min(max(bounds), (now - timedelta(seconds=keep_recent_s), NIL))


class Retention:
    """The deletes of one run, on the lease's connection; `batch_ms` is the longest transaction."""

    def __init__(self, conn: asyncpg.Connection, batch: int) -> None:
        self.conn = conn
        self.batch = batch
        self.batch_ms = 0.0

    async def _timed(self, work: Callable[..., Awaitable[CleanupRemoved]], *args: Any) -> CleanupRemoved:
        """`work(*args)` in one transaction, timed."""
        started = time.perf_counter()
        async with self.conn.transaction():
            await self.conn.execute(KEEP_MATCH_RESULTS)
            removed = await work(*args)
        self.batch_ms = max(self.batch_ms, (time.perf_counter() - started) * 1000)
        return removed

    async def _walk(self, query: str, after: Position, *args: object) -> list[asyncpg.Record]:
        return list(await self.conn.fetch(query, after[0], after[1], *args, self.batch))

    # --- frames ---

    async def frames(self, policy: Policy, bound: Position) -> CleanupRemoved:
        """Every frame before `bound`: deleted with its faces, images and emptied tracklets, or
        (without deleteSql) stripped of its images."""
        removed, after = CleanupRemoved(), START
        query = """SELECT created_at, id FROM seen_frames
                   WHERE (created_at, id) > ($1, $2) AND (created_at, id) < ($3, $4)
                   ORDER BY created_at, id LIMIT $5"""
        while rows := await self._walk(query, after, *bound):
            after = (rows[-1]["created_at"], rows[-1]["id"])
            ids = [r["id"] for r in rows]
            if policy.delete_rows:
                removed += await self._timed(self._delete_frames, ids, policy.delete_match_results)
            else:
                removed += await self._timed(self._strip_frames, ids)
            if len(rows) < self.batch:
                break
        return removed

    async def _delete_frames(self, ids: list[uuid.UUID], with_results: bool) -> CleanupRemoved:
        busy = {r["frame_id"] for r in await self.conn.fetch(IN_USE, ids)}
        doomed = [i for i in ids if i not in busy]
        faces = await self.conn.fetch(
            "DELETE FROM seen_faces WHERE frame_id = ANY($1::uuid[]) RETURNING id, tracklet_id, image_id", doomed
        )
        frames = await self.conn.fetch("DELETE FROM seen_frames WHERE id = ANY($1::uuid[]) RETURNING image_id", doomed)
        touched = list({f["tracklet_id"] for f in faces})
        tracklets = [r["id"] for r in await self.conn.fetch(DELETE_EMPTY_TRACKLETS, touched)]
        results = 0
        if with_results:
            results = int(await self.conn.fetchval(DELETE_MATCH_RESULTS, [f["id"] for f in faces], tracklets))
        images = sum(1 for r in (*faces, *frames) if r["image_id"] is not None)
        return CleanupRemoved(
            frames=len(frames), faces=len(faces), tracklets=len(tracklets), match_results=results, images=images
        )

    async def _strip_frames(self, ids: list[uuid.UUID]) -> CleanupRemoved:
        # Deleting an image sets the faces' and frames' image_id to NULL (ON DELETE SET NULL).
        images = await self.conn.fetchval(
            """WITH gone AS (
                   DELETE FROM seen_images WHERE id IN (
                       SELECT image_id FROM seen_faces WHERE frame_id = ANY($1::uuid[]) AND image_id IS NOT NULL
                       UNION ALL
                       SELECT image_id FROM seen_frames WHERE id = ANY($1::uuid[]) AND image_id IS NOT NULL)
                   RETURNING 1)
               SELECT count(*) FROM gone""",
            ids,
        )
        return CleanupRemoved(images=int(images))

    # --- what earlier deletes left ---

    async def empty_tracklets(self, policy: Policy, bound: Position) -> CleanupRemoved:
        """Ended tracklets created before `bound` that have no face left (their faces were
        deleted one by one, or by an earlier run)."""
        removed, after = CleanupRemoved(), START
        query = """SELECT t.created_at, t.id,
                          t.time_disappeared IS NOT NULL
                          AND NOT EXISTS (SELECT 1 FROM seen_faces f WHERE f.tracklet_id = t.id) AS empty
                   FROM seen_tracklets t WHERE (t.created_at, t.id) > ($1, $2) AND t.created_at < $3
                   ORDER BY t.created_at, t.id LIMIT $4"""
        while rows := await self._walk(query, after, bound[0]):
            after = (rows[-1]["created_at"], rows[-1]["id"])
            empty = [r["id"] for r in rows if r["empty"]]
            if empty:
                removed += await self._timed(self._delete_tracklets, empty, policy.delete_match_results)
            if len(rows) < self.batch:
                break
        return removed

    async def _delete_tracklets(self, ids: Sequence[uuid.UUID], with_results: bool) -> CleanupRemoved:
        gone = [r["id"] for r in await self.conn.fetch(DELETE_EMPTY_TRACKLETS, list(ids))]
        results = int(await self.conn.fetchval(DELETE_MATCH_RESULTS, [], gone)) if with_results else 0
        return CleanupRemoved(tracklets=len(gone), match_results=results)

    async def orphaned_match_results(self, keep_recent_s: float) -> CleanupRemoved:
        """Match results whose face is gone (deleteMatchResults: kept by earlier runs without it)."""
        removed, after = CleanupRemoved(), START
        cutoff = await database_now(self.conn) - timedelta(seconds=keep_recent_s)
        query = """SELECT m.created_at, m.id, NOT EXISTS (SELECT 1 FROM seen_faces f WHERE f.id = m.face_id) AS orphan
                   FROM seen_match_results m WHERE (m.created_at, m.id) > ($1, $2) AND m.created_at < $3
                   ORDER BY m.created_at, m.id LIMIT $4"""
        while rows := await self._walk(query, after, cutoff):
            after = (rows[-1]["created_at"], rows[-1]["id"])
            orphans = [r["id"] for r in rows if r["orphan"]]
            if orphans:
                removed += await self._timed(self._delete_match_results, orphans)
            if len(rows) < self.batch:
                break
        return removed

    async def _delete_match_results(self, ids: list[uuid.UUID]) -> CleanupRemoved:
        count = await self.conn.fetchval(
            """WITH gone AS (DELETE FROM seen_match_results WHERE id = ANY($1::uuid[]) RETURNING 1)
               SELECT count(*) FROM gone""",
            ids,
        )
        return CleanupRemoved(match_results=int(count))

    async def orphaned_images(self, grace_s: float) -> CleanupRemoved:
        """Image rows older than `grace_s` that no row of any table points at (by foreign key)."""
        references = await self.conn.fetch(
            """SELECT c.conrelid::regclass::text AS tbl, quote_ident(a.attname) AS col
               FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
               WHERE c.contype = 'f' AND c.confrelid = 'seen_images'::regclass"""
        )
        unused = " AND ".join(f"NOT EXISTS (SELECT 1 FROM {r['tbl']} r WHERE r.{r['col']} = i.id)" for r in references)
        query = f"""SELECT i.created_at, i.id, {unused or "true"} AS orphan
                    FROM seen_images i WHERE (i.created_at, i.id) > ($1, $2) AND i.created_at < $3
                    ORDER BY i.created_at, i.id LIMIT $4"""  # table and column names from the catalog
        removed, after = CleanupRemoved(), START
        cutoff = await database_now(self.conn) - timedelta(seconds=grace_s)
        while rows := await self._walk(query, after, cutoff):
            after = (rows[-1]["created_at"], rows[-1]["id"])
            orphans = [r["id"] for r in rows if r["orphan"]]
            if orphans:
                removed += await self._timed(self._delete_images, orphans)
            if len(rows) < self.batch:
                break
        return removed

    async def _delete_images(self, ids: list[uuid.UUID]) -> CleanupRemoved:
        count = await self.conn.fetchval(
            "WITH gone AS (DELETE FROM seen_images WHERE id = ANY($1::uuid[]) RETURNING 1) SELECT count(*) FROM gone",
            ids,
        )
        return CleanupRemoved(orphaned_images=int(count))
