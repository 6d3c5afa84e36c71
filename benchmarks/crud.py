"""Requests/s and latency of the gallery API through the gateway, against a started cluster.

    make run                       # in one terminal
    .venv/bin/python benchmarks/crud.py --requests 5000 --concurrency 32

Measures `GET /api/v1/Watchlists/{id}` and `POST /api/v1/WatchlistMembers` with `--concurrency`
requests in flight from one client process (the client shares the machine's cores with the
cluster, so the figures are a floor). Members created by the run are deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx


async def measure(
    name: str, count: int, concurrency: int, call: Callable[[int], Awaitable[httpx.Response]], expect: int
) -> None:
    """Run `call(i)` for i in range(count), `concurrency` at a time; print rate and latency."""
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        nonlocal failures
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            response = await call(i)
            latencies.append(time.perf_counter() - started)
            failures += response.status_code != expect

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"{name}: {count / elapsed:,.0f} req/s, p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms"
        f" ({count} requests, {concurrency} in flight, {failures} failed)"
    )
    if failures:
        raise SystemExit(f"{name}: {failures} responses were not {expect}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8098", help="gateway base URL")
    parser.add_argument("--requests", type=int, default=2000, help="requests per endpoint")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    args = parser.parse_args()

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=30) as client:
        run = uuid.uuid4().hex[:8]
        created = await client.post("/api/v1/Watchlists", json={"displayName": f"bench-{run}", "fullName": "bench"})
        created.raise_for_status()
        watchlist_id = created.json()["id"]
        member_ids = [f"bench-{run}-{i}" for i in range(args.requests)]
        # Warm connections and the services' code paths before timing.
        await asyncio.gather(*(client.get(f"/api/v1/Watchlists/{watchlist_id}") for _ in range(args.concurrency)))
        try:
            await measure(
                "GET /api/v1/Watchlists/{id}",
                args.requests,
                args.concurrency,
                lambda _: client.get(f"/api/v1/Watchlists/{watchlist_id}"),
                200,
            )
            await measure(
                "POST /api/v1/WatchlistMembers",
                args.requests,
                args.concurrency,
                lambda i: client.post(
                    "/api/v1/WatchlistMembers",
                    json={"id": member_ids[i], "displayName": f"Member {i}", "fullName": "Bench Member"},
                ),
                201,
            )
        finally:
            for i in range(0, len(member_ids), args.concurrency):
                await asyncio.gather(
                    *(client.delete(f"/api/v1/WatchlistMembers/{m}") for m in member_ids[i : i + args.concurrency])
                )
            await client.delete(f"/api/v1/Watchlists/{watchlist_id}")


if __name__ == "__main__":
    asyncio.run(main())
