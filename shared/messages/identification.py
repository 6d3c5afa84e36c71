"""The identification API's REST shapes, field for field as SmartFace's contract names them:
registering members from photos, their faces, 1:N search, 1:1 verify, liveness, detection.

Images arrive base64 in JSON; msgspec decodes them into `bytes` (bad base64 is a 400 at the
gateway). Scales: `score`/`confidence` 0..100, detector `confidenceThreshold` 0..10000,
`faceMaskThreshold` 0..10000, liveness scores 0..100.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.messages.gallery import (
    MAX_WATCHLIST_IDS,
    Id,
    Label,
    Labels,
    Name,
    OptionalId,
    PrivacyData,
    PrivacySettings,
    Text,
    Threshold,
    Watchlist,
    WatchlistIds,
)

Pixels = Annotated[int, msgspec.Meta(ge=0, le=100_000)]
Confidence = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
ResourceId = Annotated[str, msgspec.Meta(max_length=64)]
GenderType = Literal["Male", "Female"]
FaceMaskStatus = Literal["Unknown", "Mask", "NoMask"]
FaceState = Literal["New", "Extracting", "Extracted", "Error"]
FaceType = Literal["Regular", "AutoLearn"]
FaceSelector = Literal["singleFaceOnly", "largestFace"]

# Search defaults: 450 is SmartFace's search confidence; 1450 is suggested for enrollment.
DEFAULT_MIN_FACE_SIZE = 35
DEFAULT_MAX_FACE_SIZE = 600
DEFAULT_MAX_FACES = 20
DEFAULT_CONFIDENCE_THRESHOLD = 450


class ImageData(msgspec.Struct, frozen=True, rename="camel"):
    data: bytes


class FaceDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    """Which faces count: size in pixels (eye distance based), at most `maxFaces`, and the
    detector confidence (0..10000) a face needs."""

    min_face_size: Pixels = DEFAULT_MIN_FACE_SIZE
    max_face_size: Pixels = DEFAULT_MAX_FACE_SIZE
    max_faces: Annotated[int, msgspec.Meta(ge=1, le=1000)] = DEFAULT_MAX_FACES
    confidence_threshold: Confidence = DEFAULT_CONFIDENCE_THRESHOLD


class FaceSearchDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    min_face_size: Pixels = DEFAULT_MIN_FACE_SIZE
    max_face_size: Pixels = DEFAULT_MAX_FACE_SIZE
    confidence_threshold: Confidence = DEFAULT_CONFIDENCE_THRESHOLD


class FaceFeaturesConfig(msgspec.Struct, frozen=True, rename="camel"):
    """`WatchlistSearchFaceFeaturesRequestConfig`: which face attributes to compute."""

    age: bool = True
    gender: bool = True
    face_mask: bool = True
    nose_tip: bool = True
    yaw_angle: bool = True
    pitch_angle: bool = True
    roll_angle: bool = True
    sharpness: bool = True
    brightness: bool = True
    tinted_glasses: bool = True
    heavy_frame: bool = True
    glass_status: bool = True


class FaceMaskConfidenceRequest(msgspec.Struct, frozen=True, rename="camel"):
    face_mask_threshold: Annotated[float, msgspec.Meta(ge=0, le=10_000)] = 3000


class SpoofCheckConfig(msgspec.Struct, frozen=True, rename="camel"):
    distant_liveness_score_threshold: Annotated[float, msgspec.Meta(ge=0, le=100)] = 90
    nearby_liveness_score_threshold: Annotated[float, msgspec.Meta(ge=0, le=100)] = 90
    distant_liveness_conditions: str | None = "default"
    nearby_liveness_conditions: str | None = "default"
    keep_evaluating_conditions_after_first_fail: bool = False


# Registration and faces of members.


class RegistrationImageData(msgspec.Struct, frozen=True, rename="camel"):
    data: bytes
    modality: Literal["Face"] | None = "Face"
    palm_side: str | None = "Unspecified"
    face_selector: FaceSelector | None = "singleFaceOnly"
    face_id: OptionalId | None = None
    palm_id: OptionalId | None = None


class RegisterWatchlistMemberRequest(msgspec.Struct, frozen=True, rename="camel"):
    images: Annotated[list[RegistrationImageData], msgspec.Meta(min_length=1, max_length=100)]
    watchlist_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=MAX_WATCHLIST_IDS)]
    id: OptionalId = ""  # empty: a GUID is generated
    face_detector_config: FaceDetectorConfig | None = None
    face_detector_resource_id: ResourceId | None = "cpu"
    template_generator_resource_id: ResourceId | None = "cpu"
    keep_auto_learn_photos: bool = False
    display_name: Name | None = None
    full_name: Name | None = None
    note: Text | None = None
    labels: Labels | None = None
    face_validation_mode: str | None = "predefined"
    privacy: PrivacySettings | None = None


class FaceRegistrationImageData(msgspec.Struct, frozen=True, rename="camel"):
    data: bytes
    face_id: OptionalId | None = None
    face_selector: FaceSelector | None = "singleFaceOnly"


class AddNewFaceRequest(msgspec.Struct, frozen=True, rename="camel"):
    image_data: FaceRegistrationImageData
    face_detector_config: FaceDetectorConfig | None = None
    face_detector_resource_id: ResourceId | None = "cpu"
    template_generator_resource_id: ResourceId | None = "cpu"
    face_validation_mode: str | None = "predefined"


class FaceWatchlistMemberRemoveRequest(msgspec.Struct, frozen=True, rename="camel"):
    face_id: Id


class FaceWatchlistMemberLinkingRequest(msgspec.Struct, frozen=True, rename="camel"):
    """AddFaceFromSystem: a face a camera stored becomes one of the member's faces."""

    face_id: Id
    face_validation_mode: Annotated[str, msgspec.Meta(min_length=1)] = "predefined"


