"""What no Setup value asks for but a long-running Facegate needs removed: the gallery's change log
below what every matcher has applied, expired blobs, the files and objects of deleted images, and
files or objects no image row owns.

Files are only touched where this replica sees camera_ingest's folder (its marker file is there,
shared/image_storage.py): a cleanup pod without the volume must not take the names of files it
cannot remove off the garbage list, nor judge a folder it does not see.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import redis.asyncio as aioredis
from nats.js.api import ObjectInfo
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from shared import gallery_log
from shared.bus import Bus
from shared.image_storage import ImageFiles, image_id_of
from shared.messages.setup import CleanupRemoved

log = logging.getLogger(__name__)

MATCHER = "matcher"
DISCOVERY_WAIT_S = 1.0


# --- the gallery's change log ---


def stats_data(answer: dict[str, Any]) -> dict[str, Any]:
    """The data of a replica's `$SRV.STATS` answer (each endpoint carries the same)."""
    endpoints = answer.get("endpoints") or [{}]
    data = endpoints[0].get("data") if isinstance(endpoints[0], dict) else None
    return data if isinstance(data, dict) else {}


async def applied_positions(bus: Bus) -> list[int] | None:
    """The change-log position of every running matcher replica; None when one is still loading
    or none answers (then nothing is known of what they need)."""
    answers = await bus.discover("STATS", MATCHER, DISCOVERY_WAIT_S)
    seqs = []
    for answer in answers:
        index = stats_data(answer).get("index")
        if not isinstance(index, dict) or "seq" not in index:
            return None  # a replica loading its gallery: it may still need any row
        seqs.append(int(index["seq"]))
    return seqs or None


async def prune_changes(
    conn: asyncpg.Connection, bus: Bus, redis: aioredis.Redis, cache_key: str, keep_s: float, batch: int
) -> CleanupRemoved:
    """Delete the change-log rows no matcher replica and no Redis snapshot will replay."""
    positions = await applied_positions(bus)
    if positions is None:
        return CleanupRemoved()
    snapshot = await gallery_log.snapshot_seq(redis, cache_key, await gallery_log.database_identity(conn))
    below = min([*positions, *([snapshot] if snapshot is not None else [])])
    removed = 0
    while True:
        count = await gallery_log.prune(conn, below, keep_s, batch)
        removed += count
        if count < batch:
            return CleanupRemoved(template_changes=removed)


# --- objects of the JetStream object stores ---


def _modified(info: ObjectInfo) -> datetime | None:
    if not info.mtime:
        return None
    try:
        at = datetime.fromisoformat(info.mtime.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def _objects(store: ObjectStore, older_than: datetime) -> list[str]:
    try:
        infos = await store.list(ignore_deletes=True)
    except NotFoundError:  # an empty store
        return []
    return [i.name for i in infos if not i.deleted and (at := _modified(i)) is not None and at < older_than]


async def expired_blobs(bus: Bus) -> CleanupRemoved:
    """Request payloads older than `FACEGATE_BLOB_TTL_S` (JetStream expires them itself; this
    catches a bucket made before the TTL was set, or with a longer one)."""
    store = await bus.blob_store()
    removed = 0
    for name in await _objects(store, datetime.now(UTC) - timedelta(seconds=bus.settings.blob_ttl_s)):
        try:
            await store.delete(name)
            removed += 1
        except NotFoundError:
            pass
    return CleanupRemoved(blobs=removed)


# --- files and objects of seen images ---


def reachable(files: ImageFiles) -> list[str]:
    """The storages whose bytes this replica can remove."""
    return ["ObjectStore", *(["Folder"] if files.folder_in_use() else [])]


async def sweep_garbage(files: ImageFiles, pool: asyncpg.Pool) -> CleanupRemoved:
    """Files and objects of deleted images (camera_ingest sweeps them too; they share the list)."""
    return CleanupRemoved(image_files=await files.sweep_garbage(pool, reachable(files)))


async def _owned(pool: asyncpg.Pool, names: list[str]) -> set[str]:
    """Of these file or object names, the ones an image row owns."""
    ids = {name: image_id_of(name) for name in names}
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id FROM seen_images WHERE id = ANY($1::uuid[])", [i for i in ids.values() if i is not None]
        )
    known = {r["id"] for r in rows}
    return {name for name, image in ids.items() if image is None or image in known}


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _day_folders(folder: Path) -> list[Path]:
    """`<camera>/<day>` folders of the image folder."""
    if not folder.is_dir():
        return []
    return sorted(day for camera in folder.iterdir() if camera.is_dir() for day in camera.iterdir() if day.is_dir())


def _old_files(day: Path, folder: Path, before: float) -> list[tuple[str, bool]]:
    """(path relative to the folder, is a leftover partial write) of files modified before `before`."""
    found = []
    with os.scandir(day) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < before:
                partial = entry.name.startswith(".") and entry.name.endswith(".partial")
                found.append((str(Path(entry.path).relative_to(folder)), partial))
    return found


async def orphaned_files(files: ImageFiles, pool: asyncpg.Pool, grace_s: float, batch: int) -> CleanupRemoved:
    """Files and objects older than `grace_s` that no image row owns (a write whose transaction
    failed and whose clean-up did not run: the process died in between)."""
    removed = 0
    before = datetime.now(UTC) - timedelta(seconds=grace_s)
    if files.folder_in_use():
        for day in await files.ctx.run_blocking(_day_folders, files.folder):
            found = await files.ctx.run_blocking(_old_files, day, files.folder, before.timestamp())
            partial = [name for name, leftover in found if leftover]
            complete = [name for name, leftover in found if not leftover and image_id_of(name) is not None]
            for chunk in _chunks(complete, batch):
                owned = await _owned(pool, chunk)
                partial += [name for name in chunk if name not in owned]
            for name in partial:
                await files.remove("Folder", name)
            removed += len(partial)
    names = [n for n in await _objects(await files.bucket(), before) if image_id_of(n) is not None]
    for chunk in _chunks(names, batch):
        for name in set(chunk) - await _owned(pool, chunk):
            await files.remove("ObjectStore", name)
            removed += 1
    return CleanupRemoved(orphaned_files=removed)
