"""A tiny HTTP endpoint for Kubernetes probes of the workers (they speak NATS, not HTTP).

GET /healthz: the process runs. GET /readyz: 200 only when `ready()` says so (models warm,
NATS connected, the servers it needs reachable: shared.readiness), with one line per check.
GET /metrics: this replica's own figures in Prometheus text (e.g. the matcher's index), so
each pod is scraped for itself. Plain asyncio keeps workers free of an HTTP framework.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def serve_health(
    port: int, ready: Callable[[], tuple[bool, str]], metrics: Callable[[], str] = str
) -> asyncio.Server:
    """Start answering probes (and metrics scrapes) on `port` (all interfaces)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), timeout=5)
            path = line.split(b" ")[1] if line.count(b" ") >= 2 else b"/"
            if path == b"/healthz":
                status, body = "200 OK", b"ok"
            elif path == b"/readyz":
                ok, text = ready()
                status, body = ("200 OK" if ok else "503 Service Unavailable"), text.encode()
            elif path == b"/metrics":
                status, body = "200 OK", metrics().encode()
            else:
                status, body = "404 Not Found", b"not found"
            head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(answer, host="0.0.0.0", port=port)
