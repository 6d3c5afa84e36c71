"""/api/v1/VideoRecords: routed to camera_ingest, which owns the records and analyses them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put

from services.gateway.openapi import FACEGATE_TAG
from services.gateway.paging import paged
from services.gateway.problems import responses
from services.gateway.resources import check_camera
from services.gateway.seen import Guid
from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.common import ById, Page, PageQuery
from shared.messages.seen import Frame, FramePagedCollection, Tracklet, TrackletPagedCollection
from shared.messages.video_records import (
    RecordSeenQuery,
    TagsUpdate,
    VideoRecord,
    VideoRecordCreateRequest,
    VideoRecordStatus,
    VideoRecordTags,
    VideoRecordTagsUpdateRequest,
    VideoRecordUpdateRequest,
)


class VideoRecordController(Controller):
    path = "/api/v1/VideoRecords"
    tags = ["VideoRecord"]

    @get("/", responses=responses())
    async def list_video_records(self, bus: Bus) -> list[VideoRecord]:
        """Every video record (a plain array, as SmartFace answers)."""
        return await bus.request(subjects.VIDEO_RECORD_LIST, Empty(), list[VideoRecord])

    @post("/", status_code=201, responses=responses(413))
    async def create_video_record(self, data: VideoRecordCreateRequest, bus: Bus) -> VideoRecord:
        """Create a video record under a generated GUID (state Ready). `source`: a file in the
        ingest workers' video folder (FACEGATE_VIDEO_FOLDER; a path outside it is a 400) or an
        http(s):// or rtsp:// URL of a finite recording. If `enabled`, a camera_ingest replica
        starts analysing it within seconds, as fast as the workers allow."""
        check_camera(data)
        return await bus.request(subjects.VIDEO_RECORD_CREATE, data, VideoRecord)

    @put("/", status_code=200, responses=responses(404, 413))
    async def update_video_record(self, data: VideoRecordUpdateRequest, bus: Bus) -> VideoRecord:
        """Replace the record `id`. Enabling starts (or resumes) its analysis, disabling stops it
        (Ready, resumed where it stood when enabled again); a record in Error is Ready again."""
        check_camera(data)
        return await bus.request(subjects.VIDEO_RECORD_UPDATE, data, VideoRecord)

    @get("/{id:str}", responses=responses(404))
    async def get_video_record(self, id: Guid, bus: Bus) -> VideoRecord:
        """One video record."""
        return await bus.request(subjects.VIDEO_RECORD_GET, ById(id=id), VideoRecord)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_video_record(self, id: Guid, bus: Bus) -> None:
        """Delete a record and everything it produced (faces, frames, tracklets, images, match
        results); its analysis stops."""
        await bus.request(subjects.VIDEO_RECORD_DELETE, ById(id=id), Empty)

    @get("/{id:str}/Tracklets", responses=responses(404))
    async def video_record_tracklets(
        self, id: Guid, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> TrackletPagedCollection:
        """The record's tracklets; `timeAppearedRelativeMs` is the offset in the video."""
        page = await bus.request(subjects.VIDEO_RECORD_TRACKLETS, RecordSeenQuery(id=id, page=paging), Page[Tracklet])
        return paged(TrackletPagedCollection, request, paging, page)

    @get("/{id:str}/Frames", responses=responses(404))
    async def video_record_frames(
        self, id: Guid, request: Request[Any, Any, Any], bus: Bus, paging: PageQuery
    ) -> FramePagedCollection:
        """The record's stored frames; `positionInMs` is the offset in the video."""
        page = await bus.request(subjects.VIDEO_RECORD_FRAMES, RecordSeenQuery(id=id, page=paging), Page[Frame])
        return paged(FramePagedCollection, request, paging, page)

    @post("/{id:str}/Clear", status_code=204, responses=responses(404))
    async def clear_video_record(self, id: Guid, bus: Bus) -> None:
        """Remove everything the record produced; it is Ready (and disabled) again: enable it to
        analyse it anew."""
        await bus.request(subjects.VIDEO_RECORD_CLEAR, ById(id=id), Empty)

    @put("/{id:str}/Tags", status_code=200, responses=responses(404, 413))
    async def set_video_record_tags(self, id: Guid, data: VideoRecordTagsUpdateRequest, bus: Bus) -> VideoRecordTags:
        """Replace the record's tags."""
        return await bus.request(subjects.VIDEO_RECORD_TAGS_SET, TagsUpdate(id=id, tags=data.tags), VideoRecordTags)

    @get("/{id:str}/Tags", responses=responses(404))
    async def get_video_record_tags(self, id: Guid, bus: Bus) -> VideoRecordTags:
        """The record's tags."""
        return await bus.request(subjects.VIDEO_RECORD_TAGS_GET, ById(id=id), VideoRecordTags)

    @get("/{id:str}/Status", tags=[FACEGATE_TAG], responses=responses(404))
    async def video_record_status(self, id: Guid, bus: Bus) -> VideoRecordStatus:
        """Facegate addition: where the analysis stands (state, the reason of an Error, the
        replica analysing it, position in the video, frames analysed, speed as a multiple of
        real time). SmartFace's VideoRecord has no such fields."""
        return await bus.request(subjects.VIDEO_RECORD_STATUS, ById(id=id), VideoRecordStatus)
