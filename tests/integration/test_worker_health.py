"""A worker's own HTTP port for Kubernetes: probes, and its figures for a Prometheus scrape."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from shared import subjects
from shared.bus import Bus, Empty
from shared.cluster import ServiceProcesses
from shared.embedded import free_port
from shared.errors import NotFound
from shared.messages.common import ById
from shared.messages.matcher import IndexStats, MemberFace
from shared.settings import Settings
from tests.support import Servers, wait_until


def sample(metrics: str, name: str, labels: str) -> float:
    """The value of one Prometheus sample, e.g. sample(text, "x_total", 'a="b"')."""
    found = re.search(rf"^{re.escape(name)}{{{re.escape(labels)}}} (\S+)$", metrics, re.MULTILINE)
    assert found, f"{name}{{{labels}}} not in:\n{metrics}"
    return float(found.group(1))


async def ask_matcher(nats_url: str, times: int = 20) -> int:
    """Requests the matcher answers and requests it refuses (an unknown face), `times` each;
    returns how many answers came from this test's replica (a session cluster's matcher may
    share the queue group and take some)."""
    bus = await Bus.connect(Settings(nats_url=nats_url, request_timeout=10), "test")
    try:
        ours = 0
        for _ in range(times):
            stats = await bus.request(subjects.INDEX_STATS, Empty(), IndexStats)
            ours += stats.instance == "probe-test"
            with pytest.raises(NotFound):
                await bus.request(subjects.FACE_GET, ById(id="no-such-face"), MemberFace)
        return ours
    finally:
        await bus.close()


def test_matcher_answers_probes_and_metrics_on_its_health_port(servers: Servers) -> None:
    port = free_port()
    services = ServiceProcesses(servers.env(), service_env=servers.service_env)
    services.start("matcher", 0, {"FACEGATE_HEALTH_PORT": str(port), "FACEGATE_INSTANCE_ID": "probe-test"})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, 60, "the matcher's readiness")
        assert httpx.get(f"{base}/healthz").text == "ok"
        metrics = httpx.get(f"{base}/metrics").text
        assert 'facegate_matcher_change_seq{instance="probe-test"}' in metrics
        assert "# TYPE facegate_matcher_load_seconds gauge" in metrics
        # Every worker's requests: answered by outcome, and those in flight (the per-pod signal to
        # scale on, docs/deployment.md).
        labels = 'service="matcher",instance="probe-test"'
        before = {o: sample(metrics, "facegate_requests_total", f'{labels},outcome="{o}"') for o in ("ok", "error")}
        assert sample(metrics, "facegate_requests_in_flight", labels) == 0
        ours = asyncio.run(ask_matcher(servers.nats_url))
        metrics = httpx.get(f"{base}/metrics").text
        # At least what this test sent it (a session cluster's gateway may ask it too).
        assert ours > 0 and sample(metrics, "facegate_requests_total", f'{labels},outcome="ok"') >= before["ok"] + ours
        assert sample(metrics, "facegate_requests_total", f'{labels},outcome="error"') >= before["error"] + 1
        assert sample(metrics, "facegate_request_seconds_total", labels) > 0
        assert httpx.get(f"{base}/nothing").status_code == 404
    finally:
        services.stop()
