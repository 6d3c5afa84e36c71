"""SQL paging shared by the gallery's list queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import asyncpg

from shared.messages.common import Page, PageQuery

T = TypeVar("T")


async def fetch_page(
    conn: asyncpg.Connection,
    select: str,
    count: str,
    args: tuple[Any, ...],
    page: PageQuery,
    to_item: Callable[[asyncpg.Record], T],
) -> Page[T]:
    """Run `select` (which must end in `ORDER BY {order}`-free SQL) as one page.

    `select` and `count` take the same positional `args`; ordering is by creation time, then id,
    so that pages are stable when several rows share a timestamp.
    """
    direction = "ASC" if page.ascending else "DESC"
    n = len(args)
    sql = f"{select} ORDER BY created_at {direction}, id {direction} LIMIT ${n + 1} OFFSET ${n + 2}"
    rows = await conn.fetch(sql, *args, page.page_size + 1, page.offset)
    total = await conn.fetchval(count, *args) if page.show_total_count else None
    return Page(
        items=[to_item(r) for r in rows[: page.page_size]],
        has_next=len(rows) > page.page_size,
        total_items_count=total,
    )
