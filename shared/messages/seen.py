"""What cameras saw (frames, tracklets, faces, images): SmartFace's REST shapes and the bus API
of camera_ingest, which stores them. `Face` and `FacePagedCollection` are the identification
API's (one shape for a member's and a camera's faces)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.blobs import Blob
from shared.messages.common import PageQuery
from shared.messages.faces import FaceFields

FrameState = Literal["New", "Processing", "Processed", "Error"]
ImageSide = Annotated[int, msgspec.Meta(ge=1, le=16384)]


class Frame(msgspec.Struct, frozen=True, rename="camel"):
    state: FrameState
    image_data_id: str | None
    received_at: datetime | None
    position_in_ms: int
    id: str
    created_at: datetime
    updated_at: datetime | None


class FramePagedCollection(msgspec.Struct, frozen=True, rename="camel"):
    total_items_count: int | None
    items: list[Frame]
    page_size: int
    page_number: int
    previous_page: str | None
    next_page: str | None


class Tracklet(msgspec.Struct, frozen=True, rename="camel"):
    time_appeared: datetime
    time_disappeared: datetime | None
    time_appeared_relative_ms: int
    time_disappeared_relative_ms: int
    id: str
    created_at: datetime
    updated_at: datetime | None


class TrackletPagedCollection(msgspec.Struct, frozen=True, rename="camel"):
    total_items_count: int | None
    items: list[Tracklet]
    page_size: int
    page_number: int
    previous_page: str | None
    next_page: str | None


class SeenQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A page of faces, frames or tracklets, optionally of one camera, one tracklet (faces) and
    a creation-time window [created_from, created_to)."""

    page: PageQuery = PageQuery()
    camera_id: str | None = None
    tracklet_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class ImageQuery(msgspec.Struct, frozen=True, kw_only=True):
    """An image, scaled down so its longer side is at most `max_size`, or up so its shorter side
    is at least `min_size` (never beyond `max_size`)."""

    id: str
    min_size: ImageSide | None = None
    max_size: ImageSide | None = None


class ImageReply(msgspec.Struct, frozen=True, kw_only=True):
    """JPEG bytes; by reference when larger than one NATS message (a full-HD frame may be)."""

    jpeg: Blob


class StoredFace(msgspec.Struct, frozen=True, kw_only=True):
    """A face a camera stored, as AddFaceFromSystem makes it a member's: what the detector and
    extractor said (`Face` fields, snake_case, as stored), its template (None when it was left
    out of extraction, or stored before templates were kept) and its crop (None when not kept)."""

    id: str
    face: FaceFields
    template: bytes | None = None
    template_model: str = ""  # "<name>@<version>"
    crop: bytes | None = None


ImageStorageMode = Literal["Database", "Folder", "ObjectStore"]


class ImageDataStorageConfig(msgspec.Struct, frozen=True, rename="camel"):
    """Facegate: where camera_ingest stores new face crops and frames (images stored before a
    change stay where they are and are still served)."""

    storage_mode: ImageStorageMode
