"""SQL of what cameras saw (`seen_*` tables, owned by camera_ingest): frames, tracklets, faces,
images. Functions take the connection first and return Structs; ids are GUIDs, so a string
that is not one names nothing (None / False) instead of failing in Postgres."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from shared.messages.common import Page
from shared.messages.identification import Face
from shared.messages.seen import Frame, SeenQuery, Tracklet

# Face fields kept in columns, the rest of SmartFace's Face lives in `face` jsonb.
FACE_COLUMNS = ("id", "tracklet_id", "frame_id", "image_data_id", "created_at", "updated_at")


def as_uuid(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


# --- writes (the pipeline) ---


async def insert_image(
    conn: asyncpg.Connection,
    image_id: str,
    camera_id: str,
    kind: str,
    size: tuple[int, int],
    storage: str,
    location: str | None,
    data: bytes | None,
) -> None:
    """An image's row: its bytes in `data` (storage 'Database') or where `location` says
    (image_store.py writes those first)."""
    await conn.execute(
        """INSERT INTO seen_images (id, camera_id, kind, width, height, storage, location, data)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        uuid.UUID(image_id), uuid.UUID(camera_id), kind, size[0], size[1], storage, location, data,
    )  # fmt: skip


async def insert_frame(
    conn: asyncpg.Connection,
    frame_id: str,
    camera_id: str,
    image_id: str | None,
    received_at: datetime,
    position_ms: int,
) -> None:
    await conn.execute(
        """INSERT INTO seen_frames (id, camera_id, image_id, received_at, position_ms)
           VALUES ($1, $2, $3, $4, $5)""",
        uuid.UUID(frame_id), uuid.UUID(camera_id), as_uuid(image_id), received_at, position_ms,
    )  # fmt: skip


async def insert_tracklet(
    conn: asyncpg.Connection, tracklet_id: str, camera_id: str, appeared: datetime, appeared_ms: int
) -> None:
    await conn.execute(
        """INSERT INTO seen_tracklets (id, camera_id, time_appeared, appeared_ms, disappeared_ms)
           VALUES ($1, $2, $3, $4, $4)""",
        uuid.UUID(tracklet_id), uuid.UUID(camera_id), appeared, appeared_ms,
    )  # fmt: skip


async def close_tracklet(
    conn: asyncpg.Connection, tracklet_id: str, disappeared: datetime, disappeared_ms: int
) -> tuple[datetime, datetime] | None:
    """Mark the tracklet ended; (createdAt, updatedAt), None when it was deleted or ended
    meanwhile (a new owner of the camera ended it as orphaned: it announced it then)."""
    row = await conn.fetchrow(
        """UPDATE seen_tracklets SET time_disappeared = $2, disappeared_ms = $3, updated_at = clock_timestamp()
           WHERE id = $1 AND time_disappeared IS NULL RETURNING created_at, updated_at""",
        uuid.UUID(tracklet_id), disappeared, disappeared_ms,
    )  # fmt: skip
    return (row["created_at"], row["updated_at"]) if row else None


async def close_orphaned_tracklets(
    conn: asyncpg.Connection, camera_id: str, *, unless_enabled: bool = False
) -> list[asyncpg.Record]:
    """End the camera's tracklets that no stream runs any more (their replica died, or its
    shutdown cut them short): disappeared when their last stored face was seen. Called when a
    replica starts the camera's stream, before its first frame, so none of them is live; and,
    `unless_enabled`, a while after the camera (or edge stream) was disabled or deleted (nothing if it is
    enabled again by then: its next owner does it)."""
    guard = (
        "AND NOT EXISTS (SELECT 1 FROM cameras c WHERE c.id = t.camera_id AND c.enabled) "
        "AND NOT EXISTS (SELECT 1 FROM edge_streams e WHERE e.id = t.camera_id AND e.enabled)"
    ) if unless_enabled else ""
    return await conn.fetch(
        f"""WITH orphans AS (
               SELECT t.id, max(fr.received_at) AS last_at, max(fr.position_ms) AS last_ms
               FROM seen_tracklets t
               LEFT JOIN seen_faces f ON f.tracklet_id = t.id
               LEFT JOIN seen_frames fr ON fr.id = f.frame_id
               WHERE t.camera_id = $1 AND t.time_disappeared IS NULL
               GROUP BY t.id)
           UPDATE seen_tracklets t
           SET time_disappeared = greatest(t.time_appeared, coalesce(o.last_at, t.time_appeared)),
               disappeared_ms = greatest(t.appeared_ms, coalesce(o.last_ms, t.appeared_ms)),
               updated_at = clock_timestamp()
           FROM orphans o
           WHERE t.id = o.id AND t.time_disappeared IS NULL {guard}
           RETURNING t.id::text AS id, t.time_appeared, t.time_disappeared, t.appeared_ms, t.disappeared_ms,
                     t.created_at, t.updated_at""",
        uuid.UUID(camera_id),
    )


