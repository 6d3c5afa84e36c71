"""Where the JPEGs of seen face crops and frames live: the image data storage setting.

`Database` keeps the bytes in `seen_images.data`; `Folder` writes a file under
`FACEGATE_CAMERA_IMAGE_FOLDER` (`<camera>/<yyyy-mm-dd>/<image>.jpg`, written to a temporary name
and renamed, so a reader never sees half a file); `ObjectStore` puts an object into the JetStream
object store `FACEGATE_CAMERA_IMAGE_BUCKET`. Every `seen_images` row says where its own bytes are,
so the setting decides only where new images go.

The setting starts from `FACEGATE_CAMERA_IMAGE_STORAGE`; `PUT /api/v1/Setup/DataStorage/Images`
stores a new one in `setup_values` and announces it, and every replica switches at once (and
re-reads it every `image_sweep_s`, should the announcement be missed).

Deleting a row (directly or by a cascade) moves a file's or object's name to
`seen_image_garbage` (a trigger); `sweep()` removes those files and objects, right after the API
deletes something and every `image_sweep_s`. Replicas share the work (`SKIP LOCKED`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import msgspec
import nats.errors
from nats.js.api import ObjectStoreConfig
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from services.camera_ingest import records
from services.camera_ingest.settings import IngestSettings
from shared import subjects
from shared.errors import Conflict, ServiceUnavailable
from shared.messages.seen import ImageDataStorageConfig, ImageStorageMode
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

SETUP_KEY = "image_storage"
Written = tuple[str, str]  # (storage, location) of a file or object
SWEEP_BATCH = 500


def write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def check_writable(folder: Path) -> None:
    """Raise OSError unless a file can be written (and removed) in `folder`."""
    probe = folder / f".probe-{uuid.uuid4().hex}"
    folder.mkdir(parents=True, exist_ok=True)
    probe.write_bytes(b"")
    probe.unlink()


def read_file(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def remove_file(path: Path) -> None:
    path.unlink(missing_ok=True)


class ImageStore:
    def __init__(self, ctx: ServiceContext, settings: IngestSettings) -> None:
        self.ctx = ctx
        self.mode: ImageStorageMode = settings.image_storage
        self.folder = Path(settings.image_folder).resolve()
        self.bucket_name = settings.image_bucket
        self.sweep_s = settings.image_sweep_s
        self._bucket: ObjectStore | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the stored setting, follow its changes, sweep in the background."""
        await self.refresh()

        async def on_change(msg: Any) -> None:
            self.mode = msgspec.json.decode(msg.data, type=ImageDataStorageConfig).storage_mode

        await self.ctx.bus.nc.subscribe(subjects.IMAGE_STORAGE_CHANGED, cb=on_change)
        await self.ctx.bus.nc.flush()  # subscribed at the server before this replica serves
        self._task = asyncio.create_task(self._background(), name="image-store")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def refresh(self) -> None:
        async with self.ctx.db.acquire() as conn:  # jsonb arrives decoded (shared/db/pool.py)
            value = await conn.fetchval("SELECT value FROM setup_values WHERE key = $1", SETUP_KEY)
        if value is None:
            return
        try:
            self.mode = msgspec.convert(value, ImageDataStorageConfig).storage_mode
        except msgspec.ValidationError:  # edited by hand: keep serving with the current mode
            log.warning("image store: ignoring the stored setting %r", value)

    # --- the API's setting ---

    def config(self) -> ImageDataStorageConfig:
        return ImageDataStorageConfig(storage_mode=self.mode)

    async def set_config(self, config: ImageDataStorageConfig) -> ImageDataStorageConfig:
        """Store and announce a new setting, once the storage it names is usable from here."""
        if config.storage_mode == "Folder":
            try:
                await self.ctx.run_blocking(check_writable, self.folder)
            except OSError as exc:
                raise Conflict(f"camera_ingest cannot write images to the folder {self.folder}: {exc}") from exc
        elif config.storage_mode == "ObjectStore":
            try:
                await self.bucket()
            except nats.errors.Error as exc:
                raise ServiceUnavailable(f"The NATS object store {self.bucket_name} is not available: {exc}") from exc
        async with self.ctx.db.acquire() as conn:
            await conn.execute(
                """INSERT INTO setup_values (key, value) VALUES ($1, $2)
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = clock_timestamp()""",
                SETUP_KEY, msgspec.to_builtins(config),
            )  # fmt: skip
        self.mode = config.storage_mode
        await self.ctx.bus.nc.publish(subjects.IMAGE_STORAGE_CHANGED, msgspec.json.encode(config))
        return config

    # --- bytes ---

    async def bucket(self) -> ObjectStore:
        if self._bucket is None:
            config = ObjectStoreConfig(description="Facegate: face crops and frames seen by cameras")
            self._bucket = await self.ctx.bus.js.create_object_store(self.bucket_name, config=config)
        return self._bucket

    async def save(
        self,
        conn: asyncpg.Connection,
        camera_id: str,
        kind: str,
        size: tuple[int, int],
        data: bytes,
        written: list[Written],
    ) -> str:
        """Store an image where the setting says (its row in `conn`'s transaction); its id.

        A file or object is written before its row and noted in `written`: should the
        transaction roll back, the caller passes that list to `discard`, so nothing is left."""
        image_id = str(uuid.uuid4())
        mode = self.mode
        if mode == "Database":
            await records.insert_image(conn, image_id, camera_id, kind, size, "Database", None, data)
            return image_id
        day = datetime.now(UTC).strftime("%Y-%m-%d")
        location = f"{camera_id}/{day}/{image_id}.jpg"
        await self._put(mode, location, data)
        written.append((mode, location))
        await records.insert_image(conn, image_id, camera_id, kind, size, mode, location, None)
        return image_id

    async def load(self, image_id: str) -> bytes | None:
        """The JPEG of an image; None when there is no such image (or its file was removed)."""
        async with self.ctx.db.acquire() as conn:
            row = await records.get_image(conn, image_id)
        if row is None:
            return None
        storage, location, data = row
        if storage == "Database" or location is None:  # the table's check: one implies the other
            return bytes(data) if data is not None else None
        if storage == "Folder":
            return await self.ctx.run_blocking(read_file, self.folder / location)
        try:
            found = await (await self.bucket()).get(location)
        except NotFoundError:
            return None
        return found.data or b""

    async def discard(self, written: list[Written]) -> None:
        """Remove files or objects whose rows were never committed (the transaction failed)."""
        for storage, location in written:
            await self._remove(storage, location)

    async def _put(self, storage: str, location: str, data: bytes) -> None:
        if storage == "Folder":
            await self.ctx.run_blocking(write_file, self.folder / location, data)
        else:
            await (await self.bucket()).put(location, data)

    async def _remove(self, storage: str, location: str) -> None:
        if storage == "Folder":
            await self.ctx.run_blocking(remove_file, self.folder / location)
        elif storage == "ObjectStore":
            with contextlib.suppress(NotFoundError):
                await (await self.bucket()).delete(location)

    # --- garbage ---

    async def sweep(self) -> int:
        """Remove the files and objects of deleted images; how many."""
        removed = 0
        while True:
            async with self.ctx.db.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    """DELETE FROM seen_image_garbage WHERE id IN (
                           SELECT id FROM seen_image_garbage ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
                       RETURNING storage, location""",
                    SWEEP_BATCH,
                )
                # Removed inside the transaction: a failure leaves the rows for the next sweep.
                for row in rows:
                    await self._remove(row["storage"], row["location"])
            removed += len(rows)
            if len(rows) < SWEEP_BATCH:
                return removed

    async def _background(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_s)
            try:
                await self.refresh()
                await self.sweep()
            except Exception:  # Postgres or NATS away for a moment: the next round retries
                log.warning("image store: sweep failed", exc_info=True)