# SmartFace's Face has no null trackletId or frameId (a client generated from its document reads
# them into non-nullable GUIDs); a member's registration face was seen by no camera, so its
# frameId is the nil GUID, which no frame ever has.
NO_CAMERA_RECORD = "00000000-0000-0000-0000-000000000000"
MEMBER_TRACKLET_SALT = "facegate-member-tracklet:"


def member_tracklet_id(member_id: str) -> str:
    """The tracklet holding a member's faces: SmartFace gives every member one
    (`WatchlistMember.trackletId` in its GraphQL schema is never null). Derived from the member id
    (the same GUID in Python and in SQL, `md5(salt || id)::uuid`), so it needs no table."""
    return str(uuid.UUID(hashlib.md5((MEMBER_TRACKLET_SALT + member_id).encode()).hexdigest()))


class Face(msgspec.Struct, frozen=True, rename="camel"):
    """A stored face: a member's registration photo, or one seen by a camera."""

    tracklet_id: str
    quality: int
    template_quality: int | None
    state: FaceState
    image_data_id: str | None
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
    frame_id: str
    type: FaceType
    age: float | None
    gender: float | None  # stored faces carry a number (SmartFace: 0 male .. 1 female); see README
    face_mask_confidence: float | None
    nose_tip_confidence: float | None
    face_mask_status: FaceMaskStatus
    face_area: float | None
    size: float
    face_order: int | None
    faces_on_frame_count: int | None
    face_area_change: float
    yaw_angle: float | None
    pitch_angle: float | None
    roll_angle: float | None
    autolearn_cluster_type: str | None
    sharpness: float | None
    brightness: float | None
    tinted_glasses: float | None
    heavy_frame: float | None
    glass_status: float | None
    id: str
    created_at: datetime
    updated_at: datetime | None


class FacePagedCollection(msgspec.Struct, frozen=True, rename="camel"):
    total_items_count: int | None
    items: list[Face]
    page_size: int
    page_number: int
    previous_page: str | None
    next_page: str | None


class WatchlistMemberWithRelatedData(msgspec.Struct, frozen=True, rename="camel"):
    watchlists: list[Watchlist]
    faces: list[Face]
    display_name: str | None
    full_name: str | None
    note: str | None
    labels: list[Label]
    totp_enabled: bool
    privacy: PrivacyData
    id: str
    created_at: datetime
    updated_at: datetime | None


# Search, verify, liveness, detect.


class FailReason(msgspec.Struct, frozen=True, rename="camel"):
    reason_message: str | None


class LivenessSpoofCheck(msgspec.Struct, frozen=True, rename="camel"):
    performed: bool
    passed: bool
    score: float
    not_performed_reasons: list[FailReason] | None = None


class SpoofCheckResponse(msgspec.Struct, frozen=True, rename="camel"):
    performed: bool
    passed: bool
    distant_liveness_spoof_check: LivenessSpoofCheck
    nearby_liveness_spoof_check: LivenessSpoofCheck


