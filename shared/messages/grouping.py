"""Groupings and individuals: SmartFace's REST shapes (record groupings, live groupings,
individuals), the grouping service's bus API, and its events.

Requests carry SmartFace's defaults so a client may leave any optional field out; answers have
every field SmartFace requires. Ids are GUIDs (SmartFace types them `uuid`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.blobs import Blob
from shared.messages.cameras import Camera
from shared.messages.common import PageQuery
from shared.messages.edge_streams import EdgeStream
from shared.messages.faces import FaceFields
from shared.messages.gallery import NO_NUL
from shared.messages.identification import FaceDetectorConfig, ImageData, ResourceId

GUID = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
Guid = Annotated[str, msgspec.Meta(pattern=GUID, max_length=40)]
Description = Annotated[str, msgspec.Meta(max_length=4000, pattern=NO_NUL)]
Threshold = Annotated[int, msgspec.Meta(ge=0, le=100)]
# Seconds: a step of a second at least (a run per second is already more than any use needs),
# a window of at most a year.
Step = Annotated[int, msgspec.Meta(ge=1, le=86_400)]
Window = Annotated[int, msgspec.Meta(ge=1, le=366 * 86_400)]
# One request links or moves at most this many ids (a bound on one transaction).
Ids = Annotated[list[Guid], msgspec.Meta(max_length=10_000)]

DEFAULT_THRESHOLD = 40
DEFAULT_STEP_S = 600
DEFAULT_WINDOW_S = 3600

GroupingKind = Literal["live", "record"]
InputKind = Literal["camera", "edge_stream", "video_record"]
ProgressStatus = Literal["Processing", "Ready"]

# --- REST: live groupings ---


class LiveGroupingConfig(msgspec.Struct, frozen=True, rename="camel"):
    enabled: bool
    step: int
    sliding_window: int
    threshold: int


class LiveGroupingConfigCreateRequest(msgspec.Struct, frozen=True, rename="camel"):
    enabled: bool | None = True
    step: Step | None = DEFAULT_STEP_S
    sliding_window: Window | None = DEFAULT_WINDOW_S
    threshold: Threshold | None = DEFAULT_THRESHOLD


class LiveGroupingConfigUpdateRequest(msgspec.Struct, frozen=True, rename="camel"):
    enabled: bool | None = True
    step: Step = DEFAULT_STEP_S
    sliding_window: Window = DEFAULT_WINDOW_S
    threshold: Threshold = DEFAULT_THRESHOLD


class LiveGroupingCreateRequest(msgspec.Struct, frozen=True, rename="camel"):
    config: LiveGroupingConfigCreateRequest = LiveGroupingConfigCreateRequest()
    description: Description | None = None


class LiveGroupingUpdateRequest(msgspec.Struct, frozen=True, rename="camel"):
    id: Guid
    config: LiveGroupingConfigUpdateRequest = LiveGroupingConfigUpdateRequest()
    description: Description | None = None


class LiveGrouping(msgspec.Struct, frozen=True, rename="camel"):
    config: LiveGroupingConfig
    id: str
    description: str | None


class LiveGroupingStreams(msgspec.Struct, frozen=True, rename="camel"):
    """The live grouping's inputs."""

    cameras: list[Camera]
    edge_streams: list[EdgeStream]


# --- REST: record groupings ---


class RecordGroupingConfig(msgspec.Struct, frozen=True, rename="camel"):
    threshold: Threshold


class RecordGroupingConfigCreateRequest(msgspec.Struct, frozen=True, rename="camel"):
    threshold: Threshold | None = None


class RecordGroupingCreateRequest(msgspec.Struct, frozen=True, rename="camel"):
    config: RecordGroupingConfigCreateRequest = RecordGroupingConfigCreateRequest()
    description: Description | None = None


class RecordGroupingUpdateRequest(msgspec.Struct, frozen=True, rename="camel"):
    """PUT's body: SmartFace's `RecordGrouping`."""

    id: Guid
    config: RecordGroupingConfig
    description: Description | None = None


class RecordGrouping(msgspec.Struct, frozen=True, rename="camel"):
    config: RecordGroupingConfig
    id: str
    description: str | None


class GroupingState(msgspec.Struct, frozen=True, rename="camel"):
    """`numUnprocFrames`: frames of the linked material no finished run has grouped yet;
    `numNewFrames`: those of them not in the run in progress either."""

    id: str
    num_new_frames: int
    num_unproc_frames: int
    status: ProgressStatus


class LinkInputRequest(msgspec.Struct, frozen=True, rename="camel"):
    ids: Ids


class UploadedImageRequest(msgspec.Struct, frozen=True, rename="camel"):
    image_data: ImageData
    face_detector_config: FaceDetectorConfig | None = None
    face_detector_resource_id: ResourceId | None = None


class UploadedImageResponse(msgspec.Struct, frozen=True, rename="camel"):
    frame_id: str
    frame_image_data_id: str | None


# --- REST: individuals ---


class Individual(msgspec.Struct, frozen=True, rename="camel"):
    entrance_time: datetime | None
    exit_time: datetime | None
    best_face_id: str
    id: str
    created_at: datetime
    updated_at: datetime | None


class IndividualPagedCollection(msgspec.Struct, frozen=True, rename="camel"):
    total_items_count: int | None
    items: list[Individual]
    page_size: int
    page_number: int
    previous_page: str | None
    next_page: str | None


