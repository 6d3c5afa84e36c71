"""POST /api/v1/Faces/Search (SmartFace's shapes) and Facegate's GET /api/v1/Faces/Search/{id}:
a search of every stored camera face for a probe face, run in the background by the matcher
(services/matcher/face_search.py), its hits stored as the session's objects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from shared.messages.common import Page, PageQuery
from shared.messages.gallery import Threshold
from shared.messages.grouping import Guid
from shared.messages.identification import FaceSearchDetectorConfig, ImageData, ResourceId

DEFAULT_THRESHOLD = 30  # SmartFace's default for Faces/Search (the contract)
# A session keeps its best hits only: a low threshold would otherwise store every face.
MAX_SESSION_OBJECTS = 10_000


class FaceSearchRequest(msgspec.Struct, frozen=True, rename="camel"):
    """The probe image (its largest face is searched for) and the least score a hit needs."""

    image: ImageData
    threshold: Threshold = DEFAULT_THRESHOLD
    face_detector_config: FaceSearchDetectorConfig | None = None
    face_detector_resource_id: ResourceId = "cpu"
    template_generator_resource_id: ResourceId = "cpu"


class SearchInFacesResponse(msgspec.Struct, frozen=True, rename="camel"):
    search_session_id: str


# --- the matcher's bus API ---


class FaceSearchStart(msgspec.Struct, frozen=True, kw_only=True):
    """Start a session: compare `template` (float32 bytes) with every camera face of the same
    model (`template_model`, "<name>@<version>")."""

    template: bytes
    template_model: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    threshold: Threshold = DEFAULT_THRESHOLD


class FaceSearchQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a session's objects, best first."""

    id: Guid
    page: PageQuery = PageQuery()


SearchSessionState = Literal["Running", "Finished", "Failed"]


class SearchSession(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A session as a client follows it: Running until every stored face was compared
    (`searchedFacesCount` grows), then Finished with `matchesCount` objects (or Failed, with
    `error`: its matcher replica stopped or Postgres failed; search again)."""

    id: str
    threshold: int
    state: SearchSessionState
    searched_faces_count: int
    matches_count: int
    error: str | None
    created_at: datetime
    updated_at: datetime | None
    finished_at: datetime | None


class SearchSessionObject(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A stored camera face the session found (SmartFace's SearchSessionObject, whose
    `visualObjectId` is `faceId`), with where and when the camera saw it. The face itself may
    have been deleted since (retention); its camera, tracklet and time stay."""

    search_session_id: str
    face_id: str
    score: int
    stream_id: str  # the camera (or video record) that saw the face
    tracklet_id: str
    frame_id: str
    image_data_id: str | None
    face_created_at: datetime


class SearchSessionPage(msgspec.Struct, frozen=True, kw_only=True):
    """The matcher's answer to FaceSearchQuery."""

    session: SearchSession
    page: Page[SearchSessionObject]


class SearchSessionObjectPagedCollection(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """GET /api/v1/Faces/Search/{searchSessionId}: the session and one page of its objects
    (best first; none while it runs)."""

    session: SearchSession
    total_items_count: int | None
    items: list[SearchSessionObject]
    page_size: int
    page_number: int
    previous_page: str | None
    next_page: str | None
