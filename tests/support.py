"""Test support: real servers (embedded on free ports, or FACEGATE_*_URL) and a real cluster."""

from __future__ import annotations

import asyncio
import base64
import csv
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from socketserver import BaseRequestHandler
from typing import Any

import asyncpg
import httpx
import nats
from cryptography.fernet import Fernet

from shared.cluster import ServiceProcesses
from shared.db.migrate import migrate_url
from shared.embedded import EmbeddedServers, free_port
from shared.subjects import SERVICES

REPO = Path(__file__).resolve().parent.parent
FACES = REPO.parent / "shared" / "faces"
# The test cameras (tests/rtsp's server, the closed ports of tests/e2e) are on this machine:
# sources on loopback are refused unless allowed (shared/sources.py).
LOOPBACK = "127.0.0.0/8,::1/128"
# The key that encrypts camera sources at rest, the same for every process of a test run.
SECRET_KEY = Fernet.generate_key().decode()

GALLERY_TABLES = ("watchlist_links", "watchlist_members", "watchlists")


@dataclass(frozen=True)
class Servers:
    nats_url: str
    database_url: str
    redis_url: str
    image_folder: str  # camera_ingest's Folder image storage, inside the test's temporary root
    # Per service: its own credentials for the embedded servers (none for servers given by URL,
    # e.g. CI's: services then use those URLs as they are).
    service_envs: dict[str, dict[str, str]] = field(default_factory=dict)
    events_url: str = ""  # NATS as the outside events reader (embedded NATS only)
    edge_mqtt_url: str = ""  # NATS's MQTT listener as edge devices reach it (embedded NATS only)

    def service_env(self, service: str) -> dict[str, str]:
        """What `service`'s environment has of its own (ServiceProcesses.service_env)."""
        return self.service_envs.get(service, {})

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "FACEGATE_NATS_URL": self.nats_url,
            "FACEGATE_DATABASE_URL": self.database_url,
            "FACEGATE_REDIS_URL": self.redis_url,
            "FACEGATE_CAMERA_IMAGE_FOLDER": self.image_folder,
            "FACEGATE_CAMERA_SOURCE_ALLOW_NETWORKS": LOOPBACK,
            "FACEGATE_SECRET_KEY": SECRET_KEY,
            # The cleanup looks at the frame count every second, not every minute.
            "FACEGATE_CLEANUP_CHECK_INTERVAL_S": "1",
            "FACEGATE_LOG_LEVEL": "WARNING",
        }


@contextmanager
def real_servers(root: Path) -> Iterator[Servers]:
    """FACEGATE_*_URL from the environment where set, embedded servers on free ports otherwise."""
    embedded = EmbeddedServers(
        root, nats_port=free_port(), postgres_port=free_port(), redis_port=free_port(), mqtt_port=free_port()
    )
    embedded.start(
        nats="FACEGATE_NATS_URL" not in os.environ,
        postgres="FACEGATE_DATABASE_URL" not in os.environ,
        redis="FACEGATE_REDIS_URL" not in os.environ,
    )
    try:
        servers = Servers(
            nats_url=os.environ.get("FACEGATE_NATS_URL", embedded.nats_url),
            database_url=os.environ.get("FACEGATE_DATABASE_URL", embedded.database_url),
            redis_url=os.environ.get("FACEGATE_REDIS_URL", embedded.redis_url),
            image_folder=str(root / "images"),
            service_envs={service: embedded.service_env(service) for service in SERVICES},
            events_url=embedded.events_url if "nats" in embedded.started else "",
            edge_mqtt_url=embedded.edge_mqtt_url if "nats" in embedded.started else "",
        )
        roles = embedded.role_passwords() if "postgres" in embedded.started else None
        asyncio.run(migrate_url(servers.database_url, roles))
        yield servers
    finally:
        embedded.stop()


@contextmanager
def own_servers(root: Path) -> Iterator[tuple[EmbeddedServers, Servers]]:
    """Embedded servers on free ports whatever the environment says, for tests that stop or
    kill servers (the session's servers are shared by every other test)."""
    embedded = EmbeddedServers(
        root, nats_port=free_port(), postgres_port=free_port(), redis_port=free_port(), mqtt_port=free_port()
    )
    embedded.start()
    try:
        envs = {service: embedded.service_env(service) for service in SERVICES}
        urls = (embedded.nats_url, embedded.database_url, embedded.redis_url)
        servers = Servers(*urls, str(root / "images"), envs, embedded.events_url, embedded.edge_mqtt_url)
        asyncio.run(migrate_url(servers.database_url, embedded.role_passwords()))
        yield embedded, servers
    finally:
        embedded.stop()


