"""Faces/Search at scale: one search session over N stored camera faces, as the matcher runs it.

    PYTHONPATH=. .venv/bin/python benchmarks/face_search.py                  # 1M stored faces
    PYTHONPATH=. .venv/bin/python benchmarks/face_search.py --faces 100000   # a quicker look
    PYTHONPATH=. .venv/bin/python benchmarks/search.py --faces-search 1000000  # the same, from there

Against an embedded Postgres on a free port (never a configured one: it writes gigabytes),
migrated as Facegate's. It fills `--faces` stored faces with COPY, each with a template of `--dim`
floats (128, the shipped model's: 512 bytes; 512 for a larger model's 2 kB; random unit vectors,
`--planted` of them at cosine 0.97 to the probe, spread over the table), ten faces to a frame and
a tracklet. Then one session runs through
the matcher's own code (services/matcher/face_search.scan and search_sessions.finish: the same
keyset batches, comparisons in worker threads and result write) and the figures are printed:
fill time, search time and rate, hits stored. The hits must be exactly the planted faces.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np

from services.matcher import search_sessions
from services.matcher.face_search import scan
from shared.db.migrate import migrate_url
from shared.db.pool import create_pool
from shared.embedded import EmbeddedServers, free_port
from shared.messages.face_search import FaceSearchStart

MODEL = "faceapi-resnet@bench"
CAMERA = uuid.UUID(int=1)
FACE = {"quality": 5000, "size": 60.0, "state": "Extracted", "type": "Regular"}
CHUNK = 50_000
PER_FRAME = 10
PLANTED_SIMILARITY = 0.97

Rows = list[tuple[Any, ...]]


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype("<f4")


def chunks(faces: int, probe: np.ndarray, planted: set[int]) -> Iterator[tuple[Rows, Rows, Rows]]:
    """(tracklets, frames, faces) rows, oldest first over the last 30 days."""
    rng = np.random.default_rng(0)
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=29) / faces
    for first in range(0, faces, CHUNK):
        count = min(CHUNK, faces - first)
        templates = unit(rng.standard_normal((count, probe.size), dtype=np.float32))
        for i in (p - first for p in planted if first <= p < first + count):
            noise = templates[i] - (templates[i] @ probe) * probe
            noise /= np.linalg.norm(noise)
            templates[i] = PLANTED_SIMILARITY * probe + np.sqrt(1 - PLANTED_SIMILARITY**2) * noise
        tracklets: Rows = []
        frames: Rows = []
        stored: Rows = []
        tracklet = frame = uuid.uuid4()
        for i in range(count):
            at = start + step * (first + i)
            if i % PER_FRAME == 0:
                tracklet, frame = uuid.uuid4(), uuid.uuid4()
                tracklets.append((tracklet, CAMERA, at, at + step * PER_FRAME, 0, 1000, at))
                frames.append((frame, CAMERA, at, 0, at))
            stored.append((uuid.uuid4(), CAMERA, tracklet, frame, FACE, templates[i].tobytes(), MODEL, at))
        yield tracklets, frames, stored


async def fill(url: str, faces: int, probe: np.ndarray, planted: set[int]) -> float:
    """COPY the rows in; the seconds it took. (COPY is binary: jsonb as its version byte and text.)"""
    conn = await asyncpg.connect(url)
    try:
        await conn.set_type_codec(
            "jsonb", schema="pg_catalog", format="binary",
            encoder=lambda value: b"\x01" + json.dumps(value).encode(), decoder=lambda data: json.loads(data[1:]),
        )  # fmt: skip
        started = time.perf_counter()
        for tracklets, frames, stored in chunks(faces, probe, planted):
            await conn.copy_records_to_table(
                "seen_tracklets", records=tracklets,
                columns=["id", "camera_id", "time_appeared", "time_disappeared", "appeared_ms", "disappeared_ms",
                         "created_at"],
            )  # fmt: skip
            await conn.copy_records_to_table(
                "seen_frames", records=frames, columns=["id", "camera_id", "received_at", "position_ms", "created_at"]
            )
            await conn.copy_records_to_table(
                "seen_faces", records=stored,
                columns=["id", "camera_id", "tracklet_id", "frame_id", "face", "template", "template_model",
                         "created_at"],
            )  # fmt: skip
        await conn.execute("VACUUM ANALYZE seen_faces")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def search(url: str, probe: np.ndarray, threshold: int) -> tuple[int, int, float, float]:
    """One session as the matcher runs it: (faces searched, hits, search seconds, write seconds)."""
    pool = await create_pool(url, max_size=4)
    executor = ThreadPoolExecutor(2)
    loop = asyncio.get_running_loop()

    async def run_blocking(fn: Any, *args: Any) -> Any:
        return await loop.run_in_executor(executor, fn, *args)

    try:
        session_id = str(uuid.uuid4())
        async with pool.acquire() as conn:
            await search_sessions.create(conn, session_id, threshold, MODEL, "bench")
        req = FaceSearchStart(template=probe.tobytes(), template_model=MODEL, threshold=threshold)
        started = time.perf_counter()
        searched, hits = await scan(pool, run_blocking, req)
        searching = time.perf_counter() - started
        started = time.perf_counter()
        async with pool.acquire() as conn:
            await search_sessions.finish(conn, session_id, searched, hits)
        return searched, len(hits), searching, time.perf_counter() - started
    finally:
        executor.shutdown()
        await pool.close()


async def run(url: str, faces: int, planted_count: int, threshold: int, dim: int) -> str:
    await migrate_url(url)
    probe = unit(np.random.default_rng(1).standard_normal((1, dim), dtype=np.float32))[0]
    planted = {int(p) for p in np.linspace(0, faces - 1, min(planted_count, faces)).astype(int)}
    filled = await fill(url, faces, probe, planted)
    print(f"filled {faces:,} stored faces ({dim}-float templates, {faces // PER_FRAME:,} frames and tracklets) "
          f"with COPY in {filled:.1f} s")  # fmt: skip
    searched, hits, seconds, writing = await search(url, probe, threshold)
    assert searched == faces, (searched, faces)
    assert hits == len(planted), (hits, len(planted))  # exact: every planted face, nothing else
    rate = searched / seconds if seconds else 0.0
    line = (
        f"Faces/Search: {searched:,} stored faces ({dim}-d) searched in {seconds:.1f} s ({rate:,.0f} faces/s, exact), "
        f"{hits:,} hits stored in {1000 * writing:.0f} ms"
    )
    print(line)
    return line


def figure(faces: int, planted: int = 1000, threshold: int = 30, dim: int = 128) -> str:
    """Start an embedded Postgres, fill it, search it; the summary line."""
    with tempfile.TemporaryDirectory(prefix="facegate-bench-face-search-") as root:
        servers = EmbeddedServers(Path(root), nats_port=free_port(), postgres_port=free_port(), redis_port=free_port())
        servers.start(nats=False, redis=False)
        try:
            return asyncio.run(run(servers.database_url, faces, planted, threshold, dim))
        finally:
            servers.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--faces", type=int, default=1_000_000, help="stored faces to fill and search")
    parser.add_argument("--planted", type=int, default=1000, help="stored faces close to the probe (the hits)")
    parser.add_argument("--threshold", type=int, default=30)
    parser.add_argument("--dim", type=int, default=128, help="template length (the shipped model's: 128)")
    args = parser.parse_args()
    figure(args.faces, args.planted, args.threshold, args.dim)


if __name__ == "__main__":
    main()
