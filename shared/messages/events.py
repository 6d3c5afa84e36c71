"""Camera events for outside subscribers, field for field as SmartFace's notification DTOs
(../shared/design/events.md): camelCase JSON, ISO 8601 UTC times, ids as strings, nulls kept.

Each travels on `facegate.evt.<entity>.<verb>.<cameraId>` with SmartFace's ZeroMQ topic in the
`SmartFace-Topic` header, so a bridge to another transport needs no table. docs/asyncapi.yaml
documents them; deploy/examples/subscribe_events.py prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import msgspec

from shared import subjects

TOPIC_HEADER = "SmartFace-Topic"


@dataclass(frozen=True)
class CameraEventKind:
    """An event about what a camera saw: its subjects (shared/subjects.py) and the SmartFace
    topic it answers to."""

    event: subjects.Event
    topic: str


FACE_CREATED = CameraEventKind(subjects.FACE_CREATED, "faces.insert")
FACE_EXTRACTED = CameraEventKind(subjects.FACE_EXTRACTED, "faces.extracted")
MATCH_FOUND = CameraEventKind(subjects.MATCH_FOUND, "matchResults.match")
MATCH_MISSED = CameraEventKind(subjects.MATCH_MISSED, "matchResults.nomatch")
MATCH_STORED = CameraEventKind(subjects.MATCH_STORED, "matchResults.match.insert")
LIVENESS_RESULT = CameraEventKind(subjects.LIVENESS_RESULT, "liveness.result")
TRACKLET_COMPLETED = CameraEventKind(subjects.TRACKLET_COMPLETED, "tracklets.completed")
CAMERA_EVENT_KINDS = (
    FACE_CREATED, FACE_EXTRACTED, MATCH_FOUND, MATCH_MISSED, MATCH_STORED, LIVENESS_RESULT, TRACKLET_COMPLETED,
)  # fmt: skip

FaceType = Literal["Regular", "AutoLearn"]
FaceState = Literal["New", "Extracting", "Extracted", "Error"]
FaceMaskStatus = Literal["Unknown", "Mask", "NoMask"]
MatchResultType = Literal["MATCH", "NO_MATCH"]


def subject(kind: CameraEventKind, camera_id: str) -> str:
    """The subject of one camera's event of `kind`."""
    return kind.event.subject(camera_id)


def headers(kind: CameraEventKind) -> dict[str, str]:
    """The event's headers: its SmartFace topic."""
    return {TOPIC_HEADER: kind.topic}


class MemberLabel(msgspec.Struct, frozen=True, rename="camel"):
    key: str | None
    value: str | None


class LivenessSpoofCheck(msgspec.Struct, frozen=True, rename="camel"):
    performed: bool
    passed: bool
    score: float


class SpoofCheck(msgspec.Struct, frozen=True, rename="camel"):
    performed: bool
    passed: bool
    body_parts_spoof_check: None = None
    distant_liveness_spoof_check: LivenessSpoofCheck | None = None
    nearby_liveness_spoof_check: LivenessSpoofCheck | None = None
    external_spoof_check: None = None


class LivenessResultNotification(msgspec.Struct, frozen=True, rename="camel"):
    """liveness.result: the spoof check of a stored camera face, when the camera's
    spoofDetectorResourceIds ask for one (SmartFace publishes no schema: the REST SpoofCheck
    answer's fields plus the face). A check the camera does not ask for is null."""

    face_id: str
    tracklet_id: str
    stream_id: str
    performed: bool
    passed: bool
    distant_liveness_spoof_check: LivenessSpoofCheck | None
    nearby_liveness_spoof_check: LivenessSpoofCheck | None


class FaceCreatedNotification(msgspec.Struct, frozen=True, rename="camel"):
    """faces.insert: a face a camera saw was stored."""

    type: FaceType
    state: FaceState
    created_at: datetime
    updated_at: datetime | None
    left_eye_x: float | None
    left_eye_y: float | None
    right_eye_x: float | None
    right_eye_y: float | None
    age: float | None
    gender: float | None
    face_mask_confidence: float | None
    nose_tip_confidence: float | None
    face_mask_status: FaceMaskStatus
    yaw_angle: float | None
    pitch_angle: float | None
    roll_angle: float | None
    brightness: float | None
    sharpness: float | None
    tinted_glasses: float | None
    heavy_frame: float | None
    glass_status: float | None
    face_area: float | None
    face_order: int | None
    faces_on_frame_count: int | None
    face_area_change: float
    id: str
    image_data_id: str | None
    quality: int
    crop_left_top_x: float
    crop_left_top_y: float
    crop_right_top_x: float
    crop_right_top_y: float
    crop_left_bottom_x: float
    crop_left_bottom_y: float
    crop_right_bottom_x: float
    crop_right_bottom_y: float
    size: float
    area_on_frame: float | None
    object_order_on_frame_for_type: int | None
    objects_on_frame_count_for_type: int | None
    tracklet_id: str
    frame_id: str
    stream_id: str | None
    processed_at: datetime | None


