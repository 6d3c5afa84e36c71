"""Every NATS subject Facegate uses, defined once.

Requests: `facegate.rpc.<service>.<noun>.<verb>`, served by a queue group named after the
service so that its replicas share the load. Events: `facegate.evt.<entity>.<past-verb>.<id>`
on the JetStream stream `EVENTS_STREAM_SUBJECTS`, one `Event` constant per kind (its `subject(id)`
to publish, its `filter` to subscribe); the id comes last so that `...match.*` filters by camera.
"""

from __future__ import annotations

from dataclasses import dataclass

RPC_PREFIX = "facegate.rpc"
EVT_PREFIX = "facegate.evt"
EVENTS_STREAM_SUBJECTS = [f"{EVT_PREFIX}.>"]
# Events between services only, on their own stream (settings.internal_stream), which the outside
# event reader can neither subscribe to nor consume: they carry biometric data (templates).
INTERNAL_PREFIX = "facegate.int"
INTERNAL_STREAM_SUBJECTS = [f"{INTERNAL_PREFIX}.>"]

SERVICES = ("gateway", "graphql", "camera_ingest", "detector", "extractor", "matcher", "grouping", "cleanup")


def rpc(service: str, noun: str, verb: str) -> str:
    """Subject of a request served by `service`."""
    return f"{RPC_PREFIX}.{service}.{noun}.{verb}"


def service_of(subject: str) -> str:
    """The service serving a request subject (the subject itself for any other)."""
    return subject.split(".")[2] if subject.startswith(f"{RPC_PREFIX}.") else subject


def replica_alive(service: str, replica: str) -> str:
    """Answered by one replica of `service` while its NATS connection lives (shared.replies)."""
    return f"{rpc(service, 'replica', 'alive')}.{replica}"


@dataclass(frozen=True)
class Event:
    """A kind of event: its subjects are `facegate.evt.<entity>.<past_verb>.<id>` (or, for an
    internal one, `facegate.int.…`)."""

    entity: str
    past_verb: str
    prefix: str = EVT_PREFIX

    def subject(self, entity_id: str) -> str:
        """The subject of this event about one entity; ids never contain dots (GUIDs or caller
        ids made safe by `token`)."""
        return f"{self.prefix}.{self.entity}.{self.past_verb}.{token(entity_id)}"

    @property
    def filter(self) -> str:
        """Wildcard subject matching this event about any entity."""
        return f"{self.prefix}.{self.entity}.{self.past_verb}.*"

    def matches(self, subject: str) -> bool:
        """Whether `subject` is one of this event's."""
        return subject.rpartition(".")[0] == f"{self.prefix}.{self.entity}.{self.past_verb}"

    def address(self, parameter: str) -> str:
        """The subject with `{parameter}` in place of the id (AsyncAPI channel addresses)."""
        return f"{self.prefix}.{self.entity}.{self.past_verb}.{{{parameter}}}"


def discovery(verb: str, service: str) -> str:
    """NATS service discovery of every replica of `service`: verb PING, INFO or STATS."""
    return f"$SRV.{verb}.{service}"


def event_id(subject: str) -> str:
    """The id an event's subject ends with."""
    return subject.rpartition(".")[2]


def _entity_filter(entity: str) -> str:
    """Wildcard subject matching every event about an entity, whatever the verb."""
    return f"{EVT_PREFIX}.{entity}.*.*"


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
FACE_IMAGE = rpc("matcher", "face", "image")  # a member face's imageDataId (GET /api/v1/Images/{id})
TEMPLATE_SEARCH = rpc("matcher", "template", "search")
INDEX_STATS = rpc("matcher", "index", "stats")

MATCHER_VERSION = rpc("matcher", "database", "version")

