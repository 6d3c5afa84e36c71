"""SQL of the `member_faces` table (owned by the matcher). Its triggers log every change to
`template_changes`; callers take the change lock first (see changes.CHANGE_LOCK_SQL)."""

from __future__ import annotations

import uuid

import asyncpg
import msgspec

from services.matcher.paging import fetch_page
from shared.errors import Conflict
from shared.messages.common import Page, PageQuery
from shared.messages.faces import FaceFields
from shared.messages.matcher import MemberFace, NewFace


def _columns(crop: bool, template: bool) -> str:
    cols = "id, member_id, model_name, model_version, face, created_at, image_id"
    return (
        cols
        + (", crop" if crop else ", NULL::bytea AS crop")
        + (", template" if template else ", NULL::bytea AS template")
    )


def to_face(row: asyncpg.Record) -> MemberFace:
    return MemberFace(
        id=row["id"],
        member_id=row["member_id"],
        model_name=row["model_name"],
        model_version=row["model_version"],
        face=msgspec.convert(row["face"], FaceFields),
        created_at=row["created_at"],
        crop=row["crop"],
        template=row["template"],
        image_id=str(row["image_id"]) if row["image_id"] is not None else None,
    )


async def insert(
    conn: asyncpg.Connection,
    member_id: str,
    faces: list[NewFace],
    templates: list[bytes],
    photos: list[bytes | None],
) -> list[str]:
    """Insert faces of a member (templates already normalised, photos as JPEG or None); return
    their ids. A face that keeps a crop or a photo gets an image id (its imageDataId)."""
    ids = [f.face_id or str(uuid.uuid4()) for f in faces]
    if len(set(ids)) != len(ids):
        raise Conflict("The same face id is given twice.")
    rows = [
        (fid, member_id, f.model_name, f.model_version, t, msgspec.to_builtins(f.face), f.crop, photo,
         uuid.uuid4() if f.crop or photo else None)
        for fid, f, t, photo in zip(ids, faces, templates, photos, strict=True)
    ]  # fmt: skip
    try:
        await conn.executemany(
            """INSERT INTO member_faces (id, member_id, model_name, model_version, template, face, crop, photo,
                                         image_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
            rows,
        )
    except asyncpg.UniqueViolationError:
        raise Conflict("A face with one of these ids already exists.") from None
    return ids


async def get_many(conn: asyncpg.Connection, face_ids: list[str]) -> list[MemberFace]:
    """Faces by id (without crops and templates), oldest first."""
    rows = await conn.fetch(
        f"SELECT {_columns(False, False)} FROM member_faces WHERE id = ANY($1::text[]) ORDER BY created_at, id",
        face_ids,
    )
    return [to_face(r) for r in rows]


async def delete(conn: asyncpg.Connection, member_id: str, face_id: str) -> bool:
    """Delete one face of a member; False when the member has no such face."""
    deleted = await conn.fetchval(
        "DELETE FROM member_faces WHERE id = $1 AND member_id = $2 RETURNING true", face_id, member_id
    )
    return deleted is not None


async def list_page(
    conn: asyncpg.Connection, member_id: str, page: PageQuery, *, crops: bool = False, templates: bool = False
) -> Page[MemberFace]:
    return await fetch_page(
        conn,
        f"SELECT {_columns(crops, templates)} FROM member_faces WHERE member_id = $1",
        "SELECT count(*) FROM member_faces WHERE member_id = $1",
        (member_id,),
        page,
        to_face,
    )


async def image(conn: asyncpg.Connection, image_id: str) -> bytes | None:
    """The JPEG a member face's image id names (its photo when kept, else its crop); None when
    no face has that image id."""
    try:
        key = uuid.UUID(image_id)
    except ValueError:
        return None
    data = await conn.fetchval("SELECT coalesce(photo, crop) FROM member_faces WHERE image_id = $1", key)
    return bytes(data) if data is not None else None


async def dimension(conn: asyncpg.Connection, model_name: str) -> int | None:
    """Template length (floats) of a model's stored faces; None before its first face."""
    length = await conn.fetchval(
        "SELECT octet_length(template) FROM member_faces WHERE model_name = $1 LIMIT 1", model_name
    )
    return None if length is None else int(length) // 4
