"""SQL of Faces/Search: the `search_sessions` and `search_session_objects` tables (owned by the
matcher, migration 0070) and the keyset batches of camera faces a search reads (`seen_faces`,
camera_ingest's: the matcher's role reads only the columns used here)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from shared.messages.common import Page, PageQuery
from shared.messages.face_search import SearchSession, SearchSessionObject

# A running session's replica writes its progress every HEARTBEAT_S; one silent for STALE_S
# lost its replica (killed, or Postgres unreachable from it) and reads as Failed.
HEARTBEAT_S = 5.0
STALE_S = 60.0
STALE_ERROR = "The matcher replica running the search stopped; search again."

_START = (datetime.min.replace(tzinfo=UTC), uuid.UUID(int=0))


@dataclass(frozen=True)
class Hit:
    """What a session stores of a face it found, besides the score."""

    face_id: uuid.UUID
    camera_id: uuid.UUID
    tracklet_id: uuid.UUID
    frame_id: uuid.UUID
    image_id: uuid.UUID | None
    created_at: datetime


async def create(conn: asyncpg.Connection, session_id: str, threshold: int, template_model: str, instance: str) -> None:
    await conn.execute(
        """INSERT INTO search_sessions (id, threshold, template_model, instance, updated_at)
           VALUES ($1, $2, $3, $4, clock_timestamp())""",
        uuid.UUID(session_id), threshold, template_model, instance,
    )  # fmt: skip


async def heartbeat(conn: asyncpg.Connection, progress: dict[str, int]) -> None:
    """Write the running sessions' progress (session id -> faces compared) and time."""
    if progress:
        await conn.executemany(
            """UPDATE search_sessions SET searched = $2, updated_at = clock_timestamp()
                WHERE id = $1 AND state = 'Running'""",
            [(uuid.UUID(k), v) for k, v in progress.items()],
        )


async def finish(conn: asyncpg.Connection, session_id: str, searched: int, hits: list[tuple[float, int, Hit]]) -> None:
    """Store the hits (best first) and mark the session Finished, in one transaction."""
    key = uuid.UUID(session_id)
    async with conn.transaction():
        await conn.copy_records_to_table(
            "search_session_objects",
            records=[
                (key, h.face_id, score, similarity, h.camera_id, h.tracklet_id, h.frame_id, h.image_id, h.created_at)
                for similarity, score, h in hits
            ],
            columns=["search_session_id", "face_id", "score", "similarity", "camera_id", "tracklet_id", "frame_id",
                     "image_id", "face_created_at"],
        )  # fmt: skip
        await conn.execute(
            """UPDATE search_sessions
                  SET state = 'Finished', searched = $2, matched = $3, updated_at = clock_timestamp(),
                      finished_at = clock_timestamp()
                WHERE id = $1""",
            key, searched, len(hits),
        )  # fmt: skip


async def fail(conn: asyncpg.Connection, session_ids: list[str], error: str) -> None:
    await conn.execute(
        """UPDATE search_sessions SET state = 'Failed', error = $2, updated_at = clock_timestamp(),
                  finished_at = clock_timestamp()
            WHERE id = ANY($1::uuid[]) AND state = 'Running'""",
        [uuid.UUID(s) for s in session_ids], error,
    )  # fmt: skip


def _session(row: asyncpg.Record) -> SearchSession:
    return SearchSession(
        id=str(row["id"]), threshold=row["threshold"], state=row["state"], searched_faces_count=row["searched"],
        matches_count=row["matched"], error=row["error"], created_at=row["created_at"],
        updated_at=row["updated_at"], finished_at=row["finished_at"],
    )  # fmt: skip


async def get(conn: asyncpg.Connection, session_id: str) -> SearchSession | None:
    """A session; one whose replica fell silent is marked Failed first (STALE_S)."""
    key = uuid.UUID(session_id)
    await conn.execute(
        """UPDATE search_sessions SET state = 'Failed', error = $2, finished_at = clock_timestamp()
            WHERE id = $1 AND state = 'Running' AND updated_at < clock_timestamp() - make_interval(secs => $3)""",
        key, STALE_ERROR, STALE_S,
    )  # fmt: skip
    row = await conn.fetchrow("SELECT * FROM search_sessions WHERE id = $1", key)
    return None if row is None else _session(row)


def _object(session_id: str, r: asyncpg.Record) -> SearchSessionObject:
    return SearchSessionObject(
        search_session_id=session_id, face_id=str(r["face_id"]), score=r["score"], stream_id=str(r["camera_id"]),
        tracklet_id=str(r["tracklet_id"]), frame_id=str(r["frame_id"]),
        image_data_id=None if r["image_id"] is None else str(r["image_id"]), face_created_at=r["face_created_at"],
    )  # fmt: skip


async def objects_page(conn: asyncpg.Connection, session: SearchSession, page: PageQuery) -> Page[SearchSessionObject]:
    """One page of a session's objects, best first (similarity, then face id)."""
    rows = await conn.fetch(
        """SELECT face_id, score, camera_id, tracklet_id, frame_id, image_id, face_created_at
             FROM search_session_objects WHERE search_session_id = $1
            ORDER BY similarity DESC, face_id LIMIT $2 OFFSET $3""",
        uuid.UUID(session.id), page.page_size + 1, page.offset,
    )  # fmt: skip
    items = [_object(session.id, r) for r in rows[: page.page_size]]
    total = session.matches_count if page.show_total_count else None
    return Page(items=items, has_next=len(rows) > page.page_size, total_items_count=total)


async def face_batch(
    conn: asyncpg.Connection, template_model: str, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[asyncpg.Record]:
    """The next `limit` camera faces with a template of `template_model`, by creation time then
    id, after the position `after` (the last row of the previous batch; None: from the start):
    id, created_at and template only (the rest is read for the hits: `hits_of`), which makes the
    scan half again as fast."""
    at, last = after or _START
    return list(
        await conn.fetch(
            """SELECT id, created_at, template
                 FROM seen_faces
                WHERE (created_at, id) > ($2, $3) AND template IS NOT NULL AND template_model = $1
                ORDER BY created_at, id LIMIT $4""",
            template_model, at, last, limit,
        )
    )  # fmt: skip


async def hits_of(conn: asyncpg.Connection, face_ids: list[uuid.UUID]) -> dict[uuid.UUID, Hit]:
    """Where and when the cameras saw these faces (those still stored)."""
    rows = await conn.fetch(
        """SELECT id, camera_id, tracklet_id, frame_id, image_id, created_at FROM seen_faces
            WHERE id = ANY($1::uuid[])""",
        face_ids,
    )
    return {
        r["id"]: Hit(
            face_id=r["id"], camera_id=r["camera_id"], tracklet_id=r["tracklet_id"], frame_id=r["frame_id"],
            image_id=r["image_id"], created_at=r["created_at"],
        )
        for r in rows
    }
