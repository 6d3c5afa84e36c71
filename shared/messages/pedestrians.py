"""Pedestrians and objects at the REST edge, field for field as SmartFace names them:
`POST /api/v1/Detect` (DetectionRequest, DetectionResponse) and the stored `Pedestrian`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.messages.cameras import ObjectDetectorConfigRequest, PedestrianDetectorConfigRequest
from shared.messages.identification import ImageData

ResourceId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
# SmartFace's pedestrian attributes (none computed by Facegate: `objectAttributes` is empty).
AttributeType = Literal[
    "Hat",
    "Glasses",
    "ShortSleeve",
    "LongSleeve",
    "UpperStripe",
    "UpperLogo",
    "UpperPlaid",
    "UpperSplice",
    "LowerStripe",
    "LowerPattern",
    "LongCoat",
    "Trousers",
    "Shorts",
    "SkirtOrDress",
    "Boots",
    "HandBag",
    "ShoulderBag",
    "Backpack",
    "HoldObjectsInFront",
    "IsSenior",
    "IsAdult",
    "IsChild",
    "IsMale",
    "IsFemale",
    "Front",
    "Side",
    "Back",
    "HatConfidence",
    "GlassesConfidence",
    "ShortSleeveConfidence",
    "LongSleeveConfidence",
    "UpperStripeConfidence",
    "UpperLogoConfidence",
    "UpperPlaidConfidence",
    "UpperSpliceConfidence",
    "LowerStripeConfidence",
    "LowerPatternConfidence",
    "LongCoatConfidence",
    "TrousersConfidence",
    "ShortsConfidence",
    "SkirtOrDressConfidence",
    "BootsConfidence",
    "HandBagConfidence",
    "ShoulderBagConfidence",
    "BackpackConfidence",
    "HoldObjectsInFrontConfidence",
    "IsSeniorConfidence",
    "IsAdultConfidence",
    "IsChildConfidence",
    "FemaleConfidence",
    "FrontConfidence",
    "SideConfidence",
    "BackConfidence",
]


class DetectionRequest(msgspec.Struct, frozen=True, rename="camel"):
    """POST /api/v1/Detect: the pedestrians and/or objects of one image ("none": not looked for)."""

    image: ImageData
    pedestrian_detector_resource_id: ResourceId = "none"
    object_detector_resource_id: ResourceId = "none"
    pedestrian_detector_config: PedestrianDetectorConfigRequest | None = None
    object_detector_config: ObjectDetectorConfigRequest | None = None
    include_crops: bool = False


class CropCoordinates(msgspec.Struct, frozen=True, rename="camel"):
    """A box's four corners in image pixels."""

    crop_left_top_x: float
    crop_left_top_y: float
    crop_right_top_x: float
    crop_right_top_y: float
    crop_left_bottom_x: float
    crop_left_bottom_y: float
    crop_right_bottom_x: float
    crop_right_bottom_y: float

    @classmethod
    def of(cls, box: tuple[float, float, float, float]) -> CropCoordinates:
        x0, y0, x1, y1 = box
        return cls(x0, y0, x1, y0, x0, y1, x1, y1)


class PedestrianInformation(msgspec.Struct, frozen=True, rename="camel"):
    pedestrian_order: int
    crop_image: bytes | None  # JPEG, base64 in JSON, when includeCrops
    quality: float  # the detector's confidence, 0..10000
    size: float  # the box's longer side, px
    crop_coordinates: CropCoordinates


class ObjectInformation(msgspec.Struct, frozen=True, rename="camel"):
    type: str | None  # SmartFace's type name: "car", "handbag", ... (shared/messages/bodies.py)
    object_order_on_frame_for_type: int
    crop_image: bytes | None
    quality: float
    size: float
    crop_coordinates: CropCoordinates


class DetectionResponse(msgspec.Struct, frozen=True, rename="camel"):
    pedestrians: list[PedestrianInformation]
    objects: list[ObjectInformation]


class ObjectAttribute(msgspec.Struct, frozen=True, rename="camel"):
    type: AttributeType
    float_value: float | None = None
    bool_value: bool | None = None


class Pedestrian(msgspec.Struct, frozen=True, rename="camel"):
    """A pedestrian a camera saw (one detection of a pedestrian tracklet)."""

    id: str
    tracklet_id: str
    frame_id: str
    stream_id: str | None
    image_data_id: str | None
    processed_at: datetime | None
    created_at: datetime
    updated_at: datetime | None
    quality: int
    crop_left_top_x: float
    crop_left_top_y: float
    crop_right_top_x: float
    crop_right_top_y: float
    crop_left_bottom_x: float
    crop_left_bottom_y: float
    crop_right_bottom_x: float
    crop_right_bottom_y: float
    area_on_frame: float | None
    size: float
    object_order_on_frame_for_type: int | None
    objects_on_frame_count_for_type: int | None
    poses: list[str]
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
    object_attributes: list[ObjectAttribute]


class PedestrianPagedCollection(msgspec.Struct, frozen=True, rename="camel"):
    total_items_count: int | None
    items: list[Pedestrian]
    page_size: int
    page_number: int
    previous_page: str | None
    next_page: str | None
