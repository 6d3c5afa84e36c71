"""/api/v1/RecordGroupings and /api/v1/LiveGroupings: routed to the grouping service, which owns
groupings and their individuals. An uploaded image is analysed here (shared.analysis), as every
image the REST edge receives, then handed over."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter

from services.gateway import grouping_faces
from services.gateway.paging import paged
from services.gateway.problems import responses
from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.cameras import Camera
from shared.messages.common import Page, PageQuery
from shared.messages.edge_streams import EdgeStream
from shared.messages.grouping import (
    DEFAULT_THRESHOLD,
    GUID,
    GroupingConfig,
    GroupingKind,
    GroupingLink,
    GroupingList,
    GroupingPageQuery,
    GroupingRecord,
    GroupingRef,
    GroupingState,
    GroupingWrite,
    Individual,
    IndividualPagedCollection,
    InputKind,
    LinkInputRequest,
    LiveGrouping,
    LiveGroupingConfig,
    LiveGroupingCreateRequest,
    LiveGroupingStreams,
    LiveGroupingUpdateRequest,
    RecordGrouping,
    RecordGroupingConfig,
    RecordGroupingCreateRequest,
    RecordGroupingUpdateRequest,
    UploadedImageRequest,
    UploadedImageResponse,
)
from shared.messages.seen import Frame, FramePagedCollection
from shared.messages.video_records import VideoRecord

# SmartFace types grouping ids as GUIDs: one that is not a GUID is refused (a 400, or a 404 where
# SmartFace declares no 400: services/gateway/statuses.py); a GUID that names none is 404.
GroupingId = Annotated[
    str, Parameter(pattern=GUID, max_length=40, schema_extra={"format": "uuid"}, description="id of the grouping")
]


def live_grouping(record: GroupingRecord) -> LiveGrouping:
    c = record.config
    config = LiveGroupingConfig(enabled=c.enabled, step=c.step_s, sliding_window=c.window_s, threshold=c.threshold)
    return LiveGrouping(config=config, id=record.id, description=record.description)


def record_grouping(record: GroupingRecord) -> RecordGrouping:
    return RecordGrouping(
        config=RecordGroupingConfig(threshold=record.config.threshold), id=record.id, description=record.description
    )


async def fetch(bus: Bus, kind: GroupingKind, grouping_id: str) -> GroupingRecord:
    """A grouping of `kind` (404 when there is none)."""
    return await bus.request(subjects.GROUPING_GET, GroupingRef(kind=kind, id=grouping_id), GroupingRecord)


async def link(bus: Bus, kind: GroupingKind, grouping_id: str, inputs: InputKind, ids: list[str], on: bool) -> None:
    request = GroupingLink(kind=kind, id=grouping_id, input_kind=inputs, ids=ids, link=on)
    await bus.request(subjects.GROUPING_LINK, request, Empty)


async def individuals_page(
    bus: Bus, request: Request[Any, Any, Any], kind: GroupingKind | None, grouping_id: str | None, query: PageQuery
) -> IndividualPagedCollection:
    """A page of individuals: of one grouping (404 for an unknown one), or all."""
    ref = GroupingRef(kind=kind, id=grouping_id) if kind is not None and grouping_id is not None else None
    page = await bus.request(subjects.INDIVIDUAL_LIST, GroupingPageQuery(grouping=ref, page=query), Page[Individual])
    return paged(IndividualPagedCollection, request, query, page)


async def frames_page(
    bus: Bus, request: Request[Any, Any, Any], kind: GroupingKind, grouping_id: str, query: PageQuery
) -> FramePagedCollection:
    ref = GroupingRef(kind=kind, id=grouping_id)
    page = await bus.request(subjects.GROUPING_FRAMES, GroupingPageQuery(grouping=ref, page=query), Page[Frame])
    return paged(FramePagedCollection, request, query, page)


async def linked_cameras(bus: Bus, grouping_id: str) -> list[Camera]:
    """The cameras linked to a live grouping (404 for an unknown grouping)."""
    record = await fetch(bus, "live", grouping_id)
    linked = set(record.inputs.get("camera", []))
    if not linked:
        return []
    return [c for c in await bus.request(subjects.CAMERA_LIST, Empty(), list[Camera]) if str(c.id) in linked]


async def linked_edge_streams(bus: Bus, grouping_id: str) -> list[EdgeStream]:
    """The edge streams linked to a live grouping (404 for an unknown grouping)."""
    record = await fetch(bus, "live", grouping_id)
    linked = set(record.inputs.get("edge_stream", []))
    if not linked:
        return []
    return [e for e in await bus.request(subjects.EDGE_STREAM_LIST, Empty(), list[EdgeStream]) if str(e.id) in linked]


async def linked_video_records(bus: Bus, grouping_id: str) -> list[VideoRecord]:
    """The video records linked to a record grouping (404 for an unknown grouping)."""
    record = await fetch(bus, "record", grouping_id)
    linked = set(record.inputs.get("video_record", []))
    if not linked:
        return []
    records = await bus.request(subjects.VIDEO_RECORD_LIST, Empty(), list[VideoRecord])
    return [r for r in records if str(r.id) in linked]


class RecordGroupingController(Controller):
    path = "/api/v1/RecordGroupings"
    tags = ["RecordGrouping"]

    @get("/", responses=responses())
    async def list_record_groupings(self, bus: Bus) -> list[RecordGrouping]:
        """Every record grouping (a plain array, as SmartFace answers)."""
        found = await bus.request(subjects.GROUPING_LIST, GroupingList(kind="record"), list[GroupingRecord])
        return [record_grouping(r) for r in found]

    @post("/", status_code=201, responses=responses(413))
    async def create_record_grouping(self, data: RecordGroupingCreateRequest, bus: Bus) -> RecordGrouping:
        """Create a record grouping (`threshold` 0..100, default 40: the score two sides of an
        individual reach on average); link video records or upload images, then Trigger."""
        threshold = data.config.threshold if data.config.threshold is not None else DEFAULT_THRESHOLD
        write = GroupingWrite(kind="record", description=data.description,
                              config=GroupingConfig(threshold=threshold))  # fmt: skip
        return record_grouping(await bus.request(subjects.GROUPING_CREATE, write, GroupingRecord))

    @put("/", status_code=200, responses=responses(404, 413))
    async def update_record_grouping(self, data: RecordGroupingUpdateRequest, bus: Bus) -> RecordGrouping:
        """Replace a record grouping's description and threshold (the next Trigger uses it;
        individuals made before stay as they are)."""
        write = GroupingWrite(kind="record", id=data.id, description=data.description,
                              config=GroupingConfig(threshold=data.config.threshold))  # fmt: skip
        return record_grouping(await bus.request(subjects.GROUPING_UPDATE, write, GroupingRecord))

    @get("/{groupingId:str}", responses=responses(404))
    async def get_record_grouping(self, groupingId: GroupingId, bus: Bus) -> RecordGrouping:
        """One record grouping."""
        return record_grouping(await fetch(bus, "record", groupingId))

    @delete("/{groupingId:str}", status_code=204, responses=responses(404, 409))
    async def delete_record_grouping(self, groupingId: GroupingId, bus: Bus) -> None:
        """Delete a record grouping with its individuals; 409 while it is being processed."""
        await bus.request(subjects.GROUPING_DELETE, GroupingRef(kind="record", id=groupingId), Empty)

    @get("/{groupingId:str}/VideoRecords", responses=responses(404))
    async def record_grouping_video_records(self, groupingId: GroupingId, bus: Bus) -> list[VideoRecord]:
        """The linked video records (a plain array, as SmartFace answers)."""
        return await linked_video_records(bus, groupingId)

    @get("/{groupingId:str}/Individuals", responses=responses(404))
    async def record_grouping_individuals(
        self, groupingId: GroupingId, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> IndividualPagedCollection:
        """The grouping's individuals, paged by creation time."""
        return await individuals_page(bus, request, "record", groupingId, paging)

    @get("/{groupingId:str}/Frames", responses=responses(404))
    async def record_grouping_frames(
        self, groupingId: GroupingId, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> FramePagedCollection:
        """The frames of the grouping's video records and uploaded images, paged by creation time."""
        return await frames_page(bus, request, "record", groupingId, paging)

    @post("/{groupingId:str}/Image", status_code=201, responses=responses(404, 408, 413, 422))
    async def upload_image(self, groupingId: GroupingId, data: UploadedImageRequest, bus: Bus) -> UploadedImageResponse:
        """Add an image: stored as a frame (its faces as tracklets of one face each), whose faces
        join the grouping at the next Trigger."""
        await fetch(bus, "record", groupingId)  # 404 before the image is analysed
        image = await grouping_faces.uploaded_image(bus, groupingId, data)
        try:
            return await bus.request(subjects.GROUPING_IMAGE, image, UploadedImageResponse)
        finally:
            await grouping_faces.release(bus, image)

    @get("/{groupingId:str}/State", responses=responses(404))
    async def record_grouping_state(self, groupingId: GroupingId, bus: Bus) -> GroupingState:
        """Processing while a run is wanted or in progress, else Ready; frames not grouped yet."""
        return await bus.request(subjects.GROUPING_STATE, GroupingRef(kind="record", id=groupingId), GroupingState)

    @post("/{groupingId:str}/Trigger", status_code=204, responses=responses(404))
    async def trigger(self, groupingId: GroupingId, bus: Bus) -> None:
        """Group what the linked material holds now; new tracklets join the existing individuals
        (or make new ones). The run happens in the background: State says when it is done."""
        await bus.request(subjects.GROUPING_TRIGGER, GroupingRef(kind="record", id=groupingId), Empty)

    @post("/{groupingId:str}/LinkVideoRecords", status_code=204, responses=responses(404, 413))
    async def link_video_records(self, groupingId: GroupingId, data: LinkInputRequest, bus: Bus) -> None:
        """Link video records (404 for one that does not exist)."""
        await link(bus, "record", groupingId, "video_record", data.ids, True)

    @post("/{groupingId:str}/UnlinkVideoRecords", status_code=204, responses=responses(404, 413))
    async def unlink_video_records(self, groupingId: GroupingId, data: LinkInputRequest, bus: Bus) -> None:
        """Unlink video records (their individuals stay)."""
        await link(bus, "record", groupingId, "video_record", data.ids, False)


class LiveGroupingController(Controller):
    path = "/api/v1/LiveGroupings"
    tags = ["LiveGrouping"]

    @get("/", responses=responses())
    async def list_live_groupings(self, bus: Bus) -> list[LiveGrouping]:
        """Every live grouping (a plain array, as SmartFace answers)."""
        found = await bus.request(subjects.GROUPING_LIST, GroupingList(kind="live"), list[GroupingRecord])
        return [live_grouping(r) for r in found]

    @post("/", status_code=201, responses=responses(413))
    async def create_live_grouping(self, data: LiveGroupingCreateRequest, bus: Bus) -> LiveGrouping:
        """Create a live grouping: while `enabled`, every `step` seconds the tracklets of its
        cameras from the last `slidingWindow` seconds join individuals (`threshold` 0..100)."""
        c, default = data.config, GroupingConfig()
        config = GroupingConfig(
            threshold=default.threshold if c.threshold is None else c.threshold,
            enabled=default.enabled if c.enabled is None else c.enabled,
            step_s=default.step_s if c.step is None else c.step,
            window_s=default.window_s if c.sliding_window is None else c.sliding_window,
        )
        write = GroupingWrite(kind="live", description=data.description, config=config)
        return live_grouping(await bus.request(subjects.GROUPING_CREATE, write, GroupingRecord))

    @put("/", status_code=200, responses=responses(404, 413))
    async def update_live_grouping(self, data: LiveGroupingUpdateRequest, bus: Bus) -> LiveGrouping:
        """Replace a live grouping's description and config (the next step uses it)."""
        c = data.config
        config = GroupingConfig(threshold=c.threshold, enabled=True if c.enabled is None else c.enabled,
                                step_s=c.step, window_s=c.sliding_window)  # fmt: skip
        write = GroupingWrite(kind="live", id=data.id, description=data.description, config=config)
        return live_grouping(await bus.request(subjects.GROUPING_UPDATE, write, GroupingRecord))

    @get("/{groupingId:str}", responses=responses(404))
    async def get_live_grouping(self, groupingId: GroupingId, bus: Bus) -> LiveGrouping:
        """One live grouping."""
        return live_grouping(await fetch(bus, "live", groupingId))

    @delete("/{groupingId:str}", status_code=204, responses=responses(404, 409))
    async def delete_live_grouping(self, groupingId: GroupingId, bus: Bus) -> None:
        """Delete a live grouping with its individuals; 409 while a step is being processed."""
        await bus.request(subjects.GROUPING_DELETE, GroupingRef(kind="live", id=groupingId), Empty)

    @get("/{groupingId:str}/Streams", responses=responses(404))
    async def live_grouping_streams(self, groupingId: GroupingId, bus: Bus) -> LiveGroupingStreams:
        """The linked cameras and edge streams."""
        cameras = await linked_cameras(bus, groupingId)
        return LiveGroupingStreams(cameras=cameras, edge_streams=await linked_edge_streams(bus, groupingId))

    @get("/{groupingId:str}/Cameras", responses=responses(404))
    async def live_grouping_cameras(self, groupingId: GroupingId, bus: Bus) -> list[Camera]:
        """The linked cameras."""
        return await linked_cameras(bus, groupingId)

    @get("/{groupingId:str}/Individuals", responses=responses(404))
    async def live_grouping_individuals(
        self, groupingId: GroupingId, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> IndividualPagedCollection:
        """The grouping's individuals, paged by creation time."""
        return await individuals_page(bus, request, "live", groupingId, paging)

    @get("/{groupingId:str}/Frames", responses=responses(404))
    async def live_grouping_frames(
        self, groupingId: GroupingId, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> FramePagedCollection:
        """The frames of the linked cameras, paged by creation time."""
        return await frames_page(bus, request, "live", groupingId, paging)

    @post("/{groupingId:str}/LinkStreams", status_code=204, responses=responses(404, 413))
    async def link_streams(self, groupingId: GroupingId, data: LinkInputRequest, bus: Bus) -> None:
        """Link edge streams (404 for one that does not exist); the next step groups their tracklets."""
        await link(bus, "live", groupingId, "edge_stream", data.ids, True)

    @post("/{groupingId:str}/UnlinkStreams", status_code=204, responses=responses(404, 413))
    async def unlink_streams(self, groupingId: GroupingId, data: LinkInputRequest, bus: Bus) -> None:
        """Unlink edge streams (their individuals stay)."""
        await link(bus, "live", groupingId, "edge_stream", data.ids, False)

    @post("/{groupingId:str}/LinkCameras", status_code=204, responses=responses(404, 413))
    async def link_cameras(self, groupingId: GroupingId, data: LinkInputRequest, bus: Bus) -> None:
        """Link cameras (404 for one that does not exist); the next step groups their tracklets."""
        await link(bus, "live", groupingId, "camera", data.ids, True)

    @post("/{groupingId:str}/UnlinkCameras", status_code=204, responses=responses(404, 413))
    async def unlink_cameras(self, groupingId: GroupingId, data: LinkInputRequest, bus: Bus) -> None:
        """Unlink cameras (their individuals stay)."""
        await link(bus, "live", groupingId, "camera", data.ids, False)


GROUPING_CONTROLLERS = [RecordGroupingController, LiveGroupingController]
