"""SQL of the `edge_streams` table (owned by camera_ingest, migration 0085)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
import msgspec

from shared.errors import Conflict
from shared.messages.edge_streams import EdgeStream, EdgeStreamWatchlistSynchronization


@dataclass(frozen=True)
class EdgeSpec:
    """What the scheduler needs of an enabled edge stream: its owner reads the device's results."""

    edge_id: str
    client_id: str

    @property
    def source(self) -> str:
        return f"MQTT client {self.client_id}"


@dataclass(frozen=True)
class Stored:
    """A stream with what the API does not answer: its licence and watchlist synchronisation."""

    stream: EdgeStream
    license: bytes | None
    sync: EdgeStreamWatchlistSynchronization
    synced_digest: str | None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _stream(row: asyncpg.Record) -> EdgeStream:
    return msgspec.json.decode(row["config"], type=EdgeStream)


def _stored(row: asyncpg.Record) -> Stored:
    sync = EdgeStreamWatchlistSynchronization(row["watchlist_sync"], list(row["watchlist_ids"]))
    return Stored(_stream(row), row["license"], sync, row["synced_digest"])


def _conflict(stream: EdgeStream) -> Conflict:
    return Conflict(f"An edge stream with clientId '{stream.client_id}' already exists.")


async def insert(conn: asyncpg.Connection, stream: EdgeStream, license_data: bytes | None) -> EdgeStream:
    """Insert a stream; 409 when its clientId is another stream's."""
    try:
        row = await conn.fetchrow(
            """INSERT INTO edge_streams (id, client_id, enabled, config, license) VALUES ($1, $2, $3, $4, $5)
               RETURNING config""",
            stream.id, stream.client_id, stream.enabled, msgspec.json.encode(stream).decode(), license_data,
        )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise _conflict(stream) from None
    assert row is not None
    return _stream(row)


async def update(
    conn: asyncpg.Connection, stream: EdgeStream, license_data: bytes | None
) -> tuple[EdgeStream, str] | None:
    """Replace a stream (its licence only when one is given); (the stream, its clientId before),
    None when it does not exist; 409 when the new clientId is another stream's."""
    try:
        row = await conn.fetchrow(
            """WITH old AS (SELECT client_id FROM edge_streams WHERE id = $1 FOR UPDATE)
               UPDATE edge_streams e SET client_id = $2, enabled = $3, config = $4,
                   license = coalesce($5, e.license), updated_at = clock_timestamp()
               FROM old WHERE e.id = $1 RETURNING e.config, old.client_id AS old_client_id""",
            stream.id, stream.client_id, stream.enabled, msgspec.json.encode(stream).decode(), license_data,
        )  # fmt: skip
    except asyncpg.UniqueViolationError:
        raise _conflict(stream) from None
    return (_stream(row), str(row["old_client_id"])) if row else None


async def get(conn: asyncpg.Connection, edge_id: str) -> Stored | None:
    key = _uuid(edge_id)
    row = key and await conn.fetchrow("SELECT * FROM edge_streams WHERE id = $1", key)
    return _stored(row) if row else None


async def list_all(conn: asyncpg.Connection) -> list[EdgeStream]:
    """Every edge stream, oldest first (a plain array, as SmartFace answers)."""
    return [_stream(r) for r in await conn.fetch("SELECT config FROM edge_streams ORDER BY created_at, id")]


async def all_stored(conn: asyncpg.Connection) -> list[Stored]:
    return [_stored(r) for r in await conn.fetch("SELECT * FROM edge_streams ORDER BY created_at, id")]


async def delete(conn: asyncpg.Connection, edge_id: str) -> str | None:
    """Delete a stream; its clientId, None when there was none."""
    key = _uuid(edge_id)
    found = key and await conn.fetchval("DELETE FROM edge_streams WHERE id = $1 RETURNING client_id", key)
    return str(found) if found else None


async def set_sync(conn: asyncpg.Connection, edge_id: str, sync: EdgeStreamWatchlistSynchronization) -> bool:
    """Store a stream's watchlist synchronisation; False when there is no such stream."""
    key = _uuid(edge_id)
    done = key and await conn.fetchval(
        """UPDATE edge_streams SET watchlist_sync = $2, watchlist_ids = $3, updated_at = clock_timestamp()
           WHERE id = $1 RETURNING true""",
        key, sync.watchlist_sync_option, sync.watchlist_ids,
    )  # fmt: skip
    return bool(done)


async def set_digest(conn: asyncpg.Connection, edge_id: str, digest: str | None) -> None:
    await conn.execute("UPDATE edge_streams SET synced_digest = $2 WHERE id = $1", uuid.UUID(edge_id), digest)


async def enabled_streams(conn: asyncpg.Connection) -> list[EdgeSpec]:
    rows = await conn.fetch("SELECT id::text AS id, client_id FROM edge_streams WHERE enabled ORDER BY id")
    return [EdgeSpec(r["id"], r["client_id"]) for r in rows]
