"""Test helpers for the GraphQL API: its service started in a test cluster, and queries to it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from shared.embedded import free_port
from tests.support import Cluster, wait_until


@contextmanager
def graphql_service(cluster: Cluster) -> Iterator[str]:
    """The GraphQL service running against the cluster's servers; yields its base URL."""
    port = free_port()
    env = {"FACEGATE_GRAPHQL_PORT": str(port), "FACEGATE_GATEWAY_HOST": "127.0.0.1"}
    cluster.services.start("graphql", 0, extra_env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, 60, "the GraphQL service")
        yield base
    finally:
        if ("graphql", 0) in cluster.services.procs:
            cluster.services.stop_one("graphql", 0)


def query(base: str, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST a document; its `data` (the test fails on any error)."""
    r = httpx.post(f"{base}/graphql/", json={"query": document, "variables": variables or {}}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body["errors"]
    return dict(body["data"])
