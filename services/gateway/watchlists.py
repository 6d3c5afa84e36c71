"""/api/v1/Watchlists: routed to the matcher, which owns the gallery."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put

from services.gateway.freshness import GalleryFreshness
from services.gateway.paging import paged
from services.gateway.params import EntityId
from services.gateway.problems import responses
from shared import subjects
from shared.bus import Bus
from shared.messages.common import ById, Page, PageQuery
from shared.messages.gallery import (
    Watchlist,
    WatchlistCreateRequest,
    WatchlistMember,
    WatchlistMemberPagedCollection,
    WatchlistMembersQuery,
    WatchlistPagedCollection,
    WatchlistUpsertRequest,
)
from shared.messages.matcher import ChangeAck


class WatchlistController(Controller):
    path = "/api/v1/Watchlists"
    tags = ["Watchlist"]

    @get("/", responses=responses())
    async def list_watchlists(
        self, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> WatchlistPagedCollection:
        """Watchlists, paged, by creation time."""
        page = await bus.request(subjects.WATCHLIST_LIST, paging, Page[Watchlist])
        return paged(WatchlistPagedCollection, request, paging, page)

    @post("/", status_code=201, responses=responses(413))
    async def create_watchlist(self, data: WatchlistCreateRequest, bus: Bus) -> Watchlist:
        """Create a watchlist under a generated GUID."""
        return await bus.request(subjects.WATCHLIST_CREATE, data, Watchlist)

    @put("/", status_code=200, responses=responses(413))
    async def upsert_watchlist(self, data: WatchlistUpsertRequest, bus: Bus) -> Watchlist:
        """Update the watchlist `id`, or create it with that id."""
        return await bus.request(subjects.WATCHLIST_UPSERT, data, Watchlist)

    @get("/{id:str}", responses=responses(404))
    async def get_watchlist(self, id: EntityId, bus: Bus) -> Watchlist:
        """One watchlist."""
        return await bus.request(subjects.WATCHLIST_GET, ById(id=id), Watchlist)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_watchlist(self, id: EntityId, bus: Bus, freshness: GalleryFreshness) -> None:
        """Delete a watchlist; its members stay (they are only unlinked)."""
        ack = await bus.request(subjects.WATCHLIST_DELETE, ById(id=id), ChangeAck)
        freshness.saw(ack.seq)  # the next search sees this change

    @get("/{id:str}/WatchlistMembers", responses=responses())
    async def list_watchlist_members(
        self, id: EntityId, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> WatchlistMemberPagedCollection:
        """Members linked to one watchlist, paged (an empty page for an unknown watchlist)."""
        page = await bus.request(
            subjects.WATCHLIST_MEMBERS, WatchlistMembersQuery(watchlist_id=id, page=paging), Page[WatchlistMember]
        )
        return paged(WatchlistMemberPagedCollection, request, paging, page)
