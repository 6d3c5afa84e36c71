"""SQL of individuals (`individuals`, `individual_tracklets`, `grouping_splits`): reads for the
API, a run's writes, and the changes by hand (delete, split, merge)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from services.grouping.groupings import as_uuid, touch_revision
from shared.errors import NotFound, ValidationFailed
from shared.messages.common import Page, PageQuery
from shared.messages.grouping import Individual
from shared.messages.seen import Tracklet

SELECT = "i.id, i.grouping_id, i.entrance_time, i.exit_time, i.best_face_id, i.created_at, i.updated_at"


def to_individual(row: asyncpg.Record) -> Individual:
    return Individual(
        entrance_time=row["entrance_time"], exit_time=row["exit_time"], best_face_id=str(row["best_face_id"]),
        id=str(row["id"]), created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


async def page(conn: asyncpg.Connection, grouping_id: str | None, query: PageQuery) -> Page[Individual]:
    """Individuals (of one grouping, or all) by creation time."""
    order = "ASC" if query.ascending else "DESC"
    key = as_uuid(grouping_id)
    where = "WHERE i.grouping_id = $1" if grouping_id is not None else "WHERE $1::uuid IS NULL"
    rows = await conn.fetch(
        f"SELECT {SELECT} FROM individuals i {where} ORDER BY i.created_at {order}, i.id {order} LIMIT $2 OFFSET $3",
        key, query.page_size + 1, query.offset,
    )  # fmt: skip
    total = await conn.fetchval(f"SELECT count(*) FROM individuals i {where}", key) if query.show_total_count else None
    return Page(items=[to_individual(r) for r in rows[: query.page_size]], has_next=len(rows) > query.page_size,
                total_items_count=total)  # fmt: skip


async def get(conn: asyncpg.Connection, individual_id: str) -> asyncpg.Record | None:
    """An individual's row (with its grouping id)."""
    key = as_uuid(individual_id)
    return key and await conn.fetchrow(f"SELECT {SELECT} FROM individuals i WHERE i.id = $1", key)


async def require(conn: asyncpg.Connection, individual_id: str) -> asyncpg.Record:
    row = await get(conn, individual_id)
    if row is None:
        raise NotFound(f"Individual '{individual_id}' does not exist.")
    return row


TRACKLET_SELECT = """t.id, t.time_appeared, t.time_disappeared, t.appeared_ms, t.disappeared_ms, t.created_at,
    t.updated_at"""


async def tracklets(conn: asyncpg.Connection, individual_id: str, query: PageQuery) -> Page[Tracklet]:
    """An individual's tracklets (camera_ingest's `seen_tracklets`) by creation time."""
    await require(conn, individual_id)
    key, order = uuid.UUID(individual_id), "ASC" if query.ascending else "DESC"
    base = "FROM individual_tracklets it JOIN seen_tracklets t ON t.id = it.tracklet_id WHERE it.individual_id = $1"
    rows = await conn.fetch(
        f"SELECT {TRACKLET_SELECT} {base} ORDER BY t.created_at {order}, t.id {order} LIMIT $2 OFFSET $3",
        key, query.page_size + 1, query.offset,
    )  # fmt: skip
    total = await conn.fetchval(f"SELECT count(*) {base}", key) if query.show_total_count else None
    items = [
        Tracklet(
            time_appeared=r["time_appeared"],
            time_disappeared=r["time_disappeared"],
            time_appeared_relative_ms=r["appeared_ms"],
            time_disappeared_relative_ms=r["disappeared_ms"],
            id=str(r["id"]),
            created_at=r["created_at"],
            updated_at=r["updated_at"],
        )
        for r in rows[: query.page_size]
    ]
    return Page(items=items, has_next=len(rows) > query.page_size, total_items_count=total)


async def templates(conn: asyncpg.Connection, grouping_id: str) -> list[asyncpg.Record]:
    """(individual id, template, model) of every grouped tracklet of a grouping (Search)."""
    return await conn.fetch(
        """SELECT it.individual_id, t.template, t.template_model FROM individual_tracklets it
           JOIN grouping_tracklets t ON t.id = it.tracklet_id
           WHERE it.grouping_id = $1 AND it.individual_id IS NOT NULL""",
        uuid.UUID(grouping_id),
    )


async def by_ids(conn: asyncpg.Connection, ids: Sequence[str]) -> list[Individual]:
    """Individuals in the order of `ids` (those that exist)."""
    rows = await conn.fetch(f"SELECT {SELECT} FROM individuals i WHERE i.id = ANY($1::uuid[])", list(ids))
    found = {str(r["id"]): to_individual(r) for r in rows}
    return [found[i] for i in ids if i in found]


# --- writes ---


async def insert(conn: asyncpg.Connection, individual_id: str, grouping_id: uuid.UUID, tracklet_id: str) -> None:
    """A new individual; `refresh` fills its times and best face from its tracklets."""
    await conn.execute(
        """INSERT INTO individuals (id, grouping_id, best_face_id)
           SELECT $1, $2, best_face_id FROM grouping_tracklets WHERE id = $3""",
        uuid.UUID(individual_id), grouping_id, uuid.UUID(tracklet_id),
    )  # fmt: skip