# Matcher: Faces/Search sessions (every stored camera face searched in the background).
FACE_SEARCH_START = rpc("matcher", "face_search", "start")
FACE_SEARCH_GET = rpc("matcher", "face_search", "get")

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
SEEN_FACE_STORED = rpc("camera_ingest", "face", "stored")  # with template and crop: AddFaceFromSystem
SEEN_FRAME_LIST = rpc("camera_ingest", "frame", "list")
SEEN_FRAME_GET = rpc("camera_ingest", "frame", "get")
SEEN_FRAME_DELETE = rpc("camera_ingest", "frame", "delete")
SEEN_TRACKLET_LIST = rpc("camera_ingest", "tracklet", "list")
SEEN_TRACKLET_GET = rpc("camera_ingest", "tracklet", "get")
SEEN_TRACKLET_DELETE = rpc("camera_ingest", "tracklet", "delete")
SEEN_IMAGE_GET = rpc("camera_ingest", "image", "get")
PEDESTRIAN_LIST = rpc("camera_ingest", "pedestrian", "list")
PEDESTRIAN_GET = rpc("camera_ingest", "pedestrian", "get")
PEDESTRIAN_DELETE = rpc("camera_ingest", "pedestrian", "delete")
IMAGE_STORAGE_GET = rpc("camera_ingest", "image_storage", "get")
IMAGE_STORAGE_SET = rpc("camera_ingest", "image_storage", "set")

# cleanup: the Setup values other than image storage (it keeps their rows of `setup_values`).
SETUP_DB_CLEANUP_GET = rpc("cleanup", "db_cleanup", "get")
SETUP_DB_CLEANUP_SET = rpc("cleanup", "db_cleanup", "set")
SETUP_SEARCH_SESSIONS_CLEANUP_GET = rpc("cleanup", "search_sessions_cleanup", "get")
SETUP_SEARCH_SESSIONS_CLEANUP_SET = rpc("cleanup", "search_sessions_cleanup", "set")
SETUP_AUTO_LEARN_GET = rpc("cleanup", "auto_learn", "get")
SETUP_AUTO_LEARN_SET = rpc("cleanup", "auto_learn", "set")
SETUP_FEATURES_GET = rpc("cleanup", "features", "get")
SETUP_FEATURES_SET = rpc("cleanup", "features", "set")
SETUP_PREVIEW_GET = rpc("cleanup", "preview", "get")
SETUP_PREVIEW_SET = rpc("cleanup", "preview", "set")
SETUP_VIDEO_STORAGE_GET = rpc("cleanup", "video_storage", "get")
SETUP_VIDEO_STORAGE_SET = rpc("cleanup", "video_storage", "set")
# cleanup: run auto-learn now (Facegate, internal: tests and operators' tools; the daily run starts
# at AutoLearn's executionStartTime).
AUTO_LEARN_RUN = rpc("cleanup", "auto_learn", "run")

# camera_ingest: video records (recorded footage analysed as fast as the workers allow).
VIDEO_RECORD_CREATE = rpc("camera_ingest", "video_record", "create")
VIDEO_RECORD_UPDATE = rpc("camera_ingest", "video_record", "update")
VIDEO_RECORD_GET = rpc("camera_ingest", "video_record", "get")
VIDEO_RECORD_LIST = rpc("camera_ingest", "video_record", "list")
VIDEO_RECORD_DELETE = rpc("camera_ingest", "video_record", "delete")
VIDEO_RECORD_CLEAR = rpc("camera_ingest", "video_record", "clear")
VIDEO_RECORD_STATUS = rpc("camera_ingest", "video_record", "status")
VIDEO_RECORD_TAGS_GET = rpc("camera_ingest", "video_record", "tags_get")
VIDEO_RECORD_TAGS_SET = rpc("camera_ingest", "video_record", "tags_set")
VIDEO_RECORD_TRACKLETS = rpc("camera_ingest", "video_record", "tracklets")
VIDEO_RECORD_FRAMES = rpc("camera_ingest", "video_record", "frames")

# camera_ingest: edge streams (devices that send results instead of video, over MQTT).
EDGE_STREAM_CREATE = rpc("camera_ingest", "edge_stream", "create")
EDGE_STREAM_UPDATE = rpc("camera_ingest", "edge_stream", "update")
EDGE_STREAM_GET = rpc("camera_ingest", "edge_stream", "get")
EDGE_STREAM_LIST = rpc("camera_ingest", "edge_stream", "list")
EDGE_STREAM_DELETE = rpc("camera_ingest", "edge_stream", "delete")
EDGE_STREAM_SYNC_SETTINGS = rpc("camera_ingest", "edge_stream", "sync_settings")
EDGE_STREAM_WATCHLISTS_GET = rpc("camera_ingest", "edge_stream", "watchlists_get")
EDGE_STREAM_WATCHLISTS_SET = rpc("camera_ingest", "edge_stream", "watchlists_set")

