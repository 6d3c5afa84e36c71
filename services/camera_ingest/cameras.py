"""SQL of the `cameras` table (owned by camera_ingest).

A camera's source is stored twice: in `source_secret` whole and encrypted (the only copy of its
credentials), and in `source` and `config` with the credentials hidden, which is what the API,
GraphQL and the events show. Only the scheduler (to open a stream) and an update (to keep the
credentials when a client sends the hidden source back) decrypt it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
import msgspec

from services.camera_ingest.config import with_preview_port
from shared.encryption import SecretBox, SecretUnreadable
from shared.errors import Conflict
from shared.messages.cameras import FIRST_PREVIEW_PORT, Camera
from shared.sources import UNREADABLE, redact_url


@dataclass(frozen=True)
class StreamSpec:
    """What the ingest needs of an enabled camera; a change of it restarts the stream."""

    camera_id: str
    source: str
    sample_interval_ms: int


def to_camera(row: asyncpg.Record) -> Camera:
    return msgspec.json.decode(row["config"], type=Camera)


def _config(camera: Camera) -> str:
    return msgspec.json.encode(camera).decode()


def _hidden(camera: Camera) -> Camera:
    return msgspec.structs.replace(camera, source=redact_url(camera.source))


async def insert(conn: asyncpg.Connection, camera: Camera, assign_port: bool, box: SecretBox) -> Camera:
    """Insert a camera (its source whole: stored encrypted, answered hidden); with `assign_port`,
    give it the first free preview port.

    409 when the preview port is taken. Two creates racing for the same free port: the loser
    hits the unique index and tries the next free one.
    """
    for _ in range(5):
        if assign_port:
            port = await conn.fetchval(
                """SELECT p FROM generate_series($1::int, 65535) AS p
                   WHERE NOT EXISTS (SELECT 1 FROM cameras WHERE preview_port = p) LIMIT 1""",
                FIRST_PREVIEW_PORT,
            )
            camera = with_preview_port(camera, int(port or 0))
        shown = _hidden(camera)
        try:
            row = await conn.fetchrow(
                """INSERT INTO cameras (id, name, source, enabled, interval_ms, preview_port, config, source_secret)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING config""",
                camera.id, camera.name, shown.source, camera.enabled, camera.redetection_time,
                camera.mpe_g1_preview_port, _config(shown), box.seal(camera.source),
            )
        except asyncpg.UniqueViolationError as exc:
            if assign_port and exc.constraint_name == "cameras_preview_port":
                continue
            raise _conflict(camera, exc) from None
        assert row is not None
        return to_camera(row)
    raise Conflict("No free MPEG-1 preview port could be assigned; give mpeG1PreviewPort explicitly.")


async def update(conn: asyncpg.Connection, camera: Camera, box: SecretBox) -> Camera | None:
    """Replace a camera (its source whole, as in `insert`); None when it does not exist."""
    shown = _hidden(camera)
    try:
        row = await conn.fetchrow(
            """UPDATE cameras SET name = $2, source = $3, enabled = $4, interval_ms = $5, preview_port = $6,
                   config = $7, source_secret = $8, updated_at = clock_timestamp()
               WHERE id = $1 RETURNING config""",
            camera.id, camera.name, shown.source, camera.enabled, camera.redetection_time,
            camera.mpe_g1_preview_port, _config(shown), box.seal(camera.source),
        )
    except asyncpg.UniqueViolationError as exc:
        raise _conflict(camera, exc) from None
    return to_camera(row) if row else None


def _conflict(camera: Camera, exc: asyncpg.UniqueViolationError) -> Conflict:
    if exc.constraint_name == "cameras_preview_port":
        return Conflict(f"MPEG-1 preview port {camera.mpe_g1_preview_port} is used by another camera.")
    return Conflict(f"Camera '{camera.id}' already exists.")


def _uuid(camera_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(camera_id)
    except ValueError:
        return None


async def get(conn: asyncpg.Connection, camera_id: str) -> Camera | None:
    key = _uuid(camera_id)
    if key is None:  # not a GUID, so not a camera id
        return None
    row = await conn.fetchrow("SELECT config FROM cameras WHERE id = $1", key)
    return to_camera(row) if row else None


async def list_all(conn: asyncpg.Connection) -> list[Camera]:
    """Every camera, oldest first (SmartFace answers a plain array, no paging)."""
    rows = await conn.fetch("SELECT config FROM cameras ORDER BY created_at, id")
    return [to_camera(r) for r in rows]


async def delete(conn: asyncpg.Connection, camera_id: str) -> bool:
    key = _uuid(camera_id)
    return key is not None and await conn.fetchval("DELETE FROM cameras WHERE id = $1 RETURNING true", key) is not None


async def source_of(conn: asyncpg.Connection, camera_id: str, box: SecretBox) -> str | None:
    """The camera's whole source (credentials included); None when there is no such camera."""
    key = _uuid(camera_id)
    row = None if key is None else await conn.fetchrow("SELECT source, source_secret FROM cameras WHERE id = $1", key)
    return None if row is None else _whole_source(row, box)


def _whole_source(row: asyncpg.Record, box: SecretBox) -> str:
    if row["source_secret"] is None:  # stored before sources were encrypted, not sealed yet
        return str(row["source"])
    try:
        return box.open(row["source_secret"])
    except SecretUnreadable:
        # Not logged here (this runs every scheduling round): the stream's status and its
        # retries say it, with the reason.
        return UNREADABLE


async def enabled_streams(conn: asyncpg.Connection, box: SecretBox) -> list[StreamSpec]:
    """The enabled cameras as the scheduler needs them (sources decrypted)."""
    rows = await conn.fetch(
        "SELECT id::text AS id, source, source_secret, interval_ms FROM cameras WHERE enabled ORDER BY id"
    )
    return [StreamSpec(r["id"], _whole_source(r, box), r["interval_ms"]) for r in rows]


async def seal_plain_sources(conn: asyncpg.Connection, box: SecretBox) -> int:
    """Encrypt the sources stored before `source_secret` existed (and hide them in `source` and
    `config`); the number of cameras sealed. Safe to run on every start, by every replica."""
    async with conn.transaction():
        rows = await conn.fetch("SELECT id, source, config FROM cameras WHERE source_secret IS NULL FOR UPDATE")
        for row in rows:
            shown = _hidden(to_camera(row))
            await conn.execute(
                "UPDATE cameras SET source = $2, config = $3, source_secret = $4 WHERE id = $1",
                row["id"], shown.source, _config(shown), box.seal(str(row["source"])),
            )
    return len(rows)
