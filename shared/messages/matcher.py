"""Faces (templates) of watchlist members and 1:N search: the matcher's bus API.

Templates travel as float32 little-endian bytes (conventions: embeddings as float32 bytes).
Every write reply carries `seq`, the position in the gallery's change log at which the write is
visible; a search that passes it back as `min_seq` is answered only by a replica that has
applied it (read-your-writes across replicas; docs/matcher.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from shared.blobs import Blob
from shared.messages.common import PageQuery
from shared.messages.faces import FaceFields
from shared.messages.gallery import (
    Id,
    Label,
    Name,
    PrivacyData,
    PrivacySettings,
    Text,
    Threshold,
    Watchlist,
    WatchlistMember,
)

MAX_FACES_PER_REQUEST = 100
MAX_QUERY_TEMPLATES = 100
MAX_RESULTS = 1000


class NewFace(msgspec.Struct, frozen=True, kw_only=True):
    """One face to enrol: its template and what the detector/extractor said about it."""

    template: bytes
    model_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    model_version: Annotated[str, msgspec.Meta(max_length=100)] = ""
    # A caller may choose the id (e.g. SmartFace `faceId`); a GUID otherwise.
    face_id: Id | None = None
    # Bounding box, landmarks, quality, age, gender...: stored as given (jsonb), echoed back.
    face: FaceFields
    # The face crop as JPEG; None when the member's privacy forbids keeping images.
    crop: bytes | None = None
    # The whole registration photo (any format the detector reads; stored as JPEG), kept when
    # FACEGATE_KEEP_REGISTRATION_PHOTOS says so; by reference when larger than one message.
    photo: Blob | None = None


class AddFacesRequest(msgspec.Struct, frozen=True, kw_only=True):
    member_id: Id
    faces: Annotated[list[NewFace], msgspec.Meta(min_length=1, max_length=MAX_FACES_PER_REQUEST)]


class AddFacesReply(msgspec.Struct, frozen=True, kw_only=True):
    """The faces as stored (like `RegisterMemberReply.faces`, in the order given), so that a
    caller needs no second look-up."""

    faces: list[MemberFace]
    seq: int


class RemoveFaceRequest(msgspec.Struct, frozen=True, kw_only=True):
    member_id: Id
    face_id: Id


class ChangeAck(msgspec.Struct, frozen=True, kw_only=True):
    """Reply to a gallery write without another answer (remove face, delete member, link,
    unlink): where in the change log it became visible. Callers expecting `Empty` still decode
    it (unknown fields are ignored)."""

    seq: int


class MemberFacesQuery(msgspec.Struct, frozen=True, kw_only=True):
    member_id: Id
    page: PageQuery = PageQuery()
    include_crops: bool = False
    include_templates: bool = False


class MemberFace(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    member_id: str
    model_name: str
    model_version: str
    face: FaceFields
    created_at: datetime
    crop: bytes | None = None
    template: bytes | None = None
    # The face's image (its photo when kept, else its crop) for GET /api/v1/Images/{id}; None
    # when neither is kept.
    image_id: str | None = None


class RegisterMemberRequest(msgspec.Struct, frozen=True, kw_only=True):
    """SmartFace Register in one transaction: a new member, its links and its faces."""

    id: Id | None = None  # None or empty: a GUID
    display_name: Name | None = None
    full_name: Name | None = None
    note: Text | None = None
    labels: list[Label] = []
    privacy: PrivacySettings | None = None
    watchlist_ids: Annotated[list[Id], msgspec.Meta(min_length=1)]
    faces: Annotated[list[NewFace], msgspec.Meta(min_length=1, max_length=MAX_FACES_PER_REQUEST)]
    # Register's keepAutoLearnPhotos: faces auto-learn adds to this member keep the camera's crop.
    keep_auto_learn_photos: bool = False


class RegisterMemberReply(msgspec.Struct, frozen=True, kw_only=True):
    member: WatchlistMember
    watchlists: list[Watchlist]
    faces: list[MemberFace]
    seq: int


class SearchRequest(msgspec.Struct, frozen=True, kw_only=True):
    """1:N search of one or more probe templates (one result list per template)."""

    templates: Annotated[list[bytes], msgspec.Meta(min_length=1, max_length=MAX_QUERY_TEMPLATES)]
    model_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    # Empty: every watchlist (a member in no watchlist is never a match).
    watchlist_ids: list[Id] = []
    # 0..100 for every watchlist; None: each watchlist's own threshold.
    threshold: Threshold | None = None
    # At most this many results: (member, watchlist) pairs, as SmartFace's SearchResult rows.
    max_result_count: Annotated[int, msgspec.Meta(ge=1, le=MAX_RESULTS)] = 1
    # True: each candidate names only its first passed watchlist (by id), so max_result_count
    # counts members (a camera votes per member and its event names one watchlist).
    one_watchlist_each: bool = False
    # Answer only once this replica has applied the change log up to here (a write's `seq`).
    min_seq: Annotated[int, msgspec.Meta(ge=0)] = 0


class MatchedMember(msgspec.Struct, frozen=True, kw_only=True):
    """What an answer shows of a matching member (SearchResult, match events) and its privacy
    (whether a camera may keep or send the matched images)."""

    id: str
    display_name: str | None
    full_name: str | None
    labels: list[Label]
    privacy: PrivacyData


class MatchedWatchlist(msgspec.Struct, frozen=True, kw_only=True):
    """What an answer shows of a watchlist a member matched in."""

    id: str
    display_name: str
    full_name: str
    preview_color: str


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """One matching member: its best face, the searched watchlists it passed in (by id), and
    scores. Each watchlist is one SmartFace SearchResult row."""

    member: MatchedMember
    watchlists: list[MatchedWatchlist]
    face_id: str
    similarity: float
    score: int


class TemplateMatches(msgspec.Struct, frozen=True, kw_only=True):
    """Best first (score, then similarity), at most `max_result_count` rows in all."""

    candidates: list[Candidate]


class SearchReply(msgspec.Struct, frozen=True, kw_only=True):
    results: list[TemplateMatches]
    # The change-log position this answer reflects.
    seq: int


class GalleryChanged(msgspec.Struct, frozen=True, rename="camel"):
    """Published on GALLERY_CHANGED after a committed change: the log now reaches `seq`."""

    seq: int


class ModelIndexStats(msgspec.Struct, frozen=True, kw_only=True):
    model_name: str
    dim: int
    templates: int
    deleted_slots: int
    kind: str  # "exact" or "hnsw"
    index_bytes: int


class IndexStats(msgspec.Struct, frozen=True, kw_only=True):
    """What one replica holds (also in `$SRV.STATS` and docs/matcher.md)."""

    instance: str
    templates: int
    index_bytes: int
    seq: int
    load_source: str  # "redis", "postgres" or "" before the first load
    load_seconds: float
    models: list[ModelIndexStats]
    search_lock_wait_ms: float
    write_lock_wait_ms: float
    write_lock_held_ms: float
    cache_saves: int
    cache_saved_seq: int
