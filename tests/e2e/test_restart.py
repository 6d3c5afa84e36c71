"""`make run`'s launcher: embedded servers, Ctrl-C stops everything, a restart keeps the data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from shared.embedded import free_port
from tests.support import REPO, wait_until


def launch(var: Path, ports: dict[str, int]) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    env.update(FACEGATE_GATEWAY_PORT=str(ports["gateway"]), FACEGATE_GATEWAY_HOST="127.0.0.1")
    return subprocess.Popen(
        [sys.executable, "-m", "shared.cluster", "--var", str(var),
         "--nats-port", str(ports["nats"]), "--postgres-port", str(ports["postgres"]),
         "--redis-port", str(ports["redis"])],
        cwd=REPO, env=env,
    )


def ctrl_c(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGINT)
    return proc.wait(60)


def test_cluster_restart_keeps_data(tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("nats", "postgres", "redis", "gateway")}
    url = f"http://127.0.0.1:{ports['gateway']}"
    proc = launch(tmp_path / "var", ports)
    try:
        with httpx.Client(base_url=url, timeout=10) as api:
            wait_until(lambda: api.get("/api/v1/Watchlists").status_code == 200, 90, "the cluster")
            created = api.put("/api/v1/Watchlists", json={"id": "kept", "displayName": "K", "fullName": "Kept"})
            assert created.status_code == 200
    finally:
        code = ctrl_c(proc)
    assert code == 0
    # Every process is gone: the ports are free again.
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/healthz")

    proc = launch(tmp_path / "var", ports)
    try:
        with httpx.Client(base_url=url, timeout=10) as api:
            wait_until(lambda: api.get("/api/v1/Watchlists").status_code == 200, 90, "the restarted cluster")
            assert api.get("/api/v1/Watchlists/kept").json()["fullName"] == "Kept"
    finally:
        assert ctrl_c(proc) == 0
