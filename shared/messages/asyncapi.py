"""docs/asyncapi.yaml, the AsyncAPI 3 document of every event Facegate publishes, generated
from the event Structs so that it cannot drift from what is sent.

    python -m shared.messages.asyncapi          # rewrite docs/asyncapi.yaml
    python -m shared.messages.asyncapi --check  # exit 1 when it is stale (a unit test runs this)
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import yaml

from shared import subjects
from shared.messages import body_events
from shared.messages import events as ev
from shared.messages.autolearn import AutoLearnCompleted
from shared.messages.cameras import CameraEvent, CameraStatus
from shared.messages.edge_streams import (
    EdgeResultsMessage,
    EdgeSettingsMessage,
    EdgeStreamEvent,
    EdgeWatchlistsMessage,
)
from shared.messages.gallery import MemberEvent, WatchlistEvent
from shared.messages.grouping import GroupingProgress, IndividualEvent, TrackletSummary
from shared.messages.matcher import GalleryChanged
from shared.messages.setup import CleanupCompleted
from shared.messages.video_records import ProgressMessage, VideoRecordDeleted, VideoRecordNotificationStateChanged
from shared.version import VERSION

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"


@dataclass(frozen=True)
class Channel:
    name: str  # channel and message key
    address: str
    parameter: str  # what the last token is
    payload: type[msgspec.Struct]
    summary: str
    topic: str | None = None  # SmartFace's topic (the SmartFace-Topic header)


def _camera(kind: ev.CameraEventKind, name: str, payload: type[msgspec.Struct], summary: str) -> Channel:
    return Channel(name, kind.event.address("cameraId"), "cameraId", payload, summary, kind.topic)


CHANNELS = [
    _camera(ev.FACE_CREATED, "faceCreated", ev.FaceCreatedNotification,
            "A face a camera saw was stored (the first and best of each tracklet, by faceSaveStrategy)."),
    _camera(ev.FACE_EXTRACTED, "faceExtracted", ev.FaceExtractedNotification,
            "The stored face's template and attributes are known (right after faceCreated); not sent for a "
            "face stored between two template generations (templateGenerationTime), whose state is New."),
    _camera(ev.MATCH_FOUND, "matchFound", ev.MatchResultNotification,
            "A tracklet was identified as a watchlist member: once per tracklet and member, decided from "
            "several frames. cropImage is null when the member's privacy excludes images from events."),
    _camera(ev.MATCH_MISSED, "matchMissed", ev.NoMatchResultNotification,
            "A tracklet ended without matching any member (its best face)."),
    _camera(ev.MATCH_STORED, "matchStored", ev.MatchResultInsert,
            "A match result was stored (right after its matchFound; id is the match result's id)."),
    _camera(ev.LIVENESS_RESULT, "livenessResult", ev.LivenessResultNotification,
            "The spoof check of a stored camera face (after its faceExtracted), only when the camera's "
            "spoofDetectorResourceIds ask for distant or nearby liveness; thresholds from its spoofDetectorConfig."),
    _camera(ev.TRACKLET_COMPLETED, "trackletCompleted", ev.TrackletCompletedNotification,
            "No face of the tracklet was seen for the tracklet timeout (or the stream stopped)."),
    _camera(body_events.PEDESTRIAN_INSERTED, "pedestrianInserted", body_events.PedestrianInsertedNotification,
            "A pedestrian a camera saw was stored (by its pedestrianSaveStrategy; only for a camera whose "
            "pedestrianDetectorResourceId is not none): box, body points, tracklet and frame."),
    _camera(body_events.OBJECT_INSERTED, "objectInserted", body_events.ObjectInsertNotification,
            "An object a camera saw was stored (by its objectSaveStrategy; only for a camera whose "
            "objectDetectorResourceId is not none); genericObjectType numbers SmartFace's object types."),
    Channel("videoRecordChanged", subjects.VIDEO_RECORD_CHANGED.address("videoRecordId"), "videoRecordId",
            VideoRecordNotificationStateChanged,
            "A video record was created or changed, or its analysis changed state (PROCESSING when a replica "
            "takes it, PROCESSED at the end of the video, ERROR when the source cannot be read, READY after a "
            "Clear or when disabled mid-analysis).", "videoRecords.update"),
    Channel("videoRecordProgressed", subjects.VIDEO_RECORD_PROGRESSED.address("videoRecordId"), "videoRecordId",
            ProgressMessage,
            "A video record's analysis went on (about once a second): numNewFrames sampled frames analysed since "
            "the last message, about numUnprocFrames still to analyse; status READY once it ended."),
    Channel("videoRecordDeleted", subjects.VIDEO_RECORD_DELETED.address("videoRecordId"), "videoRecordId",
            VideoRecordDeleted, "Facegate: a video record was deleted with everything it produced."),
    Channel("cameraStatus", subjects.CAMERA_STATUS_CHANGED.address("cameraId"), "cameraId", CameraStatus,
            "Facegate: a camera's stream changed state (online, offline, error...) with the reason."),
    *(
        Channel(f"camera{e.past_verb.capitalize()}", e.address("cameraId"), "cameraId", CameraEvent,
                f"Facegate: a camera was {e.past_verb} (camera is null on delete).")
        for e in subjects.CAMERA_CHANGES
    ),
    *(
        Channel(f"edgeStream{e.past_verb.capitalize()}", e.address("edgeStreamId"), "edgeStreamId", EdgeStreamEvent,
                f"Facegate: an edge stream was {e.past_verb} (edgeStream is null on delete).")
        for e in subjects.EDGE_STREAM_CHANGES
    ),
    *(
        Channel(f"watchlist{e.past_verb.capitalize()}", e.address("watchlistId"), "watchlistId", WatchlistEvent,
                f"Facegate: a watchlist was {e.past_verb}.")
        for e in subjects.WATCHLIST_EVENTS
    ),
    *(
        Channel(f"member{e.past_verb.capitalize()}", e.address("memberId"), "memberId", MemberEvent,
                f"Facegate: a watchlist member was {e.past_verb}.")
        for e in subjects.MEMBER_EVENTS
    ),
    Channel("trackletSummarised", subjects.TRACKLET_SUMMARISED.address("streamId"), "streamId", TrackletSummary,
            "Facegate: an ended tracklet's template, the normalised mean of its faces' templates (after its "
            "trackletCompleted; not for a tracklet without any template), which the grouping service clusters. "
            "Internal: biometric data, on the internal stream (facegate.int.>) that only services read; "
            "the outside event reader cannot subscribe to it."),
    Channel("groupingProgressed", subjects.GROUPING_PROGRESSED.address("groupingId"), "groupingId", GroupingProgress,
            "Facegate: a grouping run started (status Processing) or finished (Ready, with what it grouped)."),
    *(
        Channel(f"individual{e.past_verb.capitalize()}", e.address("groupingId"), "groupingId", IndividualEvent,
                f"Facegate: an individual of the grouping was {e.past_verb} (by a run, a split or a merge; "
                "individual is null on delete).")
        for e in subjects.INDIVIDUAL_EVENTS
    ),
    Channel("galleryChanged", subjects.GALLERY_CHANGES.address("scope"), "scope", GalleryChanged,
            "Facegate (internal): the gallery's change log reached seq; matcher replicas catch up."),
    Channel("cleanupCompleted", subjects.CLEANUP_COMPLETED.address("runId"), "runId", CleanupCompleted,
            "Facegate: a cleanup run finished (DbCleanup's schedule, maxFramesCount, or hourly maintenance) "
            "and what it removed."),
    Channel("autoLearnCompleted", subjects.AUTO_LEARN_COMPLETED.address("runId"), "runId", AutoLearnCompleted,
            "Facegate: a watchlist auto-learn run finished (at AutoLearn's executionStartTime, or asked for) "
            "and the faces members learnt and lost."),
]  # fmt: skip


@dataclass(frozen=True)
class EdgeChannel:
    """An MQTT topic of edge devices on NATS's MQTT listener (docs/edge_streams.md)."""

    name: str
    kind: str  # the topic's last level
    payload: type[msgspec.Struct]
    action: str  # as every operation here, a client's (the device's): "receive" its settings, "send" results
    summary: str

    @property
    def address(self) -> str:
        return subjects.edge_topic("{clientId}", self.kind)


