"""SmartFace's Setup values (REST bodies and bus messages, camelCase) and what a cleanup run
removed (its event). Field checks live here, so a bad value is a 400 naming the field before it
crosses the bus; checks across fields are the cleanup service's (services/cleanup/setup_values.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.messages.gallery import Color, Threshold
from shared.timespan import SPAN, TIME_OF_DAY

Count = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]  # SmartFace: "greater than zero or null"
TimeOfDay = Annotated[str, msgspec.Meta(pattern=TIME_OF_DAY)]
Span = Annotated[str, msgspec.Meta(pattern=SPAN)]
# Face mask confidence as SmartFace scales it (-10000 no mask .. 10000 mask).
MaskConfidence = Annotated[float, msgspec.Meta(ge=-10_000, le=10_000)]


# --- DbCleanup: retention of what cameras saw (the cleanup service enforces it) ---


class DbCleanupConfig(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """What GET and PUT /api/v1/Setup/DbCleanup answer (every field present, nulls kept)."""

    cleanup_amount: int | None
    enabled: bool
    max_frames_count: int | None
    max_image_data_age: int | None
    cleanup_start: str | None
    delete_sql: bool | None
    delete_match_results: bool | None


class DbCleanupConfigUpdateRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """PUT /api/v1/Setup/DbCleanup: keep at most `maxFramesCount` frames and none older than
    `maxImageDataAge` days, checked from `cleanupStart` (UTC) each day; `deleteSql` false removes
    only the images of those frames, `deleteMatchResults` their match results too."""

    enabled: bool
    max_frames_count: Count | None
    max_image_data_age: Count | None
    cleanup_start: TimeOfDay | None
    delete_sql: bool | None
    delete_match_results: bool | None
    cleanup_amount: Annotated[int, msgspec.Meta(ge=0)] | None = None  # deprecated by SmartFace: kept, unused


# --- SearchSessionsCleanup: finished Faces/Search sessions ---


class SearchSessionsCleanupConfig(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    enabled: bool
    max_items_count: Count | None
    max_session_age: Span | None
    interval: Span | None


# --- Watchlists/AutoLearn ---


class WatchlistAutoLearnConfig(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    enabled: bool
    execution_start_time: TimeOfDay | None
    max_auto_learn_faces_count: Annotated[int, msgspec.Meta(ge=1, le=100)]
    selection_threshold: Threshold
    masked_selection_threshold: Threshold = 50
    no_face_mask_confidence_threshold: MaskConfidence = -2000
    face_mask_confidence_threshold: MaskConfidence = 2000


# --- Features: which face attributes cameras and searches compute ---


class FeaturesConfig(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """SmartFace's FaceFeaturesConfig as Setup answers it: every switch present."""

    age: bool
    gender: bool
    face_mask: bool
    nose_tip: bool
    yaw_angle: bool
    pitch_angle: bool
    roll_angle: bool
    sharpness: bool
    brightness: bool
    tinted_glasses: bool
    heavy_frame: bool
    glass_status: bool

    @classmethod
    def all_on(cls) -> FeaturesConfig:
        """Every attribute computed: SmartFace's default."""
        return cls(**dict.fromkeys(cls.__struct_fields__, True))


class FaceFeaturesConfigFeaturesConfig(msgspec.Struct, frozen=True, rename="camel"):
    face_features_config: FeaturesConfig


class FeaturesConfigUpdateRequest(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The seven switches SmartFace requires; the other five may be left out or null (on)."""

    age: bool
    gender: bool
    face_mask: bool
    nose_tip: bool
    yaw_angle: bool
    pitch_angle: bool
    roll_angle: bool
    sharpness: bool | None = True
    brightness: bool | None = True
    tinted_glasses: bool | None = True
    heavy_frame: bool | None = True
    glass_status: bool | None = True

    def switches(self) -> FeaturesConfig:
        """The switches with null read as on (SmartFace's default)."""
        return FeaturesConfig(**{k: v is not False for k, v in msgspec.structs.asdict(self).items()})


class FeaturesConfigUpdateRequestFeaturesConfig(msgspec.Struct, frozen=True, rename="camel"):
    face_features_config: FeaturesConfigUpdateRequest


# --- Preview and DataStorage/Video ---


class PreviewConfig(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Colours of the bounding boxes drawn on camera previews ('#rrggbb' or '#rgb')."""

    face_bounding_box_color: Color
    pedestrian_bounding_box_color: Color
    object_bounding_box_color: Color | None = None


VideoDataStorageMode = Literal["None", "All"]


class VideoDataStorageConfig(msgspec.Struct, frozen=True, rename="camel"):
    """`All`: what cameras see is stored; `None`: nothing of it is (SmartFace's meaning)."""

    storage_mode: VideoDataStorageMode


# --- What a cleanup run removed ---

CleanupTrigger = Literal["schedule", "maxFramesCount", "maintenance", "searchSessions"]


class CleanupRemoved(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Counts of what one cleanup run removed."""

    frames: int = 0
    faces: int = 0
    tracklets: int = 0
    match_results: int = 0
    # Images whose rows went with their frames and faces (deleteSql) or alone (image data only).
    images: int = 0
    # Images no frame or face pointed at, and files or objects no image row owned.
    orphaned_images: int = 0
    orphaned_files: int = 0
    # Files and objects of deleted images removed from the folder or object store.
    image_files: int = 0
    template_changes: int = 0
    blobs: int = 0
    # Finished Faces/Search sessions (SearchSessionsCleanup) and the objects that went with them.
    search_sessions: int = 0
    search_session_objects: int = 0

    def __add__(self, other: CleanupRemoved) -> CleanupRemoved:
        mine, theirs = msgspec.structs.asdict(self), msgspec.structs.asdict(other)
        return CleanupRemoved(**{k: mine[k] + theirs[k] for k in mine})


class CleanupCompleted(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """`facegate.evt.cleanup.completed.<runId>`: one cleanup run, what started it and what it removed."""

    run_id: str
    instance: str
    trigger: CleanupTrigger
    started_at: datetime
    finished_at: datetime
    removed: CleanupRemoved
