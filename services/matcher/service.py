"""Wires the matcher's endpoints to its handlers."""

from __future__ import annotations

from services.matcher.handlers import GalleryHandlers
from shared import subjects
from shared.bus import Empty
from shared.messages.common import ById, PageQuery
from shared.messages.gallery import (
    WatchlistCreateRequest,
    WatchlistMemberCreateRequest,
    WatchlistMembersLinkRequest,
    WatchlistMembersQuery,
    WatchlistMemberUpsertRequest,
    WatchlistUpsertRequest,
)
from shared.runtime import ServiceContext


async def setup(ctx: ServiceContext) -> None:
    """Register the gallery endpoints (the event stream must exist before the first change)."""
    await ctx.bus.ensure_event_stream()
    h = GalleryHandlers(ctx)
    add = ctx.host.add
    await add(subjects.WATCHLIST_CREATE, WatchlistCreateRequest, h.create_watchlist)
    await add(subjects.WATCHLIST_UPSERT, WatchlistUpsertRequest, h.upsert_watchlist)
    await add(subjects.WATCHLIST_GET, ById, h.get_watchlist)
    await add(subjects.WATCHLIST_LIST, PageQuery, h.list_watchlists)
    await add(subjects.WATCHLIST_DELETE, ById, h.delete_watchlist)
    await add(subjects.WATCHLIST_MEMBERS, WatchlistMembersQuery, h.watchlist_members)
    await add(subjects.MEMBER_CREATE, WatchlistMemberCreateRequest, h.create_member)
    await add(subjects.MEMBER_UPSERT, WatchlistMemberUpsertRequest, h.upsert_member)
    await add(subjects.MEMBER_GET, ById, h.get_member)
    await add(subjects.MEMBER_LIST, PageQuery, h.list_members)
    await add(subjects.MEMBER_DELETE, ById, h.delete_member)
    await add(subjects.MEMBER_LINK, WatchlistMembersLinkRequest, h.link)
    await add(subjects.MEMBER_UNLINK, WatchlistMembersLinkRequest, h.unlink)
    await add(subjects.MATCHER_VERSION, Empty, h.database_version)
