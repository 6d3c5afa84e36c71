"""Identification latency through the gateway, against a started cluster (`make run`):

    .venv/bin/python benchmarks/search.py --sizes 1000,100000

- Search p50/p95/p99 of a 640x480 one-face JPEG (made from ../shared/faces), one request at a
  time, and Search throughput with `--clients` requests in flight (requests/s, and p50/p95
  then), against a gallery of each size: synthetic members with templates shaped like real ones
  (services/matcher/synthetic) bulk-inserted straight into Postgres with COPY, which the matcher
  then loads from its change log;
- the CPU of one Search by process (ms of user + system CPU per request, one at a time and with
  `--clients` in flight): every process under the cluster's launcher, read from /proc before and
  after (benchmarks/cpu_account.py; Linux, the cluster on this machine), so that what a Search
  costs shows apart from what the other tenants of a shared machine take. After loading each
  gallery the run waits (up to 2 minutes) for the cluster's CPU to fall under 0.1 core: the
  matcher saves a grown gallery to Redis, and may rebuild its index, in the background;
- Register throughput (members/s, a real photo each, 2 in flight);
- Verify latency (two real photos).

`--faces-search N` prints instead the Faces/Search figure over N stored camera faces
(benchmarks/face_search.py: its own embedded Postgres, no cluster needed).

Requests go one at a time for latency (a second client would only queue behind the first on 2
cores), `--clients` at once for throughput. The machine's load average is printed at the start
and the end: on a shared machine the figures hold only with it. Everything the run creates is
deleted at the end. The last line reads `search: p50 X ms, p95 Y ms, p99 Z ms, T requests/s
(C in flight) at N members, register R members/s, verify p50 W ms`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import cpu_account  # benchmarks/cpu_account.py, beside this script
import cv2
import face_search  # benchmarks/face_search.py, beside this script
import httpx
import msgspec
import nats
import numpy as np

from services.matcher import synthetic
from shared.bus import Empty
from shared.embedded import EmbeddedServers
from shared.messages.matcher import IndexStats
from shared.subjects import INDEX_STATS

FACES = Path(__file__).resolve().parents[2] / "shared" / "faces" / "photos"
# `make run`'s embedded servers, as their administrator (credentials from var/secrets/).
EMBEDDED = EmbeddedServers(Path(__file__).resolve().parents[1] / "var")
PRIVACY = json.dumps({"saveRegistrationImages": True, "saveMatchedImages": True, "includeMatchedImageInEvents": True})


def probe_jpeg() -> str:
    """A 640x480 JPEG with one face (img1.jpg letterboxed), base64 as clients send it."""
    photo = cv2.imread(str(FACES / "img1.jpg"))
    assert photo is not None
    scale = min(640 / photo.shape[1], 480 / photo.shape[0])
    small = cv2.resize(photo, (int(photo.shape[1] * scale), int(photo.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((480, 640, 3), np.uint8)
    y, x = (480 - small.shape[0]) // 2, (640 - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return base64.b64encode(cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()).decode()


def photo(name: str) -> str:
    return base64.b64encode((FACES / name).read_bytes()).decode()


async def timed(count: int, call: Callable[[int], Awaitable[httpx.Response]], expect: int) -> list[float]:
    latencies = []
    for i in range(count):
        started = time.perf_counter()
        response = await call(i)
        latencies.append(time.perf_counter() - started)
        if response.status_code != expect:
            raise SystemExit(f"unexpected {response.status_code}: {response.text[:300]}")
    return latencies


def p(latencies: list[float], q: int) -> float:
    return statistics.quantiles(latencies, n=100)[q - 1] * 1000


async def flood(
    count: int, clients: int, call: Callable[[int], Awaitable[httpx.Response]]
) -> tuple[float, list[float]]:
    """`count` requests, `clients` in flight: (requests/s, latencies)."""
    queue = list(range(count))
    latencies: list[float] = []

    async def client() -> None:
        while queue:
            i = queue.pop()
            started = time.perf_counter()
            response = await call(i)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"unexpected {response.status_code}: {response.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return count / (time.perf_counter() - started), latencies


async def bulk_insert(
    db: asyncpg.Connection, run: str, watchlist: str, start: int, count: int, model: tuple[str, str]
) -> None:
    """`count` synthetic members, one face each, linked to `watchlist`, by COPY."""
    templates, _, _ = synthetic.gallery(count, 128, seed=start)
    ids = [f"bench-{run}-{i}" for i in range(start, start + count)]
    await db.copy_records_to_table("watchlist_members", records=[(i, PRIVACY) for i in ids], columns=["id", "privacy"])
    await db.copy_records_to_table(
        "member_faces",
        records=[
            (f"{i}-face", i, model[0], model[1], t.astype("<f4").tobytes()) for i, t in zip(ids, templates, strict=True)
        ],
        columns=["id", "member_id", "model_name", "model_version", "template"],
    )
    await db.copy_records_to_table(
        "watchlist_links", records=[(watchlist, i) for i in ids], columns=["watchlist_id", "member_id"]
    )


async def wait_loaded(nats_url: str, at_least: int) -> None:
    """Until a matcher replica holds `at_least` templates (it replays the change log)."""
    nc = await nats.connect(nats_url)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            reply = await nc.request(INDEX_STATS, msgspec.msgpack.encode(Empty()), timeout=10)
            if msgspec.msgpack.decode(reply.data, type=IndexStats).templates >= at_least:
                return
            await asyncio.sleep(0.5)
        raise SystemExit(f"the matcher did not load {at_least} templates in 10 minutes")
    finally:
        await nc.close()


async def settle(port: int, idle_cores: float = 0.1, longest_s: float = 120.0) -> str:
    """Wait until the cluster's processes together use under `idle_cores` of CPU over a second
    (the matcher saves a grown gallery to Redis, and may rebuild its index, in the background
    after loading it: searches measured meanwhile share the cores with that), at most
    `longest_s`; says how long it waited."""
    started = time.perf_counter()
    before = cpu_account.Snapshot.take(port)
    if before is None:
        return "cluster CPU not readable: not waited for quiet"
    while time.perf_counter() - started < longest_s:
        await asyncio.sleep(1.0)
        after = cpu_account.Snapshot.take(port)
        if after is None:
            break
        if sum(before.per_request(after, 1).values()) / 1000 < idle_cores:
            return f"quiet after {time.perf_counter() - started:.0f} s"
        before = after
    return f"still busy after {time.perf_counter() - started:.0f} s"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8098")
    parser.add_argument("--database-url", default=EMBEDDED.database_url)
    parser.add_argument("--nats-url", default=EMBEDDED.nats_url)
    parser.add_argument("--sizes", default="1000,100000", help="gallery sizes, comma-separated")
    parser.add_argument("--searches", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4, help="Search requests in flight for throughput")
    parser.add_argument("--registers", type=int, default=20)
    parser.add_argument("--verifies", type=int, default=20)
    parser.add_argument("--faces-search", type=int, default=0, metavar="N", help="only Faces/Search over N faces")
    args = parser.parse_args()
    if args.faces_search:
        await asyncio.to_thread(face_search.figure, args.faces_search)
        return
    sizes = sorted(int(s) for s in args.sizes.split(","))
    port = httpx.URL(args.url).port or 80  # the gateway's: its launcher's processes are the cluster (cpu_account)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start")
    run = uuid.uuid4().hex[:8]
    db = await asyncpg.connect(args.database_url)
    async with httpx.AsyncClient(base_url=args.url, timeout=60) as client:
        created = await client.post("/api/v1/Watchlists", json={"displayName": f"bench-{run}", "fullName": "bench"})
        created.raise_for_status()
        watchlist = created.json()["id"]
        try:
            # One real member tells which model (name, version) the synthetic templates pose as.
            first = {"id": f"bench-{run}-real", "images": [{"data": photo("img2.jpg")}], "watchlistIds": [watchlist]}
            (await client.post("/api/v1/WatchlistMembers/Register", json=first)).raise_for_status()
            row = await db.fetchrow(
                "SELECT model_name, model_version FROM member_faces WHERE member_id = $1", first["id"]
            )
            model = (row["model_name"], row["model_version"])
            baseline = (await db.fetchval("SELECT count(*) FROM member_faces")) or 0

            probe = {"image": {"data": probe_jpeg()}, "watchlistIds": [watchlist]}
            held = 1
            search_p50 = search_p95 = search_p99 = rate = 0.0
            for size in sizes:
                started = time.perf_counter()
                await bulk_insert(db, run, watchlist, held, size - held, model)
                await wait_loaded(args.nats_url, baseline + size - 1)
                loaded = time.perf_counter() - started
                settled = await settle(port)
                held = size
                await timed(5, lambda _: client.post("/api/v1/Watchlists/Search", json=probe), 200)  # warm
                before = cpu_account.Snapshot.take(port)
                lat = await timed(args.searches, lambda _: client.post("/api/v1/Watchlists/Search", json=probe), 200)
                after = cpu_account.Snapshot.take(port)
                search_p50, search_p95, search_p99 = p(lat, 50), p(lat, 95), p(lat, 99)
                print(f"search at {size:,} members: p50 {search_p50:.1f} ms, p95 {search_p95:.1f} ms,"
                      f" p99 {search_p99:.1f} ms (inserted and loaded in {loaded:.1f} s, then {settled})")  # fmt: skip
                if before is not None and after is not None:
                    cpu = before.per_request(after, args.searches)
                    print(f"search CPU per request at {size:,} members, one at a time: {cpu_account.summary(cpu)}")
                before = cpu_account.Snapshot.take(port)
                rate, busy = await flood(
                    args.searches, args.clients, lambda _: client.post("/api/v1/Watchlists/Search", json=probe)
                )
                after = cpu_account.Snapshot.take(port)
                print(f"search at {size:,} members, {args.clients} in flight: {rate:.1f} requests/s,"
                      f" p50 {p(busy, 50):.1f} ms, p95 {p(busy, 95):.1f} ms")  # fmt: skip
                if before is not None and after is not None:
                    cpu = before.per_request(after, args.searches)
                    print(f"search CPU per request at {size:,} members, {args.clients} in flight:"
                          f" {cpu_account.summary(cpu)}")  # fmt: skip

            names = [
                "img1.jpg",
                "img13.jpg",
                "img20.jpg",
                "img16.jpg",
                "img22.jpg",
                "img24.jpg",
                "img18.jpg",
                "img8.jpg",
            ]
            queue = list(range(args.registers))

            async def registrar() -> None:
                while queue:
                    i = queue.pop()
                    body = {"id": f"bench-{run}-reg-{i}", "images": [{"data": photo(names[i % len(names)])}],
                            "watchlistIds": [watchlist]}  # fmt: skip
                    (await client.post("/api/v1/WatchlistMembers/Register", json=body)).raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(registrar(), registrar())
            register_rate = args.registers / (time.perf_counter() - started)
            print(f"register: {register_rate:.1f} members/s ({args.registers} members, 2 in flight)")

            pair = {"probeImage": {"image": {"data": photo("img1.jpg")}},
                    "referenceImage": {"image": {"data": photo("img2.jpg")}}}  # fmt: skip
            lat = await timed(args.verifies, lambda _: client.post("/api/v1/Faces/Verify", json=pair), 200)
            verify_p50 = p(lat, 50)
            print(f"verify: p50 {verify_p50:.1f} ms, p99 {p(lat, 99):.1f} ms")
        finally:
            await db.execute("DELETE FROM watchlist_members WHERE id LIKE $1", f"bench-{run}-%")
            await client.delete(f"/api/v1/Watchlists/{watchlist}")
            await db.close()
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    print(
        f"search: p50 {search_p50:.0f} ms, p95 {search_p95:.0f} ms, p99 {search_p99:.0f} ms, "
        f"{rate:.1f} requests/s ({args.clients} in flight) at {count(sizes[-1])} members, "
        f"register {register_rate:.1f} members/s, verify p50 {verify_p50:.0f} ms"
    )


def count(n: int) -> str:
    """100000 -> '100k', 1000000 -> '1M', as the issue's summary line reads."""
    for unit, scale in (("M", 1_000_000), ("k", 1000)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return str(n)


if __name__ == "__main__":
    asyncio.run(main())
