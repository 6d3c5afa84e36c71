"""Edge streams: devices that detect, extract (and may match) faces themselves and send results
instead of video, field for field as SmartFace's REST contract names them; and Facegate's MQTT
messages to and from those devices (docs/edge_streams.md).

As for cameras (shared/messages/cameras.py), requests take null or nothing for "the default"
(create) or "keep the stored value" (update), nested objects field by field
(services/camera_ingest/edge_config.py lays them over); `EdgeStream`, the answer, has every
field required, as the contract says. Palm, pedestrian and visual-code settings are stored,
echoed and sent to the device; what a device does with them is the device's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.messages.cameras import Name, ResourceIds, Score, Text
from shared.messages.faces import DetectedFace, ExtractedFace

# A device's clientId names its MQTT topics (facegate/edge/<clientId>/...): one topic level, so no
# '/', '+', '#', '.', spaces or control characters (NATS could not carry them as one subject token).
CLIENT_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]*$"
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=128, pattern=CLIENT_ID_PATTERN)]
Count = Annotated[int, msgspec.Meta(ge=0, le=10_000)]
FramesLost = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
Pixels = Annotated[float, msgspec.Meta(ge=0, le=100_000)]
Factor = Annotated[float, msgspec.Meta(ge=0, le=100)]
Quality = Annotated[float, msgspec.Meta(ge=1, le=100)]
Threshold = Annotated[float, msgspec.Meta(ge=0, le=1_000_000)]
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]
IntervalMs = Annotated[int, msgspec.Meta(ge=0, le=86_400_000)]
Dimension = Annotated[int, msgspec.Meta(ge=1, le=16384)]
License = Annotated[bytes, msgspec.Meta(max_length=1_000_000)]
WatchlistId = Annotated[str, msgspec.Meta(max_length=200)]

ImageFormat = Literal["Raw", "Jpeg", "Png"]
OrderBy = Literal["DetectionConfidence", "FaceSize"]
LivenessStrategy = Literal["OnEachExtractedFace", "OnEachIdentifiedFace"]
MessagingStrategy = Literal["OnNewAndInterval", "OnNewAndIntervalBest"]
WatchlistSyncOption = Literal["None", "All", "Selected"]


# --- the stored/answered shape: every field present and required ---


class EdgeStreamTrackingSettings(msgspec.Struct, frozen=True, rename="camel"):
    output_threshold: Threshold
    input_threshold: Threshold
    stability: Percent
    max_frames_lost: FramesLost


class EdgeStreamDetectionCropSettings(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool
    size_extension: Factor
    max_size: Pixels
    image_format: ImageFormat
    image_quality: Quality


class EdgeStreamFaceDetectionSettings(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool
    max_detections: Count
    min_face_size: Pixels
    max_face_size: Pixels
    order_by: OrderBy
    tracking: EdgeStreamTrackingSettings
    crop: EdgeStreamDetectionCropSettings


class EdgeStreamBoxDetectionSettings(msgspec.Struct, frozen=True, rename="camel"):
    """Palm and visual-code detection (the same fields)."""

    enable: bool
    max_detections: Count
    bounding_box_extension: Factor
    tracking: EdgeStreamTrackingSettings
    crop: EdgeStreamDetectionCropSettings


class EdgeStreamPedestrianDetectionSettings(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool
    max_detections: Count
    tracking: EdgeStreamTrackingSettings
    crop: EdgeStreamDetectionCropSettings


class EdgeStreamFaceExtractionSettings(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool


class EdgeStreamFaceLivenessPassiveCondition(msgspec.Struct, frozen=True, rename="camel"):
    parameter: Text
    lower_threshold: float | None
    upper_threshold: float | None


class EdgeStreamFaceLivenessPassiveSettings(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool
    strategy: LivenessStrategy
    conditions: Annotated[list[EdgeStreamFaceLivenessPassiveCondition], msgspec.Meta(max_length=100)]


class EdgeStreamFaceIdentificationSettings(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool
    threshold: Percent


class EdgeStreamMessagingSettings(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool
    strategy: MessagingStrategy
    interval: IntervalMs
    allow_empty_messages: bool
    identified_only: bool


class EdgeStreamFullFrameSettings(msgspec.Struct, frozen=True, rename="camel"):
    image_width: Dimension | None
    image_height: Dimension | None
    image_format: ImageFormat
    image_quality: Quality


class EdgeStreamSettings(msgspec.Struct, frozen=True, rename="camel"):
    visual_code_detection: EdgeStreamBoxDetectionSettings
    palm_detection: EdgeStreamBoxDetectionSettings
    pedestrian_detection: EdgeStreamPedestrianDetectionSettings
    face_detection: EdgeStreamFaceDetectionSettings
    face_extraction: EdgeStreamFaceExtractionSettings
    face_liveness_passive: EdgeStreamFaceLivenessPassiveSettings
    face_identification: EdgeStreamFaceIdentificationSettings
    messaging: EdgeStreamMessagingSettings
    full_frame: EdgeStreamFullFrameSettings


class EdgeStreamSpoofDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    """SmartFace's `SpoofDetectorConfig` (an edge stream's; a camera's adds externalScoreThreshold)."""

    distant_liveness_score_threshold: Score
    nearby_liveness_score_threshold: Score
    distant_liveness_conditions: Text
    nearby_liveness_conditions: Text


