"""Watchlists and watchlist members, field for field as SmartFace's REST contract names them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from shared.messages.common import PageQuery

# Postgres text cannot hold NUL; refusing it here makes it a 400 instead of a storage error.
NO_NUL = "^[^\x00]*$"
Name = Annotated[str, msgspec.Meta(max_length=200, pattern=NO_NUL)]
# Limits where SmartFace's schema sets none (README, "Input limits"): a member's note and labels.
MAX_NOTE_LENGTH = 4096
MAX_LABELS = 100
Text = Annotated[str, msgspec.Meta(max_length=MAX_NOTE_LENGTH, pattern=NO_NUL)]
Threshold = Annotated[int, msgspec.Meta(ge=0, le=100)]
# SmartFace accepts '#rrggbb' and '#rgb'.
Color = Annotated[str, msgspec.Meta(pattern=r"^#([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")]
# An id must be addressable as one segment of a URL path (GET /api/v1/WatchlistMembers/{id}), or
# it could be created and never read or deleted again: no '/' (a path separator even when sent as
# %2F), no '\\' (which browsers and proxies turn into '/'), no control characters (NUL cannot be
# stored at all), and not '.' or '..' (which clients resolve away). Anything else, spaces, '%',
# '?', '#' and non-ASCII included, is addressable percent-encoded.
# (`(?![\s\S])` is the very end: `$` would also match before a final line break.)
ID_PATTERN = r"^(?!\.\.?$)[^/\\\x00-\x1f\x7f]*(?![\s\S])"
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=ID_PATTERN)]
OptionalId = Annotated[str, msgspec.Meta(max_length=256, pattern=ID_PATTERN)]  # "" means "generate one"
# Lists of ids in one request: more watchlists than any gallery has, members for a large link.
MAX_WATCHLIST_IDS = 1000
MAX_MEMBER_IDS = 10_000
WatchlistIds = Annotated[list[Id], msgspec.Meta(max_length=MAX_WATCHLIST_IDS)]

DEFAULT_THRESHOLD = 40
DEFAULT_PREVIEW_COLOR = "#4d7cfe"


class Watchlist(msgspec.Struct, frozen=True, rename="camel"):
    display_name: str
    full_name: str
    threshold: int
    palm_threshold: int
    preview_color: str
    id: str
    created_at: datetime
    updated_at: datetime | None


class WatchlistCreateRequest(msgspec.Struct, frozen=True, rename="camel"):
    display_name: Name
    full_name: Name
    threshold: Threshold = DEFAULT_THRESHOLD
    palm_threshold: Threshold | None = None
    preview_color: Color | None = None


class WatchlistUpsertRequest(msgspec.Struct, frozen=True, rename="camel"):
    id: Id
    display_name: Name
    full_name: Name
    threshold: Threshold = DEFAULT_THRESHOLD
    palm_threshold: Threshold | None = None
    preview_color: Color | None = None


class Label(msgspec.Struct, frozen=True, rename="camel"):
    key: Annotated[str, msgspec.Meta(max_length=128, pattern=NO_NUL)] | None = None
    value: Annotated[str, msgspec.Meta(max_length=256, pattern=NO_NUL)] | None = None


Labels = Annotated[list[Label], msgspec.Meta(max_length=MAX_LABELS)]


class PrivacyData(msgspec.Struct, frozen=True, rename="camel"):
    """A member's privacy flags as answers carry them (all present, as SmartFace requires).
    When a flag is false, Facegate must not keep (or send) those images."""

    save_registration_images: bool
    save_matched_images: bool
    include_matched_image_in_events: bool


class PrivacySettings(msgspec.Struct, frozen=True, rename="camel"):
    """The same flags in a request: a client may leave any out (each defaults to true)."""

    save_registration_images: bool = True
    save_matched_images: bool = True
    include_matched_image_in_events: bool = True


class WatchlistMember(msgspec.Struct, frozen=True, rename="camel"):
    display_name: str | None
    full_name: str | None
    note: str | None
    labels: list[Label]
    totp_enabled: bool
    privacy: PrivacyData
    id: str
    created_at: datetime
    updated_at: datetime | None


class WatchlistMemberCreateRequest(msgspec.Struct, frozen=True, rename="camel"):
    display_name: Name | None = None
    full_name: Name | None = None
    note: Text | None = None
    labels: Labels = []
    privacy: PrivacySettings | None = None


class WatchlistMemberUpsertRequest(msgspec.Struct, frozen=True, rename="camel"):
    id: Id
    display_name: Name | None = None
    full_name: Name | None = None
    note: Text | None = None
    labels: Labels = []
    privacy: PrivacySettings | None = None


class WatchlistMembersLinkRequest(msgspec.Struct, frozen=True, rename="camel"):
    watchlist_id: Id
    watchlist_members_ids: Annotated[list[Id], msgspec.Meta(max_length=MAX_MEMBER_IDS)]


class WatchlistPagedCollection(msgspec.Struct, frozen=True, rename="camel"):
    total_items_count: int | None
    items: list[Watchlist]
    page_size: int
    page_number: int
    previous_page: str | None
    next_page: str | None


class WatchlistMemberPagedCollection(msgspec.Struct, frozen=True, rename="camel"):
    total_items_count: int | None
    items: list[WatchlistMember]
    page_size: int
    page_number: int
    previous_page: str | None
    next_page: str | None


class WatchlistMembersQuery(msgspec.Struct, frozen=True):
    """Members of one watchlist, paged."""

    watchlist_id: str
    page: PageQuery


class VersionInfo(msgspec.Struct, frozen=True, rename="camel"):
    database_version: str
    database_version_creation_time: datetime
    database_version_updated_time: datetime
    assembly_version: str
    assembly_last_modified_time: datetime
    full_version: str


class DatabaseVersion(msgspec.Struct, frozen=True):
    """The newest applied migration, as the matcher (owner of the schema) sees it."""

    version: str
    created_at: datetime
    updated_at: datetime


class MemberEvent(msgspec.Struct, frozen=True, rename="camel"):
    """Published on `facegate.evt.member.<verb>.<id>` for other services and subscribers."""

    id: str
    watchlist_ids: list[str] = []
    member: WatchlistMember | None = None


class WatchlistEvent(msgspec.Struct, frozen=True, rename="camel"):
    """Published on `facegate.evt.watchlist.<verb>.<id>`."""

    id: str
    watchlist: Watchlist | None = None