EDGE_CHANNELS = [
    EdgeChannel("edgeSettings", "settings", EdgeSettingsMessage, "receive",
                "Retained (QoS 1): the edge stream's settings as GET /api/v1/EdgeStreams/{id} answers them, and its "
                "licence; published by POST /api/v1/EdgeStreams/Settings/Synchronize. Empty: the stream was deleted."),
    EdgeChannel("edgeWatchlists", "watchlists", EdgeWatchlistsMessage, "receive",
                "Retained (QoS 1): every member of the synchronised watchlists with its templates, whole; published "
                "by PUT .../WatchlistSynchronization and again after every gallery change that alters it. Empty: "
                "synchronisation ended or the stream was deleted."),
    EdgeChannel("edgeResults", "results", EdgeResultsMessage, "send",
                "Sent by the device (QoS 0 or 1), one per analysed frame: its faces (detector and extractor fields, "
                "the 224x224 crop, the template) and its own match when it made one; stored, matched and announced "
                "as a camera's faces while the edge stream is enabled."),
]  # fmt: skip


def document() -> dict[str, Any]:
    kinds: set[type[msgspec.Struct]] = {c.payload for c in CHANNELS} | {e.payload for e in EDGE_CHANNELS}
    payloads = sorted(kinds, key=lambda t: t.__name__)
    _, schemas = msgspec.json.schema_components(payloads, ref_template="#/components/schemas/{name}")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for c in CHANNELS:
        message: dict[str, Any] = {
            "name": c.name, "title": c.payload.__name__, "summary": c.summary, "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{c.payload.__name__}"},
        }  # fmt: skip
        if c.topic is not None:
            message["headers"] = {
                "type": "object",
                "properties": {ev.TOPIC_HEADER: {"type": "string", "const": c.topic}},
                "required": [ev.TOPIC_HEADER],
            }
        messages[c.name] = message
        channels[c.name] = {
            "address": c.address,
            "parameters": {c.parameter: {"description": "the id of the entity (its last subject token)"}},
            "messages": {c.name: {"$ref": f"#/components/messages/{c.name}"}},
        }
        operations[f"receive{c.name[0].upper()}{c.name[1:]}"] = {
            "action": "receive", "channel": {"$ref": f"#/channels/{c.name}"},
            "messages": [{"$ref": f"#/channels/{c.name}/messages/{c.name}"}],
        }  # fmt: skip
    for e in EDGE_CHANNELS:
        messages[e.name] = {
            "name": e.name, "title": e.payload.__name__, "summary": e.summary, "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{e.payload.__name__}"},
        }  # fmt: skip
        channels[e.name] = {
            "address": e.address,
            "servers": [{"$ref": "#/servers/mqtt"}],
            "parameters": {"clientId": {"description": "the edge stream's clientId (one topic level)"}},
            "messages": {e.name: {"$ref": f"#/components/messages/{e.name}"}},
        }
        operations[f"{e.action}{e.name[0].upper()}{e.name[1:]}"] = {
            "action": e.action, "channel": {"$ref": f"#/channels/{e.name}"},
            "messages": [{"$ref": f"#/channels/{e.name}/messages/{e.name}"}],
        }  # fmt: skip
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Facegate events",
            "version": VERSION,
            "description": (
                "Events on NATS JetStream (stream FACEGATE_EVENTS, subjects facegate.evt.>), camelCase JSON. "
                "Camera events carry SmartFace's notification payloads field for field and SmartFace's ZeroMQ "
                "topic in the SmartFace-Topic header. Subscribe with a wildcard, e.g. facegate.evt.match.*.* "
                "(all match events) or facegate.evt.*.*.<cameraId> (one camera); a durable consumer resumes "
                "where it stopped. Example: deploy/examples/subscribe_events.py. Generated by "
                "`python -m shared.messages.asyncapi`. The edge* channels are MQTT topics of edge devices on NATS's "
                "MQTT listener (server mqtt, user edge; docs/edge_streams.md)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {"host": "localhost:4222", "protocol": "nats", "description": "Facegate's NATS"},
            "mqtt": {"host": "localhost:1883", "protocol": "mqtt", "protocolVersion": "3.1.1",
                     "description": "NATS's MQTT listener, for edge devices (when edge streams are enabled)"},
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return "# Generated by `python -m shared.messages.asyncapi`; do not edit.\n" + yaml.safe_dump(
        document(), sort_keys=False, width=110, allow_unicode=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/asyncapi.yaml is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            sys.exit(f"{DOCUMENT} is stale: run python -m shared.messages.asyncapi")
        return
    DOCUMENT.write_text(text)


if __name__ == "__main__":
    main()
