"""/api/v1/Individuals: the people groupings found. Routed to the grouping service; Search
analyses its image here first (services/gateway/grouping_faces.py)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.params import Parameter

from services.gateway import grouping_faces
from services.gateway.groupings import individuals_page
from services.gateway.paging import paged
from services.gateway.problems import responses
from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.common import ById, Page, PageQuery
from shared.messages.grouping import (
    GUID,
    Individual,
    IndividualPagedCollection,
    IndividualPageQuery,
    MergeIndividualsRequest,
    MergeIndividualsResponse,
    SearchInIndividualsRequest,
    SearchInIndividualsResponse,
    SplitIndividualsRequest,
    SplitIndividualsResponse,
)
from shared.messages.seen import Tracklet, TrackletPagedCollection

IndividualId = Annotated[
    str, Parameter(pattern=GUID, max_length=40, schema_extra={"format": "uuid"}, description="id of the individual")
]


class IndividualController(Controller):
    path = "/api/v1/Individuals"
    tags = ["Individual"]

    @get("/", responses=responses())
    async def list_individuals(
        self, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> IndividualPagedCollection:
        """The individuals of every grouping, paged by creation time."""
        return await individuals_page(bus, request, None, None, paging)

    @get("/{id:str}", responses=responses(404))
    async def get_individual(self, id: IndividualId, bus: Bus) -> Individual:
        """One individual: when it was first and last seen, and its best face."""
        return await bus.request(subjects.INDIVIDUAL_GET, ById(id=id), Individual)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_individual(self, id: IndividualId, bus: Bus) -> None:
        """Delete an individual; its tracklets stay grouped (a later run does not make it again)."""
        await bus.request(subjects.INDIVIDUAL_DELETE, ById(id=id), Empty)

    @get("/{id:str}/Tracklets", responses=responses(404))
    async def individual_tracklets(
        self, id: IndividualId, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> TrackletPagedCollection:
        """The individual's tracklets (its appearances), paged by creation time."""
        query = IndividualPageQuery(id=id, page=paging)
        page = await bus.request(subjects.INDIVIDUAL_TRACKLETS, query, Page[Tracklet])
        return paged(TrackletPagedCollection, request, paging, page)

    @post("/Search", status_code=200, responses=responses(404, 408, 413, 422))
    async def search_individuals(self, data: SearchInIndividualsRequest, bus: Bus) -> SearchInIndividualsResponse:
        """The grouping's individuals like a face of the image: their tracklets score
        `matchThreshold` or more on average with it, best first."""
        search = await grouping_faces.search_templates(bus, data)
        return await bus.request(subjects.INDIVIDUAL_SEARCH, search, SearchInIndividualsResponse)

    @post("/Split", status_code=200, responses=responses(404, 413))
    async def split_individual(self, data: SplitIndividualsRequest, bus: Bus) -> SplitIndividualsResponse:
        """Move tracklets of `previousIndividualId` to a new individual; later runs never join
        the two sides again."""
        return await bus.request(subjects.INDIVIDUAL_SPLIT, data, SplitIndividualsResponse)

    @post("/Merge", status_code=200, responses=responses(404, 413))
    async def merge_individuals(self, data: MergeIndividualsRequest, bus: Bus) -> MergeIndividualsResponse:
        """Merge individuals of one grouping into the first of `individualIds`; later runs keep
        them together."""
        return await bus.request(subjects.INDIVIDUAL_MERGE, data, MergeIndividualsResponse)
