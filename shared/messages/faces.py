"""Detection and extraction: the detector's and the extractor's requests and replies.

Field names follow SmartFace (`faceDetectorConfig`, `faceFeaturesConfig`, `minFaceSize`,
`confidenceThreshold` 0..10000, liveness 0..100) in snake_case here; the gateway renders them
camelCase. Templates travel as float32 bytes (L2-normalised), face crops as JPEG bytes.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from shared.blobs import Blob

Score10k = Annotated[int, msgspec.Meta(ge=0, le=10000)]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in image pixels


class FaceDetectorConfig(msgspec.Struct, frozen=True, kw_only=True):
    """SmartFace FaceDetectorConfig: face sizes in photo pixels (twice the distance between the
    eye centres, about the face's width), confidence on 0..10000 (a floor of 5000 applies:
    docs/models.md)."""

    min_face_size: Annotated[int, msgspec.Meta(ge=0)] = 35
    max_face_size: Annotated[int, msgspec.Meta(ge=0)] = 600
    max_faces: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20
    confidence_threshold: Score10k = 450


class FaceFeaturesConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Which face features to compute (SmartFace FaceFeaturesConfig, plus liveness)."""

    age: bool = True
    gender: bool = True
    face_mask: bool = True
    yaw_angle: bool = True
    pitch_angle: bool = True
    roll_angle: bool = True
    sharpness: bool = True
    brightness: bool = True
    template: bool = True
    distant_liveness: bool = False
    nearby_liveness: bool = False
    # SmartFace FaceMaskConfidenceRequest.faceMaskThreshold (0..10000).
    face_mask_threshold: Score10k = 3000


class Point(msgspec.Struct, frozen=True, array_like=True):
    x: float
    y: float


class Landmarks(msgspec.Struct, frozen=True, kw_only=True):
    """Five points in photo pixels. Left and right as seen in the photo (the subject's right
    eye is `left_eye`), the InsightFace/ArcFace order."""

    left_eye: Point
    right_eye: Point
    nose_tip: Point
    mouth_left: Point
    mouth_right: Point


class Pose(msgspec.Struct, frozen=True, kw_only=True):
    """Head rotation in degrees; 0, 0, 0 faces the camera upright."""

    yaw: float
    pitch: float
    roll: float


class DetectRequest(msgspec.Struct, frozen=True, kw_only=True):
    """rpc.detector.faces.detect: one encoded image (JPEG, PNG, BMP, WebP, TIFF), inline or by
    reference to the blob store when larger than a NATS message (shared.blobs.wrap).
    `regions` (x0, y0, x1, y1 in image pixels) narrows the search to those areas (a camera's
    frame between two whole-frame detections: services/camera_ingest/regions.py); empty: the
    whole image. `region_face_sizes`, one per region (or none): the smallest face (px) to look for
    there where more than minFaceSize (a tracked face's region is read coarser)."""

    image: Blob
    face_detector_config: FaceDetectorConfig = FaceDetectorConfig()
    include_crops: bool = True
    regions: list[Box] = []
    region_face_sizes: list[Annotated[float, msgspec.Meta(ge=0)]] = []


class DetectedFace(msgspec.Struct, frozen=True, kw_only=True):
    """One face, largest first in a DetectResponse (`face_order` 1..n).

    `box` is (x0, y0, x1, y1) in photo pixels; `crop_corners` the four corners (left-top,
    right-top, left-bottom, right-bottom) of the rotated square the crop was cut from.
    `crop` is the aligned face chip the extractor reads: JPEG, 224x224, dlib's mean face with
    padding 0.5 (shared.imaging.CROP_SIZE, CROP_PADDING), empty when not asked for.
    """

    face_order: int
    box: tuple[float, float, float, float]
    crop_corners: tuple[Point, Point, Point, Point]
    landmarks: Landmarks
    confidence: Score10k
    face_size: float
    face_area: float
    pose: Pose
    sharpness: Score10k
    brightness: Score10k
    quality: Score10k
    crop: bytes = b""
    # The photo's corners (left-top, right-top, left-bottom, right-bottom) in the crop's pixels:
    # where the crop holds the photo and where only replicated border (the extractor's liveness
    # checks refuse a face too close to the photo's edge). None from an older detector.
    photo_in_crop: tuple[Point, Point, Point, Point] | None = None