@contextmanager
def serve_http(handler: Callable[..., BaseRequestHandler]) -> Iterator[str]:
    """An HTTP server on 127.0.0.1 in a thread for the block: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def wait_until(check: object, timeout: float = 30, what: str = "condition") -> None:
    """Poll `check()` until it is truthy."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception as exc:  # servers still starting
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")


@dataclass
class Cluster:
    """Facegate services as real processes against real servers; the gateway and the GraphQL
    API (when started) on free ports."""

    servers: Servers
    services: ServiceProcesses
    base_url: str
    graphql_url: str
    # Each worker's /healthz, /readyz and /metrics port (FACEGATE_HEALTH_PORT), by service.
    health_ports: dict[str, int] = field(default_factory=dict)

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30)

    def wait_ready(self, names: tuple[str, ...] | list[str] = ()) -> None:
        with self.http() as client:
            wait_until(lambda: client.get("/api/v1/Watchlists").status_code == 200, 60, "the gateway and matcher")
        if "graphql" in names:
            ready = f"{self.graphql_url}/readyz"
            wait_until(lambda: httpx.get(ready).status_code == 200, 60, "the GraphQL service")
        # Workers join NATS service discovery only once their models are loaded and warm.
        workers = [n for n in names if n not in ("gateway", "graphql", "matcher")]
        wait_until(lambda: set(workers) <= answering(self.servers.nats_url, workers), 300, f"workers {workers}")


def answering(nats_url: str, names: list[str]) -> set[str]:
    """Which of these services answer `$SRV.PING` now."""

    async def ping() -> set[str]:
        nc = await nats.connect(nats_url)
        try:
            found = set()
            for name in names:
                try:
                    await nc.request(f"$SRV.PING.{name}", b"", timeout=0.5)
                    found.add(name)
                except nats.errors.Error:
                    pass
            return found
        finally:
            await nc.close()

    return asyncio.run(ping())


@dataclass
class ClusterServices(ServiceProcesses):
    """The cluster's processes, the first replica of each worker with its health port (/metrics),
    restarts by a test included (a second replica does not get it: the port is taken)."""

    health_ports: dict[str, int] = field(default_factory=dict)

    def start(self, name: str, index: int = 0, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        if index == 0 and name in self.health_ports:
            extra_env = {"FACEGATE_HEALTH_PORT": str(self.health_ports[name]), **(extra_env or {})}
        return super().start(name, index, extra_env)


def start_cluster(servers: Servers, names: list[str]) -> Cluster:
    port, graphql_port = free_port(), free_port()
    env = {**servers.env(), "FACEGATE_GATEWAY_PORT": str(port), "FACEGATE_GRAPHQL_PORT": str(graphql_port),
           "FACEGATE_GATEWAY_HOST": "127.0.0.1"}  # fmt: skip
    health_ports = {name: free_port() for name in names if name != "gateway"}
    services = ClusterServices(env, service_env=servers.service_env, health_ports=health_ports)
    for name in names:
        services.start(name, 0)
    cluster = Cluster(servers, services, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{graphql_port}", health_ports)
    cluster.wait_ready(names)
    return cluster


def truncate(database_url: str, tables: tuple[str, ...] = GALLERY_TABLES) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            for attempt in range(5):
                try:
                    await conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
                    return
                except asyncpg.DeadlockDetectedError:
                    # A worker's transaction took the same tables in another order (a matcher
                    # replaying the change log); Postgres cancelled us, not it: try again.
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2)
        finally:
            await conn.close()

    asyncio.run(run())


def assert_problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = dict(r.json())
    assert body["status"] == status and body["title"] and "type" in body
    return body


def photo_b64(name: str) -> str:
    """A photo of ../shared/faces/photos as base64, as clients send images."""
    return base64.b64encode((FACES / "photos" / name).read_bytes()).decode()


def read_csv(name: str) -> list[dict[str, str]]:
    """Rows of a CSV file of ../shared/faces (identities.csv, pairs.csv)."""
    with (FACES / name).open(newline="") as f:
        return list(csv.DictReader(f))


@contextmanager
def storage_mode(api: httpx.Client, mode: str) -> Iterator[None]:
    """The cluster stores new camera images in `mode` (Database, Folder, ObjectStore), then in
    Postgres again."""
    r = api.put("/api/v1/Setup/DataStorage/Images", json={"storageMode": mode})
    assert r.status_code == 200 and r.json() == {"storageMode": mode}, r.text
    try:
        yield
    finally:
        api.put("/api/v1/Setup/DataStorage/Images", json={"storageMode": "Database"})
