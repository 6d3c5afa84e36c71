"""Gallery CRUD handlers: decode -> one transaction -> event. A few lines each.

Writes that change what a search returns (watchlists, links, member deletes) take the change
lock first and announce the change-log position after commit (see face_handlers), so that
every matcher replica applies them; their replies carry that position as `ChangeAck.seq`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.matcher import members, watchlists
from services.matcher.changes import CHANGE_LOCK_SQL, log_position
from services.matcher.replica import Replica
from shared import subjects
from shared.bus import Empty
from shared.errors import Conflict, NotFound
from shared.messages.common import ById, Page, PageQuery
from shared.messages.gallery import (
    DatabaseVersion,
    MemberEvent,
    Watchlist,
    WatchlistCreateRequest,
    WatchlistEvent,
    WatchlistMember,
    WatchlistMemberCreateRequest,
    WatchlistMembersLinkRequest,
    WatchlistMembersQuery,
    WatchlistMemberUpsertRequest,
    WatchlistUpsertRequest,
)
from shared.messages.matcher import ChangeAck
from shared.runtime import ServiceContext


@dataclass
class GalleryHandlers:
    """Handlers of the gallery's requests, bound to one service context."""

    ctx: ServiceContext
    replica: Replica

    async def _locked(self, conn: asyncpg.Connection) -> None:
        await conn.execute(CHANGE_LOCK_SQL)

    async def _announce(self, seq: int) -> ChangeAck:
        await self.replica.announce(seq)
        return ChangeAck(seq=seq)

    async def _watchlist_event(self, event: subjects.Event, wl_id: str, wl: Watchlist | None) -> None:
        await self.ctx.bus.publish_event(event.subject(wl_id), WatchlistEvent(id=wl_id, watchlist=wl))

    async def _member_event(
        self,
        event: subjects.Event,
        member_id: str,
        member: WatchlistMember | None = None,
        watchlist_ids: list[str] | None = None,
    ) -> None:
        await self.ctx.bus.publish_event(
            event.subject(member_id),
            MemberEvent(id=member_id, member=member, watchlist_ids=watchlist_ids or []),
        )

    async def create_watchlist(self, req: WatchlistCreateRequest) -> Watchlist:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await self._locked(conn)
            wl = await watchlists.create(conn, req)
            seq = await log_position(conn)
        await self._announce(seq)
        await self._watchlist_event(subjects.WATCHLIST_CREATED, wl.id, wl)
        return wl

    async def upsert_watchlist(self, req: WatchlistUpsertRequest) -> Watchlist:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await self._locked(conn)
            wl, created = await watchlists.upsert(conn, req)
            seq = await log_position(conn)
        await self._announce(seq)
        await self._watchlist_event(subjects.WATCHLIST_CREATED if created else subjects.WATCHLIST_UPDATED, wl.id, wl)
        return wl

    async def get_watchlist(self, req: ById) -> Watchlist:
        async with self.ctx.db.acquire() as conn:
            wl = await watchlists.get(conn, req.id)
        if wl is None:
            raise NotFound(f"Watchlist '{req.id}' does not exist.")
        return wl

    async def list_watchlists(self, req: PageQuery) -> Page[Watchlist]:
        async with self.ctx.db.acquire() as conn:
            return await watchlists.list_page(conn, req)

    async def delete_watchlist(self, req: ById) -> ChangeAck:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await self._locked(conn)
            if not await watchlists.delete(conn, req.id):
                raise NotFound(f"Watchlist '{req.id}' does not exist.")
            seq = await log_position(conn)
        await self._watchlist_event(subjects.WATCHLIST_DELETED, req.id, None)
        return await self._announce(seq)

    async def watchlist_members(self, req: WatchlistMembersQuery) -> Page[WatchlistMember]:
        """The members of a watchlist; an empty page for an unknown watchlist, as SmartFace
        answers (its document declares no 404 there)."""
        async with self.ctx.db.acquire() as conn:
            return await members.list_in_watchlist(conn, req.watchlist_id, req.page)

    async def create_member(self, req: WatchlistMemberCreateRequest) -> WatchlistMember:
        as_upsert = WatchlistMemberUpsertRequest(
            id=str(uuid.uuid4()),
            display_name=req.display_name,
            full_name=req.full_name,
            note=req.note,
            labels=req.labels,
            privacy=req.privacy,
        )
        async with self.ctx.db.acquire() as conn:
            member = await members.insert(conn, as_upsert.id, as_upsert)
        if member is None:  # pragma: no cover - a fresh GUID does not collide
            raise Conflict(f"Watchlist member '{as_upsert.id}' already exists.")
        await self._member_event(subjects.MEMBER_CREATED, member.id, member)
        return member

    async def upsert_member(self, req: WatchlistMemberUpsertRequest) -> WatchlistMember:
        async with self.ctx.db.acquire() as conn:
            member, created = await members.upsert(conn, req)
        await self._member_event(subjects.MEMBER_CREATED if created else subjects.MEMBER_UPDATED, member.id, member)
        return member

    async def get_member(self, req: ById) -> WatchlistMember:
        async with self.ctx.db.acquire() as conn:
            member = await members.get(conn, req.id)
        if member is None:
            raise NotFound(f"Watchlist member '{req.id}' does not exist.")
        return member

    async def list_members(self, req: PageQuery) -> Page[WatchlistMember]:
        async with self.ctx.db.acquire() as conn:
            return await members.list_page(conn, req)

    async def delete_member(self, req: ById) -> ChangeAck:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await self._locked(conn)
            was_in = await members.delete(conn, req.id)
            seq = await log_position(conn)
        if was_in is None:
            raise NotFound(f"Watchlist member '{req.id}' does not exist.")
        await self._member_event(subjects.MEMBER_DELETED, req.id, watchlist_ids=was_in)
        return await self._announce(seq)

    async def _check_link(self, conn: asyncpg.Connection, req: WatchlistMembersLinkRequest) -> list[str]:
        ids = list(dict.fromkeys(req.watchlist_members_ids))
        if not await watchlists.existing_ids(conn, [req.watchlist_id]):
            raise NotFound(f"Watchlist '{req.watchlist_id}' does not exist.")
        unknown = set(ids) - await members.existing_ids(conn, ids)
        if unknown:
            raise NotFound(f"Watchlist members do not exist: {', '.join(sorted(unknown))}.")
        return ids

    async def link(self, req: WatchlistMembersLinkRequest) -> ChangeAck:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await self._locked(conn)
            ids = await self._check_link(conn, req)
            changed = await members.link(conn, req.watchlist_id, ids)
            seq = await log_position(conn)
        for member_id in changed:
            await self._member_event(subjects.MEMBER_LINKED, member_id, watchlist_ids=[req.watchlist_id])
        return await self._announce(seq)

    async def unlink(self, req: WatchlistMembersLinkRequest) -> ChangeAck:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await self._locked(conn)
            ids = await self._check_link(conn, req)
            changed = await members.unlink(conn, req.watchlist_id, ids)
            seq = await log_position(conn)
        for member_id in changed:
            await self._member_event(subjects.MEMBER_UNLINKED, member_id, watchlist_ids=[req.watchlist_id])
        return await self._announce(seq)

    async def database_version(self, _req: Empty) -> DatabaseVersion:
        async with self.ctx.db.acquire() as conn:
            row = await conn.fetchrow(
                """SELECT name, applied_at,
                          (SELECT min(applied_at) FROM schema_migrations) AS first_at
                   FROM schema_migrations ORDER BY name DESC LIMIT 1"""
            )
        if row is None:
            raise NotFound("The database has no migrations applied.")
        return DatabaseVersion(
            version=row["name"].split("_", 1)[0], created_at=row["first_at"], updated_at=row["applied_at"]
        )
