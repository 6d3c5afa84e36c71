"""Camera sources that could reach into the server are refused, and a source's credentials,
whatever characters they hold, are encrypted at rest and hidden everywhere else (shared/sources.py,
shared/encryption.py): against the real gateway, camera_ingest, Postgres, Redis and NATS.

Each test runs its own camera_ingest replica (with its own source settings, its log in a file)
in place of the session's one, which comes back afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest
import redis
from cryptography.fernet import Fernet

from services.camera_ingest.status import KEY as STATUS_KEY
from shared.embedded import free_port
from tests.e2e.test_cameras import update_body
from tests.support import REPO, SECRET_KEY, Cluster, assert_problem, truncate, wait_until

# A user and password with a quote, an '@', a '%' (written %25) and a non-ASCII letter.
USERINFO = "us'er:p\"a@ss%25wörd"
# What must appear nowhere but in the encrypted column, in any of the forms it could take.
LEAKS = ("us'er", 'p"a', 'p\\"a', "wörd", "w\\u00f6rd", "ss%w", "ss%25w", "%22a%40")


def leaked(text: str) -> list[str]:
    return [fragment for fragment in LEAKS if fragment in text]


def text_of(value: object) -> str:
    """A Redis value as text."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@pytest.fixture(scope="module")
def without_session_ingest(cluster: Cluster) -> Iterator[Cluster]:
    had = ("camera_ingest", 0) in cluster.services.procs
    if had:
        cluster.services.stop_one("camera_ingest", 0)
    try:
        yield cluster
    finally:
        if had:
            cluster.services.start("camera_ingest", 0)


@contextlib.contextmanager
def ingest(cluster: Cluster, log: Path, **env: str) -> Iterator[httpx.Client]:
    """A camera_ingest replica with `env` (FACEGATE_CAMERA_* settings), logging to `log`."""
    settings = {**cluster.servers.env(), "FACEGATE_LOG_LEVEL": "INFO", "FACEGATE_INSTANCE_ID": "sources-0",
                "FACEGATE_CAMERA_BACKOFF_INITIAL_S": "0.3", "FACEGATE_CAMERA_BACKOFF_MAX_S": "1", **env}  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.camera_ingest"], cwd=REPO, env=settings, stdout=out, stderr=out
        )
    try:
        with cluster.http() as client:
            wait_until(lambda: client.get("/api/v1/Cameras").status_code == 200, 60, "the camera_ingest replica")
            yield client
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


REFUSED = [
    "/etc/passwd",
    "file:/etc/passwd",
    "file:///etc/passwd",
    "concat:/etc/hostname|/etc/hostname",
    "subfile,,start,0,end,100,,:/etc/passwd",
    "pipe:0",
    "data:video/mp4;base64,AAAA",
    "async:rtsp://10.0.0.1/cam",
    "http://10.0.0.1/cam.mjpg",  # http sources are off unless enabled
    "rtsp://127.0.0.1:8554/cam",
    "rtsp://127.1/cam",
    "rtsp://2130706433/cam",  # 127.0.0.1 written as a number
    "rtsp://localhost:8554/cam",  # a host name resolving to loopback
    "rtsp://[::1]/cam",
    "rtsp://[::ffff:127.0.0.1]/cam",
    "rtsp://0.0.0.0/cam",
    "rtsp://169.254.169.254/latest/meta-data",
    "rtsp://[fd00:ec2::254]/cam",
    "rtsp://169.254.10.10/cam",  # link-local
    "rtsp://10.0.0.1/cam\r\nX-Injected: 1",
]


def test_with_the_default_settings_local_and_internal_sources_are_a_400_naming_source(
    without_session_ingest: Cluster, tmp_path: Path
) -> None:
    truncate(without_session_ingest.servers.database_url, ("cameras",))
    # The defaults: rtsp and rtsps, no network allowed (the test cluster allows loopback).
    with ingest(
        without_session_ingest, tmp_path / "camera_ingest.log", FACEGATE_CAMERA_SOURCE_ALLOW_NETWORKS=""
    ) as api:
        for source in REFUSED:
            body = assert_problem(api.post("/api/v1/Cameras", json={"name": "c", "source": source}), 400)
            assert list(body["errors"]) == ["source"], (source, body)
        assert api.get("/api/v1/Cameras").json() == []
        # Cameras on private networks are what sources are for; an update is checked too.
        r = api.post("/api/v1/Cameras", json={"name": "c", "source": "rtsp://192.168.1.64:554/Streaming/101"})
        assert r.status_code == 201, r.text
        cam = r.json()
        body = assert_problem(api.put("/api/v1/Cameras", json=update_body(cam, source="rtsp://127.0.0.1/x")), 400)
        assert "loopback" in body["errors"]["source"][0], body
        r = api.put("/api/v1/Cameras", json=update_body(cam, source="rtsps://10.1.2.3/cam", name="renamed"))
        assert r.status_code == 200 and r.json()["source"] == "rtsps://10.1.2.3/cam", r.text
        assert api.delete(f"/api/v1/Cameras/{cam['id']}").status_code == 204


