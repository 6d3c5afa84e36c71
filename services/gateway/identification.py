"""The identification API at the REST edge: registering faces, 1:N search, 1:1 verify, liveness and
detection. Controllers only validate and hand over to services.gateway.pipeline, which chains the
detector, extractor and matcher over the bus."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post

from services.gateway import pipeline
from services.gateway.freshness import GalleryFreshness
from services.gateway.openapi import FACEGATE_TAG
from services.gateway.paging import paged
from services.gateway.params import EntityId
from services.gateway.problems import responses
from services.gateway.template_model import TemplateModel
from shared.bus import Bus
from shared.messages.common import PageQuery
from shared.messages.identification import (
    AddNewFaceRequest,
    Face,
    FaceDetectRequest,
    FaceDetectResponse,
    FacePagedCollection,
    FaceWatchlistMemberLinkingRequest,
    FaceWatchlistMemberRemoveRequest,
    RegisterWatchlistMemberRequest,
    SearchInWatchlistByTemplateRequest,
    SearchInWatchlistByTemplateResponse,
    SearchInWatchlistRequest,
    SearchInWatchlistResponse,
    SpoofCheckRequest,
    SpoofCheckResponse,
    VerificationRequest,
    VerificationResponse,
    WatchlistMemberWithRelatedData,
)
from shared.messages.setup import FeaturesConfig

# Every operation here may also answer 408 (workers too slow), 413 (body too large) and 422
# (an image understood but unusable: no face, several faces, below the quality gate).
IMAGE_ERRORS = (408, 413, 422)


class MemberFacesController(Controller):
    path = "/api/v1/WatchlistMembers"
    tags = ["WatchlistMember"]

    @post("/Register", status_code=201, responses=responses(404, 409, *IMAGE_ERRORS))
    async def register(
        self, data: RegisterWatchlistMemberRequest, bus: Bus, freshness: GalleryFreshness, keep_photos: bool
    ) -> WatchlistMemberWithRelatedData:
        """Create a member from one or more photos in one or more watchlists: all or nothing.
        An existing id is a 409 (add faces to it with AddNewFace)."""
        return await pipeline.register(bus, freshness, data, keep_photos)

    @post("/{id:str}/AddNewFace", status_code=201, responses=responses(404, *IMAGE_ERRORS))
    async def add_new_face(
        self, id: EntityId, data: AddNewFaceRequest, bus: Bus, freshness: GalleryFreshness, keep_photos: bool
    ) -> Face:
        """Add a face from a photo to an existing member."""
        return await pipeline.add_face(bus, freshness, id, data, keep_photos)

    @post("/{id:str}/AddFaceFromSystem", status_code=204, responses=responses(404, 409, 413, 422))
    async def add_face_from_system(
        self, id: EntityId, data: FaceWatchlistMemberLinkingRequest, bus: Bus, freshness: GalleryFreshness
    ) -> None:
        """Make a face a camera stored one of the member's faces (same id), template included:
        auto-enrollment from what cameras saw. 422 for a face without a template."""
        await pipeline.add_face_from_system(bus, freshness, id, data)

    @get("/{id:str}/Faces", responses=responses())
    async def list_faces(
        self,
        id: EntityId,
        request: Request[Any, Any, Any],
        bus: Bus,
        paging: PageQuery,
    ) -> FacePagedCollection:
        """A member's faces, paged, by creation time (an empty page for an unknown member)."""
        page = await pipeline.list_faces(bus, id, paging)
        return paged(FacePagedCollection, request, paging, page)

    @post("/{id:str}/RemoveFace", status_code=204, responses=responses(404, 413))
    async def remove_face(
        self, id: EntityId, data: FaceWatchlistMemberRemoveRequest, bus: Bus, freshness: GalleryFreshness
    ) -> None:
        """Remove one face (and its template) from a member; the next search no longer sees it."""
        await pipeline.remove_face(bus, freshness, id, data.face_id)


class SearchController(Controller):
    path = "/api/v1/Watchlists"
    tags = ["Watchlist"]

    @post("/Search", status_code=200, responses=responses(404, *IMAGE_ERRORS))
    async def search(
        self, data: SearchInWatchlistRequest, bus: Bus, freshness: GalleryFreshness, features: FeaturesConfig
    ) -> list[SearchInWatchlistResponse]:
        """Every face in the image against the chosen watchlists (none given: all)."""
        return await pipeline.search(bus, freshness, data, features)

    @post("/SearchByTemplate", status_code=200, responses=responses(404, 408, 413))
    async def search_by_template(
        self,
        data: SearchInWatchlistByTemplateRequest,
        bus: Bus,
        freshness: GalleryFreshness,
        template_model: TemplateModel,
    ) -> SearchInWatchlistByTemplateResponse:
        """Search with a template (float32 little-endian, base64) instead of an image."""
        return await pipeline.search_by_template(bus, freshness, template_model, data)


class FacesController(Controller):
    path = "/api/v1/Faces"
    tags = ["Face"]

    @post("/Verify", status_code=200, responses=responses(*IMAGE_ERRORS))
    async def verify(self, data: VerificationRequest, bus: Bus, features: FeaturesConfig) -> VerificationResponse:
        """1:1: how alike the largest faces of two images are (confidence 0..100, as `score`)."""
        return await pipeline.verify(bus, data, features)

    @post("/SpoofCheck", status_code=200, responses=responses(*IMAGE_ERRORS))
    async def spoof_check(self, data: SpoofCheckRequest, bus: Bus) -> SpoofCheckResponse:
        """Passive liveness of the largest face (distant and/or nearby)."""
        return await pipeline.spoof_check(bus, data)

    @post("/Detect", status_code=200, tags=[FACEGATE_TAG], responses=responses(*IMAGE_ERRORS))
    async def detect(self, data: FaceDetectRequest, bus: Bus, features: FeaturesConfig) -> FaceDetectResponse:
        """Facegate addition: every face with box, landmarks, attributes and optionally a crop."""
        return await pipeline.detect(bus, data, features)


CONTROLLERS = [MemberFacesController, SearchController, FacesController]
