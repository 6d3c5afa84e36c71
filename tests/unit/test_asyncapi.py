"""docs/asyncapi.yaml is generated from the event Structs and lists every camera event."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest
import yaml

from shared.messages import asyncapi, body_events
from shared.messages import events as ev
from shared.messages import video_records as vr


def test_document_is_current() -> None:
    assert asyncapi.DOCUMENT.read_text() == asyncapi.render(), "run: python -m shared.messages.asyncapi"


def test_every_camera_event_has_a_channel_with_its_smartface_topic() -> None:
    doc = yaml.safe_load(asyncapi.DOCUMENT.read_text())
    addresses = {c["address"]: name for name, c in doc["channels"].items()}
    for kind in ev.CAMERA_EVENT_KINDS:
        name = addresses[f"facegate.evt.{kind.event.entity}.{kind.event.past_verb}.{{cameraId}}"]
        header = doc["components"]["messages"][name]["headers"]["properties"][ev.TOPIC_HEADER]
        assert header["const"] == kind.topic
    match = doc["components"]["schemas"]["MatchResultNotification"]["properties"]
    assert {"watchlistMemberId", "score", "trackletId", "faceId", "streamId", "cropImage"} <= set(match)


EVENTS_MD = Path(__file__).resolve().parents[3] / "shared" / "design" / "events.md"
# SmartFace's DTO (../shared/design/events.md) -> the Struct Facegate sends for it.
SMARTFACE_DTOS: dict[str, type[msgspec.Struct]] = {
    "FaceCreatedNotificationDTO": ev.FaceCreatedNotification,
    "FaceExtractedNotificationDTO": ev.FaceExtractedNotification,
    "MatchResultNotificationDTO": ev.MatchResultNotification,
    "NoMatchResultNotificationDTO": ev.NoMatchResultNotification,
    "MatchResultInsertDTO": ev.MatchResultInsert,
    "TrackletCompletedNotificationDTO": ev.TrackletCompletedNotification,
    "VideoRecordNotificationStateChangedDTO": vr.VideoRecordNotificationStateChanged,
    "ProgressMessageDTO": vr.ProgressMessage,
    "PedestrianInsertedNotificationDTO": body_events.PedestrianInsertedNotification,
}
LIVENESS_FIELDS = ["faceId", "trackletId", "streamId", "performed", "passed", "distantLivenessSpoofCheck",
                   "nearbyLivenessSpoofCheck"]  # fmt: skip


def smartface_dtos() -> dict[str, dict[str, bool]]:
    """DTO name -> {field: never null} from events.md's "Payload fields" list."""
    out: dict[str, dict[str, bool]] = {}
    for name, fields in re.findall(r"^- \*\*(\w+)\*\*: (.+)$", EVENTS_MD.read_text(), re.MULTILINE):
        pairs = (part.split(": ", 1) for part in fields.split("; "))
        out[name] = {field.strip(): kind.strip().endswith("!") for field, kind in pairs}
    return out


def nullable(t: msgspec.inspect.Type) -> bool:
    return isinstance(t, msgspec.inspect.UnionType) and any(isinstance(x, msgspec.inspect.NoneType) for x in t.types)


@pytest.mark.parametrize("dto", sorted(SMARTFACE_DTOS))
def test_camera_event_payloads_have_smartfaces_fields_field_for_field(dto: str) -> None:
    """Same names, none missing, none added, and null only where SmartFace's type allows it."""
    wanted = smartface_dtos()[dto]
    info = msgspec.inspect.type_info(SMARTFACE_DTOS[dto])
    assert isinstance(info, msgspec.inspect.StructType)
    ours = {f.encode_name: f for f in info.fields}
    assert sorted(ours) == sorted(wanted), set(ours) ^ set(wanted)
    for name, field in ours.items():
        assert field.required, f"{dto}.{name} must always be sent (nulls are kept)"
        if wanted[name]:
            assert not nullable(field.type), f"{dto}.{name} is never null in SmartFace"
        else:
            assert nullable(field.type), f"{dto}.{name} may be null in SmartFace: a client must be able to get null"


def test_liveness_result_has_the_fields_events_md_gives() -> None:
    assert "{" + ", ".join(LIVENESS_FIELDS) + "}" in " ".join(EVENTS_MD.read_text().split())
    info = msgspec.inspect.type_info(ev.LivenessResultNotification)
    assert isinstance(info, msgspec.inspect.StructType)
    assert [f.encode_name for f in info.fields] == LIVENESS_FIELDS


README = Path(__file__).resolve().parents[2] / "README.md"
INTERNAL = {"galleryChanged"}  # matcher replicas' own catch-up signal, not for subscribers


def readme_event_subjects() -> set[str]:
    """Subjects of the README's Events table, braces expanded, `<id>` written `{id}`."""
    section = README.read_text().split("\n## Events\n", 1)[1].split("\n## ", 1)[0]
    out: set[str] = set()
    for subject in re.findall(r"^\| `(facegate\.(?:evt|int)\.[^`]+)` \|", section, re.MULTILINE):
        subject = re.sub(r"<(\w+)>", r"{\1}", subject)
        group = re.search(r"\{([a-z,]+)\}", subject)
        verbs = group.group(1).split(",") if group and "," in group.group(1) else None
        out |= {subject.replace(group.group(0), v) for v in verbs} if group and verbs else {subject}
    return out


def test_readme_events_table_lists_every_event_of_the_asyncapi_document() -> None:
    documented = {c.address for c in asyncapi.CHANNELS if c.name not in INTERNAL}
    listed = readme_event_subjects()
    assert listed == documented, {"missing in README": documented - listed, "not in AsyncAPI": listed - documented}
