"""Live ingest against a real RTSP server on 127.0.0.1: online, sampling, offline and back,
errors with reasons, and cameras shared and handed over between two camera_ingest replicas."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import json
import socket
import threading
import time
import uuid
import wave
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import nats
import pytest
import redis

from services.camera_ingest import records
from services.camera_ingest.leases import LEASE, REPLICAS, preferred_owner
from services.camera_ingest.status import KEY as STATUS_KEY
from shared.embedded import free_port
from tests.e2e.test_replicas import discover
from tests.rtsp.conftest import FAST_INGEST, RtspServer
from tests.rtsp.events import Event, camera_events
from tests.support import Cluster, wait_until

pytestmark = pytest.mark.rtsp

Status = dict[str, Any]


def add_camera(client: httpx.Client, source: str, *, enabled: bool = True, interval_ms: int = 200) -> str:
    body = {"name": "cam", "source": source, "enabled": enabled, "redetectionTime": interval_ms}
    r = client.post("/api/v1/Cameras", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def status_of(client: httpx.Client, camera_id: str) -> Status:
    r = client.get(f"/api/v1/Cameras/{camera_id}/Status")
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_status(
    client: httpx.Client, camera_id: str, ok: Callable[[Status], bool], timeout: float, what: str
) -> Status:
    seen: list[Status] = []

    def check() -> bool:
        seen.append(status_of(client, camera_id))
        return ok(seen[-1])

    try:
        wait_until(check, timeout, what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last status: {seen[-1] if seen else None}") from None
    return seen[-1]


def set_enabled(client: httpx.Client, camera_id: str, enabled: bool) -> None:
    cam = client.get(f"/api/v1/Cameras/{camera_id}").json()
    r = client.put("/api/v1/Cameras", json={**cam, "enabled": enabled})
    assert r.status_code == 200, r.text


def online(s: Status) -> bool:
    return s["state"] == "online"


def in_state(state: str) -> Callable[[Status], bool]:
    return lambda s: s["state"] == state


def decoders_per_camera(cluster: Cluster) -> Counter[str]:
    """How many camera_ingest replicas are decoding each camera now (from NATS service STATS)."""
    stats = asyncio.run(discover(cluster.servers.nats_url, "STATS", "camera_ingest"))
    # nats.micro hands each endpoint the service's stats: the cameras are in any endpoint's data.
    per_replica = [
        {c for e in s.get("endpoints") or [] for c in (e.get("data") or {}).get("cameras", {})} for s in stats
    ]
    return Counter(c for cameras in per_replica for c in cameras)


def streams_on_replicas(cluster: Cluster) -> set[str]:
    """Camera ids any camera_ingest replica is decoding now."""
    return set(decoders_per_camera(cluster))


def pids(cluster: Cluster) -> dict[tuple[str, int], int]:
    """Process ids of every service of ours: unchanged means nothing was restarted."""
    return {key: p.pid for key, p in cluster.services.procs.items()}


def dead_workers(cluster: Cluster) -> list[int]:
    """Exit codes of camera_ingest processes that died (none, when every worker is still up)."""
    procs = cluster.services.procs
    return [p.returncode for key, p in procs.items() if key[0] == "camera_ingest" and p.poll() is not None]


def test_enabled_camera_goes_online_samples_at_its_rate_and_stops_when_disabled(
    cams: Cluster, rtsp_server: RtspServer
) -> None:
    async def collect(subject: str, into: list[bytes], stop: asyncio.Event) -> None:
        nc = await nats.connect(cams.servers.nats_url)
        sub = await nc.subscribe(subject)
        ready.set()
        while not stop.is_set():
            with contextlib.suppress(nats.errors.TimeoutError):
                into.append((await sub.next_msg(timeout=0.2)).data)
        await nc.close()

    with cams.http() as client:
        # Events are published as JetStream messages: a plain subscriber sees them live.
        events: list[bytes] = []
        ready, done = asyncio.Event(), asyncio.Event()
        loop = asyncio.new_event_loop()

        listener = threading.Thread(
            target=loop.run_until_complete, args=(collect("facegate.evt.camera.status.*", events, done),), daemon=True
        )
        listener.start()
        wait_until(ready.is_set, 10, "the event listener")

        started = time.monotonic()
        camera_id = add_camera(client, rtsp_server.url, interval_ms=200)  # 5 analysed fps of a 10 fps stream
        status = wait_status(client, camera_id, lambda s: online(s) and s["framesSampled"] >= 10, 30, "frames")
        took = time.monotonic() - started
        print(f"\nenabled -> 10 frames sampled in {took:.1f} s")
        assert status["owner"] in ("camera_ingest-0", "camera_ingest-1")
        assert (status["width"], status["height"]) == (640, 360)
        assert status["sampleIntervalMs"] == 200 and status["reason"] is None
        # Sampled at the configured rate, not every decoded frame: 5 of 10 fps. The sampler keeps
        # stream time, so the rate shows against the frames decoded (whatever the machine's load),
        # which the decoder reports 25 at a time: measured once it reported 50.
        later = wait_status(client, camera_id, lambda s: s["framesDecoded"] >= 50, 15, "50 frames decoded")
        decoded, sampled = later["framesDecoded"], later["framesSampled"]
        assert 1.4 <= decoded / sampled <= 3, (sampled, decoded)
        assert camera_id in streams_on_replicas(cams)

        set_enabled(client, camera_id, False)
        assert status_of(client, camera_id)["state"] == "disabled"
        wait_until(lambda: camera_id not in streams_on_replicas(cams), 10, "the stream to stop")

        done.set()
        listener.join(5)
        states = [e for e in events if camera_id.encode() in e]
        assert any(b'"state":"connecting"' in e for e in states), states
        assert any(b'"state":"online"' in e for e in states), states


def test_server_down_marks_offline_and_its_return_brings_the_camera_back(
    cams: Cluster, rtsp_server: RtspServer
) -> None:
    ours = pids(cams)
    with cams.http() as client:
        camera_id = add_camera(client, rtsp_server.url)
        wait_status(client, camera_id, lambda s: online(s) and s["framesSampled"] > 0, 30, "online")
        rtsp_server.stop()
        down = wait_status(client, camera_id, lambda s: s["state"] == "offline", 15, "offline")
        assert "retrying" in down["reason"], down
        before = down["framesSampled"]
        # A few failed reconnects while the server is away: the retries keep showing why.
        retried = wait_status(client, camera_id, lambda s: s["reconnects"] >= down["reconnects"] + 2, 15, "retries")
        assert retried["state"] == "offline" and "retrying" in retried["reason"], retried

        started = time.monotonic()
        rtsp_server.start()  # same port; nothing of ours is restarted
        back = wait_status(client, camera_id, lambda s: online(s) and s["framesSampled"] > before, 20, "back online")
        print(f"\nserver back -> camera online in {time.monotonic() - started:.1f} s")
        assert back["reconnects"] >= 1 and back["owner"] == down["owner"]
        assert pids(cams) == ours and not dead_workers(cams)  # the same processes, all alive


def test_a_frozen_server_marks_offline_and_thawing_brings_the_camera_back(
    cams: Cluster, rtsp_server: RtspServer
) -> None:
    """A camera that hangs (connection open, nothing sent) is offline within the read timeout,
    and is read again once it sends, with nothing of ours restarted."""
    with cams.http() as client:
        camera_id = add_camera(client, rtsp_server.url)
        wait_status(client, camera_id, lambda s: online(s) and s["framesSampled"] > 0, 30, "online")
        rtsp_server.freeze()
        try:
            started = time.monotonic()
            down = wait_status(client, camera_id, in_state("offline"), 15, "offline")
            print(f"\nserver frozen -> camera offline in {time.monotonic() - started:.1f} s")
            assert "stopped sending" in down["reason"] and "retrying" in down["reason"], down
            # A reconnect meets the frozen server too: it fails (a new reason, with the next backoff),
            # still offline, for the same kind of reason.
            again = wait_status(client, camera_id, lambda s: s["reason"] != down["reason"], 20, "a failed reconnect")
            assert again["state"] == "offline" and ("answer" in again["reason"] or "sending" in again["reason"]), again
            before = again["framesSampled"]
        finally:
            rtsp_server.thaw()
        back = wait_status(client, camera_id, lambda s: online(s) and s["framesSampled"] > before, 20, "back online")
        assert back["owner"] == down["owner"] and back["reason"] is None
        assert not dead_workers(cams)


def test_bad_sources_show_an_error_with_the_reason_and_do_not_block_others(
    cams: Cluster, rtsp_server: RtspServer, tmp_path: Path
) -> None:
    (tmp_path / "garbage.mp4").write_bytes(bytes(range(256)) * 400)
    with wave.open(str(tmp_path / "sound.wav"), "wb") as w:  # a readable file with no picture
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 8000)
    silent = socket.socket()  # takes connections and never says a word (a hung camera)
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    with silent, serve_folder(tmp_path) as files, cams.http() as client:  # test replicas allow http
        bad = {
            f"rtsp://127.0.0.1:{rtsp_server.port}/no-such-path": ("error", "no such stream"),
            f"{files}/garbage.mp4": ("error", "not a video stream"),
            f"{files}/sound.wav": ("error", "no video stream"),
            f"rtsp://admin:secret@127.0.0.1:{free_port()}/cam": ("offline", "cannot reach"),
            f"rtsp://127.0.0.1:{silent.getsockname()[1]}/cam": ("offline", "did not answer"),
        }
        # Paths and FFmpeg's other protocols are refused when saved (shared/sources.py).
        for refused in (str(tmp_path / "garbage.mp4"), "nosuchprotocol://camera/1", "concat:/etc/hostname"):
            r = client.post("/api/v1/Cameras", json={"name": "cam", "source": refused, "enabled": True})
            assert r.status_code == 400 and "source" in r.json()["errors"], r.text
        ids = {source: add_camera(client, source) for source in bad}
        good = add_camera(client, rtsp_server.url)
        for source, (state, words) in bad.items():
            status = wait_status(client, ids[source], in_state(state), 20, f"{state}: {source}")
            assert words in status["reason"] and "retrying" in status["reason"], status
            assert "secret" not in status["reason"], status  # a camera's credentials stay out of its status
        wait_status(client, good, lambda s: online(s) and s["framesSampled"] > 0, 20, "the good camera online")
        # ... and the bad ones keep being retried.
        for camera_id in ids.values():
            wait_status(client, camera_id, lambda s: s["reconnects"] >= 2, 20, "retries")
        for source, camera_id in ids.items():
            assert status_of(client, camera_id)["state"] == bad[source][0]
        assert status_of(client, good)["state"] == "online"
        assert not dead_workers(cams), "a bad camera took a camera_ingest worker down"
        # Deleting a camera stops its stream.
        assert client.delete(f"/api/v1/Cameras/{good}").status_code == 204
        wait_until(lambda: good not in streams_on_replicas(cams), 10, "the deleted camera's stream to stop")


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """An HTTP server of `folder` on 127.0.0.1 while in the block; its base URL."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()