# camera_ingest stores an image uploaded into a record grouping as a frame with its faces.
SEEN_FRAME_UPLOAD = rpc("camera_ingest", "frame", "upload")

# grouping: record and live groupings (one set of verbs, the kind in the request), individuals.
GROUPING_CREATE = rpc("grouping", "grouping", "create")
GROUPING_UPDATE = rpc("grouping", "grouping", "update")
GROUPING_GET = rpc("grouping", "grouping", "get")
GROUPING_LIST = rpc("grouping", "grouping", "list")
GROUPING_DELETE = rpc("grouping", "grouping", "delete")
GROUPING_LINK = rpc("grouping", "grouping", "link")
GROUPING_TRIGGER = rpc("grouping", "grouping", "trigger")
GROUPING_STATE = rpc("grouping", "grouping", "state")
GROUPING_FRAMES = rpc("grouping", "grouping", "frames")
GROUPING_IMAGE = rpc("grouping", "grouping", "image")
INDIVIDUAL_LIST = rpc("grouping", "individual", "list")
INDIVIDUAL_GET = rpc("grouping", "individual", "get")
INDIVIDUAL_DELETE = rpc("grouping", "individual", "delete")
INDIVIDUAL_TRACKLETS = rpc("grouping", "individual", "tracklets")
INDIVIDUAL_SEARCH = rpc("grouping", "individual", "search")
INDIVIDUAL_SPLIT = rpc("grouping", "individual", "split")
INDIVIDUAL_MERGE = rpc("grouping", "individual", "merge")

# Detector and extractor: faces in an image, then templates and attributes of their crops.
DETECTOR_DETECT = rpc("detector", "faces", "detect")
DETECTOR_BODIES = rpc("detector", "bodies", "detect")  # pedestrians and objects
EXTRACTOR_EXTRACT = rpc("extractor", "faces", "extract")
EXTRACTOR_MODEL = rpc("extractor", "model", "info")

# --- Events: one `Event` constant per kind (entity and verb are written here only). ---

# Events of the gallery, for the other services and outside subscribers.
WATCHLIST_CREATED = Event("watchlist", "created")
WATCHLIST_UPDATED = Event("watchlist", "updated")
WATCHLIST_DELETED = Event("watchlist", "deleted")
WATCHLIST_EVENTS = (WATCHLIST_CREATED, WATCHLIST_UPDATED, WATCHLIST_DELETED)
WATCHLIST_EVENTS_FILTER = _entity_filter("watchlist")
MEMBER_CREATED = Event("member", "created")
MEMBER_UPDATED = Event("member", "updated")
MEMBER_DELETED = Event("member", "deleted")
MEMBER_LINKED = Event("member", "linked")
MEMBER_UNLINKED = Event("member", "unlinked")
MEMBER_EVENTS = (MEMBER_CREATED, MEMBER_UPDATED, MEMBER_DELETED, MEMBER_LINKED, MEMBER_UNLINKED)
MEMBER_EVENTS_FILTER = _entity_filter("member")

# After every committed gallery change; matcher replicas replay the change log up to its `seq`.
GALLERY_CHANGES = Event("gallery", "changed")
GALLERY_CHANGED = GALLERY_CHANGES.subject("templates")
GALLERY_CHANGED_FILTER = GALLERY_CHANGES.filter

# Events of cameras, for every camera_ingest replica's scheduler (created, updated, deleted start
# or stop a stream at once) and for outside subscribers; the camera id last.
CAMERA_CREATED = Event("camera", "created")
CAMERA_UPDATED = Event("camera", "updated")
CAMERA_DELETED = Event("camera", "deleted")
CAMERA_CHANGES = (CAMERA_CREATED, CAMERA_UPDATED, CAMERA_DELETED)
CAMERA_STATUS_CHANGED = Event("camera", "status")

# Events of edge streams (every camera_ingest replica's scheduler: the owner of an enabled one
# reads its device's results), the edge stream id last.
EDGE_STREAM_CREATED = Event("edgestream", "created")
EDGE_STREAM_UPDATED = Event("edgestream", "updated")
EDGE_STREAM_DELETED = Event("edgestream", "deleted")
EDGE_STREAM_CHANGES = (EDGE_STREAM_CREATED, EDGE_STREAM_UPDATED, EDGE_STREAM_DELETED)

