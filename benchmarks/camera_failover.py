"""How long a camera is without an owner when a camera_ingest replica dies or stops.

    .venv/bin/python benchmarks/camera_failover.py            # default settings (lease TTL 6 s)
    FACEGATE_CAMERA_LEASE_TTL_S=3 .venv/bin/python benchmarks/camera_failover.py

Starts embedded NATS/Postgres/Redis, the gateway and two camera_ingest replicas, the test RTSP
server (tests/rtsp/rtsp_server.py, needs GStreamer: `tests/install_debs.sh rtsp`) and
`--cameras` enabled cameras on it; then kills one replica (SIGKILL: its leases must expire) and
later stops the other gracefully (SIGTERM: it releases its leases), and prints for each the
seconds until every camera of the victim is online again on the survivor.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ holds the RTSP helpers

from shared.embedded import free_port
from tests.rtsp.conftest import RtspServer
from tests.rtsp.media import write_jpegs
from tests.support import real_servers, start_cluster, wait_until


def owners(client: httpx.Client, ids: list[str]) -> dict[str, str | None]:
    statuses = [client.get(f"/api/v1/Cameras/{c}/Status").json() for c in ids]
    return {s["cameraId"]: s["owner"] if s["state"] == "online" else None for s in statuses}


def handover(client: httpx.Client, ids: list[str], survivor: str, stop: object) -> float:
    victims = [c for c, o in owners(client, ids).items() if o != survivor]
    started = time.monotonic()
    stop()  # type: ignore[operator]
    wait_until(lambda: all(o == survivor for c, o in owners(client, victims).items()), 60, "hand-over")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, real_servers(Path(tmp) / "servers") as servers:
        server = RtspServer(write_jpegs(Path(tmp) / "frames"), free_port())
        server.start()
        cluster = start_cluster(servers, ["matcher", "gateway"])
        try:
            for i in (0, 1):
                cluster.services.start("camera_ingest", i)
            with cluster.http() as client:
                wait_until(lambda: client.get("/api/v1/Cameras").status_code == 200, 60, "camera_ingest")
                body = {"name": "cam", "source": server.url, "enabled": True}
                ids = [client.post("/api/v1/Cameras", json=body).json()["id"] for _ in range(args.cameras)]
                try:
                    wait_until(lambda: set(owners(client, ids).values()) == {"camera_ingest-0", "camera_ingest-1"},
                               60, "cameras on both replicas (add --cameras if they all landed on one)")
                except AssertionError:
                    print([client.get(f"/api/v1/Cameras/{c}/Status").json() for c in ids])
                    raise
                ttl = os.environ.get("FACEGATE_CAMERA_LEASE_TTL_S", "6 (default)")
                proc = cluster.services.procs.pop(("camera_ingest", 1))
                killed = handover(client, ids, "camera_ingest-0", proc.kill)
                print(f"lease TTL {ttl} s: replica killed (SIGKILL) -> its cameras online elsewhere in {killed:.1f} s")
                cluster.services.start("camera_ingest", 1)
                wait_until(lambda: set(owners(client, ids).values()) == {"camera_ingest-0", "camera_ingest-1"},
                           90, "rebalanced")
                graceful = lambda: cluster.services.stop_one("camera_ingest", 0)  # noqa: E731
                stopped = handover(client, ids, "camera_ingest-1", graceful)
                print(f"lease TTL {ttl} s: replica stopped (SIGTERM) -> cameras online elsewhere in {stopped:.1f} s")
        finally:
            cluster.services.stop()
            server.stop()


if __name__ == "__main__":
    main()