def test_tracklets_a_dead_owner_left_open_end_when_the_camera_starts_again(
    cams: Cluster, rtsp_server: RtspServer
) -> None:
    """A replica killed mid-tracklet (or whose shutdown closed NATS first) cannot end its
    tracklets; whoever starts the camera next ends them, with a tracklet.completed event."""
    with cams.http() as client:
        camera_id = add_camera(client, rtsp_server.url, enabled=False)
        left = asyncio.run(leave_open_tracklet(cams.servers.database_url, camera_id))
        assert client.get(f"/api/v1/Tracklet/{left['tracklet']}").json()["timeDisappeared"] is None
        set_enabled(client, camera_id, True)
        wait_status(client, camera_id, online, 30, "online")

        def completed() -> list[Event]:
            return [e for e in camera_events(cams.servers.nats_url, camera_id)
                    if e.kind == "tracklet.completed" and e.body["id"] == left["tracklet"]]  # fmt: skip

        wait_until(lambda: bool(completed()), 10, "the orphaned tracklet completed")
        (event,) = completed()
        assert event.topic == "tracklets.completed" and event.body["streamId"] == camera_id
        tracklet = client.get(f"/api/v1/Tracklet/{left['tracklet']}").json()
        # It disappeared when its last stored face was seen, not when it was found.
        assert tracklet["timeDisappeared"] is not None
        assert stamp(tracklet["timeDisappeared"]) == stamp(left["last_seen"])
        assert tracklet["timeDisappearedRelativeMs"] == 2500
        assert stamp(event.body["timeDisappeared"]) == stamp(left["last_seen"])
        # Once: restarting the stream does not announce it again. Stopped for sure before it starts
        # again, and the new stream's first frame went through the pipeline, which takes frames only
        # after the start ended (and announced) what it found open.
        set_enabled(client, camera_id, False)
        wait_until(lambda: camera_id not in streams_on_replicas(cams), 10, "the stream to stop")
        restarted = datetime.now(UTC)  # (a status older than this is the old stream's)
        set_enabled(client, camera_id, True)

        def first_frame_analysed(s: Status) -> bool:
            return online(s) and stamp(s["since"]) >= restarted and s["framesAnalysed"] + s["framesFailed"] > 0

        wait_status(client, camera_id, first_frame_analysed, 30, "online again, a frame through the pipeline")
        assert len(completed()) == 1