class FaceExtractedNotification(msgspec.Struct, frozen=True, rename="camel"):
    """faces.extracted: the stored face has its template and attributes."""

    id: str
    type: FaceType
    tracklet_id: str
    stream_id: str | None
    frame_id: str
    state: FaceState
    image_data_id: str | None
    created_at: datetime
    updated_at: datetime | None
    processed_at: datetime | None
    crop_left_top_x: float
    crop_left_top_y: float
    crop_right_top_x: float
    crop_right_top_y: float
    crop_left_bottom_x: float
    crop_left_bottom_y: float
    crop_right_bottom_x: float
    crop_right_bottom_y: float
    left_eye_x: float | None
    left_eye_y: float | None
    right_eye_x: float | None
    right_eye_y: float | None
    quality: int
    template_quality: int | None
    age: float | None
    gender: float | None
    face_mask_confidence: float | None
    nose_tip_confidence: float | None
    face_mask_status: FaceMaskStatus
    yaw_angle: float | None
    pitch_angle: float | None
    roll_angle: float | None
    face_area: float | None
    size: float
    face_order: int | None
    faces_on_frame_count: int | None
    face_area_change: float
    brightness: float | None
    sharpness: float | None
    tinted_glasses: float | None
    heavy_frame: float | None
    glass_status: float | None


class MatchResultFields(msgspec.Struct, frozen=True, rename="camel"):
    """What every match result payload (nomatch, match, match.insert) says about the face."""

    id: str
    type: MatchResultType
    stream_id: str
    frame_id: str | None
    client_id: str | None
    face_area: float
    face_size: float
    face_order: int
    faces_on_frame_count: int
    face_area_change: float
    face_mask_confidence: float | None
    nose_tip_confidence: float | None
    face_mask_status: FaceMaskStatus
    created_at: datetime
    updated_at: datetime | None
    processed_at: datetime | None
    tracklet_id: str
    face_id: str
    template_quality: int
    yaw_angle: float | None
    pitch_angle: float | None
    roll_angle: float | None
    brightness: float | None
    sharpness: float | None
    tinted_glasses: float | None
    heavy_frame: float | None
    glass_status: float | None
    face_quality: int
    age: float | None
    gender: float | None


class NoMatchResultNotification(MatchResultFields, frozen=True, rename="camel"):
    """matchResults.nomatch: a tracklet ended without matching any watchlist member."""

    crop_image: bytes | None  # JPEG; base64 in JSON
    trace_operation_name: str | None
    frame_timestamp_microseconds: int
    left_eye_x: float
    left_eye_y: float
    right_eye_x: float
    right_eye_y: float


class MatchResultInsert(MatchResultFields, frozen=True, rename="camel"):
    """matchResults.match.insert (SmartFace's MatchResultInsertDTO): a match result was stored;
    `id` is the id of the match.found event it stores."""

    score: int
    watchlist_member_id: str | None
    watchlist_member_full_name: str | None
    watchlist_member_display_name: str | None
    watchlist_id: str | None
    watchlist_full_name: str | None
    watchlist_display_name: str | None
    preview_color: str | None
    labels: list[MemberLabel] | None


class MatchResultNotification(MatchResultInsert, frozen=True, rename="camel"):
    """matchResults.match: a tracklet was identified as a watchlist member (once per tracklet
    and member); the stored result's fields and these."""

    crop_image: bytes | None  # JPEG; base64 in JSON; null when the member's privacy says so
    spoof_check: SpoofCheck | None
    trace_operation_name: str | None
    frame_timestamp_microseconds: int
    left_eye_x: float
    left_eye_y: float
    right_eye_x: float
    right_eye_y: float


class TrackletCompletedNotification(msgspec.Struct, frozen=True, rename="camel"):
    """tracklets.completed: no face of the tracklet was seen for the tracklet timeout."""

    scope_id: str  # SmartFace's scope of the tracklet: for a camera, the camera id
    created_at: datetime
    updated_at: datetime
    time_appeared: datetime
    time_disappeared: datetime
    time_appeared_relative_ms: int
    time_disappeared_relative_ms: int
    stream_id: str
    id: str
