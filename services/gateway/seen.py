"""What cameras saw: /api/v1/Faces, /Frames, /Tracklet, /Images and a camera's tracklets and
frames. Routed to camera_ingest, which stores them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get
from litestar.params import Parameter

from services.gateway import faces_view
from services.gateway.paging import paged
from services.gateway.problems import responses
from shared import blobs, subjects
from shared.bus import Bus, Empty
from shared.errors import NotFound
from shared.messages.common import ById, Page, PageQuery
from shared.messages.identification import Face, FacePagedCollection
from shared.messages.matcher import MemberFace
from shared.messages.seen import (
    Frame,
    FramePagedCollection,
    ImageQuery,
    ImageReply,
    SeenQuery,
    Tracklet,
    TrackletPagedCollection,
)

# SmartFace types these ids as GUIDs: one that is not a GUID is a 400, or a 404 where SmartFace
# declares no 400 (services/gateway/statuses.py); a well-formed GUID that names nothing is 404.
_GUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
Guid = Annotated[str, Parameter(pattern=_GUID, max_length=40, schema_extra={"format": "uuid"}, description="a GUID")]
# Facegate's filters of GET /api/v1/Faces (SmartFace has none there).
CameraFilter = Annotated[
    str | None, Parameter(query="CameraId", pattern=_GUID, description="Facegate: only faces of this camera")
]
TrackletFilter = Annotated[
    str | None, Parameter(query="TrackletId", pattern=_GUID, description="Facegate: only faces of this tracklet")
]
FromFilter = Annotated[
    datetime | None,
    Parameter(query="CreatedFrom", description="Facegate: created at or after (ISO 8601; no offset means UTC)"),
]
ToFilter = Annotated[
    datetime | None,
    Parameter(query="CreatedTo", description="Facegate: created before (ISO 8601; no offset means UTC)"),
]
MinSize = Annotated[int | None, Parameter(query="minSize", ge=1, le=16384, description="shorter side at least (px)")]
MaxSize = Annotated[int | None, Parameter(query="maxSize", ge=1, le=16384, description="longer side at most (px)")]


def as_utc(value: datetime | None) -> datetime | None:
    """A time without an offset is UTC (as every time Facegate answers), whatever the servers'
    time zone."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


async def faces_page(bus: Bus, request: Request[Any, Any, Any], query: SeenQuery) -> FacePagedCollection:
    page = await bus.request(subjects.SEEN_FACE_LIST, query, Page[Face])
    return paged(FacePagedCollection, request, query.page, page)


async def frames_page(bus: Bus, request: Request[Any, Any, Any], query: SeenQuery) -> FramePagedCollection:
    page = await bus.request(subjects.SEEN_FRAME_LIST, query, Page[Frame])
    return paged(FramePagedCollection, request, query.page, page)


async def tracklets_page(bus: Bus, request: Request[Any, Any, Any], query: SeenQuery) -> TrackletPagedCollection:
    page = await bus.request(subjects.SEEN_TRACKLET_LIST, query, Page[Tracklet])
    return paged(TrackletPagedCollection, request, query.page, page)


class SeenFaceController(Controller):
    path = "/api/v1/Faces"
    tags = ["Face"]

    @get("/", responses=responses())
    async def list_faces(
        self,
        request: Request[Any, Any, Any],
        bus: Bus,
        paging: PageQuery,
        camera_id: CameraFilter = None,
        tracklet_id: TrackletFilter = None,
        created_from: FromFilter = None,
        created_to: ToFilter = None,
    ) -> FacePagedCollection:
        """Faces cameras saw, paged by creation time; Facegate adds filters by camera, tracklet
        and creation time."""
        query = SeenQuery(
            page=paging, camera_id=camera_id, tracklet_id=tracklet_id,
            created_from=as_utc(created_from), created_to=as_utc(created_to),
        )  # fmt: skip
        return await faces_page(bus, request, query)

    @get("/{id:str}", responses=responses(404))
    async def get_face(self, id: Guid, bus: Bus) -> Face:
        """One face: seen by a camera, or a member's registration face (as SmartFace, whose
        faces are one collection)."""
        try:
            return await bus.request(subjects.SEEN_FACE_GET, ById(id=id), Face)
        except NotFound:  # camera_ingest owns the faces cameras saw, the matcher members' faces
            stored = await bus.request(subjects.FACE_GET, ById(id=id), MemberFace)
            return faces_view.face(stored)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_face(self, id: Guid, bus: Bus) -> None:
        """Delete a face and its crop."""
        await bus.request(subjects.SEEN_FACE_DELETE, ById(id=id), Empty)


