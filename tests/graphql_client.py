"""Test helpers for the GraphQL API: its service started in a test cluster, and queries to it."""

from __future__ import annotations

import asyncio
import json
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


class Subscriber:
    """One GraphQL subscription over a WebSocket, in either sub-protocol:
    `graphql-transport-ws` (the graphql-ws library) or `graphql-ws` (Apollo's older one)."""

    START = {"graphql-transport-ws": "subscribe", "graphql-ws": "start"}
    DATA = {"graphql-transport-ws": "next", "graphql-ws": "data"}

    def __init__(self, base: str, protocol: str, document: str, variables: dict[str, Any] | None = None) -> None:
        self.url = base.replace("http://", "ws://") + "/graphql/"
        self.protocol, self.document, self.variables = protocol, document, variables or {}
        self.socket: Any = None

    async def __aenter__(self) -> Subscriber:
        from websockets.asyncio.client import connect

        self.socket = await connect(self.url, subprotocols=[self.protocol])  # type: ignore[list-item]
        assert self.socket.subprotocol == self.protocol
        await self._send({"type": "connection_init", "payload": {}})
        while (await self._receive())["type"] != "connection_ack":
            pass
        payload = {"query": self.document, "variables": self.variables}
        await self._send({"id": "1", "type": self.START[self.protocol], "payload": payload})
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.socket.close()

    async def next(self, timeout: float) -> dict[str, Any]:
        """The next result's payload ({"data": ...} or {"errors": ...})."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self._receive()
                if message["type"] in (self.DATA[self.protocol], "error"):
                    return dict(message["payload"]) if isinstance(message["payload"], dict) else {
                        "errors": message["payload"]}  # fmt: skip

    async def _send(self, message: dict[str, Any]) -> None:
        await self.socket.send(json.dumps(message))

    async def _receive(self) -> dict[str, Any]:
        return dict(json.loads(await self.socket.recv()))
