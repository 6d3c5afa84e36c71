"""POST /api/v1/Faces/Search (SmartFace's): the probe image's largest face is analysed here (the
detector and extractor, once), and the matcher starts a session that searches every stored
camera face in the background; GET /api/v1/Faces/Search/{searchSessionId} (Facegate's addition)
reads the session and its hits, best first. services/matcher/face_search.py runs the search."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter

from services.gateway.analysis_config import NO_FEATURES, detector_config, features_config
from services.gateway.face_choice import largest
from services.gateway.openapi import FACEGATE_TAG
from services.gateway.paging import PageNumber, PageSize, ShowTotalCount, paged
from services.gateway.problems import responses
from services.gateway.resources import check_resources
from shared import analysis, subjects
from shared.bus import Bus
from shared.errors import Unprocessable
from shared.messages.common import PageQuery
from shared.messages.face_search import (
    FaceSearchQuery,
    FaceSearchRequest,
    FaceSearchStart,
    SearchInFacesResponse,
    SearchSessionObjectPagedCollection,
    SearchSessionPage,
)
from shared.messages.grouping import GUID

SessionId = Annotated[
    str,
    Parameter(pattern=GUID, max_length=40, schema_extra={"format": "uuid"}, description="the searchSessionId"),
]


async def start(bus: Bus, req: FaceSearchRequest) -> SearchInFacesResponse:
    """The probe's template (its largest face; 400 when it has none usable), then the session."""
    check_resources(
        faceDetectorResourceId=req.face_detector_resource_id,
        templateGeneratorResourceId=req.template_generator_resource_id,
    )
    found = await analysis.analyse(
        bus, req.image.data, detector_config(req.face_detector_config), features_config(NO_FEATURES, template=True)
    )
    face = largest(found, "image")
    if face.extracted.template is None or face.extracted.template_model is None:
        raise Unprocessable("No template could be made from the face of the image.")
    search = FaceSearchStart(
        template=face.extracted.template, template_model=face.extracted.template_model, threshold=req.threshold
    )
    return await bus.request(subjects.FACE_SEARCH_START, search, SearchInFacesResponse)


class FaceSearchController(Controller):
    path = "/api/v1/Faces/Search"
    tags = ["Face"]

    @post("/", status_code=200, responses=responses(404, 408, 413, 422))
    async def search_faces(self, data: FaceSearchRequest, bus: Bus) -> SearchInFacesResponse:
        """Search every face cameras stored for the largest face of the image: answers a
        `searchSessionId` at once; the search runs in the background and keeps the faces that
        score `threshold` or more (GET /api/v1/Faces/Search/{searchSessionId} reads them)."""
        return await start(bus, data)

    @get("/{searchSessionId:str}", tags=[FACEGATE_TAG], responses=responses(404))
    async def search_session(
        self,
        searchSessionId: SessionId,
        request: Request[Any, Any, Any],
        bus: Bus,
        page_number: PageNumber = 1,
        page_size: PageSize = 20,
        show_total_count: ShowTotalCount = False,
    ) -> SearchSessionObjectPagedCollection:
        """Facegate addition: a Faces/Search session (Running, Finished or Failed, with its
        progress) and a page of the faces it found, best first: face, score, camera
        (`streamId`), tracklet, frame and when the camera saw it. Nothing until it finished."""
        query = PageQuery(page_number, page_size, True, show_total_count)
        answer = await bus.request(
            subjects.FACE_SEARCH_GET, FaceSearchQuery(id=searchSessionId, page=query), SearchSessionPage
        )
        collection = functools.partial(SearchSessionObjectPagedCollection, session=answer.session)
        return paged(collection, request, query, answer.page)


CONTROLLERS = [FaceSearchController]
