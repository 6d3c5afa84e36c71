"""Run the whole cluster on one machine: `python -m shared.cluster` (what `make run` calls).

Starts embedded NATS/Postgres/Redis for every `FACEGATE_*_URL` that is not set (data under
`var/`), applies migrations, then starts every service as its own process and restarts one
that dies. Ctrl-C (or SIGTERM) stops the services, then the servers, cleanly.
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
from dataclasses import dataclass, field
from pathlib import Path

from shared.db.migrate import migrate_url
from shared.embedded import NATS_PORT, POSTGRES_PORT, REDIS_PORT, EmbeddedServers

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
    """Start embedded servers for the URLs missing from `env`; return the completed env."""
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
class ServiceProcesses:
    """The services as child processes, each `python -m services.<name>`."""

    env: dict[str, str]
    replicas: dict[str, int] = field(default_factory=dict)
    procs: dict[tuple[str, int], subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, index: int = 0, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        env = {**self.env, **(extra_env or {})}
        env.setdefault("FACEGATE_INSTANCE_ID", f"{name}-{index}")
        # Own session: Ctrl-C reaches only the launcher, which stops everything in order.
        proc = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"], cwd=ROOT, env=env, start_new_session=True
        )
        self.procs[(name, index)] = proc
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
        for (name, index), proc in list(self.procs.items()):
            if proc.poll() is not None:
                log.warning("%s-%d exited with code %s; restarting it", name, index, proc.returncode)
                self.start(name, index)

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
    services = ServiceProcesses(env, replicas={k: int(v) for k, v in (r.split("=", 1) for r in args.replicas)})
    try:
        applied = asyncio.run(migrate_url(env["FACEGATE_DATABASE_URL"]))
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
