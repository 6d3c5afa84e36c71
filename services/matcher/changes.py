"""Reading the gallery from Postgres: the change log after a position, or everything at once.

Both read in one REPEATABLE READ transaction, so the rows and the state they name come from
one snapshot. Writers serialise on an advisory lock (0002_faces.sql), so a snapshot always
holds a gapless prefix of the log: `seq > position` never skips a row that commits later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg

from services.matcher.gallery import ChangeSet, FaceRow

# Also the key the triggers lock (facegate_change_lock in 0002_faces.sql).
CHANGE_LOCK_SQL = "SELECT facegate_change_lock()"


async def log_position(conn: asyncpg.Connection) -> int:
    """The newest committed change (0 for an empty log)."""
    return int(await conn.fetchval("SELECT coalesce(max(seq), 0) FROM template_changes"))


async def oldest_position(conn: asyncpg.Connection) -> int:
    """The oldest change still in the log (a cleanup may prune it); 0 for an empty log."""
    return int(await conn.fetchval("SELECT coalesce(min(seq), 0) FROM template_changes"))


async def database_identity(conn: asyncpg.Connection) -> str:
    """Names this database (a random id made by the migration), so that a cache written for
    another one is not trusted."""
    return str(await conn.fetchval("SELECT id FROM gallery_identity"))


async def read_changes(conn: asyncpg.Connection, after: int, limit: int) -> ChangeSet:
    """The log rows after `after` (at most `limit`), resolved to the current state they name."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        rows = await conn.fetch(
            """SELECT seq, op, face_id, member_id, watchlist_id FROM template_changes
               WHERE seq > $1 ORDER BY seq LIMIT $2""",
            after,
            limit,
        )
        if not rows:
            return ChangeSet(after=after, upto=after)
        upto = int(rows[-1]["seq"])
        if any(r["op"] == "reset" for r in rows):
            return ChangeSet(after=after, upto=upto, reset=True)
        face_ids = list({r["face_id"] for r in rows if r["face_id"] is not None})
        member_ids = list({r["member_id"] for r in rows if r["op"] in ("linked", "unlinked")})
        watchlist_ids = list({r["watchlist_id"] for r in rows if r["op"] == "watchlist"})
        faces = await conn.fetch(
            "SELECT id, member_id, model_name, template FROM member_faces WHERE id = ANY($1::text[])", face_ids
        )
        links = await conn.fetch(
            """SELECT m.id, coalesce(array_agg(l.watchlist_id) FILTER (WHERE l.watchlist_id IS NOT NULL), '{}')
                      AS watchlists
               FROM unnest($1::text[]) AS m(id) LEFT JOIN watchlist_links l ON l.member_id = m.id
               GROUP BY m.id""",
            member_ids,
        )
        thresholds = await conn.fetch("SELECT id, threshold FROM watchlists WHERE id = ANY($1::text[])", watchlist_ids)
    present = {f["id"] for f in faces}
    known = {t["id"]: int(t["threshold"]) for t in thresholds}
    return ChangeSet(
        after=after,
        upto=upto,
        faces=[FaceRow(f["id"], f["member_id"], f["model_name"], bytes(f["template"])) for f in faces],
        removed_faces=[f for f in face_ids if f not in present],
        members={r["id"]: list(r["watchlists"]) for r in links},
        watchlists={w: known.get(w) for w in watchlist_ids},
    )


async def read_everything(conn: asyncpg.Connection, batch: int) -> AsyncIterator[ChangeSet]:
    """The whole gallery as change sets (thresholds and links first, then faces in batches);
    the last one carries the log position the snapshot reflects."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        position = await log_position(conn)
        thresholds = await conn.fetch("SELECT id, threshold FROM watchlists")
        links = await conn.fetch(
            "SELECT member_id, array_agg(watchlist_id) AS watchlists FROM watchlist_links GROUP BY member_id"
        )
        sizes = await conn.fetch("SELECT model_name, count(*) AS n FROM member_faces GROUP BY model_name")
        yield ChangeSet(
            after=0,
            upto=0,
            members={r["member_id"]: list(r["watchlists"]) for r in links},
            watchlists={t["id"]: int(t["threshold"]) for t in thresholds},
            sizes={r["model_name"]: int(r["n"]) for r in sizes},
        )
        cursor = conn.cursor("SELECT id, member_id, model_name, template FROM member_faces")
        chunk: list[FaceRow] = []
        async for f in cursor:
            chunk.append(FaceRow(f["id"], f["member_id"], f["model_name"], bytes(f["template"])))
            if len(chunk) >= batch:
                yield ChangeSet(after=0, upto=0, faces=chunk)
                chunk = []
        yield ChangeSet(after=0, upto=position, faces=chunk)
