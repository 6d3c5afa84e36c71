"""The matcher's index at scale: recall@1, query latency, memory, build and cold start, with the
default settings (HNSW parameters chosen from the size: services/matcher/tuning.py).

    .venv/bin/python benchmarks/matcher.py                       # 100k and 1M x 128 (~25 min on 2 cores)
    .venv/bin/python benchmarks/matcher.py --size 100000         # a couple of minutes
    .venv/bin/python benchmarks/matcher.py --size 20000 100000 300000 --grow --skip-servers
        # one gallery grown from empty in batches, rebuilt as the replica would at each size
        # class, measured at each size given
    .venv/bin/python benchmarks/matcher.py --size 1000000 --m 16 --ef 128   # pinned settings

Each size is built the way a replica loads from Postgres (it knows the final size first, so the
graph is built once with that size's parameters); 1M x 128 takes ~10+ min to build on 2 cores
and ~6 GB at the peak (templates, ground truth, index; with servers also the Redis copy and the
restored one). 128-d is the shipped model's template length; --dim 512 for larger models.

Synthetic templates shaped like real ones (services/matcher/synthetic.py): identities of 1-4
samples at cosine ~0.5-0.8 to each other, strangers near 0 (std ~0.09), identities in look-alike
groups (`--flat`: without, the worst case for a graph); each query is a fresh sample of an
enrolled identity. It measures, through the matcher's own code (`ModelIndex`, `cache`):
- build time of the HNSW graph (2 threads) and memory per million templates (RSS growth);
- recall@1 (the exact nearest template found, face for face; and its member) against exact
  search, query latency p50/p99 and queries/s on one core (one query per call, as the service
  searches), and queries/s on two threads, at the size's own `ef` (and any `--ef` given);
- exact numpy search one query at a time, for the ratio;
- cold start: load from Redis (download, checksum, load) vs rebuild from Postgres (read every
  template, then build), against embedded servers on free ports (never a configured Redis or
  Postgres: it writes N templates).
The last line is the summary the issue asks for.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import msgspec
import numpy as np
import redis.asyncio as aioredis

from services.matcher import cache, tuning
from services.matcher.config import MatcherConfig
from services.matcher.gallery import Gallery
from services.matcher.index import ModelIndex
from services.matcher.labels import KEY, guid_strings
from services.matcher.synthetic import gallery, guids, queries
from shared.db.migrate import migrate_url
from shared.embedded import EmbeddedServers, free_port


def rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def search_rate(index: ModelIndex, probes: np.ndarray, threads: int) -> tuple[float, list[int], list[float]]:
    """Queries/s of `index.search` one query per call, spread over `threads` threads; the label
    found per query and each query's latency (seconds)."""
    found = [0] * len(probes)
    latency = [0.0] * len(probes)

    def work(rows: range) -> None:
        for i in rows:
            t0 = time.perf_counter()
            hit = index.search(probes[i : i + 1], 1, lambda _m, _s: True, -1.0, lambda: [])[0]
            latency[i] = time.perf_counter() - t0
            found[i] = hit[0][2] if hit else -1

    parts = [range(t, len(probes), threads) for t in range(threads)]
    workers = [threading.Thread(target=work, args=(p,)) for p in parts]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return len(probes) / (time.perf_counter() - started), found, latency


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


class Measured(msgspec.Struct):
    size: int
    ef: int
    recall: float
    member_recall: float
    rate: float
    p50_ms: float
    p99_ms: float


class Ids:
    """GUIDs of the faces (row i of the templates) and members (identity i), as Facegate's are;
    each call writes new strings, as the rows a replica reads from Postgres are."""

    def __init__(self, owner: np.ndarray) -> None:
        self.owner = owner
        self._faces = guids(len(owner), seed=2).view(KEY).ravel()
        self._members = guids(int(owner.max()) + 1, seed=3).view(KEY).ravel()

    def faces(self, start: int, end: int) -> list[str]:
        return guid_strings(self._faces[start:end])

    def members(self, start: int, end: int) -> list[str]:
        return guid_strings(self._members[self.owner[start:end]])


