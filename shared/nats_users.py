"""NATS users: one per service, one for outside event readers, one admin; what each may do.

Derived from `shared.subjects`, so a new subject needs no second list:

- a service subscribes to its own requests (`facegate.rpc.<service>.>`, its queue group and its
  replicas' liveness subjects), NATS service discovery for its name, its own reply inbox
  (`_INBOX_<service>.>`: replies to its requests reach only it) and the events it follows;
- it publishes requests to the services it calls, the events it announces, and JetStream API,
  object-store and acknowledgement subjects; it answers requests it received (up to two
  messages: the receipt and the reply, shared.replies) and nothing else;
- `events` (outside subscribers, e.g. deploy/examples/subscribe_events.py) reads
  `facegate.evt.>` and consumes the events stream, and can neither see nor send requests:
  images and templates travel on `facegate.rpc.>` and, between services, on the internal stream
  (`facegate.int.>`), which it cannot read;
- `edge` (edge devices, MQTT only) reads its settings and watchlists and sends its results;
- `admin` (the launcher, migrations, tests, operators' tools) may do everything.

`authorization_block` writes the `authorization { users = [...] }` part of a nats-server config.
"""

from __future__ import annotations

import json
from typing import Any

from shared import subjects
from shared.credentials import ADMIN

EVENTS_READER = "events"
# Edge devices (MQTT only): read their settings and watchlists, send their results.
EDGE_DEVICE = "edge"
MQTT_DELIVERIES = "$MQTT.sub.>"

# The services each service sends requests to.
CALLS: dict[str, tuple[str, ...]] = {
    "gateway": ("matcher", "camera_ingest", "detector", "extractor", "cleanup", "grouping"),
    "camera_ingest": ("matcher", "detector", "extractor"),
    "grouping": ("camera_ingest",),  # an image uploaded to a record grouping becomes a frame there
    # Auto-learn reads the camera faces it chose (camera_ingest) and adds and removes member faces
    # through the matcher.
    "cleanup": ("matcher", "camera_ingest"),
}
# The services whose replicas' discovery statistics ($SRV.STATS) a service reads: the cleanup
# prunes the gallery's change log below what every matcher replica has applied.
STATS_OF: dict[str, tuple[str, ...]] = {"cleanup": ("matcher",)}
# The events each service announces (it publishes their subjects on the events stream).
ANNOUNCES: dict[str, tuple[subjects.Event, ...]] = {
    "matcher": (*subjects.WATCHLIST_EVENTS, *subjects.MEMBER_EVENTS, subjects.GALLERY_CHANGES),
    "camera_ingest": (
        *subjects.CAMERA_CHANGES,
        subjects.CAMERA_STATUS_CHANGED,
        subjects.FACE_CREATED,
        subjects.FACE_EXTRACTED,
        subjects.MATCH_FOUND,
        subjects.MATCH_MISSED,
        subjects.MATCH_STORED,
        subjects.LIVENESS_RESULT,
        subjects.TRACKLET_COMPLETED,
        subjects.TRACKLET_SUMMARISED,  # internal: for grouping only
        subjects.PEDESTRIAN_INSERTED,
        subjects.OBJECT_INSERTED,
        subjects.VIDEO_RECORD_CHANGED,
        subjects.VIDEO_RECORD_PROGRESSED,
        subjects.VIDEO_RECORD_DELETED,
        subjects.SETUP_CHANGES,  # image storage
        *subjects.EDGE_STREAM_CHANGES,
    ),
    "cleanup": (subjects.SETUP_CHANGES, subjects.CLEANUP_COMPLETED, subjects.AUTO_LEARN_COMPLETED),
    "grouping": (subjects.GROUPING_PROGRESSED, *subjects.INDIVIDUAL_EVENTS),
}
# Core-NATS subjects outside requests and events that a service publishes: live camera previews
# (a gateway asks for a camera's frames every second, the camera's camera_ingest sends them).
PREVIEW_FRAMES = f"{subjects.PREVIEW_PREFIX}.frame.*"
PUBLISHES: dict[str, tuple[str, ...]] = {
    "gateway": (subjects.CAMERA_PREVIEW_WANTED,),
    # Edge devices' settings and watchlists (retained MQTT messages, published over MQTT).
    "camera_ingest": (PREVIEW_FRAMES, *(subjects.edge_filter(kind) for kind in subjects.EDGE_TO_DEVICE)),
}
# The events (and previews) each service subscribes to directly (JetStream consumers deliver to its inbox).
FOLLOWS: dict[str, tuple[str, ...]] = {
    "gateway": (subjects.GALLERY_CHANGED_FILTER, subjects.SETUP_CHANGES.filter, PREVIEW_FRAMES),
    "camera_ingest": (
        *(event.filter for event in (*subjects.CAMERA_CHANGES, *subjects.VIDEO_RECORD_CHANGES)),
        *(event.filter for event in subjects.EDGE_STREAM_CHANGES),
        *(subjects.edge_filter(kind) for kind in subjects.EDGE_FROM_DEVICE),  # devices' results
        subjects.GALLERY_CHANGED_FILTER,  # watchlists synchronised to edge devices
        subjects.SETUP_CHANGES.filter,  # image storage, features
        subjects.MEMBER_EVENTS_FILTER,
        subjects.WATCHLIST_EVENTS_FILTER,
        subjects.CAMERA_PREVIEW_WANTED,
    ),
    "cleanup": (subjects.SETUP_CHANGES.filter,),  # DbCleanup, AutoLearn
    "grouping": (subjects.TRACKLET_SUMMARISED.filter,),  # the tracklets it groups
    "graphql": tuple(subjects.EVENTS_STREAM_SUBJECTS),  # GraphQL subscriptions relay any event
}
# JetStream: stream and consumer management, object stores (large payloads, camera images),
# flow control and acknowledgements. Per-stream limits would need accounts; not worth it here.
JETSTREAM = ["$JS.API.>", "$O.>", "$JS.FC.>", "$JS.ACK.>"]


