"""SQL of the `watchlists` table (owned by the matcher)."""

from __future__ import annotations

import uuid

import asyncpg

from services.matcher.paging import fetch_page
from shared.errors import Conflict
from shared.messages.common import Page, PageQuery
from shared.messages.gallery import (
    DEFAULT_PREVIEW_COLOR,
    Watchlist,
    WatchlistCreateRequest,
    WatchlistUpsertRequest,
)

COLUMNS = "id, display_name, full_name, threshold, palm_threshold, preview_color, created_at, updated_at"


def to_watchlist(row: asyncpg.Record) -> Watchlist:
    return Watchlist(
        id=row["id"],
        display_name=row["display_name"],
        full_name=row["full_name"],
        threshold=row["threshold"],
        palm_threshold=row["palm_threshold"],
        preview_color=row["preview_color"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def create(conn: asyncpg.Connection, req: WatchlistCreateRequest) -> Watchlist:
    """Insert a watchlist under a new GUID."""
    row = await conn.fetchrow(
        f"""INSERT INTO watchlists (id, display_name, full_name, threshold, palm_threshold, preview_color)
            VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}""",
        str(uuid.uuid4()),
        req.display_name,
        req.full_name,
        req.threshold,
        req.threshold if req.palm_threshold is None else req.palm_threshold,
        req.preview_color or DEFAULT_PREVIEW_COLOR,
    )
    if row is None:  # pragma: no cover - INSERT ... RETURNING always returns the row
        raise Conflict("watchlist could not be created")
    return to_watchlist(row)


async def upsert(conn: asyncpg.Connection, req: WatchlistUpsertRequest) -> tuple[Watchlist, bool]:
    """Update the watchlist `req.id`, or create it with that id; True when created."""
    row = await conn.fetchrow(
        f"""INSERT INTO watchlists (id, display_name, full_name, threshold, palm_threshold, preview_color)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (id) DO UPDATE SET
                display_name = EXCLUDED.display_name, full_name = EXCLUDED.full_name,
                threshold = EXCLUDED.threshold, palm_threshold = EXCLUDED.palm_threshold,
                preview_color = EXCLUDED.preview_color, updated_at = clock_timestamp()
            RETURNING {COLUMNS}, (xmax = 0) AS inserted""",
        req.id,
        req.display_name,
        req.full_name,
        req.threshold,
        req.threshold if req.palm_threshold is None else req.palm_threshold,
        req.preview_color or DEFAULT_PREVIEW_COLOR,
    )
    assert row is not None
    return to_watchlist(row), bool(row["inserted"])


async def get(conn: asyncpg.Connection, watchlist_id: str) -> Watchlist | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM watchlists WHERE id = $1", watchlist_id)
    return to_watchlist(row) if row else None


async def list_page(conn: asyncpg.Connection, page: PageQuery) -> Page[Watchlist]:
    return await fetch_page(
        conn, f"SELECT {COLUMNS} FROM watchlists", "SELECT count(*) FROM watchlists", (), page, to_watchlist
    )


async def delete(conn: asyncpg.Connection, watchlist_id: str) -> bool:
    """Delete a watchlist; its links go with it, its members stay."""
    return await conn.fetchval("DELETE FROM watchlists WHERE id = $1 RETURNING true", watchlist_id) is not None


async def existing_ids(conn: asyncpg.Connection, ids: list[str]) -> set[str]:
    rows = await conn.fetch("SELECT id FROM watchlists WHERE id = ANY($1::text[])", ids)
    return {r["id"] for r in rows}
