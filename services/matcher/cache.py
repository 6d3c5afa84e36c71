"""The gallery saved in Redis, so that a starting replica loads it instead of rebuilding.

Layout: `<key>:manifest` (msgpack `Manifest`: the change-log position the snapshot reflects,
the database it came from, the index parameters, and per file its size and CRC-32) and the
files' bytes in segments `<key>:<generation>:<file>:<n>` (Redis strings stop at 512 MB; a 1M x
512 HNSW file is ~2.3 GB). A new generation is written in full before the manifest points to it;
the old one expires a while later, so a replica reading it meanwhile still finds it whole.

Nothing is trusted blindly: a manifest of another format or database, a position ahead of the
log (restored database) or behind its oldest row (pruned log), a missing segment or a CRC
mismatch raises `CacheInvalid`, and the caller rebuilds from Postgres. Index parameters are not
a reason: each graph file carries its own `M`/`ef_construction`, `ef` is set from the size on
load, and a graph whose parameters do not fit its size or the settings any more is rebuilt in
the background after the load (tuning.py) and saved back.
"""

from __future__ import annotations

import logging
import time
import zlib
from pathlib import Path
from typing import cast

import msgspec
import redis.asyncio as aioredis

from services.matcher import tuning
from services.matcher.config import MatcherConfig
from services.matcher.gallery import Gallery
from services.matcher.index import ModelIndex

log = logging.getLogger(__name__)

FORMAT = 1
OLD_GENERATION_TTL_S = 600


class CacheInvalid(Exception):
    """The cached gallery cannot be used; the message says why."""


class CachedFile(msgspec.Struct, frozen=True):
    name: str
    size: int
    segments: int
    crc32: int


class Manifest(msgspec.Struct, frozen=True):
    format: int
    database: str
    params: str
    seq: int
    generation: str
    files: list[CachedFile]
    saved_at: float
    saved_by: str
    # model -> the parameters its graph was built with ("exact" for a matrix): a snapshot at
    # the same position replaces the cached one when they differ (a rebuilt graph).
    graphs: dict[str, str] = {}


class GalleryMeta(msgspec.Struct, frozen=True):
    seq: int
    models: list[str]
    watchlists_of: dict[str, list[str]]
    thresholds: dict[str, int]
    graphs: dict[str, str] = {}


def graph_of(index: ModelIndex) -> str:
    built = index.built
    return "exact" if built is None else f"M={built.m},efc={built.ef_construction}"


def params_of(cfg: MatcherConfig) -> str:
    """The parameter rule and settings a snapshot was written under (for people reading it)."""
    return tuning.policy(cfg)


# ---- gallery <-> folder (blocking; run in the worker threads) ----


def snapshot(gallery: Gallery, folder: Path) -> int:
    """Write the gallery to `folder` under its read lock; return the position it reflects.
    The caller is the only writer of the gallery, so no change lands halfway."""
    with gallery.lock.read():
        names = sorted(gallery.models)
        meta = GalleryMeta(
            seq=gallery.seq,
            models=names,
            watchlists_of={m: sorted(w) for m, w in gallery.watchlists_of.items()},
            thresholds=dict(gallery.thresholds),
            graphs={name: graph_of(gallery.models[name]) for name in names},
        )
        for i, name in enumerate(names):
            gallery.models[name].save(folder / f"model{i}")
        (folder / "gallery.msgpack").write_bytes(msgspec.msgpack.encode(meta))
        return meta.seq


def restore(folder: Path, cfg: MatcherConfig, threads: int) -> Gallery:
    """Read a gallery written by `snapshot`."""
    meta = msgspec.msgpack.decode((folder / "gallery.msgpack").read_bytes(), type=GalleryMeta)
    gallery = Gallery(cfg, threads)
    for i, name in enumerate(meta.models):
        gallery.models[name] = ModelIndex.load(folder / f"model{i}", cfg)
    for member, wls in meta.watchlists_of.items():
        gallery.watchlists_of[member] = frozenset(wls)
        for wl in wls:
            gallery.members_in.setdefault(wl, set()).add(member)
    gallery.thresholds = dict(meta.thresholds)
    gallery.seq = meta.seq
    return gallery


# ---- folder <-> Redis ----