class FaceAttributes(msgspec.Struct, frozen=True, rename="camel"):
    """One detected face with the attributes asked for (the others are null)."""

    crop_left_top_x: float
    crop_left_top_y: float
    crop_right_top_x: float
    crop_right_top_y: float
    crop_left_bottom_x: float
    crop_left_bottom_y: float
    crop_right_bottom_x: float
    crop_right_bottom_y: float
    quality: int
    left_eye_x: float | None
    left_eye_y: float | None
    right_eye_x: float | None
    right_eye_y: float | None
    age: float | None
    gender: GenderType | None
    face_size: float
    face_mask_confidence: float | None
    nose_tip_confidence: float | None
    face_mask_status: FaceMaskStatus
    sharpness: float | None
    brightness: float | None
    tinted_glasses: float | None
    heavy_frame: float | None
    glass_status: float | None
    pitch_angle: float | None
    yaw_angle: float | None
    roll_angle: float | None
    face_area: float
    template_quality: int
    face_order: int


class SearchResult(msgspec.Struct, frozen=True, rename="camel"):
    score: int
    watchlist_member_id: str | None
    display_name: str | None
    full_name: str | None
    watchlist_display_name: str
    watchlist_full_name: str
    watchlist_id: str | None
    preview_color: str
    labels: list[Label]


class SearchInWatchlistRequest(msgspec.Struct, frozen=True, rename="camel"):
    image: ImageData
    watchlist_ids: WatchlistIds | None = None  # empty or absent: every watchlist
    threshold: Threshold | None = None  # absent: each watchlist's own threshold
    max_result_count: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1
    face_detector_config: FaceDetectorConfig | None = None
    face_detector_resource_id: ResourceId = "cpu"
    template_generator_resource_id: ResourceId = "cpu"
    face_mask_confidence_request: FaceMaskConfidenceRequest | None = None
    face_features_config: FaceFeaturesConfig | None = None
    spoof_detector_resource_ids: list[ResourceId] = msgspec.field(default_factory=lambda: ["none"])
    spoof_check_config: SpoofCheckConfig | None = None
    face_validation_mode: str | None = "none"


class SearchInWatchlistResponse(FaceAttributes, frozen=True, rename="camel"):
    match_results: list[SearchResult]
    spoof_check_result: SpoofCheckResponse


class SearchInWatchlistByTemplateRequest(msgspec.Struct, frozen=True, rename="camel"):
    template: bytes
    watchlist_ids: WatchlistIds | None = None
    threshold: Threshold | None = None
    max_result_count: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1


class SearchInWatchlistByTemplateResponse(msgspec.Struct, frozen=True, rename="camel"):
    match_results: list[SearchResult]


class FaceProbe(msgspec.Struct, frozen=True, rename="camel"):
    image: ImageData
    face_detector_config: FaceSearchDetectorConfig | None = None
    face_detector_resource_id: ResourceId = "cpu"
    template_generator_resource_id: ResourceId = "cpu"


class VerificationRequest(msgspec.Struct, frozen=True, rename="camel"):
    probe_image: FaceProbe
    reference_image: FaceProbe


class VerificationResponse(msgspec.Struct, frozen=True, rename="camel"):
    confidence: float
    probe_face_details: FaceAttributes
    reference_face_details: FaceAttributes


class SpoofCheckRequest(msgspec.Struct, frozen=True, rename="camel"):
    image: ImageData
    face_detector_config: FaceSearchDetectorConfig | None = None
    face_detector_resource_id: ResourceId = "cpu"
    spoof_detector_resource_ids: list[ResourceId] = msgspec.field(
        default_factory=lambda: ["liveness_distant_cpu_remote"]
    )
    spoof_check_config: SpoofCheckConfig | None = None


class FaceDetectRequest(msgspec.Struct, frozen=True, rename="camel"):
    """Facegate's `POST /api/v1/Faces/Detect`: every face with its attributes."""

    image: ImageData
    face_detector_config: FaceDetectorConfig | None = None
    face_features_config: FaceFeaturesConfig | None = None
    include_crops: bool = False


class DetectedFace(FaceAttributes, frozen=True, rename="camel"):
    crop_image: bytes | None  # JPEG of the face, base64 in JSON, when includeCrops


class FaceDetectResponse(msgspec.Struct, frozen=True, rename="camel"):
    faces: list[DetectedFace]