@pytest.mark.parametrize("how", ["disabled", "deleted"])
def test_tracklets_a_dead_owner_left_open_end_when_the_camera_is_disabled_or_deleted(
    cams: Cluster, rtsp_server: RtspServer, how: str
) -> None:
    """Nobody starts the camera again, so nobody would end them: the replicas do it two lease
    TTLs after the change, once (both replicas try)."""
    with cams.http() as client:
        camera_id = add_camera(client, rtsp_server.url, enabled=False)
        left = asyncio.run(leave_open_tracklet(cams.servers.database_url, camera_id))
        changed = time.monotonic()
        if how == "disabled":
            set_enabled(client, camera_id, False)  # (it was: an update that leaves it disabled)
        else:
            assert client.delete(f"/api/v1/Cameras/{camera_id}").status_code == 204

        def completed() -> list[Event]:
            return [e for e in camera_events(cams.servers.nats_url, camera_id)
                    if e.kind == "tracklet.completed" and e.body["id"] == left["tracklet"]]  # fmt: skip

        wait_until(lambda: bool(completed()), 15, "the abandoned tracklet completed")
        took = time.monotonic() - changed
        assert took >= 2 * float(FAST_INGEST["FACEGATE_CAMERA_LEASE_TTL_S"]) - 0.5, took  # a live owner goes first
        # Nothing to wait for: the other replica, woken by the same camera event, has tried within
        # milliseconds and must have found nothing left to end. A second is plenty for it to show.
        time.sleep(1)
        (event,) = completed()
        assert stamp(event.body["timeDisappeared"]) == stamp(left["last_seen"])
        assert stamp(client.get(f"/api/v1/Tracklet/{left['tracklet']}").json()["timeDisappeared"]) == stamp(
            left["last_seen"]
        )


