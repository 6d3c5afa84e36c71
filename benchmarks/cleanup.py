"""Retention at scale: how fast the cleanup deletes stored camera faces, and how long a camera's
write waits meanwhile.

    .venv/bin/python benchmarks/cleanup.py                       # 1M faces, half of them deleted
    .venv/bin/python benchmarks/cleanup.py --faces 200000        # a quicker look

Against an embedded Postgres on a free port (never a configured one: it writes and deletes
millions of rows), migrated as Facegate's. It fills `--faces` stored faces with COPY, each on its
own frame with a crop in the database (a few hundred bytes, like a small JPEG's row), one
tracklet per `--faces-per-tracklet` faces, spread over the last 30 days, all older than the
cleanup's keep_recent_s. Then DbCleanup's maxFramesCount (`--keep` of them) is enforced through
the cleanup's own code (services/cleanup/retention.py: the same batches, triggers and indexes
the service runs), while a writer stores a face the way camera_ingest does (tracklet, image,
frame and face in one transaction) every `--write-every-ms`. It prints the fill time, the delete
rate, the longest delete transaction, and the writer's latency before and during the cleanup
(median, p99, longest: the longest pause a camera saw).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from services.cleanup.retention import Policy, Retention, frames_bound
from services.cleanup.settings import CleanupSettings
from shared.db.migrate import migrate_url
from shared.db.pool import init_connection
from shared.embedded import EmbeddedServers, free_port

CAMERA = uuid.UUID(int=1)
CROP = b"\xff\xd8" + bytes(300) + b"\xff\xd9"  # a crop row of a few hundred bytes
FACE = {"quality": 5000, "size": 60.0, "state": "Extracted", "type": "Regular"}
CHUNK = 50_000


Rows = list[tuple[Any, ...]]


def rows(faces: int, per_tracklet: int) -> Iterator[tuple[Rows, Rows, Rows, Rows]]:
    """Chunks of (tracklets, images, frames, faces) rows, oldest first over the last 30 days."""
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=29) / faces
    tracklet = uuid.uuid4()
    for first in range(0, faces, CHUNK):
        tracklets: Rows = []
        images: Rows = []
        frames: Rows = []
        stored: Rows = []
        for i in range(first, min(faces, first + CHUNK)):
            at = start + step * i
            if i % per_tracklet == 0:
                tracklet = uuid.uuid4()
                tracklets.append((tracklet, CAMERA, at, at + step * per_tracklet, 0, 1000, at))
            image, frame = uuid.uuid4(), uuid.uuid4()
            images.append((image, CAMERA, "crop", 112, 112, CROP, at))
            frames.append((frame, CAMERA, at, 0, at))
            stored.append((uuid.uuid4(), CAMERA, tracklet, frame, image, FACE, at))
        yield tracklets, images, frames, stored


async def fill(conn: asyncpg.Connection, faces: int, per_tracklet: int) -> float:
    """COPY the rows in; the seconds it took. (COPY is binary: jsonb as its version byte and text.)"""
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", format="binary",
        encoder=lambda value: b"\x01" + json.dumps(value).encode(), decoder=lambda data: json.loads(data[1:]),
    )  # fmt: skip
    started = time.perf_counter()
    for tracklets, images, frames, stored in rows(faces, per_tracklet):
        await conn.copy_records_to_table(
            "seen_tracklets", records=tracklets,
            columns=["id", "camera_id", "time_appeared", "time_disappeared", "appeared_ms", "disappeared_ms",
                     "created_at"],
        )  # fmt: skip
        await conn.copy_records_to_table(
            "seen_images", records=images, columns=["id", "camera_id", "kind", "width", "height", "data", "created_at"]
        )
        await conn.copy_records_to_table(
            "seen_frames", records=frames, columns=["id", "camera_id", "received_at", "position_ms", "created_at"]
        )
        await conn.copy_records_to_table(
            "seen_faces", records=stored,
            columns=["id", "camera_id", "tracklet_id", "frame_id", "image_id", "face", "created_at"],
        )  # fmt: skip
    await conn.execute("ANALYZE")
    return time.perf_counter() - started


async def write_one(conn: asyncpg.Connection) -> float:
    """One stored face as camera_ingest stores it; the seconds it took."""
    started = time.perf_counter()
    tracklet, image, frame = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    async with conn.transaction():
        await conn.execute(
            """INSERT INTO seen_tracklets (id, camera_id, time_appeared, appeared_ms, disappeared_ms)
               VALUES ($1, $2, $3, 0, 0)""",
            tracklet, CAMERA, now,
        )  # fmt: skip
        await conn.execute(
            """INSERT INTO seen_images (id, camera_id, kind, width, height, data)
               VALUES ($1, $2, 'crop', 112, 112, $3)""",
            image, CAMERA, CROP,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO seen_frames (id, camera_id, received_at, position_ms) VALUES ($1, $2, $3, 0)",
            frame, CAMERA, now,
        )  # fmt: skip
        await conn.execute(
            """INSERT INTO seen_faces (id, camera_id, tracklet_id, frame_id, image_id, face)
               VALUES ($1, $2, $3, $4, $5, $6)""",
            uuid.uuid4(), CAMERA, tracklet, frame, image, FACE,
        )  # fmt: skip
    return time.perf_counter() - started


async def writer(url: str, every_s: float, stop: asyncio.Event, latencies: list[float]) -> None:
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    try:
        while not stop.is_set():
            latencies.append(await write_one(conn))
            await asyncio.sleep(every_s)
    finally:
        await conn.close()


def figures(latencies: list[float]) -> str:
    ms = sorted(1000 * s for s in latencies)
    if not ms:
        return "no writes"
    p99 = ms[min(len(ms) - 1, int(0.99 * len(ms)))]
    return f"median {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, longest {ms[-1]:.1f} ms ({len(ms)} writes)"


async def run(url: str, args: argparse.Namespace) -> None:
    await migrate_url(url)
    loader = await asyncpg.connect(url)
    try:
        filled = await fill(loader, args.faces, args.faces_per_tracklet)
    finally:
        await loader.close()
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    try:
        print(f"filled {args.faces:,} faces (frames, crops, {args.faces // args.faces_per_tracklet:,} tracklets) "
              f"with COPY in {filled:.1f} s")  # fmt: skip

        baseline: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(writer(url, args.write_every_ms / 1000, stop, baseline))
        await asyncio.sleep(args.baseline_s)
        stop.set()
        await task

        during: list[float] = []
        stop = asyncio.Event()
        task = asyncio.create_task(writer(url, args.write_every_ms / 1000, stop, during))
        settings = CleanupSettings(batch=args.batch)
        policy = Policy(max_frames=args.keep, max_age_days=None, delete_rows=True, delete_match_results=True)
        retention = Retention(conn, settings.batch)
        started = time.perf_counter()
        bound = await frames_bound(conn, policy, settings.keep_recent_s)
        assert bound is not None
        removed = await retention.frames(policy, bound)
        seconds = time.perf_counter() - started
        stop.set()
        await task
    finally:
        await conn.close()
    rate = removed.faces / seconds if seconds else 0.0
    print(f"deleted {removed.frames:,} frames, {removed.faces:,} faces, {removed.images:,} images, "
          f"{removed.tracklets:,} tracklets in {seconds:.1f} s: {rate:,.0f} faces/s "
          f"({args.batch} frames a transaction, longest transaction {retention.batch_ms:.0f} ms)")  # fmt: skip
    print(f"camera writes before the cleanup: {figures(baseline)}")
    print(f"camera writes during the cleanup: {figures(during)}")
    print(f"summary: {rate:,.0f} stored faces deleted/s; longest camera write during the cleanup "
          f"{1000 * max(during, default=0):.0f} ms (before: {1000 * max(baseline, default=0):.0f} ms)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=1_000_000, help="stored faces to fill (one frame each)")
    parser.add_argument("--keep", type=int, default=0, help="maxFramesCount (default: half of --faces)")
    parser.add_argument("--faces-per-tracklet", type=int, default=10)
    parser.add_argument("--batch", type=int, default=CleanupSettings().batch, help="frames per transaction")
    parser.add_argument("--write-every-ms", type=float, default=20.0, help="the camera writer's pace")
    parser.add_argument("--baseline-s", type=float, default=5.0, help="writer alone before the cleanup")
    args = parser.parse_args()
    args.keep = args.keep or args.faces // 2
    with tempfile.TemporaryDirectory(prefix="facegate-bench-cleanup-") as root:
        servers = EmbeddedServers(Path(root), nats_port=free_port(), postgres_port=free_port(), redis_port=free_port())
        servers.start(nats=False, redis=False)
        try:
            asyncio.run(run(servers.database_url, args))
        finally:
            servers.stop()


if __name__ == "__main__":
    main()
