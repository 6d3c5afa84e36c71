"""A worker's own HTTP port for Kubernetes: probes, and its figures for a Prometheus scrape."""

from __future__ import annotations

import httpx

from shared.cluster import ServiceProcesses
from shared.embedded import free_port
from tests.support import Servers, wait_until


def test_matcher_answers_probes_and_metrics_on_its_health_port(servers: Servers) -> None:
    port = free_port()
    services = ServiceProcesses(servers.env())
    services.start("matcher", 0, {"FACEGATE_HEALTH_PORT": str(port), "FACEGATE_INSTANCE_ID": "probe-test"})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, 60, "the matcher's readiness")
        assert httpx.get(f"{base}/healthz").text == "ok"
        metrics = httpx.get(f"{base}/metrics").text
        assert 'facegate_matcher_change_seq{instance="probe-test"}' in metrics
        assert "# TYPE facegate_matcher_load_seconds gauge" in metrics
        assert httpx.get(f"{base}/nothing").status_code == 404
    finally:
        services.stop()