async def stored_row(database_url: str, camera_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT source, config, source_secret FROM cameras WHERE id = $1", uuid.UUID(camera_id)
        )
        assert row is not None
        return dict(row)
    finally:
        await conn.close()


async def insert_plain(database_url: str, camera_id: uuid.UUID, source: str, config: dict[str, Any]) -> None:
    """A camera as stored before sources were encrypted (no source_secret)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "INSERT INTO cameras (id, name, source, enabled, interval_ms, preview_port, config) "
            "VALUES ($1, 'legacy', $2, false, 500, 0, $3)",
            camera_id, source, json.dumps({**config, "id": str(camera_id), "source": source, "mpeG1PreviewPort": 0}),
        )  # fmt: skip
    finally:
        await conn.close()


def test_credentials_are_encrypted_at_rest_and_hidden_everywhere(
    without_session_ingest: Cluster, tmp_path: Path
) -> None:
    cluster = without_session_ingest
    truncate(cluster.servers.database_url, ("cameras",))
    port = free_port()  # nothing listens there: FFmpeg's error quotes the URL
    source = f"rtsp://{USERINFO}@127.0.0.1:{port}/cam"
    hidden = f"rtsp://***@127.0.0.1:{port}/cam"
    legacy_id = uuid.uuid4()
    log = tmp_path / "camera_ingest.log"
    with ingest(cluster, log, FACEGATE_CAMERA_SOURCE_ALLOW_NETWORKS="127.0.0.1/32") as client:
        events: list[bytes] = []

        async def collect() -> None:
            nc = await nats.connect(cluster.servers.nats_url)
            sub = await nc.subscribe("facegate.evt.camera.>")
            r = await asyncio.to_thread(
                client.post, "/api/v1/Cameras", json={"name": "door", "source": source, "enabled": True}
            )
            assert r.status_code == 201, r.text
            with contextlib.suppress(nats.errors.TimeoutError):
                while True:
                    events.append((await sub.next_msg(timeout=3)).data)
            await nc.close()

        asyncio.run(collect())
        cam = next(json.loads(e)["camera"] for e in events if json.loads(e).get("camera"))
        camera_id = cam["id"]
        assert cam["source"] == hidden
        status = wait_until_status(client, camera_id)
        assert "cannot reach" in status["reason"] and not leaked(json.dumps(status, ensure_ascii=False)), status
        # The API answers the source hidden; sent back unchanged, the stored credentials stay.
        got = client.get(f"/api/v1/Cameras/{camera_id}").json()
        assert got["source"] == hidden and client.get("/api/v1/Cameras").json()[0]["source"] == hidden
        r = client.put("/api/v1/Cameras", json=update_body(got, name="door 2"))
        assert r.status_code == 200 and r.json()["source"] == hidden, r.text
        row = asyncio.run(stored_row(cluster.servers.database_url, camera_id))
        assert Fernet(SECRET_KEY.encode()).decrypt(row["source_secret"].encode()).decode() == source
        assert row["source"] == hidden and json.loads(row["config"])["source"] == hidden
        assert not leaked(row["source_secret"]) and not leaked(json.dumps(row, ensure_ascii=False, default=str))
        # Redis (the status board) and every event carry no credentials either.
        r_ = redis.Redis.from_url(cluster.servers.redis_url)
        assert not leaked(text_of(r_.get(STATUS_KEY + camera_id))) and "cannot reach" in text_of(
            r_.get(STATUS_KEY + camera_id)
        )
        for key in r_.scan_iter("facegate:*"):
            if r_.type(key) == b"string":
                assert not leaked(text_of(r_.get(key))), key
        assert events and not any(leaked(e.decode()) for e in events), events
        # A new host with the hidden credentials does not inherit them (they would go to that host).
        moved = f"rtsp://***@127.0.0.1:{free_port()}/cam"
        assert client.put("/api/v1/Cameras", json=update_body(got, source=moved)).status_code == 200
        row = asyncio.run(stored_row(cluster.servers.database_url, camera_id))
        assert Fernet(SECRET_KEY.encode()).decrypt(row["source_secret"].encode()).decode() == moved
        # A camera stored before sources were encrypted is encrypted when a replica starts.
        asyncio.run(insert_plain(cluster.servers.database_url, legacy_id, source, got))
    text = log.read_text()
    assert "retrying" in text and not leaked(text), text[-3000:]
    with ingest(cluster, tmp_path / "again.log", FACEGATE_CAMERA_SOURCE_ALLOW_NETWORKS="127.0.0.1/32") as client:
        row = asyncio.run(stored_row(cluster.servers.database_url, str(legacy_id)))
        assert row["source_secret"] and row["source"] == hidden and not leaked(json.dumps(row, default=str))
        assert client.get(f"/api/v1/Cameras/{legacy_id}").json()["source"] == hidden
    truncate(cluster.servers.database_url, ("cameras",))


def wait_until_status(client: httpx.Client, camera_id: str) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    def offline() -> bool:
        seen.append(client.get(f"/api/v1/Cameras/{camera_id}/Status").json())
        return seen[-1]["state"] == "offline" and seen[-1]["reconnects"] >= 1

    wait_until(offline, 30, "the camera offline, retried")
    return seen[-1]
