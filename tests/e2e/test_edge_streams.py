"""Edge streams end to end: the 8 operations with SmartFace's settings schema, settings and
watchlists reaching devices as retained MQTT messages on NATS's own MQTT listener, the reference
edge client (deploy/examples/edge_client.py) streaming a clip whose faces are stored, matched and
announced as a camera's, and MQTT clients without credentials refused."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import httpx
import msgspec
import nats
import pytest

from services.extractor.pipeline import FacePipeline
from shared.messages.edge_streams import EdgeSettingsMessage, EdgeWatchlistsMessage
from tests.rtsp.events import Event, wait_events
from tests.rtsp.media import write_clip
from tests.support import REPO, Cluster, assert_problem, photo_b64, truncate

EDGE_CLIENT = REPO / "deploy" / "examples" / "edge_client.py"


@pytest.fixture
def edge_api(cluster: Cluster) -> Iterator[httpx.Client]:
    """The gateway, with the gallery and the edge streams emptied first (needs embedded NATS: its
    MQTT listener)."""
    if not cluster.servers.edge_mqtt_url:
        pytest.skip("NATS is not the embedded one: its MQTT listener is not known")
    truncate(cluster.servers.database_url, ("watchlist_links", "watchlist_members", "watchlists", "edge_streams"))
    with cluster.http() as client:
        yield client


def create(api: httpx.Client, client_id: str, **fields: Any) -> dict[str, Any]:
    r = api.post("/api/v1/EdgeStreams", json={"name": f"edge {client_id}", "clientId": client_id, **fields})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def mqtt_client(url: str, name: str, *, anonymous: bool = False, password: str | None = None) -> aiomqtt.Client:
    parts = urlsplit(url)
    user = None if anonymous else unquote(parts.username or "")
    secret = None if anonymous else (password if password is not None else unquote(parts.password or ""))
    return aiomqtt.Client(parts.hostname or "127.0.0.1", parts.port or 1883, username=user, password=secret,
                          identifier=f"{name}-{uuid.uuid4().hex[:8]}", clean_session=True, timeout=10)  # fmt: skip


async def _follow(url: str, topic: str, action: Callable[[], object], done: Callable[[bytes], bool],
                  timeout: float) -> list[bytes]:  # fmt: skip
    """Subscribe to `topic` as a device, run `action`, collect payloads until `done` holds for one."""
    seen: list[bytes] = []
    async with mqtt_client(url, "test-device") as client:
        await client.subscribe(topic, qos=1)
        await asyncio.to_thread(action)
        try:
            async with asyncio.timeout(timeout):
                async for message in client.messages:
                    payload = message.payload if isinstance(message.payload, bytes) else b""
                    seen.append(payload)
                    if done(payload):
                        return seen
        except TimeoutError:
            pass
    return seen


def follow(url: str, topic: str, done: Callable[[bytes], bool], action: Callable[[], object] = lambda: None,
           timeout: float = 15) -> list[bytes]:  # fmt: skip
    return asyncio.run(_follow(url, topic, action, done, timeout))


def settings_of(payload: bytes) -> dict[str, Any]:
    body: dict[str, Any] = msgspec.to_builtins(msgspec.json.decode(payload, type=EdgeSettingsMessage).edge_stream)
    return body


# --- the operations ---


def test_edge_streams_round_trip_with_smartfaces_defaults(edge_api: httpx.Client) -> None:
    api = edge_api
    stream = create(api, "door-1")
    assert stream["clientId"] == "door-1" and stream["enabled"] is False and stream["saveFrameImageData"] is False
    assert stream["faceSaveStrategy"] == "FirstFace, BestFace" and stream["objectSaveStrategy"] == "Balanced"
    assert stream["spoofDetectorResourceIds"] == ["none"]
    settings = stream["settings"]
    assert settings["faceDetection"]["minFaceSize"] == 20 and settings["faceDetection"]["maxFaceSize"] == 200
    assert settings["faceDetection"]["tracking"] == {"outputThreshold": 1500, "inputThreshold": 1000,
                                                     "stability": 85, "maxFramesLost": 25}  # fmt: skip
    assert settings["messaging"]["interval"] == 250 and settings["faceIdentification"]["threshold"] == 40
    assert settings["pedestrianDetection"]["maxDetections"] == 20 and settings["palmDetection"]["maxDetections"] == 3
    assert settings["fullFrame"] == {"imageWidth": None, "imageHeight": None, "imageFormat": "Jpeg",
                                     "imageQuality": 90}  # fmt: skip
    assert "license" not in settings
    assert api.get(f"/api/v1/EdgeStreams/{stream['id']}").json() == stream
    assert [s["id"] for s in api.get("/api/v1/EdgeStreams").json()] == [stream["id"]]

    # A partial nested object keeps the rest of the stored values; the licence is never answered.
    update = {"id": stream["id"], "clientId": "door-1b", "enabled": True, "name": "Door 1",
              "templateGeneratorResourceId": "cpu", "faceSaveStrategy": "All",
              "settings": {"messaging": {"interval": 500}, "faceDetection": {"minFaceSize": 40},
                           "license": {"data": "bGljZW5jZQ=="}}}  # fmt: skip
    r = api.put("/api/v1/EdgeStreams", json=update)
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["clientId"] == "door-1b" and updated["enabled"] is True and updated["faceSaveStrategy"] == "All"
    assert updated["settings"]["messaging"]["interval"] == 500
    assert updated["settings"]["messaging"]["strategy"] == "OnNewAndInterval"
    assert updated["settings"]["faceDetection"]["minFaceSize"] == 40
    assert updated["settings"]["faceDetection"]["maxFaceSize"] == 200
    assert updated["saveFrameImageData"] is False and "license" not in updated["settings"]
    assert api.get(f"/api/v1/EdgeStreams/{stream['id']}").json() == updated

    sync = api.get(f"/api/v1/EdgeStreams/{stream['id']}/WatchlistSynchronization")
    assert sync.status_code == 200 and sync.json() == {"watchlistSyncOption": "None", "watchlistIds": []}
    r = api.put(f"/api/v1/EdgeStreams/{stream['id']}/WatchlistSynchronization", json={"watchlistSyncOption": "all"})
    assert r.status_code == 200 and r.json() == {"watchlistSyncOption": "All", "watchlistIds": []}, r.text
    sync = api.get(f"/api/v1/EdgeStreams/{stream['id']}/WatchlistSynchronization")
    assert sync.json()["watchlistSyncOption"] == "All"

    assert api.post("/api/v1/EdgeStreams/Settings/Synchronize").status_code == 204
    assert api.delete(f"/api/v1/EdgeStreams/{stream['id']}").status_code == 204
    assert_problem(api.get(f"/api/v1/EdgeStreams/{stream['id']}"), 404)
    assert_problem(api.delete(f"/api/v1/EdgeStreams/{stream['id']}"), 404)
    assert api.get("/api/v1/EdgeStreams").json() == []


def test_edge_stream_requests_are_validated(edge_api: httpx.Client) -> None:
    api = edge_api
    stream = create(api, "gate-2")
    bad_creates: list[dict[str, Any]] = [
        {"name": "x", "clientId": "a/b"},  # a clientId is one MQTT topic level
        {"name": "x", "clientId": ""},
        {"name": "x", "clientId": "ok-3", "faceSaveStrategy": "Sometimes"},
        {"name": "x", "clientId": "ok-3", "templateGeneratorResourceId": "tpu"},
        {"name": "x", "clientId": "ok-3", "spoofDetectorResourceIds": ["liveness_magic"]},
        {"name": "x", "clientId": "ok-3", "settings": {"faceDetection": {"minFaceSize": 300, "maxFaceSize": 100}}},
        {"name": "x", "clientId": "ok-3", "settings": {"faceDetection": {"orderBy": "Beauty"}}},
        {"name": "x", "clientId": "ok-3", "settings": {"fullFrame": {"imageFormat": "Gif"}}},
        {"name": "x", "clientId": "ok-3", "settings": {"messaging": {"interval": -1}}},
        {"name": "x", "clientId": "ok-3", "settings": {"faceIdentification": {"threshold": 101}}},
    ]
    for body in bad_creates:
        assert_problem(api.post("/api/v1/EdgeStreams", json=body), 400)
    assert_problem(api.post("/api/v1/EdgeStreams", json={"name": "again", "clientId": "gate-2"}), 409)
    other = create(api, "gate-3")
    taken = {"id": other["id"], "clientId": "gate-2", "enabled": False, "name": "n",
             "templateGeneratorResourceId": "cpu", "faceSaveStrategy": "Balanced"}  # fmt: skip
    assert_problem(api.put("/api/v1/EdgeStreams", json=taken), 400)  # a conflict; PUT declares no 409
    missing = {**taken, "id": str(uuid.uuid4()), "clientId": "gate-9"}
    assert_problem(api.put("/api/v1/EdgeStreams", json=missing), 404)
    assert_problem(api.get("/api/v1/EdgeStreams/not-a-guid"), 404)
    assert_problem(api.get(f"/api/v1/EdgeStreams/{uuid.uuid4()}/WatchlistSynchronization"), 404)
    path = f"/api/v1/EdgeStreams/{stream['id']}/WatchlistSynchronization"
    assert_problem(api.put(path, json={"watchlistSyncOption": "Sometimes"}), 400)
    assert_problem(api.put(path, json={"watchlistSyncOption": "Selected"}), 400)
    assert_problem(api.put(path, json={"watchlistSyncOption": "Selected", "watchlistIds": ["no-such-list"]}), 400)
    assert_problem(api.put(f"/api/v1/EdgeStreams/{uuid.uuid4()}/WatchlistSynchronization",
                           json={"watchlistSyncOption": "All"}), 404)  # fmt: skip
    assert api.get(path).json() == {"watchlistSyncOption": "None", "watchlistIds": []}


def test_an_edge_stream_links_to_a_live_grouping(edge_api: httpx.Client) -> None:
    api = edge_api
    stream = create(api, "hall-5")
    r = api.post("/api/v1/LiveGroupings", json={"description": "hall"})
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    try:
        assert api.post(f"/api/v1/LiveGroupings/{gid}/LinkStreams", json={"ids": [stream["id"]]}).status_code == 204
        streams = api.get(f"/api/v1/LiveGroupings/{gid}/Streams").json()
        assert streams["cameras"] == [] and streams["edgeStreams"] == [stream]
        assert api.post(f"/api/v1/LiveGroupings/{gid}/UnlinkStreams", json={"ids": [stream["id"]]}).status_code == 204
        assert api.get(f"/api/v1/LiveGroupings/{gid}/Streams").json()["edgeStreams"] == []
    finally:
        api.delete(f"/api/v1/LiveGroupings/{gid}")


# --- MQTT ---


def test_settings_synchronize_retains_each_streams_settings_on_its_topic(edge_api: httpx.Client,
                                                                         cluster: Cluster) -> None:  # fmt: skip
    api, url = edge_api, cluster.servers.edge_mqtt_url
    one = create(api, "lobby-1", settings={"messaging": {"interval": 400}, "license": {"data": "bGljZW5jZQ=="}})
    two = create(api, "lobby-2", enabled=True)
    assert api.post("/api/v1/EdgeStreams/Settings/Synchronize").status_code == 204
    # Retained: a device that subscribes afterwards gets them at once.
    for stream in (one, two):
        got = follow(url, f"facegate/edge/{stream['clientId']}/settings", lambda p: bool(p), timeout=10)
        assert got and settings_of(got[-1]) == stream
    message = msgspec.json.decode(got[-1], type=EdgeSettingsMessage)
    assert message.license is None
    first = follow(url, "facegate/edge/lobby-1/settings", lambda p: bool(p), timeout=10)
    assert msgspec.json.decode(first[-1], type=EdgeSettingsMessage).license == b"licence"
    # A deleted stream's retained settings are cleared.
    assert api.delete(f"/api/v1/EdgeStreams/{two['id']}").status_code == 204
    assert follow(url, "facegate/edge/lobby-2/settings", lambda p: bool(p), timeout=2) in ([], [b""])


def _register(api: httpx.Client, member_id: str, photo: str, watchlist_id: str) -> None:
    body = {"id": member_id, "images": [{"data": photo_b64(photo)}], "watchlistIds": [watchlist_id]}
    r = api.post("/api/v1/WatchlistMembers/Register", json=body)
    assert r.status_code == 201, r.text


def _watchlist(api: httpx.Client, name: str) -> str:
    r = api.post("/api/v1/Watchlists", json={"displayName": name, "fullName": name, "threshold": 40})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_a_member_added_to_a_synchronised_watchlist_reaches_the_device(edge_api: httpx.Client,
                                                                       cluster: Cluster) -> None:  # fmt: skip
    api, url = edge_api, cluster.servers.edge_mqtt_url
    synced, other = _watchlist(api, "entrance"), _watchlist(api, "elsewhere")
    stream = create(api, "turnstile-4")
    r = api.put(f"/api/v1/EdgeStreams/{stream['id']}/WatchlistSynchronization",
                json={"watchlistSyncOption": "Selected", "watchlistIds": [synced]})  # fmt: skip
    assert r.status_code == 200, r.text
    topic = "facegate/edge/turnstile-4/watchlists"

    def decoded(payload: bytes) -> EdgeWatchlistsMessage | None:
        return msgspec.json.decode(payload, type=EdgeWatchlistsMessage) if payload else None

    empty = follow(url, topic, lambda p: bool(p), timeout=10)
    message = decoded(empty[-1])
    assert message is not None and [w.id for w in message.watchlists] == [synced] and message.members == []

    def added(payload: bytes) -> bool:
        found = decoded(payload)
        return found is not None and any(m.id == "alice" for m in found.members)

    seen = follow(url, topic, added, lambda: _register(api, "alice", "img1.jpg", synced), timeout=20)
    message = decoded(seen[-1])
    assert message is not None, [len(p) for p in seen]
    (alice,) = message.members
    assert alice.watchlist_ids == [synced] and len(alice.templates) == 1
    assert len(alice.templates[0].template) % 4 == 0 and alice.templates[0].template_model
    # A member of a watchlist the device does not get changes nothing it holds.
    _register(api, "bob", "img2.jpg", other)
    later = follow(url, topic, lambda p: bool(p), timeout=5)
    assert [m.id for m in (decoded(later[-1]) or message).members] == ["alice"]


def test_mqtt_clients_need_credentials_and_devices_speak_only_mqtt(cluster: Cluster) -> None:
    url = cluster.servers.edge_mqtt_url
    if not url:
        pytest.skip("NATS is not the embedded one")

    async def connect(**kwargs: Any) -> None:
        async with mqtt_client(url, "intruder", **kwargs) as client:
            await client.subscribe("facegate/edge/+/settings", qos=1)

    with pytest.raises(aiomqtt.MqttError):
        asyncio.run(connect(anonymous=True))
    with pytest.raises(aiomqtt.MqttError):
        asyncio.run(connect(password="wrong"))
    asyncio.run(connect())  # the edge user itself is let in

    async def as_nats_client() -> None:
        parts = urlsplit(url)
        nats_url = cluster.servers.nats_url.rpartition("@")[2]
        nc = await nats.connect(f"nats://{parts.username}:{parts.password}@{nats_url}", allow_reconnect=False,
                                max_reconnect_attempts=0, connect_timeout=3)  # fmt: skip
        await nc.close()

    with pytest.raises(Exception):  # noqa: B017 - nats-py raises its own or the server's authorization error
        asyncio.run(as_nats_client())


# --- the reference edge client ---


def edge_client_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("edge_client", EDGE_CLIENT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["edge_client"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def local_pipeline() -> FacePipeline:
    """The models the reference client runs on the device (here, this machine)."""
    return FacePipeline(Path(os.environ.get("FACEGATE_MODELS_DIR", str(REPO / "var" / "models"))), threads=1)


@pytest.mark.parametrize("device_matches", [False, True], ids=["facegate-matches", "device-matches"])
def test_the_reference_edge_client_streams_a_clip_stored_matched_and_announced(
    edge_api: httpx.Client, cluster: Cluster, local_pipeline: FacePipeline, tmp_path: Path, device_matches: bool
) -> None:
    api, servers = edge_api, cluster.servers
    watchlist = _watchlist(api, "staff")
    _register(api, "carol", "img1.jpg", watchlist)
    client_id = f"cam-{uuid.uuid4().hex[:6]}"
    stream = create(api, client_id, enabled=True, saveFrameImageData=True, settings={"messaging": {"interval": 200}})
    if device_matches:
        r = api.put(f"/api/v1/EdgeStreams/{stream['id']}/WatchlistSynchronization", json={"watchlistSyncOption": "All"})
        assert r.status_code == 200, r.text
    assert api.post("/api/v1/EdgeStreams/Settings/Synchronize").status_code == 204
    clip = write_clip(tmp_path / "walk.mp4", [("img1.jpg", 2.0)], fps=10)

    edge = edge_client_module().EdgeClient(servers.edge_mqtt_url, client_id, local_pipeline)
    sent = asyncio.run(edge.run(clip))
    assert sent >= 5 and (edge.matched > 0) == device_matches

    def complete(events: list[Event]) -> bool:
        kinds = [e.kind for e in events]
        return "match.found" in kinds and "tracklet.completed" in kinds

    events = wait_events(servers.nats_url, stream["id"], complete, 60, "the edge stream's match and tracklet")
    kinds = [e.kind for e in events]
    assert "face.created" in kinds and "face.extracted" in kinds and "match.stored" in kinds
    matches = [e.body for e in events if e.kind == "match.found"]
    assert matches and all(m["watchlistMemberId"] == "carol" and m["watchlistId"] == watchlist for m in matches)
    assert all(m["streamId"] == stream["id"] and m["score"] >= 40 for m in matches)
    faces = api.get("/api/v1/Faces", params={"CameraId": stream["id"]}).json()["items"]
    assert faces and all(f["imageDataId"] for f in faces)
    image = api.get(f"/api/v1/Images/{faces[0]['imageDataId']}")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    frame = api.get(f"/api/v1/Frames/{faces[0]['frameId']}").json()
    assert frame["imageDataId"]  # saveFrameImageData: the device sent the frame
    if device_matches:
        assert edge.gallery.message is not None and [m.id for m in edge.gallery.message.members] == ["carol"]
