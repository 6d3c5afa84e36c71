"""Every process of the running cluster sizes its thread pools as shared/threads.py decides from
the cores it is given: read back from each worker's /metrics (its health port) and the gateway's."""

from __future__ import annotations

import re

import httpx

from shared import threads
from tests.support import Cluster

LINE = re.compile(r'^facegate_threads\{service="([^"]+)",pool="([^"]+)"\} (\d+)$', re.M)
# The workers that run onnxruntime models (and OpenCV on photos).
INFERENCE = ("detector", "extractor")


def pools(text: str) -> dict[str, int]:
    return {pool: int(n) for _, pool, n in LINE.findall(text)}


def test_every_worker_reports_the_thread_plan_in_force(cluster: Cluster) -> None:
    env = cluster.services.env
    plan = threads.plan(int(env.get("FACEGATE_WORKER_THREADS") or 2), int(env.get("FACEGATE_CPU_CORES") or 0))
    assert set(cluster.health_ports) >= {"matcher", *INFERENCE}
    for service, port in cluster.health_ports.items():
        found = pools(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
        assert found.get("cores") == plan.cores and found.get("workers") == plan.workers, (service, found)
        # Every loaded BLAS and OpenMP library holds one thread (absent: not loaded at all).
        assert found.get("blas", 1) == 1 and found.get("openmp", 1) == 1, (service, found)
        if service in INFERENCE:
            assert {"onnx_intra", "onnx_inter", "opencv"} <= set(found), (service, found)
        if "onnx_intra" in found:
            assert (found["onnx_intra"], found["onnx_inter"]) == (plan.onnx_intra, plan.onnx_inter), (service, found)
        if service == "detector" and plan.onnx_intra_alone > plan.onnx_intra:  # a lone photo's sessions
            assert found.get("onnx_intra_alone") == plan.onnx_intra_alone, (service, found)
        if "opencv" in found:
            assert found["opencv"] == plan.opencv, (service, found)
    assert pools(httpx.get(f"{cluster.base_url}/metrics", timeout=10).text).get("blas", 1) == 1


def test_the_matcher_searches_with_one_blas_thread(cluster: Cluster) -> None:
    """The matcher's exact search is a BLAS product: numpy is loaded there, on one thread."""
    text = httpx.get(f"http://127.0.0.1:{cluster.health_ports['matcher']}/metrics", timeout=10).text
    assert pools(text)["blas"] == 1