class SearchInIndividualsRequest(msgspec.Struct, frozen=True, rename="camel"):
    image: ImageData
    grouping_id: Guid
    match_threshold: Threshold = DEFAULT_THRESHOLD
    face_detector_config: FaceDetectorConfig | None = None
    face_detector_resource_id: ResourceId | None = None
    template_generator_resource_id: ResourceId | None = None


class SearchInIndividualsResponse(msgspec.Struct, frozen=True, rename="camel"):
    results: list[Individual]


class SplitIndividualsRequest(msgspec.Struct, frozen=True, rename="camel"):
    tracklets_ids: Annotated[list[Guid], msgspec.Meta(min_length=1, max_length=10_000)]
    previous_individual_id: Guid


class SplitIndividualsResponse(msgspec.Struct, frozen=True, rename="camel"):
    individual_id: str


class MergeIndividualsRequest(msgspec.Struct, frozen=True, rename="camel"):
    individual_ids: Annotated[list[Guid], msgspec.Meta(min_length=1, max_length=10_000)]


class MergeIndividualsResponse(msgspec.Struct, frozen=True, rename="camel"):
    individual_id: str


# --- the grouping service's bus API ---


class GroupingConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Both kinds' settings; a record grouping uses only `threshold`."""

    threshold: int = DEFAULT_THRESHOLD
    enabled: bool = True
    step_s: int = DEFAULT_STEP_S
    window_s: int = DEFAULT_WINDOW_S


class GroupingWrite(msgspec.Struct, frozen=True, kw_only=True):
    """Create (no id) or replace (id) a grouping of `kind`."""

    kind: GroupingKind
    id: str | None = None
    description: str | None = None
    config: GroupingConfig = GroupingConfig()


class GroupingRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A grouping as the service stores it, with the ids of its linked inputs by kind."""

    kind: GroupingKind
    id: str
    description: str | None
    config: GroupingConfig
    inputs: dict[str, list[str]] = {}


class GroupingList(msgspec.Struct, frozen=True, kw_only=True):
    """Every grouping of `kind`."""

    kind: GroupingKind


class GroupingRef(msgspec.Struct, frozen=True, kw_only=True):
    """One grouping of `kind` (a grouping of the other kind is not found)."""

    kind: GroupingKind
    id: str


class GroupingLink(msgspec.Struct, frozen=True, kw_only=True):
    """Link (or unlink) inputs of one kind to a grouping."""

    kind: GroupingKind
    id: str
    input_kind: InputKind
    ids: list[str]
    link: bool = True


class GroupingPageQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A page of one grouping's individuals or frames (`grouping` None: every individual)."""

    grouping: GroupingRef | None = None
    page: PageQuery = PageQuery()


class IndividualPageQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A page of one individual's tracklets."""

    id: str
    page: PageQuery = PageQuery()


class IndividualSearch(msgspec.Struct, frozen=True, kw_only=True):
    """Individuals of a grouping like any of these templates, at `threshold` or more."""

    grouping_id: str
    templates: list[bytes]
    template_model: str
    threshold: int


class UploadedFace(msgspec.Struct, frozen=True, kw_only=True):
    """One face of an uploaded image, analysed: its stored Face fields (shared.face_fields), the
    crop (JPEG) and its template."""

    fields: FaceFields
    crop: bytes
    quality: int
    template: bytes | None
    template_model: str


class UploadedFrame(msgspec.Struct, frozen=True, kw_only=True):
    """An image uploaded into a record grouping: stored as a frame of the grouping's own stream
    (the grouping's id), one tracklet per face."""

    stream_id: str
    image: Blob
    width: int
    height: int
    faces: list[UploadedFace]


class StoredFace(msgspec.Struct, frozen=True, kw_only=True):
    face_id: str
    tracklet_id: str
    created_at: datetime


class StoredFrame(msgspec.Struct, frozen=True, kw_only=True):
    """What camera_ingest stored of an uploaded frame: ids in the faces' order."""

    frame_id: str
    image_id: str | None
    created_at: datetime
    faces: list[StoredFace]


class GroupingImage(msgspec.Struct, frozen=True, kw_only=True):
    """An image uploaded into record grouping `grouping_id` (the gateway analysed it)."""

    grouping_id: str
    image: Blob
    width: int
    height: int
    faces: list[UploadedFace]


# --- events ---


class TrackletSummary(msgspec.Struct, frozen=True, rename="camel"):
    """Facegate: a tracklet ended with a template, the normalised mean of its faces' templates
    (float32 little-endian, base64 in JSON): what the grouping service clusters."""

    id: str
    stream_id: str
    time_appeared: datetime
    time_disappeared: datetime
    faces: int
    best_face_id: str
    best_quality: int
    template: bytes
    template_model: str


class IndividualEvent(msgspec.Struct, frozen=True, rename="camel"):
    """Facegate: an individual of a grouping was created, changed (tracklets added, merged,
    split) or deleted (`individual` null); `trackletIds`: tracklets it gained."""

    grouping_id: str
    id: str
    individual: Individual | None = None
    tracklet_ids: list[str] = []


class GroupingProgress(msgspec.Struct, frozen=True, rename="camel"):
    """Facegate: a grouping run started (status Processing) or finished (Ready): how many
    tracklets it grouped, into how many new and changed individuals."""

    grouping_id: str
    kind: GroupingKind
    status: ProgressStatus
    tracklets: int = 0
    created_individuals: int = 0
    updated_individuals: int = 0
    deleted_individuals: int = 0
    duration_ms: int = 0