async def insert_face(
    conn: asyncpg.Connection,
    face_id: str,
    camera_id: str,
    tracklet_id: str,
    frame_id: str,
    image_id: str | None,
    fields: dict[str, Any],
    template: bytes | None = None,
    template_model: str | None = None,
) -> datetime:
    """Store a face (with its template, when it has one); returns its createdAt. Raises
    ForeignKeyViolationError when its tracklet or frame was deleted meanwhile (through the API)."""
    created: datetime = await conn.fetchval(
        """INSERT INTO seen_faces (id, camera_id, tracklet_id, frame_id, image_id, face, template, template_model)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at""",
        uuid.UUID(face_id), uuid.UUID(camera_id), uuid.UUID(tracklet_id), uuid.UUID(frame_id),
        as_uuid(image_id), {k: v for k, v in fields.items() if k not in FACE_COLUMNS}, template,
        template_model if template is not None else None,
    )  # fmt: skip
    return created


MATCH_COLUMNS = ("id", "streamId", "trackletId", "faceId", "watchlistMemberId", "watchlistId", "score",
                 "createdAt", "updatedAt")  # fmt: skip


async def insert_match_result(conn: asyncpg.Connection, result: dict[str, Any]) -> datetime:
    """Store a match result (MatchResultInsertDTO fields, camelCase, JSON-ready); returns its
    createdAt. Raises ForeignKeyViolationError when its tracklet or face was deleted meanwhile."""
    created: datetime = await conn.fetchval(
        """INSERT INTO seen_match_results
               (id, camera_id, tracklet_id, face_id, watchlist_member_id, watchlist_id, score, result)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at""",
        uuid.UUID(result["id"]), uuid.UUID(result["streamId"]), uuid.UUID(result["trackletId"]),
        uuid.UUID(result["faceId"]), result["watchlistMemberId"], result["watchlistId"], result["score"],
        {k: v for k, v in result.items() if k not in MATCH_COLUMNS},
    )  # fmt: skip
    return created


async def drop_tracklet_images(conn: asyncpg.Connection, tracklet_id: str) -> None:
    """Forget the crops of a tracklet's faces and the images of their frames (a matched member's
    privacy forbids keeping them; a frame shared with another person loses its image too)."""
    await conn.execute(
        """DELETE FROM seen_images WHERE id IN (
               SELECT image_id FROM seen_faces WHERE tracklet_id = $1 AND image_id IS NOT NULL
               UNION
               SELECT fr.image_id FROM seen_frames fr JOIN seen_faces f ON f.frame_id = fr.id
               WHERE f.tracklet_id = $1 AND fr.image_id IS NOT NULL)""",
        uuid.UUID(tracklet_id),
    )


# --- reads and deletes (the API) ---


def _where(q: SeenQuery, camera: bool, tracklet: bool) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if camera and q.camera_id is not None:
        args.append(as_uuid(q.camera_id))
        clauses.append(f"camera_id = ${len(args)}")
    if tracklet and q.tracklet_id is not None:
        args.append(as_uuid(q.tracklet_id))
        clauses.append(f"tracklet_id = ${len(args)}")
    if q.created_from is not None:
        args.append(q.created_from)
        clauses.append(f"created_at >= ${len(args)}")
    if q.created_to is not None:
        args.append(q.created_to)
        clauses.append(f"created_at < ${len(args)}")
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


async def _page(
    conn: asyncpg.Connection, table: str, columns: str, q: SeenQuery, *, camera: bool = True, tracklet: bool = False
) -> tuple[list[asyncpg.Record], bool, int | None]:
    where, args = _where(q, camera, tracklet)
    order = "ASC" if q.page.ascending else "DESC"
    n = len(args)
    rows = await conn.fetch(
        f"SELECT {columns} FROM {table}{where} ORDER BY created_at {order}, id {order} "
        f"LIMIT ${n + 1} OFFSET ${n + 2}",
        *args, q.page.page_size + 1, q.page.offset,
    )  # fmt: skip
    total = await conn.fetchval(f"SELECT count(*) FROM {table}{where}", *args) if q.page.show_total_count else None
    return rows[: q.page.page_size], len(rows) > q.page.page_size, total


FACE_SELECT = "id, tracklet_id, frame_id, image_id, face, created_at, updated_at"


