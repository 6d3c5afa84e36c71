"""Requests/s and latency of the gallery API through the gateway, against a started cluster.

    make run                       # in one terminal
    .venv/bin/python benchmarks/crud.py --requests 5000 --concurrency 32

Measures `GET /api/v1/Watchlists/{id}` and `POST /api/v1/WatchlistMembers` with `--concurrency`
connections from one client process (the client shares the machine's cores with the cluster,
so the figures are a floor). Members created by the run are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx


class Connection:
    """A bare HTTP/1.1 keep-alive connection. httpx costs more CPU per request than the gateway
    itself, so with it this benchmark would measure its own client on a 2-core machine."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        return cls(reader, writer, parts.netloc)

    async def call(self, method: str, path: str, body: bytes = b"") -> int:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
        if body:
            head += "Content-Type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        self.writer.close()


async def measure(
    name: str, url: str, count: int, concurrency: int, request: Callable[[int], tuple[str, str, bytes]], expect: int
) -> None:
    """Send `request(i)` for i in range(count) over `concurrency` connections; print rate and latency."""
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker(connection: Connection) -> None:
        nonlocal failures
        while not queue.empty():
            method, path, body = request(queue.get_nowait())
            started = time.perf_counter()
            status = await connection.call(method, path, body)
            latencies.append(time.perf_counter() - started)
            failures += status != expect

    connections = [await Connection.open(url) for _ in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - started
    for c in connections:
        c.close()
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{name}: {count / elapsed:,.0f} req/s, p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms"
        f" ({count} requests, {concurrency} in flight, {failures} failed)"
    )
    if failures:
        raise SystemExit(f"{name}: {failures} responses were not {expect}")


async def delete_members_named(client: httpx.AsyncClient, full_name: str) -> None:
    """Remove what the run created (members whose fullName carries the run's tag)."""
    page = 1
    while True:
        listing = (await client.get("/api/v1/WatchlistMembers", params={"PageNumber": page, "PageSize": 1000})).json()
        mine = [m["id"] for m in listing["items"] if m["fullName"] == full_name]
        for i in range(0, len(mine), 32):
            await asyncio.gather(*(client.delete(f"/api/v1/WatchlistMembers/{m}") for m in mine[i : i + 32]))
        if not listing["nextPage"]:
            return
        page += 1 if not mine else 0  # deleting shifts the pages: stay while this page had ours


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8098", help="gateway base URL")
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    args = parser.parse_args()

    # The setup client's connections idle while the timed phases run: let them go before the
    # server's keep-alive timeout (uvicorn's 5 s) closes them, or the clean-up after the run
    # can meet a connection closed under it (httpx.ReadError, seen once in six runs).
    limits = httpx.Limits(
        max_connections=args.concurrency, max_keepalive_connections=args.concurrency, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=30) as client:
        run = uuid.uuid4().hex[:8]
        created = await client.post("/api/v1/Watchlists", json={"displayName": f"bench-{run}", "fullName": "bench"})
        created.raise_for_status()
        watchlist_id = created.json()["id"]
        # Warm connections and the services' code paths before timing.
        await asyncio.gather(*(client.get(f"/api/v1/Watchlists/{watchlist_id}") for _ in range(args.concurrency)))
        try:
            await measure(
                "GET /api/v1/Watchlists/{id}",
                args.url,
                args.requests,
                args.concurrency,
                lambda _: ("GET", f"/api/v1/Watchlists/{watchlist_id}", b""),
                200,
            )
            await measure(
                "POST /api/v1/WatchlistMembers",
                args.url,
                args.requests,
                args.concurrency,
                lambda i: (
                    "POST",
                    "/api/v1/WatchlistMembers",
                    json.dumps({"displayName": f"Member {i}", "fullName": f"bench-{run}"}).encode(),
                ),
                201,
            )
        finally:
            await delete_members_named(client, f"bench-{run}")
            await client.delete(f"/api/v1/Watchlists/{watchlist_id}")


if __name__ == "__main__":
    asyncio.run(main())