class CropGeometry(msgspec.Struct, frozen=True, kw_only=True):
    """What the extractor cannot see in a crop: the face's size in the photo and where the
    photo ends (DetectedFace.face_size and .photo_in_crop)."""

    face_size: float
    photo_in_crop: tuple[Point, Point, Point, Point]


def crop_geometry(faces: list[DetectedFace]) -> list[CropGeometry]:
    """ExtractRequest.geometry for `faces`: their sizes and photo borders, for the extractor's
    liveness checks (empty when the detector did not give them: the checks are not limited)."""
    geometry = [CropGeometry(face_size=f.face_size, photo_in_crop=f.photo_in_crop) for f in faces if f.photo_in_crop]
    return geometry if len(geometry) == len(faces) else []


class DetectResponse(msgspec.Struct, frozen=True, kw_only=True):
    width: int
    height: int
    faces: list[DetectedFace]
    detector: str  # the models that found the faces: "retinaface@0.1.0+facemesh@3.0.4"
    # Faces that were found but turned away by the request's faceDetectorConfig, one reason
    # each ("a face 312 px wide, under minFaceSize 400"): what a 422 tells the caller.
    rejected: list[str] = []


class ExtractRequest(msgspec.Struct, frozen=True, kw_only=True):
    """rpc.extractor.faces.extract: aligned crops from the detector, all run in one batch."""

    crops: list[bytes]
    face_features_config: FaceFeaturesConfig = FaceFeaturesConfig()
    # One per crop when known: liveness is then not guessed on a face too small or too close
    # to the photo's border (a score of None with its reason instead). Empty: no such check.
    geometry: list[CropGeometry] = []


class ExtractedFace(msgspec.Struct, frozen=True, kw_only=True):
    """Features of one crop, in the order of the request's crops; None where not asked."""

    template: bytes | None = None  # float32, L2-normalised
    template_model: str = ""  # "<model name>@<version>" that made the template
    template_quality: Score10k | None = None
    age: float | None = None
    gender: Literal["Male", "Female"] | None = None
    gender_confidence: Score10k | None = None  # probability of `gender`, 5000..10000
    face_mask_status: Literal["Unknown", "Mask", "NoMask"] = "Unknown"
    face_mask_confidence: Score10k | None = None
    distant_liveness: float | None = None  # 0..100
    nearby_liveness: float | None = None  # 0..100
    # Why a liveness check that was asked for could not be made on this face (its score None).
    distant_liveness_reason: str | None = None
    nearby_liveness_reason: str | None = None


class ExtractResponse(msgspec.Struct, frozen=True, kw_only=True):
    faces: list[ExtractedFace]


class ModelInfo(msgspec.Struct, frozen=True, kw_only=True):
    """rpc.extractor.model.info (request: shared.bus.Empty): what the extractor makes now."""

    template_model: str  # "<name>@<version>", as in ExtractedFace.template_model
    template_dimension: int
    providers: list[str]


class FaceFields(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a stored face keeps of its analysis (SmartFace `Face` fields that are not
    bookkeeping, snake_case as stored in jsonb): member faces in the matcher, camera faces in
    camera_ingest (those also fill the camera-only fields). Built by shared.face_fields."""

    crop_left_top_x: float
    crop_left_top_y: float
    crop_right_top_x: float
    crop_right_top_y: float
    crop_left_bottom_x: float
    crop_left_bottom_y: float
    crop_right_bottom_x: float
    crop_right_bottom_y: float
    quality: int
    left_eye_x: float
    left_eye_y: float
    right_eye_x: float
    right_eye_y: float
    face_area: float
    size: float
    face_order: int
    yaw_angle: float | None  # None where the Setup's Features switch it off
    pitch_angle: float | None  # None where the Setup's Features switch it off
    roll_angle: float | None  # None where the Setup's Features switch it off
    sharpness: float | None  # None where the Setup's Features switch it off
    brightness: float | None  # None where the Setup's Features switch it off
    template_quality: int | None = None
    age: float | None = None
    gender: float | None = None  # the probability that the face is female (0 male .. 1 female)
    face_mask_confidence: float | None = None
    face_mask_status: str = "Unknown"
    # Camera faces only.
    state: str | None = None  # "Extracted", or "New" when left out of extraction
    type: str | None = None
    faces_on_frame_count: int | None = None
    face_area_change: float | None = None
    # No shipped model fills these (docs/models.md).
    nose_tip_confidence: float | None = None
    tinted_glasses: bool | None = None
    heavy_frame: bool | None = None
    glass_status: str | None = None
    autolearn_cluster_type: str | None = None
