"""Pedestrians and objects: the detector's `bodies` request and reply (rpc.detector.bodies.detect).

Field names follow SmartFace's detector configs (`minPedestrianSize`, `maxObjects`,
`confidenceThreshold` 0..10000) in snake_case here. Sizes are the box's longer side in image
pixels; boxes are (x0, y0, x1, y1) in image pixels; crops travel as JPEG bytes.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from shared.blobs import Blob

Score10k = Annotated[int, msgspec.Meta(ge=0, le=10000)]
Size = Annotated[float, msgspec.Meta(ge=0)]
Count = Annotated[int, msgspec.Meta(ge=1, le=1000)]

# SmartFace's object types (ObjectTypesForDetection, in its order; `genericObjectType` is the
# 1-based index here), each one COCO class of the object detector.
OBJECT_TYPES: tuple[str, ...] = (
    "car", "bus", "truck", "motorcycle", "bicycle", "boat", "airplane", "train", "bird", "cat", "dog",
    "horse", "sheep", "cow", "bear", "elephant", "giraffe", "zebra", "suitcase", "backpack", "handbag",
    "umbrella", "knife",
)  # fmt: skip

# COCO keypoint order (MoveNet's): nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles;
# "left" is the subject's left, as SmartFace's earLeftX... name them.
KEYPOINTS: tuple[str, ...] = (
    "nose", "eyeLeft", "eyeRight", "earLeft", "earRight", "shoulderLeft", "shoulderRight", "elbowLeft",
    "elbowRight", "wristLeft", "wristRight", "hipLeft", "hipRight", "kneeLeft", "kneeRight", "ankleLeft",
    "ankleRight",
)  # fmt: skip


def object_type_number(name: str) -> int:
    """SmartFace's `genericObjectType` of a type name (1-based in OBJECT_TYPES)."""
    return OBJECT_TYPES.index(name) + 1


class PedestrianDetectorConfig(msgspec.Struct, frozen=True, kw_only=True):
    """SmartFace PedestrianDetectorConfig: sizes (the box's longer side) in image pixels."""

    min_pedestrian_size: Size = 80
    max_pedestrian_size: Size = 2000
    max_pedestrians: Count = 20
    confidence_threshold: Score10k = 2500


class ObjectDetectorConfig(msgspec.Struct, frozen=True, kw_only=True):
    """SmartFace ObjectDetectorConfig; `types` are the OBJECT_TYPES asked for (empty: all)."""

    min_object_size: Size = 40
    max_object_size: Size = 2000
    max_objects: Count = 20
    confidence_threshold: Score10k = 5000
    types: tuple[str, ...] = ()


class Keypoint(msgspec.Struct, frozen=True, array_like=True):
    """A body point in image pixels and the model's confidence in it (0..1)."""

    x: float
    y: float
    score: float


class DetectedPedestrian(msgspec.Struct, frozen=True, kw_only=True):
    order: int  # 1 = largest
    box: tuple[float, float, float, float]
    confidence: int  # 0..10000
    size: float
    keypoints: list[Keypoint]  # KEYPOINTS order
    crop: bytes = b""


class DetectedObject(msgspec.Struct, frozen=True, kw_only=True):
    type: str  # one of OBJECT_TYPES
    order: int  # 1 = largest of its type
    box: tuple[float, float, float, float]
    confidence: int
    size: float
    crop: bytes = b""


class BodiesRequest(msgspec.Struct, frozen=True, kw_only=True):
    """rpc.detector.bodies.detect: one encoded image (inline or by blob reference); pedestrians
    and/or objects, each only when its config is given."""

    image: Blob
    pedestrians: PedestrianDetectorConfig | None = None
    objects: ObjectDetectorConfig | None = None
    include_crops: bool = False


class BodiesResponse(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    pedestrians: list[DetectedPedestrian] = []
    objects: list[DetectedObject] = []
    detector: str = ""