async def refresh(conn: asyncpg.Connection, ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """Entrance, exit and best face of the individuals from their tracklets now; those left
    without tracklets are deleted. (kept ids, deleted ids)."""
    keys = [uuid.UUID(i) for i in ids]
    await conn.execute(
        """UPDATE individuals i SET entrance_time = s.entrance, exit_time = s.exit, best_face_id = s.best,
               updated_at = clock_timestamp()
           FROM (SELECT it.individual_id, min(t.time_appeared) AS entrance, max(t.time_disappeared) AS exit,
                        (array_agg(t.best_face_id ORDER BY t.best_quality DESC, t.time_appeared))[1] AS best
                 FROM individual_tracklets it JOIN grouping_tracklets t ON t.id = it.tracklet_id
                 WHERE it.individual_id = ANY($1::uuid[]) GROUP BY it.individual_id) s
           WHERE i.id = s.individual_id""",
        keys,
    )
    gone = await conn.fetch(
        """DELETE FROM individuals i WHERE i.id = ANY($1::uuid[])
             AND NOT EXISTS (SELECT 1 FROM individual_tracklets it WHERE it.individual_id = i.id)
           RETURNING i.id""",
        keys,
    )
    deleted = {str(r["id"]) for r in gone}
    return [i for i in ids if i not in deleted], sorted(deleted)


async def move(conn: asyncpg.Connection, into: str, sources: Sequence[str]) -> None:
    """Every tracklet of `sources` to `into`; the sources go."""
    keys = [uuid.UUID(s) for s in sources]
    await conn.execute(
        "UPDATE individual_tracklets SET individual_id = $1 WHERE individual_id = ANY($2::uuid[])",
        uuid.UUID(into), keys,
    )  # fmt: skip
    await conn.execute("DELETE FROM individuals WHERE id = ANY($1::uuid[])", keys)


async def delete(conn: asyncpg.Connection, individual_id: str) -> str | None:
    """Delete an individual (its tracklets stay grouped, with no individual); its grouping's id,
    None when there is none."""
    key = as_uuid(individual_id)
    grouping = key and await conn.fetchval("DELETE FROM individuals WHERE id = $1 RETURNING grouping_id", key)
    if not grouping:
        return None
    await touch_revision(conn, grouping)
    return str(grouping)


async def split(
    conn: asyncpg.Connection, previous_id: str, tracklet_ids: Sequence[str]
) -> tuple[str, str, list[str], str]:
    """Move tracklets of an individual to a new one and remember the split; (new id, previous
    id, the tracklets moved, grouping id). 400 when a tracklet is not the individual's or none
    would stay."""
    row = await require(conn, previous_id)
    grouping = row["grouping_id"]
    await conn.execute("SELECT 1 FROM groupings WHERE id = $1 FOR UPDATE", grouping)
    owned = {
        str(r["tracklet_id"])
        for r in await conn.fetch(
            "SELECT tracklet_id FROM individual_tracklets WHERE individual_id = $1 FOR UPDATE", row["id"]
        )
    }
    moving = list(dict.fromkeys(str(as_uuid(t) or t) for t in tracklet_ids))
    strangers = [t for t in moving if t not in owned]
    if strangers:
        raise ValidationFailed(
            f"Tracklet '{strangers[0]}' is not one of individual '{previous_id}'.",
            errors={"trackletsIds": [f"'{t}' is not a tracklet of the individual" for t in strangers]},
        )
    if len(moving) == len(owned):
        raise ValidationFailed(
            "A split must leave at least one tracklet with the previous individual.",
            errors={"trackletsIds": ["every tracklet of the individual is listed"]},
        )
    new_id = str(uuid.uuid4())
    await insert(conn, new_id, grouping, moving[0])
    await conn.execute(
        "UPDATE individual_tracklets SET individual_id = $1 WHERE individual_id = $2 AND tracklet_id = ANY($3::uuid[])",
        uuid.UUID(new_id), row["id"], moving,
    )  # fmt: skip
    split_id = uuid.uuid4()
    await conn.executemany(
        "INSERT INTO grouping_splits (split_id, grouping_id, tracklet_id, side) VALUES ($1, $2, $3, $4)",
        [(split_id, grouping, uuid.UUID(t), t in moving) for t in owned],
    )
    await refresh(conn, [new_id, str(row["id"])])
    await touch_revision(conn, grouping)
    return new_id, str(row["id"]), moving, str(grouping)


async def merge(conn: asyncpg.Connection, ids: Sequence[str]) -> tuple[str, list[str], str]:
    """Merge individuals of one grouping into the first; (first id, the others, grouping id).
    Splits whose two sides now meet in it are forgotten: the merge is the newer decision."""
    wanted = list(dict.fromkeys(str(as_uuid(i) or i) for i in ids))
    rows = [await get(conn, i) for i in wanted]
    missing = [i for i, r in zip(wanted, rows, strict=True) if r is None]
    if missing:
        raise NotFound(f"Individual '{missing[0]}' does not exist.")
    groupings = {r["grouping_id"] for r in rows if r is not None}
    if len(groupings) > 1:
        raise ValidationFailed(
            "Individuals of different groupings cannot be merged.",
            errors={"individualIds": ["the individuals belong to different groupings"]},
        )
    grouping = groupings.pop()
    await conn.execute("SELECT 1 FROM groupings WHERE id = $1 FOR UPDATE", grouping)
    first, others = wanted[0], wanted[1:]
    if others:
        await move(conn, first, others)
        await conn.execute(
            """DELETE FROM grouping_splits WHERE split_id IN (
                   SELECT s.split_id FROM grouping_splits s
                   JOIN individual_tracklets it ON it.tracklet_id = s.tracklet_id AND it.grouping_id = s.grouping_id
                   WHERE it.individual_id = $1 GROUP BY s.split_id HAVING count(DISTINCT s.side) = 2)""",
            uuid.UUID(first),
        )
        await refresh(conn, [first])
        await touch_revision(conn, grouping)
    return first, others, str(grouping)