def inbox_prefix(user: str) -> str:
    """The reply-inbox prefix of a service's connection (only it may subscribe there)."""
    return f"_INBOX_{user}"


def service_permissions(service: str) -> dict[str, Any]:
    """nats-server `permissions` of a service's user."""
    own = [
        f"{subjects.RPC_PREFIX}.{service}.>",
        *(f"$SRV.{verb}" for verb in ("PING", "INFO", "STATS")),
        f"$SRV.*.{service}",
        f"$SRV.*.{service}.>",
        f"{inbox_prefix(service)}.>",
    ]
    calls = [f"{subjects.RPC_PREFIX}.{callee}.>" for callee in CALLS.get(service, ())]
    if calls:
        calls.append("$SRV.PING.>")  # readiness: is a replica of each callee running?
    calls += [subjects.discovery("STATS", other) for other in STATS_OF.get(service, ())]
    announces = sorted({f"{event.prefix}.{event.entity}.>" for event in ANNOUNCES.get(service, ())})
    return {
        "publish": {"allow": [*calls, *announces, *PUBLISHES.get(service, ()), *JETSTREAM]},
        "subscribe": {"allow": [*own, *FOLLOWS.get(service, ())]},
        "allow_responses": {"max": 2},
    }


def events_reader_permissions(stream: str) -> dict[str, Any]:
    """nats-server `permissions` of the outside event reader: events and the events stream only."""
    api = "$JS.API"
    return {
        "publish": {
            "allow": [
                f"{api}.INFO",
                f"{api}.STREAM.NAMES",
                f"{api}.STREAM.INFO.{stream}",
                f"{api}.CONSUMER.CREATE.{stream}",
                f"{api}.CONSUMER.CREATE.{stream}.>",
                f"{api}.CONSUMER.DURABLE.CREATE.{stream}.>",
                f"{api}.CONSUMER.INFO.{stream}.>",
                f"{api}.CONSUMER.DELETE.{stream}.>",
                f"{api}.CONSUMER.MSG.NEXT.{stream}.>",
                f"$JS.ACK.{stream}.>",
                f"$JS.FC.{stream}.>",
            ]
        },
        "subscribe": {"allow": [*subjects.EVENTS_STREAM_SUBJECTS, "_INBOX.>"]},
    }


def edge_device_permissions() -> dict[str, Any]:
    """nats-server `permissions` of edge devices: their MQTT topics only, and MQTT only.

    One user for every device: a device could read another's settings and send in its name.
    Devices are on the operator's network; docs/edge_streams.md says so."""
    return {
        "publish": {"allow": [subjects.edge_filter(kind) for kind in subjects.EDGE_FROM_DEVICE]},
        # `$MQTT.sub.>`: where a QoS 1 subscription's JetStream consumer delivers; implicit from
        # nats-server 2.12 on, explicit for the 2.11 images of deploy/.
        "subscribe": {"allow": [*(subjects.edge_filter(kind) for kind in subjects.EDGE_TO_DEVICE), MQTT_DELIVERIES]},
    }


def users(passwords: dict[str, str], stream: str) -> list[dict[str, Any]]:
    """Every user with its password (`passwords` by user name: services, `events`, `admin`)."""
    found: list[dict[str, Any]] = [{"user": ADMIN, "password": passwords[ADMIN]}]
    for service in subjects.SERVICES:
        found.append({"user": service, "password": passwords[service], "permissions": service_permissions(service)})
    permissions = events_reader_permissions(stream)
    found.append({"user": EVENTS_READER, "password": passwords[EVENTS_READER], "permissions": permissions})
    found.append({
        "user": EDGE_DEVICE, "password": passwords[EDGE_DEVICE], "permissions": edge_device_permissions(),
        "allowed_connection_types": ["MQTT"],
    })  # fmt: skip
    return found


def principals() -> list[str]:
    """Every NATS user name."""
    return [ADMIN, *subjects.SERVICES, EVENTS_READER, EDGE_DEVICE]


def authorization_block(passwords: dict[str, str], stream: str) -> str:
    """The `authorization` block of a nats-server config (JSON is valid nats-server config).
    A password given as `$NAME` is left unquoted: nats-server reads it from that environment
    variable (the Helm chart's way of keeping passwords out of the ConfigMap)."""
    text = json.dumps({"users": users(passwords, stream)}, indent=2)
    for value in passwords.values():
        if value.startswith("$"):
            text = text.replace(json.dumps(value), value)
    return f"authorization {text}\n"