def to_face(row: asyncpg.Record) -> Face:
    """SmartFace's `Face` (the identification API's: one shape for a member's and a camera's
    faces): the bookkeeping columns, the rest from the `face` jsonb."""
    stored = {k: v for k, v in row["face"].items() if k in Face.__struct_fields__ and k not in FACE_COLUMNS}
    if isinstance(stored.get("processed_at"), str):  # jsonb keeps it as ISO 8601 text
        stored["processed_at"] = datetime.fromisoformat(stored["processed_at"])
    return Face(
        **stored,
        id=str(row["id"]), tracklet_id=str(row["tracklet_id"]), frame_id=str(row["frame_id"]),
        image_data_id=str(row["image_id"]) if row["image_id"] else None,
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


async def list_faces(conn: asyncpg.Connection, q: SeenQuery) -> Page[Face]:
    rows, more, total = await _page(conn, "seen_faces", FACE_SELECT, q, tracklet=True)
    return Page(items=[to_face(r) for r in rows], has_next=more, total_items_count=total)


async def get_face(conn: asyncpg.Connection, face_id: str) -> Face | None:
    key = as_uuid(face_id)
    row = key and await conn.fetchrow(f"SELECT {FACE_SELECT} FROM seen_faces WHERE id = $1", key)
    return to_face(row) if row else None


async def get_face_template(conn: asyncpg.Connection, face_id: str) -> asyncpg.Record | None:
    """(face, template, template_model, image_id) of a stored face, for linking it to a member."""
    key = as_uuid(face_id)
    if key is None:
        return None
    found: asyncpg.Record | None = await conn.fetchrow(
        "SELECT face, template, template_model, image_id FROM seen_faces WHERE id = $1", key
    )
    return found


FRAME_SELECT = "id, state, image_id, received_at, position_ms, created_at, updated_at"


def to_frame(row: asyncpg.Record) -> Frame:
    return Frame(
        state=row["state"], image_data_id=str(row["image_id"]) if row["image_id"] else None,
        received_at=row["received_at"], position_in_ms=row["position_ms"], id=str(row["id"]),
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


async def list_frames(conn: asyncpg.Connection, q: SeenQuery) -> Page[Frame]:
    rows, more, total = await _page(conn, "seen_frames", FRAME_SELECT, q)
    return Page(items=[to_frame(r) for r in rows], has_next=more, total_items_count=total)


async def get_frame(conn: asyncpg.Connection, frame_id: str) -> Frame | None:
    key = as_uuid(frame_id)
    row = key and await conn.fetchrow(f"SELECT {FRAME_SELECT} FROM seen_frames WHERE id = $1", key)
    return to_frame(row) if row else None


TRACKLET_SELECT = "id, time_appeared, time_disappeared, appeared_ms, disappeared_ms, created_at, updated_at"


def to_tracklet(row: asyncpg.Record) -> Tracklet:
    return Tracklet(
        time_appeared=row["time_appeared"], time_disappeared=row["time_disappeared"],
        time_appeared_relative_ms=row["appeared_ms"], time_disappeared_relative_ms=row["disappeared_ms"],
        id=str(row["id"]), created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


async def list_tracklets(conn: asyncpg.Connection, q: SeenQuery) -> Page[Tracklet]:
    rows, more, total = await _page(conn, "seen_tracklets", TRACKLET_SELECT, q)
    return Page(items=[to_tracklet(r) for r in rows], has_next=more, total_items_count=total)


async def get_tracklet(conn: asyncpg.Connection, tracklet_id: str) -> Tracklet | None:
    key = as_uuid(tracklet_id)
    row = key and await conn.fetchrow(f"SELECT {TRACKLET_SELECT} FROM seen_tracklets WHERE id = $1", key)
    return to_tracklet(row) if row else None


async def delete(conn: asyncpg.Connection, table: str, entity_id: str) -> bool:
    """Delete a face, frame or tracklet (with what cascades: a tracklet's or frame's faces, and
    the images of all of them); False when there is none."""
    assert table in ("seen_faces", "seen_frames", "seen_tracklets")
    key = as_uuid(entity_id)
    return key is not None and await conn.fetchval(f"DELETE FROM {table} WHERE id = $1 RETURNING true", key) is not None


async def get_image(conn: asyncpg.Connection, image_id: str) -> tuple[str, str | None, bytes | None] | None:
    """(storage, location, data) of an image; None when there is none."""
    key = as_uuid(image_id)
    row = key and await conn.fetchrow("SELECT storage, location, data FROM seen_images WHERE id = $1", key)
    return (row["storage"], row["location"], row["data"]) if row else None


async def camera_exists(conn: asyncpg.Connection, camera_id: str) -> bool:
    key = as_uuid(camera_id)
    return key is not None and bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM cameras WHERE id = $1)", key))
