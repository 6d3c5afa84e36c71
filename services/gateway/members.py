"""/api/v1/WatchlistMembers: routed to the matcher, which owns the gallery."""

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
    WatchlistMember,
    WatchlistMemberCreateRequest,
    WatchlistMemberPagedCollection,
    WatchlistMembersLinkRequest,
    WatchlistMemberUpsertRequest,
)
from shared.messages.matcher import ChangeAck


class WatchlistMemberController(Controller):
    path = "/api/v1/WatchlistMembers"
    tags = ["WatchlistMember"]

    @get("/", responses=responses())
    async def list_members(
        self, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> WatchlistMemberPagedCollection:
        """Watchlist members, paged, by creation time."""
        page = await bus.request(subjects.MEMBER_LIST, paging, Page[WatchlistMember])
        return paged(WatchlistMemberPagedCollection, request, paging, page)

    @post("/", status_code=201, responses=responses(413))
    async def create_member(self, data: WatchlistMemberCreateRequest, bus: Bus) -> WatchlistMember:
        """Create a member under a generated GUID (use PUT or Register for your own id)."""
        return await bus.request(subjects.MEMBER_CREATE, data, WatchlistMember)

    @put("/", status_code=200, responses=responses(413))
    async def upsert_member(self, data: WatchlistMemberUpsertRequest, bus: Bus) -> WatchlistMember:
        """Update the member `id`, or create it with that id."""
        return await bus.request(subjects.MEMBER_UPSERT, data, WatchlistMember)

    @get("/{id:str}", responses=responses(404))
    async def get_member(self, id: EntityId, bus: Bus) -> WatchlistMember:
        """One member."""
        return await bus.request(subjects.MEMBER_GET, ById(id=id), WatchlistMember)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_member(self, id: EntityId, bus: Bus, freshness: GalleryFreshness) -> None:
        """Delete a member: it leaves every watchlist, with its faces and templates."""
        ack = await bus.request(subjects.MEMBER_DELETE, ById(id=id), ChangeAck)
        freshness.saw(ack.seq)  # the next search sees this change

    @post("/LinkToWatchlist", status_code=204, responses=responses(404, 413))
    async def link(self, data: WatchlistMembersLinkRequest, bus: Bus, freshness: GalleryFreshness) -> None:
        """Add members to a watchlist (already linked ones stay linked)."""
        ack = await bus.request(subjects.MEMBER_LINK, data, ChangeAck)
        freshness.saw(ack.seq)  # the next search sees this change

    @post("/UnlinkFromWatchlist", status_code=204, responses=responses(404, 413))
    async def unlink(self, data: WatchlistMembersLinkRequest, bus: Bus, freshness: GalleryFreshness) -> None:
        """Remove members from a watchlist; the members themselves stay."""
        ack = await bus.request(subjects.MEMBER_UNLINK, data, ChangeAck)
        freshness.saw(ack.seq)  # the next search sees this change