def test_an_enabled_cameras_tracklets_are_not_ended_by_the_sweep(cams: Cluster, rtsp_server: RtspServer) -> None:
    """Renaming a camera is an update too: while it is enabled, its tracklets are its owner's."""
    with cams.http() as client:
        camera_id = add_camera(client, rtsp_server.url, enabled=False)
        left = asyncio.run(leave_open_tracklet(cams.servers.database_url, camera_id))
        cam = client.get(f"/api/v1/Cameras/{camera_id}").json()
        # Enabled after the open tracklet was written: the new owner ends it as it starts (once).
        assert client.put("/api/v1/Cameras", json={**cam, "enabled": True, "name": "renamed"}).status_code == 200
        changed = time.monotonic()

        def ended() -> list[Event]:
            return [e for e in camera_events(cams.servers.nats_url, camera_id)
                    if e.kind == "tracklet.completed" and e.body["id"] == left["tracklet"]]  # fmt: skip

        wait_until(lambda: bool(ended()), 30, "the new owner to end the tracklet as it starts")
        # What must not happen has no event: the sweep would run two lease TTLs after the change,
        # so watch until a second past that.
        time.sleep(max(0.0, changed + 2 * float(FAST_INGEST["FACEGATE_CAMERA_LEASE_TTL_S"]) + 1 - time.monotonic()))
        assert len(ended()) == 1


def stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def leave_open_tracklet(database_url: str, camera_id: str) -> dict[str, str]:
    """A tracklet with two stored faces and no end, as a killed replica leaves it."""
    conn = await asyncpg.connect(database_url)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    try:
        tracklet = str(uuid.uuid4())
        appeared = datetime.now(UTC) - timedelta(minutes=5)
        await records.insert_tracklet(conn, tracklet, camera_id, appeared, 1000)
        for offset_ms in (1000, 2500):
            frame = str(uuid.uuid4())
            seen_at = appeared + timedelta(milliseconds=offset_ms - 1000)
            await records.insert_frame(conn, frame, camera_id, None, seen_at, offset_ms)
            await records.insert_face(conn, str(uuid.uuid4()), camera_id, tracklet, frame, None, {"quality": 1})
        return {"tracklet": tracklet, "last_seen": seen_at.isoformat()}
    finally:
        await conn.close()


def test_two_replicas_share_cameras_and_a_dead_one_hands_them_over(cams: Cluster, rtsp_server: RtspServer) -> None:
    r = redis.Redis.from_url(cams.servers.redis_url)
    wait_until(lambda: r.zcard(REPLICAS) == 2, 15, "both replicas registered")
    members: list[bytes] = r.zrange(REPLICAS, 0, -1)  # type: ignore[assignment]
    tokens = sorted(t.decode() for t in members)
    with cams.http() as client:
        # Enough cameras that each replica is the preferred owner of at least two.
        ids: list[str] = []
        while len(ids) < 4 or min(sum(preferred_owner(c, tokens) == t for c in ids) for t in tokens) < 2:
            ids.append(add_camera(client, rtsp_server.url, enabled=False, interval_ms=500))
        for camera_id in ids:
            set_enabled(client, camera_id, True)
        statuses = {c: wait_status(client, c, online, 30, "online") for c in ids}
        owners = {s["owner"] for s in statuses.values()}
        assert owners == {"camera_ingest-0", "camera_ingest-1"}, statuses
        # Each camera is decoded by exactly one replica, the one holding its lease.
        assert decoders_per_camera(cams) == Counter(ids), decoders_per_camera(cams)
        holders = {c: bytes(r.get(LEASE + c) or b"").decode() for c in ids}  # type: ignore[arg-type]
        assert all(holders[c].startswith(statuses[c]["owner"] + "/") for c in ids), (holders, statuses)
        victims = [c for c, s in statuses.items() if s["owner"] == "camera_ingest-1"]

        cams.services.procs[("camera_ingest", 1)].kill()  # no goodbye: its leases must expire
        cams.services.procs.pop(("camera_ingest", 1)).wait()
        started = time.monotonic()
        for camera_id in victims:
            wait_status(client, camera_id, lambda s: online(s) and s["owner"] == "camera_ingest-0", 20, "taken over")
        took = time.monotonic() - started
        print(f"\nreplica killed -> its {len(victims)} camera(s) online on the other in {took:.1f} s")
        assert all(status_of(client, c)["owner"] == "camera_ingest-0" for c in ids)
        assert decoders_per_camera(cams) == Counter(ids)


