"""The matcher's index at scale: queries/s, recall, memory, build and cold start.

    .venv/bin/python benchmarks/matcher.py                      # 100k x 512, a few minutes
    .venv/bin/python benchmarks/matcher.py --size 1000000       # the issue's 1M x 512 run:
        # ~25 min on 2 cores (the build dominates), ~10 GB of memory at the peak (templates,
        # index, Redis copy, restored copy); --dim 128 (the shipped dlib model) is ~4x cheaper.

Synthetic templates shaped like real ones (services/matcher/synthetic.py): identities of 1-4
samples at cosine ~0.5-0.8 to each other, strangers near 0 (std ~0.09), identities in look-alike
groups (`--flat`: without, the worst case for a graph); each query is a fresh sample of an
enrolled identity. It measures, through the matcher's own code (`ModelIndex`, `cache`):
- build time of the HNSW graph (2 threads) and memory per million templates (RSS growth);
- queries/s on one core (one query per call, as the service searches) and on two threads,
  recall@1 against exact search, for a few `ef` values; the reported one is the fastest `ef`
  reaching recall@1 0.99 (else the best recall);
- exact numpy search one query at a time, for the ratio;
- cold start: load from Redis (download, checksum, load) vs rebuild from Postgres (read every
  template, then build), against embedded servers on free ports (never a configured Redis or
  Postgres: it writes N templates).
The last line is the summary the issue asks for.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import numpy as np
import redis.asyncio as aioredis

from services.matcher import cache
from services.matcher.config import MatcherConfig
from services.matcher.gallery import Gallery
from services.matcher.index import ModelIndex
from services.matcher.synthetic import gallery, queries
from shared.db.migrate import migrate_url
from shared.embedded import EmbeddedServers, free_port


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def search_rate(index: ModelIndex, probes: np.ndarray, threads: int) -> tuple[float, list[int]]:
    """Queries/s of `index.search` one query per call, spread over `threads` threads."""
    found = [0] * len(probes)

    def work(rows: range) -> None:
        for i in rows:
            hit = index.search(probes[i : i + 1], 1, lambda _m, _s: True, -1.0, lambda: [])[0]
            found[i] = hit[0][2] if hit else -1

    parts = [range(t, len(probes), threads) for t in range(threads)]
    workers = [threading.Thread(target=work, args=(p,)) for p in parts]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(probes) / (time.perf_counter() - started), found


async def postgres_figures(url: str, templates: np.ndarray, owner: np.ndarray) -> float:
    """Write the templates to Postgres, then time reading them all back (the rebuild's read)."""
    await migrate_url(url)
    conn = await asyncpg.connect(url)
    try:
        members = [(f"m{i}", "{}") for i in np.unique(owner)]
        await conn.copy_records_to_table("watchlist_members", records=members, columns=["id", "privacy"])
        # Triggers would log one change per row and take the change lock; a bulk load skips them.
        await conn.execute("ALTER TABLE member_faces DISABLE TRIGGER USER")
        for start in range(0, len(templates), 50_000):
            rows = [
                (str(uuid.uuid4()), f"m{owner[i]}", "bench", "1", templates[i].tobytes())
                for i in range(start, min(start + 50_000, len(templates)))
            ]
            await conn.copy_records_to_table(
                "member_faces", records=rows, columns=["id", "member_id", "model_name", "model_version", "template"]
            )
        started = time.perf_counter()
        count = 0
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            async for _row in conn.cursor("SELECT id, member_id, model_name, template FROM member_faces"):
                count += 1
        assert count == len(templates)
        return time.perf_counter() - started
    finally:
        await conn.close()


async def redis_cold_start(url: str, g: Gallery, cfg: MatcherConfig) -> tuple[float, float]:
    """Save the gallery to Redis, then time a replica's load (fetch + checksum + load)."""
    client = aioredis.from_url(url)
    save_dir = Path(tempfile.mkdtemp(prefix="bench-save-"))
    load_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        started = time.perf_counter()
        seq = cache.snapshot(g, save_dir)
        assert await cache.save(client, cfg, save_dir, seq, "bench", "bench")
        saved = time.perf_counter() - started
        shutil.rmtree(save_dir)
        started = time.perf_counter()
        manifest = await cache.fetch(client, cfg, load_dir, "bench", 0, seq)
        assert manifest is not None
        loaded = await asyncio.to_thread(cache.restore, load_dir, cfg, 2)
        cold = time.perf_counter() - started
        assert sum(len(i) for i in loaded.models.values()) == sum(len(i) for i in g.models.values())
        return saved, cold
    finally:
        shutil.rmtree(save_dir, ignore_errors=True)
        shutil.rmtree(load_dir, ignore_errors=True)
        await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="templates in the gallery")
    parser.add_argument("--dim", type=int, default=512, help="template length")
    parser.add_argument("--queries", type=int, default=2000, help="probe templates")
    parser.add_argument("--ef", type=int, nargs="*", default=[48, 64, 96, 128], help="hnswlib ef values to try")
    parser.add_argument("--m", type=int, default=MatcherConfig().hnsw_m, help="hnswlib M")
    parser.add_argument(
        "--ef-construction", type=int, default=MatcherConfig().hnsw_ef_construction,
        help="hnswlib build effort (a low one builds 1M in minutes: same file size, so the same cold start)",
    )  # fmt: skip
    parser.add_argument("--flat", action="store_true", help="identities without look-alike groups (worst case)")
    parser.add_argument("--skip-servers", action="store_true", help="no Redis/Postgres cold-start figures")
    args = parser.parse_args()

    templates, owner, centres = gallery(args.size, args.dim, flat=args.flat)
    probes = queries(args.queries, owner, centres)
    chunks = np.array_split(probes, max(1, len(probes) // 256))
    exact = np.concatenate([np.argmax(p @ templates.T, axis=1) for p in chunks])
    print(f"gallery: {args.size} x {args.dim}, {len(np.unique(owner))} identities, {len(probes)} queries")

    cfg = MatcherConfig(exact_max=0, hnsw_m=args.m, hnsw_ef_construction=args.ef_construction)
    before = rss_bytes()
    started = time.perf_counter()
    g = Gallery(cfg, threads=2)
    index = g.models["bench"] = ModelIndex(args.dim, cfg)
    for start in range(0, args.size, 100_000):
        end = min(start + 100_000, args.size)
        index.add([f"f{i}" for i in range(start, end)], [f"m{o}" for o in owner[start:end]], templates[start:end], 2)
    build = time.perf_counter() - started
    gb_per_million = (rss_bytes() - before) / args.size * 1e6 / 1e9
    print(f"build: {build:.1f} s on 2 threads (M {args.m}, ef_construction {cfg.hnsw_ef_construction})")
    print(f"memory: {gb_per_million:.2f} GB per million (RSS growth; vectors+graph estimate "
          f"{index.nbytes / args.size * 1e6 / 1e9:.2f})")

    want = np.array([f"f{i}" for i in exact])
    chosen: tuple[int, float, float] | None = None
    best: tuple[int, float, float] = (0, 0.0, -1.0)
    assert index._hnsw is not None
    for ef in args.ef:
        index._hnsw.set_ef(ef)
        rate, found = search_rate(index, probes, 1)
        recall = float(np.mean(np.array([index.face_of.get(f, "") for f in found]) == want))
        rows = [int(index.face_of[f][1:]) if f >= 0 else 0 for f in found]
        member_recall = float(np.mean(owner[rows] == owner[exact]))
        print(f"ef {ef}: {rate:.0f} q/s on one core, recall@1 {recall:.4f} (member {member_recall:.4f})")
        if recall >= 0.99 and chosen is None:
            chosen = (ef, rate, recall)
        if recall > best[2]:
            best = (ef, rate, recall)
    ef, rate1, recall = chosen or best
    index._hnsw.set_ef(ef)
    rate2, _ = search_rate(index, probes, 2)
    print(f"ef {ef}: {rate2:.0f} q/s on two threads")

    sample = probes[: min(300, len(probes))]
    started = time.perf_counter()
    for q in sample:
        int(np.argmax(templates @ q))
    exact_rate = len(sample) / (time.perf_counter() - started)
    print(f"exact numpy, one query at a time: {exact_rate:.0f} q/s ({rate1 / exact_rate:.1f}x slower than HNSW)")

    cold = float("nan")
    if not args.skip_servers:
        root = Path(tempfile.mkdtemp(prefix="bench-servers-"))
        servers = EmbeddedServers(root, nats_port=free_port(), postgres_port=free_port(), redis_port=free_port())
        servers.start(nats=False)
        try:
            saved, cold = asyncio.run(redis_cold_start(servers.redis_url, g, cfg))
            print(f"cache: saved to Redis in {saved:.1f} s; cold start from Redis {cold:.1f} s")
            del g, index
            read = asyncio.run(postgres_figures(servers.database_url, templates, owner))
            print(f"rebuild from Postgres: read {read:.1f} s + build {build:.1f} s = {read + build:.1f} s")
        finally:
            servers.stop()
            shutil.rmtree(root, ignore_errors=True)

    print(
        f"matcher: {args.size} templates, {rate1:.0f} q/s per core, recall@1 {recall:.4f}, "
        f"{gb_per_million:.2f} GB per million, cold start {cold:.1f} s, exact {exact_rate:.0f} q/s"
    )


if __name__ == "__main__":
    main()