async def save(redis: aioredis.Redis, cfg: MatcherConfig, folder: Path, seq: int, database: str, instance: str) -> bool:
    """Upload `folder` as the newest cached gallery; False when another replica is saving or
    the cache already reflects a later position, or this one with the same graphs."""
    key = cfg.cache_key
    lock = f"{key}:lock"
    if not await redis.set(lock, instance, nx=True, ex=OLD_GENERATION_TTL_S):
        return False
    try:
        old = await _manifest(redis, key)
        graphs = msgspec.msgpack.decode((folder / "gallery.msgpack").read_bytes(), type=GalleryMeta).graphs
        same_graphs = old is not None and old.seq == seq and old.graphs == graphs
        if old is not None and old.database == database and (old.seq > seq or same_graphs):
            return False
        generation = f"{seq}-{instance}-{int(time.time())}"
        files = []
        for i, path in enumerate(sorted(p for p in folder.rglob("*") if p.is_file())):
            files.append(await _upload(redis, f"{key}:{generation}:{i}", path, folder, cfg.cache_segment_bytes))
        manifest = Manifest(
            format=FORMAT,
            database=database,
            params=params_of(cfg),
            seq=seq,
            generation=generation,
            files=files,
            saved_at=time.time(),
            saved_by=instance,
            graphs=graphs,
        )
        await redis.set(f"{key}:manifest", msgspec.msgpack.encode(manifest))
        if old is not None:
            await _expire(redis, key, old)
        return True
    finally:
        await redis.delete(lock)


async def _upload(redis: aioredis.Redis, prefix: str, path: Path, folder: Path, segment: int) -> CachedFile:
    crc = 0
    count = 0
    size = path.stat().st_size
    with path.open("rb") as f:
        while chunk := f.read(segment):
            crc = zlib.crc32(chunk, crc)
            await redis.set(f"{prefix}:{count}", chunk)
            count += 1
    return CachedFile(name=str(path.relative_to(folder)), size=size, segments=count, crc32=crc)


async def _expire(redis: aioredis.Redis, key: str, old: Manifest) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for i, f in enumerate(old.files):
            for n in range(f.segments):
                pipe.expire(f"{key}:{old.generation}:{i}:{n}", OLD_GENERATION_TTL_S)
        await pipe.execute()


async def _get(redis: aioredis.Redis, key: str) -> bytes | None:
    # The matcher's client does not decode responses: values are bytes.
    return cast("bytes | None", await redis.get(key))


async def _manifest(redis: aioredis.Redis, key: str) -> Manifest | None:
    raw = await _get(redis, f"{key}:manifest")
    if raw is None:
        return None
    try:
        return msgspec.msgpack.decode(raw, type=Manifest)
    except msgspec.DecodeError as exc:
        raise CacheInvalid(f"unreadable manifest: {exc}") from None


async def fetch(
    redis: aioredis.Redis, cfg: MatcherConfig, folder: Path, database: str, oldest: int, newest: int
) -> Manifest | None:
    """Download the cached gallery into `folder`; None when there is none. `oldest`/`newest`
    are the log's first and last positions, to refuse a snapshot the log cannot bring up to date."""
    manifest = await _manifest(redis, cfg.cache_key)
    if manifest is None:
        return None
    if manifest.format != FORMAT:
        raise CacheInvalid(f"format {manifest.format}, expected {FORMAT}")
    if manifest.database != database:
        raise CacheInvalid("written for another database")
    if manifest.params != params_of(cfg):
        log.info("cached gallery written under %s, configured %s: graphs that do not fit are rebuilt "
                 "after the load", manifest.params, params_of(cfg))  # fmt: skip
    if manifest.seq > newest:
        raise CacheInvalid(f"position {manifest.seq} is ahead of the change log ({newest})")
    if oldest > manifest.seq + 1:
        raise CacheInvalid(f"position {manifest.seq} is older than the change log ({oldest})")
    for i, f in enumerate(manifest.files):
        target = folder / f.name
        if not target.resolve().is_relative_to(folder.resolve()):
            raise CacheInvalid(f"file name {f.name!r} leaves the folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        crc = 0
        with target.open("wb") as out:
            for n in range(f.segments):
                chunk = await _get(redis, f"{cfg.cache_key}:{manifest.generation}:{i}:{n}")
                if chunk is None:
                    raise CacheInvalid(f"segment {n} of {f.name} is missing")
                crc = zlib.crc32(chunk, crc)
                out.write(chunk)
        if crc != f.crc32 or target.stat().st_size != f.size:
            raise CacheInvalid(f"checksum of {f.name} does not match")
    return manifest