class EdgeStreamPalmSpoofDetectorConfig(msgspec.Struct, frozen=True, rename="camel"):
    liveness_score_threshold: Score


class EdgeStream(msgspec.Struct, frozen=True, rename="camel"):
    """An edge stream as SmartFace answers it: every field present."""

    spoof_detector_resource_ids: list[str]
    palm_spoof_detector_resource_ids: list[str]
    id: uuid.UUID
    client_id: str
    name: str
    enabled: bool
    save_frame_image_data: bool
    template_generator_resource_id: str
    face_save_strategy: str
    pedestrian_save_strategy: str | None
    spoof_detector_config: EdgeStreamSpoofDetectorConfig
    palm_spoof_detector_config: EdgeStreamPalmSpoofDetectorConfig
    settings: EdgeStreamSettings
    object_save_strategy: str


# --- requests: null or absent means the default (create) or the stored value (update) ---


class TrackingSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    output_threshold: Threshold | None = None
    input_threshold: Threshold | None = None
    stability: Percent | None = None
    max_frames_lost: FramesLost | None = None


class CropSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    max_size: Pixels | None = None
    size_extension: Factor | None = None
    enable: bool | None = None
    image_format: ImageFormat | None = None
    image_quality: Quality | None = None


class FaceDetectionSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool | None = None
    max_detections: Count | None = None
    min_face_size: Pixels | None = None
    max_face_size: Pixels | None = None
    order_by: OrderBy | None = None
    tracking: TrackingSettingsRequest | None = None
    crop: CropSettingsRequest | None = None


class BoxDetectionSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool | None = None
    max_detections: Count | None = None
    bounding_box_extension: Factor | None = None
    tracking: TrackingSettingsRequest | None = None
    crop: CropSettingsRequest | None = None


class PedestrianDetectionSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool | None = None
    max_detections: Count | None = None
    tracking: TrackingSettingsRequest | None = None
    crop: CropSettingsRequest | None = None


class EnableRequest(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool | None = None


class FaceLivenessPassiveSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool | None = None
    strategy: LivenessStrategy | None = None
    conditions: Annotated[list[EdgeStreamFaceLivenessPassiveCondition], msgspec.Meta(max_length=100)] | None = None


class FaceIdentificationSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool | None = None
    threshold: Percent | None = None


class MessagingSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    enable: bool | None = None
    strategy: MessagingStrategy | None = None
    interval: IntervalMs | None = None
    allow_empty_messages: bool | None = None
    identified_only: bool | None = None


class FullFrameSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    image_width: Dimension | None = None
    image_height: Dimension | None = None
    image_format: ImageFormat | None = None
    image_quality: Quality | None = None


class LicenseSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    """The device's licence, passed on to it with its settings (never answered by the API)."""

    data: License | None = None


class EdgeStreamSettingsRequest(msgspec.Struct, frozen=True, rename="camel"):
    face_detection: FaceDetectionSettingsRequest | None = None
    visual_code_detection: BoxDetectionSettingsRequest | None = None
    palm_detection: BoxDetectionSettingsRequest | None = None
    pedestrian_detection: PedestrianDetectionSettingsRequest | None = None
    face_extraction: EnableRequest | None = None
    face_liveness_passive: FaceLivenessPassiveSettingsRequest | None = None
    face_identification: FaceIdentificationSettingsRequest | None = None
    messaging: MessagingSettingsRequest | None = None
    full_frame: FullFrameSettingsRequest | None = None
    license: LicenseSettingsRequest | None = None


class EdgeStreamSpoofDetectorConfigRequest(msgspec.Struct, frozen=True, rename="camel"):
    distant_liveness_score_threshold: Score | None = None
    nearby_liveness_score_threshold: Score | None = None
    distant_liveness_conditions: Text | None = None
    nearby_liveness_conditions: Text | None = None


class EdgeStreamPalmSpoofDetectorConfigRequest(msgspec.Struct, frozen=True, rename="camel"):
    liveness_score_threshold: Score | None = None


class EdgeStreamCreateRequest(msgspec.Struct, frozen=True, rename="camel"):
    """POST /api/v1/EdgeStreams. A clientId another edge stream has is a 409."""

    name: Name
    client_id: ClientId
    enabled: bool | None = False
    save_frame_image_data: bool | None = False
    template_generator_resource_id: Text | None = "cpu"
    face_save_strategy: Text | None = "FirstFace, BestFace"
    pedestrian_save_strategy: Text | None = "Balanced"
    spoof_detector_resource_ids: ResourceIds | None = None
    palm_spoof_detector_resource_ids: ResourceIds | None = None
    spoof_detector_config: EdgeStreamSpoofDetectorConfigRequest | None = None
    palm_spoof_detector_config: EdgeStreamPalmSpoofDetectorConfigRequest | None = None
    settings: EdgeStreamSettingsRequest | None = None
    object_save_strategy: Text | None = "Balanced"


class EdgeStreamUpdateRequest(msgspec.Struct, frozen=True, rename="camel"):
    """PUT /api/v1/EdgeStreams: replaces the edge stream `id` (404 when unknown); the optional
    fields keep their stored value when left out, nested ones field by field."""

    id: uuid.UUID
    client_id: ClientId
    enabled: bool
    name: Name
    template_generator_resource_id: Text
    face_save_strategy: Text
    save_frame_image_data: bool | None = None
    pedestrian_save_strategy: Text | None = None
    spoof_detector_resource_ids: ResourceIds | None = None
    palm_spoof_detector_resource_ids: ResourceIds | None = None
    spoof_detector_config: EdgeStreamSpoofDetectorConfigRequest | None = None
    palm_spoof_detector_config: EdgeStreamPalmSpoofDetectorConfigRequest | None = None
    settings: EdgeStreamSettingsRequest | None = None
    object_save_strategy: Text | None = None


class EdgeStreamWatchlistSynchronizationRequest(msgspec.Struct, frozen=True, rename="camel"):
    """PUT /api/v1/EdgeStreams/{id}/WatchlistSynchronization: which watchlists the device gets
    ("Selected": those of `watchlistIds`, which must exist)."""

    watchlist_sync_option: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] = "None"
    watchlist_ids: Annotated[list[WatchlistId], msgspec.Meta(max_length=1000)] | None = None


