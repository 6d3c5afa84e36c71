"""Every NATS subject Facegate uses, defined once.

Requests: `facegate.rpc.<service>.<noun>.<verb>`, served by a queue group named after the
service so that its replicas share the load. Events: `facegate.evt.<entity>.<past-verb>.<id>`
on the JetStream stream `EVENTS_STREAM_SUBJECTS`; the id comes last so that `...match.*`
filters by camera.
"""

from __future__ import annotations

RPC_PREFIX = "facegate.rpc"
EVT_PREFIX = "facegate.evt"
EVENTS_STREAM_SUBJECTS = [f"{EVT_PREFIX}.>"]

SERVICES = ("gateway", "graphql", "camera_ingest", "detector", "extractor", "matcher", "grouping", "cleanup")


def rpc(service: str, noun: str, verb: str) -> str:
    """Subject of a request served by `service`."""
    return f"{RPC_PREFIX}.{service}.{noun}.{verb}"


def event(entity: str, past_verb: str, entity_id: str) -> str:
    """Subject of an event about one entity; ids never contain dots (GUIDs or caller ids)."""
    return f"{EVT_PREFIX}.{entity}.{past_verb}.{token(entity_id)}"


def event_filter(entity: str, past_verb: str = "*") -> str:
    """Wildcard subject matching all events of an entity (and verb)."""
    return f"{EVT_PREFIX}.{entity}.{past_verb}.*"


def token(value: str) -> str:
    """Make a caller id safe as one subject token (custom member ids may contain dots or spaces)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value) or "_"


# Matcher: the gallery (watchlists, members, templates).
WATCHLIST_CREATE = rpc("matcher", "watchlist", "create")
WATCHLIST_UPSERT = rpc("matcher", "watchlist", "upsert")
WATCHLIST_GET = rpc("matcher", "watchlist", "get")
WATCHLIST_LIST = rpc("matcher", "watchlist", "list")
WATCHLIST_DELETE = rpc("matcher", "watchlist", "delete")
WATCHLIST_MEMBERS = rpc("matcher", "watchlist", "members")

MEMBER_CREATE = rpc("matcher", "member", "create")
MEMBER_UPSERT = rpc("matcher", "member", "upsert")
MEMBER_GET = rpc("matcher", "member", "get")
MEMBER_LIST = rpc("matcher", "member", "list")
MEMBER_DELETE = rpc("matcher", "member", "delete")
MEMBER_LINK = rpc("matcher", "member", "link")
MEMBER_UNLINK = rpc("matcher", "member", "unlink")

MEMBER_REGISTER = rpc("matcher", "member", "register")

# Matcher: faces (templates) of members and 1:N search.
FACE_ADD = rpc("matcher", "face", "add")
FACE_REMOVE = rpc("matcher", "face", "remove")
FACE_LIST = rpc("matcher", "face", "list")
FACE_GET = rpc("matcher", "face", "get")
TEMPLATE_SEARCH = rpc("matcher", "template", "search")
INDEX_STATS = rpc("matcher", "index", "stats")

MATCHER_VERSION = rpc("matcher", "database", "version")

# camera_ingest: cameras, and what they saw (faces, frames, tracklets, images).
CAMERA_CREATE = rpc("camera_ingest", "camera", "create")
CAMERA_UPDATE = rpc("camera_ingest", "camera", "update")
CAMERA_GET = rpc("camera_ingest", "camera", "get")
CAMERA_LIST = rpc("camera_ingest", "camera", "list")
CAMERA_DELETE = rpc("camera_ingest", "camera", "delete")
CAMERA_STATUS = rpc("camera_ingest", "camera", "status")
SEEN_FACE_LIST = rpc("camera_ingest", "face", "list")
SEEN_FACE_GET = rpc("camera_ingest", "face", "get")
SEEN_FACE_DELETE = rpc("camera_ingest", "face", "delete")
SEEN_FRAME_LIST = rpc("camera_ingest", "frame", "list")
SEEN_FRAME_GET = rpc("camera_ingest", "frame", "get")
SEEN_FRAME_DELETE = rpc("camera_ingest", "frame", "delete")
SEEN_TRACKLET_LIST = rpc("camera_ingest", "tracklet", "list")
SEEN_TRACKLET_GET = rpc("camera_ingest", "tracklet", "get")
SEEN_TRACKLET_DELETE = rpc("camera_ingest", "tracklet", "delete")
SEEN_IMAGE_GET = rpc("camera_ingest", "image", "get")
IMAGE_STORAGE_GET = rpc("camera_ingest", "image_storage", "get")
IMAGE_STORAGE_SET = rpc("camera_ingest", "image_storage", "set")
# After the image storage setting changed; every camera_ingest replica switches at once.
IMAGE_STORAGE_CHANGED = event("setup", "changed", "image_storage")

# Detector and extractor: faces in an image, then templates and attributes of their crops.
DETECTOR_DETECT = rpc("detector", "faces", "detect")
EXTRACTOR_EXTRACT = rpc("extractor", "faces", "extract")
EXTRACTOR_MODEL = rpc("extractor", "model", "info")

# Events of the gallery, for the other services and outside subscribers.
WATCHLIST_EVENTS = ("created", "updated", "deleted")
MEMBER_EVENTS = ("created", "updated", "deleted", "linked", "unlinked")

# After every committed gallery change; matcher replicas replay the change log up to its `seq`.
GALLERY_CHANGED = event("gallery", "changed", "templates")
GALLERY_CHANGED_FILTER = event_filter("gallery", "changed")
