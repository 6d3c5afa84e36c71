"""Latency of the GraphQL API: a query over 100k stored faces, filtered by camera and time
range, and a match event from NATS to a subscriber's WebSocket.

    .venv/bin/python benchmarks/graphql_api.py [--part query|subscription|both] [--faces 100000]
        [--runs 30] [--events 200] [--rate 20] [--database-url URL] [--nats-url URL]

(Not `graphql.py`: run as a script, that name would hide the graphql package it imports.)

Query: fills an embedded Postgres (or `--database-url`, whose seen_* tables it empties) with
`--faces` camera faces over 10 cameras and one day, in bulk with COPY (a frame per face, a
tracklet per 10 faces), then times the GraphQL API in-process (the ASGI app, no network)
answering the query integrations send: one camera's faces of one hour, newest first, a page of
100 with totalCount and each face's frame.

Subscription: starts the GraphQL service as its own process (`python -m services.graphql`, as
deployed) against an embedded NATS (or `--nats-url`), subscribes to `matchResult` of one camera
over a WebSocket (graphql-transport-ws), publishes `--events` match.found events at `--rate` per
second, each with its publish time in `frameTimestampMicroseconds`, and prints how long each took
from its NATS publish to its arrival at the subscriber (p50, p95, max). Issue 15 asks for 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import nats

from services.graphql.app import GraphQLApp
from services.graphql.schema import build_schema
from shared.cluster import ServiceProcesses
from shared.db.migrate import migrate_url
from shared.db.pool import create_pool
from shared.embedded import EmbeddedServers, free_port
from tests.graphql_client import Subscriber, match_event, publish
from tests.support import wait_until

CAMERAS = 10
START = datetime(2025, 1, 1, tzinfo=UTC)
QUERY = """query($camera: UUID!, $from: DateTime!, $to: DateTime!) {
  faces(where: {streamId: {eq: $camera}, createdAt: {gte: $from, lt: $to}}, order: [{createdAt: DESC}], take: 100) {
    totalCount pageInfo { hasNextPage }
    items { id imageDataId trackletId createdAt quality faceState frame { id positionInMs } }
  }
}"""
FACE = json.dumps(
    {"quality": 5000, "state": "Extracted", "type": "Regular", "size": 80.0, "face_mask_status": "NoMask"}
)


async def fill(database_url: str, faces: int) -> list[uuid.UUID]:
    """COPY `faces` faces (with their frames and tracklets) spread over CAMERAS cameras and a day."""
    cameras = [uuid.uuid4() for _ in range(CAMERAS)]
    step = timedelta(days=1) / faces
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("TRUNCATE seen_faces, seen_frames, seen_tracklets, seen_match_results CASCADE")
        tracklets, frames, rows = [], [], []
        tracklet = uuid.uuid4()
        for i in range(faces):
            camera, at = cameras[i % CAMERAS], START + i * step
            if i % (10 * CAMERAS) < CAMERAS:  # a new tracklet per camera every 10 of its faces
                tracklet = uuid.uuid4()
                tracklets.append((tracklet, camera, at, 0, 0, at))
            frame = uuid.uuid4()
            frames.append((frame, camera, at, i, at))
            rows.append((uuid.uuid4(), camera, tracklets[-1][0], frame, FACE, at))
        await conn.copy_records_to_table(
            "seen_tracklets", records=tracklets,
            columns=["id", "camera_id", "time_appeared", "appeared_ms", "disappeared_ms", "created_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "seen_frames", records=frames, columns=["id", "camera_id", "received_at", "position_ms", "created_at"]
        )
        await conn.execute("CREATE TEMP TABLE faces_in (LIKE seen_faces INCLUDING DEFAULTS)")
        await conn.copy_records_to_table(
            "faces_in", records=[(*r[:4], r[4], r[5]) for r in rows],
            columns=["id", "camera_id", "tracklet_id", "frame_id", "face", "created_at"],
        )  # fmt: skip
        await conn.execute("INSERT INTO seen_faces SELECT * FROM faces_in")
        await conn.execute("ANALYZE seen_faces; ANALYZE seen_frames; ANALYZE seen_tracklets")
    finally:
        await conn.close()
    return cameras


async def measure(database_url: str, camera: uuid.UUID, runs: int) -> None:
    pool = await create_pool(database_url)
    app = GraphQLApp(build_schema(), pool)
    variables = {"camera": str(camera), "from": (START + timedelta(hours=10)).isoformat(),
                 "to": (START + timedelta(hours=11)).isoformat()}  # fmt: skip
    latencies = []
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for i in range(runs + 3):  # 3 to warm up
                started = time.perf_counter()
                r = await client.post("/graphql/", json={"query": QUERY, "variables": variables})
                elapsed = time.perf_counter() - started
                body = r.json()
                assert r.status_code == 200 and "errors" not in body, body
                if i >= 3:
                    latencies.append(elapsed * 1000)
        page = body["data"]["faces"]
        latencies.sort()
        print(f"faces of 1 camera in 1 hour (of {CAMERAS} cameras, 1 day): totalCount {page['totalCount']}, "
              f"page of {len(page['items'])} with frames")  # fmt: skip
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        print(f"latency ms: median {statistics.median(latencies):.1f}, p95 {p95:.1f}, max {latencies[-1]:.1f} "
              f"({runs} runs)")  # fmt: skip
    finally:
        await pool.close()


MATCHES = """subscription($camera: UUID) { matchResult(where: {streamId: {eq: $camera}}) {
  id streamId trackletId faceId watchlistMemberId watchlistMemberFullName watchlistId score createdAt
  frameTimestampMicroseconds } }"""


@contextmanager
def graphql_process(database_url: str, nats_url: str) -> Iterator[str]:
    """The GraphQL service as its own process on a free port; yields its base URL."""
    port = free_port()
    env = {**os.environ, "FACEGATE_DATABASE_URL": database_url, "FACEGATE_NATS_URL": nats_url,
           "FACEGATE_GRAPHQL_PORT": str(port), "FACEGATE_GATEWAY_HOST": "127.0.0.1", "FACEGATE_LOG_LEVEL": "WARNING",
           "FACEGATE_ACCESS_LOG": "false"}  # fmt: skip
    services = ServiceProcesses(env)
    services.start("graphql")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, 60, "the GraphQL service")
        yield base
    finally:
        services.stop()


async def measure_subscription(base: str, nats_url: str, events: int, rate: float) -> None:
    """Publish `events` match events at `rate`/s; print publish-to-subscriber latency."""
    camera = str(uuid.uuid4())
    nc = await nats.connect(nats_url)
    latencies: list[float] = []
    try:
        async with Subscriber(base, "graphql-transport-ws", MATCHES, {"camera": camera}) as subscriber:
            for _ in range(50):  # the subscription reaches NATS a moment after it is acknowledged
                await publish(nc, match_event(camera, "warm-up", 0))
                try:
                    await subscriber.next(0.2)
                    break
                except TimeoutError:
                    continue

            async def receive() -> None:
                while len(latencies) < events:
                    payload = await subscriber.next(30)
                    received_us = time.time_ns() // 1000
                    sent_us = payload["data"]["matchResult"]["frameTimestampMicroseconds"]
                    if sent_us:  # warm-up events (0) still in flight are not counted
                        latencies.append((received_us - sent_us) / 1000)

            receiving = asyncio.create_task(receive())
            for _ in range(events):
                await publish(nc, match_event(camera, "person01", time.time_ns() // 1000))
                await asyncio.sleep(1 / rate)
            await asyncio.wait_for(receiving, 30)
    finally:
        await nc.close()
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    print(f"matchResult from NATS publish to subscriber (graphql-transport-ws, {events} events at {rate:g}/s): "
          f"p50 {statistics.median(latencies):.1f} ms, p95 {p95:.1f} ms, max {latencies[-1]:.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["query", "subscription", "both"], default="both")
    parser.add_argument("--faces", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--events", type=int, default=200, help="match events published for the subscription")
    parser.add_argument("--rate", type=float, default=20.0, help="match events per second")
    parser.add_argument(
        "--database-url", help="a Postgres to use instead of an embedded one (its seen_* tables are emptied)"
    )
    parser.add_argument("--nats-url", help="a NATS to use instead of an embedded one")
    args = parser.parse_args()
    subscription = args.part in ("subscription", "both")
    with tempfile.TemporaryDirectory() as root:
        servers = EmbeddedServers(Path(root), nats_port=free_port(), postgres_port=free_port(), redis_port=free_port())
        servers.start(nats=subscription and not args.nats_url, postgres=not args.database_url, redis=False)
        url = args.database_url or servers.database_url
        nats_url = args.nats_url or servers.nats_url
        try:
            asyncio.run(migrate_url(url))
            if args.part in ("query", "both"):
                started = time.perf_counter()
                cameras = asyncio.run(fill(url, args.faces))
                print(f"{args.faces} faces stored with COPY in {time.perf_counter() - started:.1f} s")
                asyncio.run(measure(url, cameras[3], args.runs))
            if subscription:
                with graphql_process(url, nats_url) as base:
                    asyncio.run(measure_subscription(base, nats_url, args.events, args.rate))
        finally:
            servers.stop()


if __name__ == "__main__":
    main()
