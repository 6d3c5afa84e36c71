"""Cameras, field for field as SmartFace's REST contract names them, and Facegate's camera status.

Requests carry SmartFace's defaults (so a client may leave any optional field out); `Camera`, the
answer, has every field required, as the contract says. Palm, pedestrian and object fields are
accepted, stored and echoed: Facegate does not process them (yet), but a SmartFace client that
sends them must get them back.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.messages.gallery import NO_NUL

# SmartFace's fields are .NET int32 and double; values outside those ranges are a client bug.
Int32 = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
NonNegative = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
Size = Annotated[float, msgspec.Meta(ge=0)]
# Detector scales as api.md gives them: confidence 0..10000, liveness scores 0..100.
Confidence = Annotated[int, msgspec.Meta(ge=0, le=10000)]
Score = Annotated[float, msgspec.Meta(ge=0, le=100)]
# Milliseconds between analysed frames: 0 would mean "every frame", which a live stream cannot
# promise on CPU; a day is the longest interval that still makes sense for a camera.
IntervalMs = Annotated[int, msgspec.Meta(ge=1, le=86_400_000)]
JpegQuality = Annotated[int, msgspec.Meta(ge=1, le=100)]
Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
Dimension = Annotated[int, msgspec.Meta(ge=1, le=16384)]
Text = Annotated[str, msgspec.Meta(max_length=1000, pattern=NO_NUL)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]
# A network camera's URL; which ones camera_ingest accepts is shared/sources.py's decision
# (a 400 when saved); one that fails to stream shows as the camera's status.
Source = Annotated[str, msgspec.Meta(min_length=1, max_length=2048, pattern=NO_NUL)]
# (No per-item constraints: the served OpenAPI document could not show them, and the camera is
# stored as JSON text, where any string fits.)
ResourceIds = list[str]

DEFAULT_FACE_SAVE_STRATEGY = "FirstFace, BestFace"
DEFAULT_TRACK_MOTION = "track.motion_optimization.history_long.fast"
FIRST_PREVIEW_PORT = 30000  # SmartFace gives each camera its own MPEG-1 preview port from here


# --- nested configs: the stored/answered shape (every field present and required, as SmartFace
# answers them; the defaults a request falls back to are in services/camera_ingest/config.py) ---


class VideoFaceDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    min_face_size: NonNegative
    max_face_size: NonNegative
    max_faces: NonNegative
    confidence_threshold: Confidence


class VideoPedestrianDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    min_pedestrian_size: Size
    max_pedestrian_size: Size
    max_pedestrians: NonNegative
    confidence_threshold: Confidence


class VideoPalmDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    min_palm_size: Size
    max_palm_size: Size
    max_palms: NonNegative
    confidence_threshold: Confidence


class CameraSpoofDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    external_score_threshold: Score
    distant_liveness_score_threshold: Score
    nearby_liveness_score_threshold: Score
    distant_liveness_conditions: Text
    nearby_liveness_conditions: Text


class CameraPalmSpoofDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    liveness_score_threshold: Score


class PreviewAttributesConfig(msgspec.Struct, frozen=True, rename="camel"):
    text_font_size: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    order: bool
    size: bool
    quality: bool
    yaw_angle: bool
    pitch_angle: bool
    roll_angle: bool
    watchlist_member_id: bool
    watchlist_member_name: bool
    watchlist_name: bool
    matching_score: bool
    age: bool
    gender: bool
    template_quality: bool
    face_mask_status: bool
    face_mask_confidence: bool
    sharpness: bool
    brightness: bool
    tinted_glasses: bool
    heavy_frame: bool
    glass_status: bool


class ObjectTypesForDetection(msgspec.Struct, frozen=True, rename="camel"):
    """Optional everywhere in SmartFace (each flag defaults to false), so defaults here too."""

    detect_car: bool = False
    detect_bus: bool = False
    detect_truck: bool = False
    detect_motorcycle: bool = False
    detect_bicycle: bool = False
    detect_boat: bool = False
    detect_airplane: bool = False
    detect_train: bool = False
    detect_bird: bool = False
    detect_cat: bool = False
    detect_dog: bool = False
    detect_horse: bool = False
    detect_sheep: bool = False
    detect_cow: bool = False
    detect_bear: bool = False
    detect_elephant: bool = False
    detect_giraffe: bool = False
    detect_zebra: bool = False
    detect_suitcase: bool = False
    detect_backpack: bool = False
    detect_handbag: bool = False
    detect_umbrella: bool = False
    detect_knife: bool = False


class ObjectDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    min_object_size: Size
    max_object_size: Size
    max_objects: NonNegative
    confidence_threshold: Confidence
    object_types_configuration: ObjectTypesForDetection


# --- request variants: SmartFace lets a client send null for "use the default" ---


class FaceDetectorConfigRequest(msgspec.Struct, frozen=True, rename="camel"):
    min_face_size: NonNegative | None = None
    max_face_size: NonNegative | None = None
    max_faces: NonNegative | None = None
    confidence_threshold: Confidence | None = None


class PedestrianDetectorConfigRequest(msgspec.Struct, frozen=True, rename="camel"):
    min_pedestrian_size: Size | None = None
    max_pedestrian_size: Size | None = None
    max_pedestrians: NonNegative | None = None
    confidence_threshold: Confidence | None = None


class PalmDetectorConfigRequest(msgspec.Struct, frozen=True, rename="camel"):
    min_palm_size: Size | None = None
    max_palm_size: Size | None = None
    max_palms: NonNegative | None = None
    confidence_threshold: Confidence | None = None


class CameraSpoofDetectorConfigRequest(msgspec.Struct, frozen=True, rename="camel"):
    external_score_threshold: Score | None = None
    distant_liveness_score_threshold: Score | None = None
    nearby_liveness_score_threshold: Score | None = None
    distant_liveness_conditions: Text | None = None
    nearby_liveness_conditions: Text | None = None


class CameraPalmSpoofDetectorConfigRequest(msgspec.Struct, frozen=True, rename="camel"):
    liveness_score_threshold: Score | None = None


class PreviewAttributesConfigRequest(msgspec.Struct, frozen=True, rename="camel"):
    text_font_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    order: bool | None = None
    size: bool | None = None
    quality: bool | None = None
    yaw_angle: bool | None = None
    pitch_angle: bool | None = None
    roll_angle: bool | None = None
    watchlist_member_id: bool | None = None
    watchlist_member_name: bool | None = None
    watchlist_name: bool | None = None
    matching_score: bool | None = None
    age: bool | None = None
    gender: bool | None = None
    template_quality: bool | None = None
    face_mask_status: bool | None = None
    face_mask_confidence: bool | None = None
    sharpness: bool | None = None
    brightness: bool | None = None
    tinted_glasses: bool | None = None
    heavy_frame: bool | None = None
    glass_status: bool | None = None


class ObjectDetectorConfigRequest(msgspec.Struct, frozen=True, rename="camel"):
    min_object_size: Size | None = None
    max_object_size: Size | None = None
    max_objects: NonNegative | None = None
    confidence_threshold: Confidence | None = None
    object_types_configuration: ObjectTypesForDetection | None = None


class CameraCreateRequest(msgspec.Struct, frozen=True, rename="camel"):
    """POST /api/v1/Cameras. `null` for an optional field means its default, as in SmartFace."""

    name: Name
    source: Source
    enabled: bool | None = False
    face_detector_config: FaceDetectorConfigRequest | None = None
    face_detector_resource_id: Text | None = "cpu"
    pedestrian_detector_config: PedestrianDetectorConfigRequest | None = None
    palm_detector_config: PalmDetectorConfigRequest | None = None
    pedestrian_detector_resource_id: Text | None = "none"
    pedestrian_extractor_resource_id: Text | None = "none"
    template_generator_resource_id: Text | None = "cpu"
    palm_detector_resource_id: Text | None = "none"
    palm_template_generator_resource_id: Text | None = "cpu"
    redetection_time: IntervalMs | None = 500
    template_generation_time: IntervalMs | None = 500
    track_motion_optimization: Text | None = DEFAULT_TRACK_MOTION
    track_speed_accuracy_mode: Text | None = "accurate"
    face_save_strategy: Text | None = DEFAULT_FACE_SAVE_STRATEGY
    pedestrian_save_strategy: Text | None = "Best"
    mask_image_path: Text | None = None
    save_frame_image_data: bool | None = True
    image_quality: JpegQuality | None = 90
    mpe_g1_preview_enabled: bool | None = True
    mpe_g1_preview_port: Port | None = None
    mpe_g1_video_bitrate: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)] | None = 450000
    preview_max_dimension: Dimension | None = 640
    service_name: Text | None = ""
    spoof_detector_resource_ids: ResourceIds | None = None
    palm_spoof_detector_resource_ids: ResourceIds | None = None
    spoof_detector_config: CameraSpoofDetectorConfigRequest | None = None
    palm_spoof_detector_config: CameraPalmSpoofDetectorConfigRequest | None = None
    preview_attributes_config: PreviewAttributesConfigRequest | None = None
    object_detector_resource_id: Text | None = "none"
    object_save_strategy: Text | None = "Best"
    object_detector_config: ObjectDetectorConfigRequest | None = None


class CameraUpdateRequest(msgspec.Struct, frozen=True, rename="camel"):
    """PUT /api/v1/Cameras: replaces the camera `id` (404 when unknown, as SmartFace answers).
    The contract requires the main fields; the optional ones keep their stored value when left out."""

    id: uuid.UUID
    name: Name
    source: Source
    enabled: bool
    face_detector_config: VideoFaceDetectorConfig
    face_detector_resource_id: Text
    template_generator_resource_id: Text
    redetection_time: IntervalMs
    template_generation_time: IntervalMs
    track_motion_optimization: Text
    face_save_strategy: Text
    mask_image_path: Text | None
    save_frame_image_data: bool
    image_quality: JpegQuality
    mpe_g1_preview_enabled: bool
    mpe_g1_preview_port: Port
    mpe_g1_video_bitrate: Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
    preview_max_dimension: Dimension
    pedestrian_detector_config: VideoPedestrianDetectorConfig | None = None
    palm_detector_config: VideoPalmDetectorConfig | None = None
    pedestrian_detector_resource_id: Text | None = None
    pedestrian_extractor_resource_id: Text | None = None
    palm_detector_resource_id: Text | None = None
    palm_template_generator_resource_id: Text | None = None
    track_speed_accuracy_mode: Text | None = None
    pedestrian_save_strategy: Text | None = None
    spoof_detector_resource_ids: ResourceIds | None = None
    spoof_detector_config: CameraSpoofDetectorConfigRequest | None = None
    palm_spoof_detector_resource_ids: ResourceIds | None = None
    palm_spoof_detector_config: CameraPalmSpoofDetectorConfigRequest | None = None
    preview_attributes_config: PreviewAttributesConfigRequest | None = None
    object_detector_resource_id: Text | None = None
    object_save_strategy: Text | None = None
    object_detector_config: ObjectDetectorConfigRequest | None = None


class Camera(msgspec.Struct, frozen=True, rename="camel"):
    """A camera as SmartFace answers it: every field present."""

    spoof_detector_resource_ids: list[str]
    palm_spoof_detector_resource_ids: list[str]
    id: uuid.UUID
    name: str
    source: str
    enabled: bool
    face_detector_config: VideoFaceDetectorConfig
    pedestrian_detector_config: VideoPedestrianDetectorConfig
    palm_detector_config: VideoPalmDetectorConfig
    face_detector_resource_id: str
    template_generator_resource_id: str
    pedestrian_detector_resource_id: str
    pedestrian_extractor_resource_id: str
    palm_detector_resource_id: str
    palm_template_generator_resource_id: str
    redetection_time: int
    template_generation_time: int
    track_motion_optimization: str
    track_speed_accuracy_mode: str
    face_save_strategy: str
    pedestrian_save_strategy: str | None
    object_save_strategy: str | None
    mask_image_path: str | None
    save_frame_image_data: bool
    image_quality: int
    mpe_g1_preview_enabled: bool
    mpe_g1_preview_port: int
    mpe_g1_video_bitrate: int
    preview_max_dimension: int
    service_name: str
    spoof_detector_config: CameraSpoofDetectorConfig
    palm_spoof_detector_config: CameraPalmSpoofDetectorConfig
    preview_attributes_config: PreviewAttributesConfig
    object_detector_resource_id: str | None
    object_detector_config: ObjectDetectorConfig


class CameraEvent(msgspec.Struct, frozen=True, rename="camel"):
    """Published on `facegate.evt.camera.<created|updated|deleted>.<id>`."""

    id: str
    camera: Camera | None = None


# --- Facegate's addition: what camera_ingest is doing with a camera ---

CameraState = Literal["disabled", "pending", "connecting", "online", "offline", "error"]


class CameraStatus(msgspec.Struct, frozen=True, rename="camel"):
    """GET /api/v1/Cameras/{id}/Status and `facegate.evt.camera.status.<id>`.

    `disabled`: not enabled. `pending`: enabled, no replica has taken it yet. `connecting`:
    opening the stream. `online`: frames arrive. `offline`: the stream cannot be reached or
    dropped (retried with backoff). `error`: reached but unusable (bad URL, no video, garbage);
    also retried, since a camera may be fixed without touching Facegate.
    """

    camera_id: str
    state: CameraState
    reason: str | None
    since: datetime
    updated_at: datetime
    owner: str | None = None
    frames_decoded: int = 0
    frames_sampled: int = 0
    frames_dropped: int = 0
    last_frame_at: datetime | None = None
    sample_interval_ms: int = 500
    width: int | None = None
    height: int | None = None
    reconnects: int = 0
    # The face pipeline: frames analysed, frames it failed on (a worker down), and the last
    # frame's time in it (detector + extractor + matcher + storage), milliseconds.
    frames_analysed: int = 0
    frames_failed: int = 0
    analysis_ms: float = 0.0


class StreamCounters(msgspec.Struct, frozen=True):
    """One camera's counters on the replica streaming it: camera_ingest's `$SRV.STATS` data
    (`cameras`, by camera id)."""

    state: CameraState
    decoded: int
    sampled: int
    dropped: int
    analysed: int
    failed: int


class PreviewWanted(msgspec.Struct, frozen=True):
    """Someone watches this camera's preview (sent every second while they do)."""

    camera_id: str


class PreviewFrame(msgspec.Struct, frozen=True):
    """A sampled frame of a camera with its faces' boxes drawn, at its previewMaxDimension."""

    camera_id: str
    captured_at: datetime
    jpeg: bytes
