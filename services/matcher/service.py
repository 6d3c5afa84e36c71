"""Wires the matcher's endpoints to its handlers."""

from __future__ import annotations

from services.matcher.config import load_config
from services.matcher.face_handlers import FaceHandlers
from services.matcher.face_search import FaceSearches
from services.matcher.handlers import GalleryHandlers
from services.matcher.replica import Replica
from services.matcher.stats import metrics_text
from shared import subjects
from shared.bus import Empty
from shared.messages import matcher as api
from shared.messages.common import ById, PageQuery
from shared.messages.gallery import (
    WatchlistCreateRequest,
    WatchlistMemberCreateRequest,
    WatchlistMembersLinkRequest,
    WatchlistMembersQuery,
    WatchlistMemberUpsertRequest,
    WatchlistUpsertRequest,
)
from shared.messages.seen import ImageQuery
from shared.runtime import ServiceContext


async def setup(ctx: ServiceContext) -> None:
    """Load the gallery, then register the endpoints (the event stream must exist before the
    first change, and searches must not be answered before the index is loaded)."""
    await ctx.bus.ensure_event_stream()
    replica = Replica(ctx, load_config())
    await replica.start()
    ctx.on_shutdown.append(replica.stop)  # ends a graph rebuild running in its thread
    ctx.extra_stats["index"] = replica.stats
    ctx.metrics.append(lambda: metrics_text(replica.stats()))
    h = GalleryHandlers(ctx, replica)
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
    f = FaceHandlers(ctx, replica)
    await add(subjects.MEMBER_REGISTER, api.RegisterMemberRequest, f.register)
    await add(subjects.FACE_ADD, api.AddFacesRequest, f.add_faces)
    await add(subjects.FACE_REMOVE, api.RemoveFaceRequest, f.remove_face)
    await add(subjects.FACE_LIST, api.MemberFacesQuery, f.list_faces)
    await add(subjects.FACE_GET, ById, f.get_face)
    await add(subjects.FACE_IMAGE, ImageQuery, f.image)
    await add(subjects.TEMPLATE_SEARCH, api.SearchRequest, f.search)
    await add(subjects.INDEX_STATS, Empty, f.index_stats)
    await FaceSearches(ctx).register()  # Faces/Search sessions (face_search.py)