def measure(
    index: ModelIndex,
    templates: np.ndarray,
    owner: np.ndarray,
    centres: np.ndarray,
    ids: Ids,
    count: int,
    efs: list[int],
) -> list[Measured]:
    """Recall@1 and latency of `index` (holding `templates`) at its own ef, then at `efs`."""
    size = len(templates)
    probes = queries(count, owner[:size], centres)
    chunks = np.array_split(probes, max(1, len(probes) // 256))
    exact = np.concatenate([np.argmax(p @ templates.T, axis=1) for p in chunks])
    faces = ids.faces(0, size)
    want = np.array([faces[i] for i in exact])
    row_of = {f: i for i, f in enumerate(faces)}
    assert index._hnsw is not None
    own = int(index._hnsw.ef)
    out = []
    for ef in [own, *[e for e in efs if e != own]]:
        index._hnsw.set_ef(ef)
        rate, found, latency = search_rate(index, probes, 1)
        got = [index.face_of.get(f, "") for f in found]
        recall = float(np.mean(np.array(got) == want))
        rows = [row_of.get(f, 0) for f in got]
        member_recall = float(np.mean(owner[rows] == owner[exact]))
        ms = np.percentile(np.array(latency) * 1000, [50, 99])
        m = Measured(size, ef, recall, member_recall, rate, float(ms[0]), float(ms[1]))
        note = "(the size's own ef)" if ef == own else ""
        print(
            f"  {size} templates, ef {ef}: recall@1 {recall:.4f} (member {member_recall:.4f}), "
            f"p50 {m.p50_ms:.2f} ms, p99 {m.p99_ms:.2f} ms, {rate:.0f} q/s on one core {note}"
        )
        out.append(m)
    index._hnsw.set_ef(own)
    return out


def build(
    cfg: MatcherConfig, templates: np.ndarray, owner: np.ndarray, ids: Ids, dim: int
) -> tuple[Gallery, ModelIndex, float]:
    """The gallery as a replica loads it from Postgres: the final size announced first, then
    the faces in batches (2 threads)."""
    g = Gallery(cfg, threads=2)
    size = len(templates)
    index = g.models["bench"] = ModelIndex(dim, cfg, expected=size)
    started = time.perf_counter()
    for start in range(0, size, 100_000):
        end = min(start + 100_000, size)
        index.add(ids.faces(start, end), ids.members(start, end), templates[start:end], 2)
    g.maintain()  # nothing is due when the size was announced
    return g, g.models["bench"], time.perf_counter() - started


def describe(index: ModelIndex) -> str:
    built = index.built
    assert built is not None
    return f"M {built.m}, ef_construction {built.ef_construction}, ef {index.ef}"


def describe_pins(cfg: MatcherConfig, params: str) -> str:
    pinned = cfg.hnsw_m is not None or cfg.hnsw_ef_construction is not None
    return f"{'pinned' if pinned else 'defaults'}: {params}"


def grow(args: argparse.Namespace, cfg: MatcherConfig) -> None:
    """One gallery grown from empty in batches of `--batch`, the due rebuilds run after each
    batch (a replica runs them in the background), measured at each `--size`."""
    top = max(args.size)
    templates, owner, centres = gallery(top, args.dim, flat=args.flat)
    ids = Ids(owner)
    g = Gallery(cfg, threads=2)
    started = time.perf_counter()
    rebuild_s = 0.0
    for start in range(0, top, args.batch):
        end = min(start + args.batch, top)
        if "bench" not in g.models:
            g.models["bench"] = ModelIndex(args.dim, cfg)
        index = g.models["bench"]
        index.add(ids.faces(start, end), ids.members(start, end), templates[start:end], 2)
        t0 = time.perf_counter()
        if g.maintain():
            rebuild_s += time.perf_counter() - t0
            print(f"  rebuilt at {end} templates in {time.perf_counter() - t0:.1f} s: {describe(g.models['bench'])}")
        if end in args.size:
            index = g.models["bench"]
            print(f"{end} templates ({describe(index)}), {time.perf_counter() - started:.0f} s so far, "
                  f"{rebuild_s:.0f} s of it rebuilding")  # fmt: skip
            measure(index, templates[:end], owner, centres, ids, args.queries, args.ef)


def one_size(args: argparse.Namespace, cfg: MatcherConfig, size: int) -> None:
    templates, owner, centres = gallery(size, args.dim, flat=args.flat)
    ids = Ids(owner)
    print(f"gallery: {size} x {args.dim}, {len(np.unique(owner))} identities, {args.queries} queries")
    gc.collect()
    before = rss_bytes()
    g, index, build_s = build(cfg, templates, owner, ids, args.dim)
    gb_per_million = (rss_bytes() - before) / size * 1e6 / 1e9
    print(f"build: {build_s:.1f} s on 2 threads ({describe(index)})")
    print(f"memory: {gb_per_million:.2f} GB per million (RSS growth; vectors+graph estimate "
          f"{index.nbytes / size * 1e6 / 1e9:.2f})")  # fmt: skip
    index_params = describe(index)
    first = measure(index, templates, owner, centres, ids, args.queries, args.ef)[0]
    rate2, _, _ = search_rate(index, queries(args.queries, owner, centres), 2)
    print(f"  ef {first.ef}: {rate2:.0f} q/s on two threads")

    sample = queries(min(300, args.queries), owner, centres)
    started = time.perf_counter()
    for q in sample:
        int(np.argmax(templates @ q))
    exact_rate = len(sample) / (time.perf_counter() - started)
    print(f"exact numpy, one query at a time: {exact_rate:.0f} q/s")

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
            print(f"rebuild from Postgres: read {read:.1f} s + build {build_s:.1f} s = {read + build_s:.1f} s")
        finally:
            servers.stop()
            shutil.rmtree(root, ignore_errors=True)

    print(
        f"matcher: {size} x {args.dim} ({describe_pins(cfg, index_params)}): recall@1 {first.recall:.4f}, "
        f"p50 {first.p50_ms:.2f} ms, p99 {first.p99_ms:.2f} ms, "
        f"{first.rate:.0f} q/s per core, {gb_per_million:.2f} GB per million, cold start {cold:.1f} s, "
        f"build {build_s:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, nargs="+", default=[100_000, 1_000_000], help="gallery sizes")
    parser.add_argument("--dim", type=int, default=128, help="template length (128: the shipped model)")
    parser.add_argument("--queries", type=int, default=2000, help="probe templates")
    parser.add_argument("--ef", type=int, nargs="*", default=[], help="hnswlib ef values to try beside the size's own")
    parser.add_argument("--m", type=int, default=None, help="pin hnswlib M (default: from the size)")
    parser.add_argument(
        "--ef-construction", type=int, default=None,
        help="pin hnswlib build effort (a low one builds 1M in minutes: same file size, so the same cold start)",
    )  # fmt: skip
    parser.add_argument("--flat", action="store_true", help="identities without look-alike groups (worst case)")
    parser.add_argument("--skip-servers", action="store_true", help="no Redis/Postgres cold-start figures")
    parser.add_argument("--grow", action="store_true", help="grow one gallery in batches, measure at each --size")
    parser.add_argument("--batch", type=int, default=50_000, help="templates per batch with --grow")
    args = parser.parse_args()
    # Searched with HNSW at every measured size (a default replica searches up to 10k exactly).
    cfg = MatcherConfig(hnsw_m=args.m, hnsw_ef_construction=args.ef_construction)
    print(f"{'clustered' if not args.flat else 'flat'} synthetic templates, settings: {tuning.policy(cfg)}")
    if args.grow:
        grow(args, cfg)
    else:
        for size in args.size:
            one_size(args, cfg, size)


if __name__ == "__main__":
    main()
