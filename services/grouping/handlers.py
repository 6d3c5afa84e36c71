"""The grouping service's endpoints: decode -> one repository call in a transaction -> encode.
Changes by hand announce their individual events; a Trigger wakes this replica's scheduler."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.grouping import groupings, individuals, tracklets
from services.grouping.runs import Outcome
from services.grouping.scheduler import Scheduler
from shared import subjects
from shared.errors import Conflict, NotFound
from shared.messages.common import ById, Page
from shared.messages.grouping import (
    GroupingImage,
    GroupingKind,
    GroupingLink,
    GroupingList,
    GroupingPageQuery,
    GroupingRecord,
    GroupingRef,
    GroupingState,
    GroupingWrite,
    Individual,
    IndividualPageQuery,
    IndividualSearch,
    MergeIndividualsRequest,
    MergeIndividualsResponse,
    SearchInIndividualsResponse,
    SplitIndividualsRequest,
    SplitIndividualsResponse,
    StoredFrame,
    TrackletSummary,
    UploadedFrame,
    UploadedImageResponse,
)
from shared.messages.seen import Frame, Tracklet
from shared.runtime import ServiceContext
from shared.scores import score_from_similarity

NAMES: dict[GroupingKind, str] = {"live": "Live grouping", "record": "Record grouping"}
INPUT_NAMES = {"camera": "Camera", "edge_stream": "Edge stream", "video_record": "Video record"}


def best_matches(rows: list[tuple[str, bytes]], probes: list[bytes], threshold: int) -> list[str]:
    """Individuals (of (individual id, template) rows) whose average similarity with a probe
    template scores at least `threshold`, best first: the average linkage a run merges by."""
    if not rows or not probes:
        return []
    owners = sorted({r[0] for r in rows})
    index = {o: i for i, o in enumerate(owners)}
    dim = len(rows[0][1]) // 4
    sums = np.zeros((len(owners), dim), np.float64)
    counts = np.zeros(len(owners))
    for owner, template in rows:
        sums[index[owner]] += np.frombuffer(template, "<f4")
        counts[index[owner]] += 1
    queries = np.stack([np.frombuffer(p, "<f4") for p in probes]).astype(np.float64)
    best = ((queries @ sums.T) / counts).max(axis=0)
    scores = [score_from_similarity(float(s)) for s in best]
    chosen = [i for i in np.argsort(-best, kind="stable") if scores[i] >= threshold]
    return [owners[i] for i in chosen]


@dataclass
class GroupingHandlers:
    ctx: ServiceContext
    scheduler: Scheduler

    async def _record(self, ref: GroupingRef) -> GroupingRecord:
        async with self.ctx.db.acquire() as conn:
            record = await groupings.get(conn, ref.kind, ref.id)
        if record is None:
            raise NotFound(f"{NAMES[ref.kind]} '{ref.id}' does not exist.")
        return record

    # --- groupings ---

    async def create(self, req: GroupingWrite) -> GroupingRecord:
        async with self.ctx.db.acquire() as conn:
            return await groupings.create(conn, req.kind, req.description, req.config)

    async def update(self, req: GroupingWrite) -> GroupingRecord:
        async with self.ctx.db.acquire() as conn:
            record = await groupings.update(conn, req.kind, req.id or "", req.description, req.config)
        if record is None:
            raise NotFound(f"{NAMES[req.kind]} '{req.id}' does not exist.")
        self.scheduler.wake()  # a live grouping enabled or with a shorter step may be due now
        return record

    async def get(self, ref: GroupingRef) -> GroupingRecord:
        return await self._record(ref)

    async def list_all(self, req: GroupingList) -> list[GroupingRecord]:
        async with self.ctx.db.acquire() as conn:
            return await groupings.list_all(conn, req.kind)

    async def delete(self, ref: GroupingRef) -> None:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            outcome = await groupings.delete(conn, ref.kind, ref.id)
        if outcome == "missing":
            raise NotFound(f"{NAMES[ref.kind]} '{ref.id}' does not exist.")
        if outcome == "busy":
            raise Conflict(f"{NAMES[ref.kind]} '{ref.id}' is being processed; delete it once its state is Ready.")

    async def link(self, req: GroupingLink) -> None:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            if await groupings.get(conn, req.kind, req.id) is None:
                raise NotFound(f"{NAMES[req.kind]} '{req.id}' does not exist.")
            if req.link:
                unknown = await groupings.unknown_inputs(conn, req.input_kind, req.ids)
                if unknown:
                    raise NotFound(f"{INPUT_NAMES[req.input_kind]} '{unknown[0]}' does not exist.")
            await groupings.link(conn, req.id, req.input_kind, req.ids, req.link)

    async def trigger(self, ref: GroupingRef) -> None:
        async with self.ctx.db.acquire() as conn:
            if not await groupings.trigger(conn, ref.id):
                raise NotFound(f"{NAMES[ref.kind]} '{ref.id}' does not exist.")
        self.scheduler.wake()

    async def state(self, ref: GroupingRef) -> GroupingState:
        record = await self._record(ref)
        async with self.ctx.db.acquire() as conn:
            return await groupings.state(conn, record)

    async def frames(self, q: GroupingPageQuery) -> Page[Frame]:
        assert q.grouping is not None
        record = await self._record(q.grouping)
        async with self.ctx.db.acquire() as conn:
            return await groupings.frames(conn, record, q.page)

    async def add_image(self, req: GroupingImage) -> UploadedImageResponse:
        """An uploaded image: camera_ingest stores it as a frame of the grouping's own stream,
        one tracklet per face; the faces' templates join the grouping's next run."""
        await self._record(GroupingRef(kind="record", id=req.grouping_id))
        upload = UploadedFrame(stream_id=req.grouping_id, image=req.image, width=req.width, height=req.height,
                               faces=req.faces)  # fmt: skip
        stored = await self.ctx.bus.request(subjects.SEEN_FRAME_UPLOAD, upload, StoredFrame)
        async with self.ctx.db.acquire() as conn:
            for face, saved in zip(req.faces, stored.faces, strict=True):
                if face.template is None:
                    continue  # a face without a template cannot be grouped
                summary = TrackletSummary(
                    id=saved.tracklet_id, stream_id=req.grouping_id, time_appeared=saved.created_at,
                    time_disappeared=saved.created_at, faces=1, best_face_id=saved.face_id,
                    best_quality=face.quality, template=face.template, template_model=face.template_model,
                )  # fmt: skip
                await tracklets.insert(conn, summary)
        return UploadedImageResponse(frame_id=stored.frame_id, frame_image_data_id=stored.image_id)

    # --- individuals ---

    async def list_individuals(self, q: GroupingPageQuery) -> Page[Individual]:
        if q.grouping is not None:
            await self._record(q.grouping)
        async with self.ctx.db.acquire() as conn:
            return await individuals.page(conn, q.grouping.id if q.grouping else None, q.page)

    async def get_individual(self, req: ById) -> Individual:
        async with self.ctx.db.acquire() as conn:
            return individuals.to_individual(await individuals.require(conn, req.id))

    async def delete_individual(self, req: ById) -> None:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            grouping = await individuals.delete(conn, req.id)
        if grouping is None:
            raise NotFound(f"Individual '{req.id}' does not exist.")
        await self.scheduler.announce(grouping, Outcome(deleted=[req.id]))

    async def tracklets(self, q: IndividualPageQuery) -> Page[Tracklet]:
        async with self.ctx.db.acquire() as conn:
            return await individuals.tracklets(conn, q.id, q.page)

    async def search(self, req: IndividualSearch) -> SearchInIndividualsResponse:
        async with self.ctx.db.acquire() as conn:
            if await groupings.get(conn, None, req.grouping_id) is None:
                raise NotFound(f"Grouping '{req.grouping_id}' does not exist.")
            rows = [
                (str(r["individual_id"]), bytes(r["template"]))
                for r in await individuals.templates(conn, req.grouping_id)
                if r["template_model"] == req.template_model
            ]
        chosen = await self.ctx.run_blocking(best_matches, rows, req.templates, req.threshold)
        async with self.ctx.db.acquire() as conn:
            return SearchInIndividualsResponse(results=await individuals.by_ids(conn, chosen))

    async def split(self, req: SplitIndividualsRequest) -> SplitIndividualsResponse:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            new_id, previous, moved, grouping = await individuals.split(
                conn, req.previous_individual_id, req.tracklets_ids
            )
        await self.scheduler.announce(grouping, Outcome(created={new_id: moved}, updated={previous: []}))
        return SplitIndividualsResponse(individual_id=new_id)

    async def merge(self, req: MergeIndividualsRequest) -> MergeIndividualsResponse:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            first, others, grouping = await individuals.merge(conn, req.individual_ids)
        if others:
            await self.scheduler.announce(grouping, Outcome(updated={first: []}, deleted=others))
        return MergeIndividualsResponse(individual_id=first)