class FrameController(Controller):
    path = "/api/v1/Frames"
    tags = ["Frame"]

    @get("/", responses=responses())
    async def list_frames(
        self,
        request: Request[Any, Any, Any],
        bus: Bus,
        paging: PageQuery,
    ) -> FramePagedCollection:
        """Frames that gave a stored face, paged by creation time."""
        return await frames_page(bus, request, SeenQuery(page=paging))

    @get("/{id:str}", responses=responses(404))
    async def get_frame(self, id: Guid, bus: Bus) -> Frame:
        """One frame."""
        return await bus.request(subjects.SEEN_FRAME_GET, ById(id=id), Frame)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_frame(self, id: Guid, bus: Bus) -> None:
        """Delete a frame with its image and the faces stored from it."""
        await bus.request(subjects.SEEN_FRAME_DELETE, ById(id=id), Empty)


class TrackletController(Controller):
    path = "/api/v1/Tracklet"
    tags = ["Tracklet"]

    @get("/", responses=responses())
    async def list_tracklets(
        self,
        request: Request[Any, Any, Any],
        bus: Bus,
        paging: PageQuery,
    ) -> TrackletPagedCollection:
        """Tracklets (one per person passing a camera), paged by creation time."""
        query = SeenQuery(page=paging)
        return await tracklets_page(bus, request, query)

    @get("/{id:str}", responses=responses(404))
    async def get_tracklet(self, id: Guid, bus: Bus) -> Tracklet:
        """One tracklet; `timeDisappeared` is null while it is live."""
        return await bus.request(subjects.SEEN_TRACKLET_GET, ById(id=id), Tracklet)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_tracklet(self, id: Guid, bus: Bus) -> None:
        """Delete a tracklet with its faces and their crops."""
        await bus.request(subjects.SEEN_TRACKLET_DELETE, ById(id=id), Empty)

    @get("/{id:str}/Faces", responses=responses())
    async def tracklet_faces(
        self,
        id: Guid,
        request: Request[Any, Any, Any],
        bus: Bus,
        paging: PageQuery,
    ) -> FacePagedCollection:
        """The stored faces of a tracklet (an empty page for an unknown tracklet)."""
        query = SeenQuery(page=paging, tracklet_id=id)
        return await faces_page(bus, request, query)


class CameraSeenController(Controller):
    path = "/api/v1/Cameras"
    tags = ["Camera"]

    @get("/{id:str}/Tracklets", responses=responses(404))
    async def camera_tracklets(
        self,
        id: Guid,
        request: Request[Any, Any, Any],
        bus: Bus,
        paging: PageQuery,
    ) -> TrackletPagedCollection:
        """The camera's tracklets (404 for an unknown camera)."""
        query = SeenQuery(page=paging, camera_id=id)
        return await tracklets_page(bus, request, query)

    @get("/{id:str}/Frames", responses=responses(404))
    async def camera_frames(
        self,
        id: Guid,
        request: Request[Any, Any, Any],
        bus: Bus,
        paging: PageQuery,
    ) -> FramePagedCollection:
        """The camera's stored frames (404 for an unknown camera)."""
        query = SeenQuery(page=paging, camera_id=id)
        return await frames_page(bus, request, query)


class ImageController(Controller):
    path = "/api/v1/Images"
    tags = ["Image"]

    @get(
        "/{id:str}",
        responses=responses(404),
        media_type="image/jpeg",
        response_description="the image as JPEG",
    )
    async def get_image(
        self, id: Guid, bus: Bus, min_size: MinSize = None, max_size: MaxSize = None
    ) -> Response[bytes]:
        """A stored face crop or frame, or a member face's image, as JPEG, scaled to
        `minSize`..`maxSize` pixels when asked (longer side at most `maxSize`, shorter side at
        least `minSize`)."""
        query = ImageQuery(id=id, min_size=min_size, max_size=max_size)
        try:
            reply = await bus.request(subjects.SEEN_IMAGE_GET, query, ImageReply)
        except NotFound:  # camera_ingest owns what cameras saw, the matcher members' faces
            reply = await bus.request(subjects.FACE_IMAGE, query, ImageReply)
        data = await blobs.unwrap(bus, reply.jpeg)
        await blobs.release(bus, reply.jpeg)
        return Response(content=data, media_type="image/jpeg")


SEEN_CONTROLLERS = [SeenFaceController, FrameController, TrackletController, CameraSeenController, ImageController]