class EdgeStreamWatchlistSynchronization(msgspec.Struct, frozen=True, rename="camel"):
    watchlist_sync_option: str
    watchlist_ids: list[str] = []


class WatchlistSyncUpdate(msgspec.Struct, frozen=True):
    """The bus request behind PUT .../WatchlistSynchronization (the path's id and the body)."""

    id: str
    sync: EdgeStreamWatchlistSynchronizationRequest


class EdgeStreamEvent(msgspec.Struct, frozen=True, rename="camel"):
    """Published on `facegate.evt.edgestream.<created|updated|deleted>.<id>`."""

    id: str
    edge_stream: EdgeStream | None = None


# --- MQTT: what Facegate sends a device (retained) and what a device sends (docs/edge_streams.md) ---


class EdgeSettingsMessage(msgspec.Struct, frozen=True, rename="camel"):
    """Retained on `facegate/edge/<clientId>/settings`: the stream's settings as the API answers
    them, and the licence given with them. An empty retained message: the stream was deleted."""

    edge_stream: EdgeStream
    license: bytes | None = None
    published_at: datetime | None = None


class SyncedTemplate(msgspec.Struct, frozen=True, rename="camel"):
    face_id: str
    template: bytes  # float32 little-endian, L2-normalised
    template_model: str  # "<name>@<version>", as the device's extractor names its own


class SyncedWatchlist(msgspec.Struct, frozen=True, rename="camel"):
    id: str
    display_name: str
    full_name: str
    threshold: int  # 0..100, the score a match needs
    preview_color: str


class SyncedMember(msgspec.Struct, frozen=True, rename="camel"):
    id: str
    display_name: str | None
    full_name: str | None
    watchlist_ids: list[str]
    templates: list[SyncedTemplate]


class EdgeWatchlistsMessage(msgspec.Struct, frozen=True, rename="camel"):
    """Retained on `facegate/edge/<clientId>/watchlists`: every member of the synchronised
    watchlists with its templates, whole (each change replaces it); `revision` is the gallery's
    change-log position it was read at."""

    watchlist_sync_option: str
    watchlists: list[SyncedWatchlist]
    members: list[SyncedMember]
    revision: int = 0


class EdgeMatch(msgspec.Struct, frozen=True, rename="camel"):
    """A match the device made with its synchronised watchlists."""

    watchlist_member_id: str
    watchlist_id: str
    score: Annotated[int, msgspec.Meta(ge=0, le=100)]


class EdgeFace(msgspec.Struct, frozen=True, rename="camel"):
    """One face a device found: the detector's fields (box, landmarks, pose, quality, the aligned
    224x224 JPEG crop) and the extractor's (template and attributes), as Facegate's own workers
    answer them (shared/messages/faces.py), and the device's match when it made one."""

    detected: DetectedFace
    extracted: ExtractedFace = ExtractedFace()
    match: EdgeMatch | None = None


class EdgeResultsMessage(msgspec.Struct, frozen=True, rename="camel"):
    """Sent by a device on `facegate/edge/<clientId>/results`, one per analysed frame: its faces,
    and the frame (JPEG) when the stream saves frame images."""

    captured_at: datetime
    width: Annotated[int, msgspec.Meta(ge=1, le=16384)]
    height: Annotated[int, msgspec.Meta(ge=1, le=16384)]
    faces: Annotated[list[EdgeFace], msgspec.Meta(max_length=1000)] = []
    position_ms: Annotated[int, msgspec.Meta(ge=0)] | None = None
    frame: bytes | None = None
