"""Video records (recorded footage analysed as fast as the workers allow), field for field as
SmartFace's REST contract names them; their events (SmartFace's notification DTOs) and the bus
API of camera_ingest, which owns them.

A record's faces, frames and tracklets are stored as a camera's are, with the record's id as
their stream id (SmartFace's `streamId`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.messages.cameras import (
    Dimension,
    FaceDetectorConfigRequest,
    IntervalMs,
    JpegQuality,
    Name,
    Port,
    Source,
    Text,
    VideoFaceDetectorConfig,
)
from shared.messages.common import PageQuery
from shared.messages.gallery import NO_NUL

VideoState = Literal["Ready", "Processing", "Processed", "Error"]
# Candidates per face a record's search asks the matcher for (SmartFace's maxResultsCount).
MaxResults = Annotated[int, msgspec.Meta(ge=1, le=100)]
Bitrate = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Tags = Annotated[list[Tag], msgspec.Meta(max_length=1000)]


class VideoRecordMatchingConfig(msgspec.Struct, frozen=True, rename="camel"):
    match_detected_faces: bool
    max_results_count: int


class VideoRecordMatchingConfigCreateRequest(msgspec.Struct, frozen=True, rename="camel"):
    match_detected_faces: bool | None = None
    max_results_count: MaxResults | None = None


class VideoRecordMatchingConfigUpdateRequest(msgspec.Struct, frozen=True, rename="camel"):
    match_detected_faces: bool
    max_results_count: MaxResults


class VideoRecordOptions(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """The optional fields of a create and an update request, alike in both."""

    recorded_at: datetime | None = None
    face_detector_resource_id: Text | None = None
    template_generator_resource_id: Text | None = None
    track_motion_optimization: Text | None = None
    face_save_strategy: Text | None = None
    mpe_g1_preview_enabled: bool | None = None
    mpe_g1_preview_port: Port | None = None
    mpe_g1_video_bitrate: Bitrate | None = None
    preview_max_dimension: Dimension | None = None
    description: Text | None = None


class VideoRecordCreateRequest(VideoRecordOptions, frozen=True, rename="camel", kw_only=True):
    """POST /api/v1/VideoRecords. `null` for an optional field means its default
    (services/camera_ingest/video_config.py). `source`: a file under the ingest workers' video
    folder (FACEGATE_VIDEO_FOLDER, absolute or relative to it) or an http(s):// or rtsp:// URL
    of a finite recording."""

    name: Name
    source: Source
    enabled: bool | None = None
    face_detector_config: FaceDetectorConfigRequest | None = None
    redetection_time: IntervalMs | None = None
    template_generation_time: IntervalMs | None = None
    mask_image_path: Text | None = None
    save_frame_image_data: bool | None = None
    image_quality: JpegQuality | None = None
    matching_config: VideoRecordMatchingConfigCreateRequest | None = None


class VideoRecordUpdateRequest(VideoRecordOptions, frozen=True, rename="camel", kw_only=True):
    """PUT /api/v1/VideoRecords: replaces the record `id` (404 when unknown). Optional fields left
    out (or null) keep their stored value; `maskImagePath` is required and null clears it."""

    id: uuid.UUID
    name: Name
    source: Source
    enabled: bool
    face_detector_config: VideoFaceDetectorConfig
    redetection_time: IntervalMs
    template_generation_time: IntervalMs
    mask_image_path: Text | None
    save_frame_image_data: bool
    image_quality: JpegQuality
    matching_config: VideoRecordMatchingConfigUpdateRequest | None = None


class VideoRecordSettings(msgspec.Struct, frozen=True, rename="camel"):
    """What a record's analysis uses and echoes, stored as JSON in `video_records.config`: a
    camera's face settings (the same names and shapes as `Camera`'s) and the record's matching."""

    face_detector_config: VideoFaceDetectorConfig
    face_detector_resource_id: str
    template_generator_resource_id: str
    redetection_time: int
    template_generation_time: int
    track_motion_optimization: str
    face_save_strategy: str
    mask_image_path: str | None
    save_frame_image_data: bool
    image_quality: int
    mpe_g1_preview_enabled: bool
    mpe_g1_preview_port: int
    mpe_g1_video_bitrate: int
    preview_max_dimension: int
    matching_config: VideoRecordMatchingConfig
    description: str | None


class VideoRecord(VideoRecordSettings, frozen=True, rename="camel"):
    """A video record as SmartFace answers it: every field present (its settings, then the
    record's own fields)."""

    state: VideoState
    id: uuid.UUID
    name: str
    source: str
    recorded_at: datetime
    video_duration_ms: int | None
    enabled: bool
    processing_start_time: datetime | None
    processing_duration_ms: int | None


class VideoRecordTags(msgspec.Struct, frozen=True, rename="camel"):
    id: uuid.UUID
    tags: list[str]


class VideoRecordTagsUpdateRequest(msgspec.Struct, frozen=True, rename="camel"):
    tags: Tags


class VideoRecordStatus(msgspec.Struct, frozen=True, rename="camel"):
    """Facegate's addition (GET /api/v1/VideoRecords/{id}/Status): where the analysis stands.

    `reason` says why the record is in `Error` (missing file, not a video, truncated...);
    `positionMs` is how far the analysis got in the video, `resumeMs` where another replica
    would resume it (every tracklet that appeared before it is complete); `owner` is the
    camera_ingest replica analysing it. `speed` is video time analysed per second of processing
    (10 = ten times real time) over the current run."""

    video_record_id: str
    state: VideoState
    enabled: bool
    reason: str | None
    owner: str | None
    position_ms: int
    resume_ms: int
    video_duration_ms: int | None
    frames_analysed: int
    speed: float | None
    updated_at: datetime | None


# --- the bus API of camera_ingest ---


class TagsUpdate(msgspec.Struct, frozen=True):
    id: str
    tags: list[str]


class RecordSeenQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A page of one record's tracklets or frames."""

    id: str
    page: PageQuery = PageQuery()


# --- events (SmartFace's DTOs, ../shared/design/events.md) ---

VideoStateEnum = Literal["READY", "PROCESSING", "PROCESSED", "ERROR"]
ProgressStatus = Literal["PROCESSING", "READY"]


def state_enum(state: VideoState) -> VideoStateEnum:
    """The REST state as SmartFace's notifications (its GraphQL enum) write it."""
    return state.upper()  # type: ignore[return-value]


class VideoRecordNotificationStateChanged(msgspec.Struct, frozen=True, rename="camel"):
    """videoRecords.update: a record was created or changed, or its analysis changed state."""

    id: str
    state: VideoStateEnum
    created_at: datetime
    updated_at: datetime | None


class ProgressMessage(msgspec.Struct, frozen=True, rename="camel"):
    """The analysis of a record went on: `numNewFrames` sampled frames analysed since the last
    message, about `numUnprocFrames` still to analyse; `READY` once it is done."""

    id: str
    num_new_frames: int
    num_unproc_frames: int
    status: ProgressStatus


class VideoRecordDeleted(msgspec.Struct, frozen=True, rename="camel"):
    """Facegate: a record was deleted (with what it produced)."""

    id: str
