"""Pedestrian and object events of cameras, field for field as SmartFace's notification DTOs
(../shared/design/events.md: PedestrianInsertedNotificationDTO; GraphQL's
ObjectInsertNotificationDTO), on `facegate.evt.pedestrian.created.<cameraId>` and
`facegate.evt.object.created.<cameraId>` with SmartFace's topic in the `SmartFace-Topic` header."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from shared import subjects
from shared.messages.events import CameraEventKind

PEDESTRIAN_INSERTED = CameraEventKind(subjects.PEDESTRIAN_INSERTED, "pedestrians.insert")
OBJECT_INSERTED = CameraEventKind(subjects.OBJECT_INSERTED, "objects.insert")
BODY_EVENT_KINDS = (PEDESTRIAN_INSERTED, OBJECT_INSERTED)

HumanPose = Literal["UNSPECIFIED", "HANDS_IN_FRONT_OF_FACE"]


class ObjectAttributeNotification(msgspec.Struct, frozen=True, rename="camel"):
    type: str
    float_value: float | None = None
    bool_value: bool | None = None


class _Stored(msgspec.Struct, frozen=True, rename="camel", kw_only=True):
    """The fields a stored pedestrian's or object's notification has (as a face's has them, events.py)."""

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


class PedestrianInsertedNotification(_Stored, frozen=True, rename="camel", kw_only=True):
    """pedestrians.insert: a pedestrian a camera saw was stored (body points in frame pixels,
    null where the model does not see that part)."""

    pose: HumanPose
    ear_left_x: float | None
    ear_left_y: float | None
    ear_right_x: float | None
    ear_right_y: float | None
    eye_left_x: float | None
    eye_left_y: float | None
    eye_right_x: float | None
    eye_right_y: float | None
    nose_x: float | None
    nose_y: float | None
    neck_x: float | None
    neck_y: float | None
    shoulder_left_x: float | None
    shoulder_left_y: float | None
    shoulder_right_x: float | None
    shoulder_right_y: float | None
    elbow_left_x: float | None
    elbow_left_y: float | None
    elbow_right_x: float | None
    elbow_right_y: float | None
    wrist_left_x: float | None
    wrist_left_y: float | None
    wrist_right_x: float | None
    wrist_right_y: float | None
    hip_left_x: float | None
    hip_left_y: float | None
    hip_right_x: float | None
    hip_right_y: float | None
    knee_left_x: float | None
    knee_left_y: float | None
    knee_right_x: float | None
    knee_right_y: float | None
    ankle_left_x: float | None
    ankle_left_y: float | None
    ankle_right_x: float | None
    ankle_right_y: float | None
    object_attributes: list[ObjectAttributeNotification] | None


class ObjectInsertNotification(_Stored, frozen=True, rename="camel", kw_only=True):
    """objects.insert: an object a camera saw was stored; genericObjectType is the 1-based index of
    its type in SmartFace's ObjectTypesForDetection order (shared/messages/bodies.py)."""

    generic_object_type: int