# Edge devices speak MQTT to NATS's MQTT listener: topic `facegate/edge/<clientId>/<kind>` is NATS
# subject `facegate.edge.<clientId>.<kind>` (docs/edge_streams.md). Facegate publishes `settings`
# and `watchlists` (retained), a device publishes `results`.
EDGE_PREFIX = "facegate.edge"
EDGE_TO_DEVICE = ("settings", "watchlists")
EDGE_FROM_DEVICE = ("results",)


def edge_topic(client_id: str, kind: str) -> str:
    """The MQTT topic of one device's `kind` of message (clientIds are one topic level)."""
    return f"{EDGE_PREFIX.replace('.', '/')}/{client_id}/{kind}"


def edge_subject(client_id: str, kind: str) -> str:
    """The NATS subject NATS's MQTT listener maps `edge_topic(client_id, kind)` to."""
    return f"{EDGE_PREFIX}.{client_id}.{kind}"


def edge_filter(kind: str) -> str:
    """Every device's `kind` of message, as a NATS subject filter."""
    return f"{EDGE_PREFIX}.*.{kind}"


# Live previews (core NATS, never the event stream: a frame nobody watches is gone). A gateway
# streaming a camera's preview says so every second on CAMERA_PREVIEW_WANTED (every replica hears
# it; the camera's owner acts on it), and reads the frames on camera_preview(id).
PREVIEW_PREFIX = "facegate.preview"
CAMERA_PREVIEW_WANTED = f"{PREVIEW_PREFIX}.wanted"


def camera_preview(camera_id: str) -> str:
    """Subject of a camera's preview frames (`PreviewFrame`)."""
    return f"{PREVIEW_PREFIX}.frame.{token(camera_id)}"


# What cameras saw, as SmartFace announces it (shared/messages/events.py adds its topics).
FACE_CREATED = Event("face", "created")
FACE_EXTRACTED = Event("face", "extracted")
MATCH_FOUND = Event("match", "found")
MATCH_MISSED = Event("match", "missed")
MATCH_STORED = Event("match", "stored")
LIVENESS_RESULT = Event("liveness", "result")
TRACKLET_COMPLETED = Event("tracklet", "completed")
# Pedestrians and objects a camera stored (per its pedestrianSaveStrategy / objectSaveStrategy).
PEDESTRIAN_INSERTED = Event("pedestrian", "created")
OBJECT_INSERTED = Event("object", "created")
# Facegate, internal: an ended tracklet's template (its faces' mean), which the grouping service
# clusters. Templates are biometric data: never on the public events stream.
TRACKLET_SUMMARISED = Event("tracklet", "summarised", INTERNAL_PREFIX)

# Grouping: a run started or finished (the grouping id last); individuals changed (the id of
# their grouping last, so that `facegate.evt.individual.*.<groupingId>` follows one grouping).
GROUPING_PROGRESSED = Event("grouping", "progressed")
INDIVIDUAL_CREATED = Event("individual", "created")
INDIVIDUAL_UPDATED = Event("individual", "updated")
INDIVIDUAL_DELETED = Event("individual", "deleted")
INDIVIDUAL_EVENTS = (INDIVIDUAL_CREATED, INDIVIDUAL_UPDATED, INDIVIDUAL_DELETED)

# Video records: created, changed or changed state (SmartFace's videoRecords.update), progress of
# their analysis, and deleted (Facegate); every camera_ingest replica's scheduler listens to the
# changes and deletions (enabling starts the analysis at once, deleting stops it).
VIDEO_RECORD_CHANGED = Event("videorecord", "changed")
VIDEO_RECORD_PROGRESSED = Event("videorecord", "progressed")
VIDEO_RECORD_DELETED = Event("videorecord", "deleted")
VIDEO_RECORD_CHANGES = (VIDEO_RECORD_CHANGED, VIDEO_RECORD_DELETED)

# After a Setup value changed (the id is its key, shared/setup.py), with the new value: every
# replica that applies it switches at once (camera_ingest: image storage, features; the gateway:
# features; cleanup: DbCleanup).
SETUP_CHANGES = Event("setup", "changed")
IMAGE_STORAGE_CHANGED = SETUP_CHANGES.subject("image_storage")

# What each cleanup run removed (the run's id last).
CLEANUP_COMPLETED = Event("cleanup", "completed")
# What each auto-learn run learnt and replaced (the run's id last).
AUTO_LEARN_COMPLETED = Event("autolearn", "completed")
