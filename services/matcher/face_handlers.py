"""Handlers of faces (templates) and 1:N search: decode -> one transaction or the index -> reply.

Writes take the change lock first (their triggers would take it anyway; taking it before any
row lock avoids lock-order deadlocks with other writers), read the log position inside the
transaction (their own last change, since the lock is held), and announce it after commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from services.matcher import answers, faces, members, watchlists
from services.matcher.changes import CHANGE_LOCK_SQL, log_position
from services.matcher.gallery import as_vectors
from services.matcher.replica import Replica
from shared import blobs, subjects
from shared.errors import Conflict, NotFound, ValidationFailed
from shared.imaging import as_jpeg, resize_jpeg
from shared.messages.common import ById, Page
from shared.messages.gallery import MemberEvent, WatchlistMemberUpsertRequest
from shared.messages.matcher import (
    AddFacesReply,
    AddFacesRequest,
    ChangeAck,
    IndexStats,
    MemberFace,
    MemberFacesQuery,
    NewFace,
    RegisterMemberReply,
    RegisterMemberRequest,
    RemoveFaceRequest,
    SearchReply,
    SearchRequest,
    TemplateMatches,
)
from shared.messages.seen import ImageQuery, ImageReply
from shared.runtime import ServiceContext


@dataclass
class FaceHandlers:
    ctx: ServiceContext
    replica: Replica

    async def _require_member(self, conn: asyncpg.Connection, member_id: str) -> None:
        if not await members.existing_ids(conn, [member_id]):
            raise NotFound(f"Watchlist member '{member_id}' does not exist.")

    async def _photos(self, new: list[NewFace]) -> list[bytes | None]:
        """The registration photos kept with the faces, as JPEG (before any transaction: reading
        a photo by reference and re-encoding it take a while)."""
        photos: list[bytes | None] = []
        for face in new:
            data = None if face.photo is None else await blobs.unwrap(self.ctx.bus, face.photo)
            photos.append(None if data is None else await self.ctx.run_blocking(as_jpeg, data))
        return photos

    async def _insert_faces(
        self, conn: asyncpg.Connection, member_id: str, new: list[NewFace], photos: list[bytes | None]
    ) -> list[str]:
        """Validate and normalise templates (the first face of a model fixes its length), insert."""
        by_model: dict[str, list[int]] = {}
        for i, face in enumerate(new):
            by_model.setdefault(face.model_name, []).append(i)
        templates: list[bytes] = [b""] * len(new)
        for model, positions in by_model.items():
            dim = await faces.dimension(conn, model)
            try:
                vectors = as_vectors((new[i].template for i in positions), dim)
            except ValidationFailed as exc:
                raise ValidationFailed(f"Model {model}: {exc.detail}") from None
            for i, row in zip(positions, vectors, strict=True):
                templates[i] = row.astype("<f4").tobytes()
        return await faces.insert(conn, member_id, new, templates, photos)

    async def add_faces(self, req: AddFacesRequest) -> AddFacesReply:
        photos = await self._photos(req.faces)
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await conn.execute(CHANGE_LOCK_SQL)
            await self._require_member(conn, req.member_id)
            ids = await self._insert_faces(conn, req.member_id, req.faces, photos)
            stored = await faces.get_many(conn, ids)
            seq = await log_position(conn)
        await self.replica.announce(seq)
        return AddFacesReply(faces=stored, seq=seq)

    async def register(self, req: RegisterMemberRequest) -> RegisterMemberReply:
        member_id = req.id or str(uuid.uuid4())
        wl_ids = list(dict.fromkeys(req.watchlist_ids))
        fields = WatchlistMemberUpsertRequest(
            id=member_id, display_name=req.display_name, full_name=req.full_name, note=req.note,
            labels=req.labels, privacy=req.privacy,
        )  # fmt: skip
        photos = await self._photos(req.faces)
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await conn.execute(CHANGE_LOCK_SQL)
            unknown = set(wl_ids) - await watchlists.existing_ids(conn, wl_ids)
            if unknown:
                raise NotFound(f"Watchlists do not exist: {', '.join(sorted(unknown))}.")
            member = await members.insert(conn, member_id, fields)
            if member is None:
                raise Conflict(f"Watchlist member '{member_id}' already exists.")
            if req.keep_auto_learn_photos:  # read by auto-learn (services/cleanup/autolearn.py)
                await conn.execute(
                    "UPDATE watchlist_members SET keep_auto_learn_photos = true WHERE id = $1", member_id
                )
            await members.link_to_many(conn, member_id, wl_ids)
            ids = await self._insert_faces(conn, member_id, req.faces, photos)
            stored = await faces.get_many(conn, ids)
            linked = [wl for wl in [await watchlists.get(conn, w) for w in wl_ids] if wl is not None]
            seq = await log_position(conn)
        await self.replica.announce(seq)
        await self.ctx.bus.publish_event(
            subjects.MEMBER_CREATED.subject(member_id),
            MemberEvent(id=member_id, member=member, watchlist_ids=wl_ids),
        )
        return RegisterMemberReply(member=member, watchlists=linked, faces=stored, seq=seq)

    async def remove_face(self, req: RemoveFaceRequest) -> ChangeAck:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            await conn.execute(CHANGE_LOCK_SQL)
            if not await faces.delete(conn, req.member_id, req.face_id):
                raise NotFound(f"Watchlist member '{req.member_id}' has no face '{req.face_id}'.")
            seq = await log_position(conn)
        await self.replica.announce(seq)
        return ChangeAck(seq=seq)

    async def list_faces(self, req: MemberFacesQuery) -> Page[MemberFace]:
        """A member's faces; an empty page for an unknown member, as SmartFace answers (its
        document declares no 404 there)."""
        async with self.ctx.db.acquire() as conn:
            return await faces.list_page(
                conn, req.member_id, req.page, crops=req.include_crops, templates=req.include_templates
            )

    async def get_face(self, req: ById) -> MemberFace:
        """One member face by its id (without crop and template)."""
        async with self.ctx.db.acquire() as conn:
            found = await faces.get_many(conn, [req.id])
        if not found:
            raise NotFound(f"Face '{req.id}' does not exist.")
        return found[0]

    async def image(self, q: ImageQuery) -> ImageReply:
        """A member face's image (GET /api/v1/Images/{id} of its imageDataId), scaled as asked
        with the rule camera images follow."""
        async with self.ctx.db.acquire() as conn:
            data = await faces.image(conn, q.id)
        if data is None:
            raise NotFound(f"Image '{q.id}' does not exist.")
        if q.min_size is not None or q.max_size is not None:
            data = await self.ctx.run_blocking(resize_jpeg, data, q.min_size, q.max_size)
        return ImageReply(jpeg=await blobs.wrap(self.ctx.bus, data))

    async def search(self, req: SearchRequest) -> SearchReply:
        """The index's matches per template, made whole answers (answers.py): one query for the
        details of every member and watchlist found, none when nothing was found."""
        await self.replica.wait_for(req.min_seq)
        gallery = self.replica.gallery  # one gallery for the whole request, even if a reload swaps it
        seq = gallery.seq
        found = await self.ctx.run_blocking(
            gallery.search, req.templates, req.model_name, req.watchlist_ids, req.threshold, req.max_result_count
        )
        known = answers.Details({}, {})
        if any(found):
            async with self.ctx.db.acquire() as conn:
                known = await answers.details(conn, (f for per_template in found for f in per_template))
        return SearchReply(
            results=[
                TemplateMatches(candidates=answers.ranked(f, known, req.max_result_count, req.one_watchlist_each))
                for f in found
            ],
            seq=seq,
        )

    async def index_stats(self, _req: object) -> IndexStats:
        return self.replica.stats()
