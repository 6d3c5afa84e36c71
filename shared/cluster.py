"""Run the whole cluster on one machine: `python -m shared.cluster` (what `make run` calls).

Starts embedded NATS/Postgres/Redis for every `FACEGATE_*_URL` that is not set (data under
`var/`), applies migrations, then starts every service as its own process. Any process it
started that dies (a service or an embedded server) is restarted with exponential back-off:
0.5 s, doubling to 30 s, back to 0.5 s once it has run for a minute. Ctrl-C (or SIGTERM) stops
the services, then the servers, cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from shared.db.migrate import migrate_url
from shared.embedded import NATS_PORT, POSTGRES_PORT, REDIS_PORT, EmbeddedServerError, EmbeddedServers

log = logging.getLogger("cluster")

ROOT = Path(__file__).resolve().parent.parent
# Start order: owners of state first, the HTTP edges last (they only route and read).
SERVICE_ORDER = ("matcher", "detector", "extractor", "camera_ingest", "grouping", "cleanup", "graphql", "gateway")


def runnable_services() -> list[str]:
    """Services that have an entry point (packages not built yet have only a README)."""
    return [s for s in SERVICE_ORDER if (ROOT / "services" / s / "__main__.py").exists()]


def embedded_env(
    root: Path, env: dict[str, str], ports: tuple[int, int, int] = (NATS_PORT, POSTGRES_PORT, REDIS_PORT)
) -> tuple[dict[str, str], EmbeddedServers]:
    """Start embedded servers for the URLs missing from `env`; return the completed env (the
    admin URLs: each service gets its own credentials from `EmbeddedServers.service_env`)."""
    servers = EmbeddedServers(root, nats_port=ports[0], postgres_port=ports[1], redis_port=ports[2])
    servers.start(
        nats="FACEGATE_NATS_URL" not in env,
        postgres="FACEGATE_DATABASE_URL" not in env,
        redis="FACEGATE_REDIS_URL" not in env,
    )
    env = dict(env)
    env.setdefault("FACEGATE_NATS_URL", servers.nats_url)
    env.setdefault("FACEGATE_DATABASE_URL", servers.database_url)
    env.setdefault("FACEGATE_REDIS_URL", servers.redis_url)
    return env, servers


@dataclass
class Backoff:
    """When to restart a process that died: `first_s` after its first death, doubling with each
    death up to `max_s`; a process that ran `healthy_s` before dying starts again at `first_s`.
    A service that cannot start (a server it needs is down, bad config) is thus retried more
    and more slowly instead of every half second, and a rare crash is restarted at once."""

    first_s: float = 0.5
    max_s: float = 30.0
    healthy_s: float = 60.0
    delay_s: float = 0.5
    started_at: float = 0.0
    due_at: float | None = None  # when the pending restart is due; None: none pending

    def started(self, now: float) -> None:
        self.started_at, self.due_at = now, None

    def died(self, now: float) -> float:
        """Schedule the restart; return its delay."""
        if now - self.started_at >= self.healthy_s:
            self.delay_s = self.first_s
        delay = self.delay_s
        self.due_at = now + delay
        self.delay_s = min(self.delay_s * 2, self.max_s)
        return delay


@dataclass
class ServiceProcesses:
    """The services as child processes, each `python -m services.<name>`, and the embedded
    servers they use (`servers`, when the launcher started them): `restart_dead` restarts any of
    them that died, with back-off. `service_env(name)` adds what one service's environment has
    of its own: its credentials (EmbeddedServers.service_env)."""

    env: dict[str, str]
    replicas: dict[str, int] = field(default_factory=dict)
    procs: dict[tuple[str, int], subprocess.Popen[bytes]] = field(default_factory=dict)
    servers: EmbeddedServers | None = None
    service_env: Callable[[str], dict[str, str]] | None = None
    backoff: dict[tuple[str, int], Backoff] = field(default_factory=dict)
    extra_env: dict[tuple[str, int], dict[str, str]] = field(default_factory=dict)

    def start(self, name: str, index: int = 0, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        own = self.service_env(name) if self.service_env is not None else {}
        env = {**self.env, **own, **(extra_env or {})}
        env.setdefault("FACEGATE_INSTANCE_ID", f"{name}-{index}")
        # Own session: Ctrl-C reaches only the launcher, which stops everything in order.
        proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env, start_new_session=True
        )
        self.procs[(name, index)] = proc
        self.extra_env[(name, index)] = dict(extra_env or {})  # a restart gets the same environment
        self.backoff.setdefault((name, index), Backoff()).started(time.monotonic())
        return proc

    def start_all(self, names: list[str]) -> None:
        for name in names:
            for i in range(self.replicas.get(name, 1)):
                self.start(name, i)

    def stop_one(self, name: str, index: int = 0, timeout: float = 15) -> None:
        """Stop one replica (SIGTERM, then kill) and forget it."""
        proc = self.procs.pop((name, index))
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart_dead(self) -> None:
        """Restart each service and embedded server that died, once its back-off delay passed
        (call it every fraction of a second)."""
        now = time.monotonic()
        if self.servers is not None:
            for server, proc in list(self.servers.processes.items()):
                if proc.poll() is not None and self._restart_due((server, -1), server, proc.returncode, now):
                    self._restart_server(server)
        for (name, index), proc in list(self.procs.items()):
            if proc.poll() is not None and self._restart_due((name, index), f"{name}-{index}", proc.returncode, now):
                self.start(name, index, self.extra_env.get((name, index)))

    def _restart_due(self, key: tuple[str, int], label: str, code: int | None, now: float) -> bool:
        backoff = self.backoff.setdefault(key, Backoff())
        if backoff.due_at is None:
            delay = backoff.died(now)
            log.warning("%s exited with code %s; restarting it in %.1f s", label, code, delay)
            return False
        return now >= backoff.due_at

    def _restart_server(self, server: str) -> None:
        assert self.servers is not None
        backoff = self.backoff[(server, -1)]
        try:
            self.servers.restart(server)
        except EmbeddedServerError as exc:
            delay = backoff.died(time.monotonic())
            log.error("the embedded %s did not start again (%s); retrying in %.1f s", server, exc, delay)
            return
        backoff.started(time.monotonic())
        log.info("the embedded %s runs again", server)

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every service (they drain), then kill what is left after `timeout`."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--var", type=Path, default=ROOT / "var", help="data folder of embedded servers")
    parser.add_argument("--replicas", action="append", default=[], metavar="SERVICE=N",
                        help="run N replicas of a service, e.g. --replicas matcher=2")
    parser.add_argument("--nats-port", type=int, default=NATS_PORT, help="port of the embedded NATS")
    parser.add_argument("--postgres-port", type=int, default=POSTGRES_PORT, help="port of the embedded Postgres")
    parser.add_argument("--redis-port", type=int, default=REDIS_PORT, help="port of the embedded Redis")
    args = parser.parse_args()
    logging.basicConfig(level="INFO", format="%(asctime)s cluster %(levelname)s %(message)s")

    stopping = False

    def request_stop(_sig: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    ports = (args.nats_port, args.postgres_port, args.redis_port)
    env, servers = embedded_env(args.var, dict(os.environ), ports)
    replicas = {k: int(v) for k, v in (r.split("=", 1) for r in args.replicas)}
    services = ServiceProcesses(env, replicas=replicas, servers=servers, service_env=servers.service_env)
    try:
        # The embedded Postgres gets a role per service; a given server is the operator's to set up.
        roles = servers.role_passwords() if "postgres" in servers.started else None
        applied = asyncio.run(migrate_url(env["FACEGATE_DATABASE_URL"], roles))
        log.info("migrations applied: %s", ", ".join(applied) or "none pending")
        services.start_all(runnable_services())
        port = env.get("FACEGATE_GATEWAY_PORT", "8098")
        graphql = env.get("FACEGATE_GRAPHQL_PORT", "8097")
        log.info("Facegate is starting: REST API and Swagger UI on http://127.0.0.1:%s/, GraphQL on "
                 "http://127.0.0.1:%s/graphql/ (Ctrl-C stops)", port, graphql)  # fmt: skip
        while not stopping:
            time.sleep(0.5)
            if not stopping:
                services.restart_dead()
    finally:
        log.info("stopping services")
        services.stop()
        log.info("stopping embedded servers")
        servers.stop()
        log.info("stopped")


if __name__ == "__main__":
    main()
