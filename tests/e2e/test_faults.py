"""Faults answered right: a server down is a 503 naming it, the matcher starts without Redis, the
launcher restarts killed servers. These tests stop servers, so they start their own (never the
session's, which other tests share)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import httpx
import pytest
import redis

from shared import subjects
from shared.bus import Bus, Empty
from shared.cluster import ServiceProcesses
from shared.embedded import EmbeddedServers, free_port, port_open
from shared.errors import RETRY_AFTER_S
from shared.messages.matcher import IndexStats
from shared.settings import Settings
from tests.support import Cluster, Servers, assert_problem, own_servers, start_cluster, wait_until

MATCHER_HEALTH_PORT = free_port()


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmbeddedServers, Servers]]:
    with own_servers(tmp_path_factory.mktemp("fault-servers")) as started:
        yield started


@pytest.fixture(scope="module")
def small_cluster(own: tuple[EmbeddedServers, Servers]) -> Iterator[Cluster]:
    started = start_cluster(own[1], ["matcher", "gateway"])
    try:
        yield started
    finally:
        started.services.stop()


def stop_server(embedded: EmbeddedServers, name: str) -> None:
    """A clean stop (SIGINT: Postgres's fast shutdown), as an operator or a crash would leave it."""
    proc = embedded.processes[name]
    proc.send_signal(signal.SIGINT)
    proc.wait(30)


def test_postgres_down_is_a_503_naming_it(own: tuple[EmbeddedServers, Servers], small_cluster: Cluster) -> None:
    embedded, _ = own
    with small_cluster.http() as api:
        assert api.put("/api/v1/Watchlists", json={"id": "before", "displayName": "B", "fullName": "B"}).is_success
        stop_server(embedded, "postgres")
        try:
            for answer in (
                api.get("/api/v1/Watchlists"),
                api.get("/api/v1/Watchlists/before"),
                api.post("/api/v1/Watchlists", json={"displayName": "N", "fullName": "New"}),
            ):
                body = assert_problem(answer, 503)
                assert body["detail"].startswith("Postgres is unavailable"), body
                assert answer.headers["retry-after"] == str(RETRY_AFTER_S)
        finally:
            embedded.restart("postgres")
        # Back: the pools reconnect by themselves.
        wait_until(lambda: api.get("/api/v1/Watchlists/before").status_code == 200, 30, "Postgres back")


def test_the_matcher_starts_from_postgres_while_redis_is_down(
    own: tuple[EmbeddedServers, Servers], small_cluster: Cluster
) -> None:
    embedded, servers = own
    with small_cluster.http() as api:
        assert api.put("/api/v1/Watchlists", json={"id": "kept", "displayName": "K", "fullName": "K"}).is_success
        stop_server(embedded, "redis")
        try:
            small_cluster.services.procs[("matcher", 0)].kill()
            small_cluster.services.procs.pop(("matcher", 0)).wait()
            small_cluster.services.start("matcher", 0, {"FACEGATE_HEALTH_PORT": str(MATCHER_HEALTH_PORT)})
            wait_until(lambda: api.get("/api/v1/Watchlists/kept").status_code == 200, 60, "the restarted matcher")
            assert asyncio.run(index_stats(servers.nats_url)).load_source == "postgres"
            # Ready: Redis is only its cache, reported as such.
            ready = httpx.get(f"http://127.0.0.1:{MATCHER_HEALTH_PORT}/readyz")
            assert ready.status_code == 200 and "redis: unavailable" in ready.text and "postgres: ok" in ready.text
            # Idempotency-Key needs Redis to keep its promise; requests without it do not.
            body = {"displayName": "R", "fullName": "R"}
            keyed = api.post("/api/v1/Watchlists", json=body, headers={"Idempotency-Key": "k1"})
            assert assert_problem(keyed, 503)["detail"].startswith("Redis is unavailable")
            assert api.post("/api/v1/Watchlists", json=body).status_code == 201
        finally:
            embedded.restart("redis")


def test_readiness_reflects_postgres_and_the_workers(
    own: tuple[EmbeddedServers, Servers], small_cluster: Cluster
) -> None:
    embedded, _ = own
    matcher = f"http://127.0.0.1:{MATCHER_HEALTH_PORT}/readyz"
    wait_until(lambda: httpx.get(matcher).status_code == 200, 30, "the matcher's readiness")
    stop_server(embedded, "postgres")
    try:
        wait_until(lambda: httpx.get(matcher).status_code == 503, 30, "the matcher to see Postgres down")
        assert "postgres: unavailable" in httpx.get(matcher).text
    finally:
        embedded.restart("postgres")
    wait_until(lambda: httpx.get(matcher).status_code == 200, 30, "the matcher to see Postgres back")
    # The gateway of this small cluster has a matcher and no detector: not ready, and it says why.
    with small_cluster.http() as api:
        gateway = api.get("/readyz")
    assert gateway.status_code == 503
    assert {"nats: ok", "matcher: ok", "detector: unavailable (no replica of the detector service is running)"} <= set(
        gateway.text.splitlines()
    )


async def index_stats(nats_url: str) -> IndexStats:
    bus = await Bus.connect(Settings(nats_url=nats_url), "test")
    try:
        return await bus.request(subjects.INDEX_STATS, Empty(), IndexStats)
    finally:
        await bus.close()


@pytest.mark.parametrize("server", ["nats", "redis", "postgres"])
def test_the_launcher_restarts_a_killed_embedded_server(own: tuple[EmbeddedServers, Servers], server: str) -> None:
    embedded, servers = own
    launcher = ServiceProcesses(servers.env(), servers=embedded, service_env=servers.service_env)
    killed = embedded.processes[server]
    killed.kill()
    killed.wait()

    def restarted() -> bool:
        launcher.restart_dead()
        proc = embedded.processes.get(server)
        return proc is not None and proc is not killed and proc.poll() is None

    wait_until(restarted, 60, f"the launcher to restart {server}")
    port = {"nats": embedded.nats_port, "redis": embedded.redis_port, "postgres": embedded.postgres_port}[server]
    assert port_open(port)
    if server == "redis":
        assert redis.Redis.from_url(servers.redis_url).ping()


def test_the_cluster_answers_again_after_its_servers_were_killed(small_cluster: Cluster) -> None:
    """After the kills above, the running services reconnected, and the gallery is still there."""
    with small_cluster.http() as api:
        wait_until(lambda: api.get("/api/v1/Watchlists/kept").status_code == 200, 60, "the cluster to reconnect")
