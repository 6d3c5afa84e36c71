"""SQL of the `watchlist_members` and `watchlist_links` tables (owned by the matcher)."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec

from services.matcher.paging import fetch_page
from shared.messages.common import Page, PageQuery
from shared.messages.gallery import (
    Label,
    PrivacyData,
    PrivacySettings,
    WatchlistMember,
    WatchlistMemberUpsertRequest,
)

COLUMNS = "id, display_name, full_name, note, labels, privacy, totp_enabled, created_at, updated_at"


def to_member(row: asyncpg.Record) -> WatchlistMember:
    return WatchlistMember(
        id=row["id"],
        display_name=row["display_name"],
        full_name=row["full_name"],
        note=row["note"],
        labels=msgspec.convert(row["labels"], list[Label]),
        privacy=msgspec.convert(row["privacy"], PrivacyData),
        totp_enabled=row["totp_enabled"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _json(value: Any) -> Any:
    return msgspec.to_builtins(value)


async def insert(conn: asyncpg.Connection, member_id: str, req: WatchlistMemberUpsertRequest) -> WatchlistMember | None:
    """Insert a member; None when the id is taken."""
    row = await conn.fetchrow(
        f"""INSERT INTO watchlist_members (id, display_name, full_name, note, labels, privacy)
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING RETURNING {COLUMNS}""",
        member_id,
        req.display_name,
        req.full_name,
        req.note,
        _json(req.labels),
        _json(req.privacy or PrivacySettings()),
    )
    return to_member(row) if row else None


async def upsert(conn: asyncpg.Connection, req: WatchlistMemberUpsertRequest) -> tuple[WatchlistMember, bool]:
    """Update member `req.id` or create it with that id; True when created."""
    row = await conn.fetchrow(
        f"""INSERT INTO watchlist_members (id, display_name, full_name, note, labels, privacy)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT (id) DO UPDATE SET
                display_name = EXCLUDED.display_name, full_name = EXCLUDED.full_name,
                note = EXCLUDED.note, labels = EXCLUDED.labels, privacy = EXCLUDED.privacy,
                updated_at = clock_timestamp()
            RETURNING {COLUMNS}, (xmax = 0) AS inserted""",
        req.id,
        req.display_name,
        req.full_name,
        req.note,
        _json(req.labels),
        _json(req.privacy or PrivacySettings()),
    )
    assert row is not None
    return to_member(row), bool(row["inserted"])


async def get(conn: asyncpg.Connection, member_id: str) -> WatchlistMember | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM watchlist_members WHERE id = $1", member_id)
    return to_member(row) if row else None


async def list_page(conn: asyncpg.Connection, page: PageQuery) -> Page[WatchlistMember]:
    return await fetch_page(
        conn,
        f"SELECT {COLUMNS} FROM watchlist_members",
        "SELECT count(*) FROM watchlist_members",
        (),
        page,
        to_member,
    )


async def list_in_watchlist(conn: asyncpg.Connection, watchlist_id: str, page: PageQuery) -> Page[WatchlistMember]:
    member_cols = ", ".join(f"m.{c.strip()}" for c in COLUMNS.split(","))
    return await fetch_page(
        conn,
        f"""SELECT * FROM (SELECT {member_cols} FROM watchlist_members m
                JOIN watchlist_links l ON l.member_id = m.id WHERE l.watchlist_id = $1) AS page""",
        "SELECT count(*) FROM watchlist_links WHERE watchlist_id = $1",
        (watchlist_id,),
        page,
        to_member,
    )


async def delete(conn: asyncpg.Connection, member_id: str) -> list[str] | None:
    """Delete a member with its links; return the watchlists it was in, None if unknown."""
    watchlists = await watchlist_ids(conn, member_id)
    deleted = await conn.fetchval("DELETE FROM watchlist_members WHERE id = $1 RETURNING true", member_id)
    return watchlists if deleted else None


async def watchlist_ids(conn: asyncpg.Connection, member_id: str) -> list[str]:
    rows = await conn.fetch("SELECT watchlist_id FROM watchlist_links WHERE member_id = $1", member_id)
    return [r["watchlist_id"] for r in rows]


async def existing_ids(conn: asyncpg.Connection, ids: list[str]) -> set[str]:
    rows = await conn.fetch("SELECT id FROM watchlist_members WHERE id = ANY($1::text[])", ids)
    return {r["id"] for r in rows}


async def link(conn: asyncpg.Connection, watchlist_id: str, member_ids: list[str]) -> list[str]:
    """Link members to a watchlist; return those that were not linked before."""
    rows = await conn.fetch(
        """INSERT INTO watchlist_links (watchlist_id, member_id)
           SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING member_id""",
        watchlist_id,
        member_ids,
    )
    return [r["member_id"] for r in rows]


async def unlink(conn: asyncpg.Connection, watchlist_id: str, member_ids: list[str]) -> list[str]:
    """Unlink members from a watchlist; return those that were linked."""
    rows = await conn.fetch(
        "DELETE FROM watchlist_links WHERE watchlist_id = $1 AND member_id = ANY($2::text[]) RETURNING member_id",
        watchlist_id,
        member_ids,
    )
    return [r["member_id"] for r in rows]


async def link_to_many(conn: asyncpg.Connection, member_id: str, watchlist_ids: list[str]) -> None:
    """Link one member to several watchlists (existing links stay)."""
    await conn.execute(
        """INSERT INTO watchlist_links (watchlist_id, member_id)
           SELECT unnest($2::text[]), $1 ON CONFLICT DO NOTHING""",
        member_id,
        watchlist_ids,
    )