class TcpProxy:
    """A TCP forwarder in its own thread; `cut()` drops every connection and stops listening,
    as a lost network would for the process behind it."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.loop = asyncio.new_event_loop()
        self.port = free_port()
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for w in self._writers:
                w.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)

    def stop(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)


def live_replicas(r: redis.Redis) -> list[str]:
    members: list[bytes] = r.zrange(REPLICAS, 0, -1)  # type: ignore[assignment]
    return sorted(t.decode() for t in members)


def owner_in_redis(r: redis.Redis, camera_id: str) -> str | None:
    """The owner an online camera's status names, read from Redis: a replica without its
    database may still take API requests, and fail them."""
    raw = r.get(STATUS_KEY + camera_id)
    if not raw:
        return None
    status = json.loads(raw)
    return str(status["owner"]) if status["state"] == "online" else None


def test_a_replica_that_loses_its_database_hands_its_cameras_over(cams: Cluster, rtsp_server: RtspServer) -> None:
    """Replica 2 reaches Postgres through a proxy that is then cut: it can no longer read the
    cameras, so it must leave the live set (no heartbeat) and stop its streams, and replica 0
    must take them. Before this was fixed it kept heartbeating and its cameras stayed dark."""
    services = cams.services
    db = urlsplit(cams.servers.database_url)
    proxy = TcpProxy(db.hostname or "127.0.0.1", db.port or 5432)
    proxied = urlunsplit(db._replace(netloc=db.netloc.replace(f"{db.hostname}:{db.port}", f"127.0.0.1:{proxy.port}")))
    r = redis.Redis.from_url(cams.servers.redis_url)
    if ("camera_ingest", 1) in services.procs:  # (an earlier test may have killed it)
        services.stop_one("camera_ingest", 1)
    services.start("camera_ingest", 2, extra_env={**FAST_INGEST, "FACEGATE_DATABASE_URL": proxied})
    try:
        wait_until(lambda: len(live_replicas(r)) == 2 and any(t.startswith("camera_ingest-2/") for t in
                   live_replicas(r)), 30, "replicas 0 and 2 live")  # fmt: skip
        tokens = live_replicas(r)
        two = next(t for t in tokens if t.startswith("camera_ingest-2/"))
        with cams.http() as client:
            ids: list[str] = []
            while len(ids) < 2 or sum(preferred_owner(c, tokens) == two for c in ids) < 1:
                ids.append(add_camera(client, rtsp_server.url, enabled=False, interval_ms=500))
            for camera_id in ids:
                set_enabled(client, camera_id, True)
            wait_until(lambda: all(owner_in_redis(r, c) for c in ids), 30, "every camera online")
            victims = [c for c in ids if owner_in_redis(r, c) == "camera_ingest-2"]
            assert victims, {c: owner_in_redis(r, c) for c in ids}

            proxy.cut()
            started = time.monotonic()
            wait_until(lambda: all(owner_in_redis(r, c) == "camera_ingest-0" for c in victims), 20,
                       "replica 0 to take the cameras over")  # fmt: skip
            print(f"\ndatabase cut -> {len(victims)} camera(s) online on the other replica in "
                  f"{time.monotonic() - started:.1f} s")  # fmt: skip
            assert not any(t.startswith("camera_ingest-2/") for t in live_replicas(r))
            wait_until(lambda: decoders_per_camera(cams) == Counter(ids), 10, "one decoder per camera")
    finally:
        services.stop_one("camera_ingest", 2)
        proxy.stop()
        services.start("camera_ingest", 1, extra_env=FAST_INGEST)
        wait_until(lambda: r.zcard(REPLICAS) == 2, 30, "replica 1 back")
