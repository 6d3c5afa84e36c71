"""Where the JPEGs of seen face crops and frames live: the image data storage setting.

`Database` keeps the bytes in `seen_images.data`; `Folder` writes a file under
`FACEGATE_CAMERA_IMAGE_FOLDER` (`<camera>/<yyyy-mm-dd>/<image>.jpg`, written to a temporary name
and renamed, so a reader never sees half a file); `ObjectStore` puts an object into the JetStream
object store `FACEGATE_CAMERA_IMAGE_BUCKET`. Every `seen_images` row says where its own bytes are,
so the setting decides only where new images go.

The setting starts from `FACEGATE_CAMERA_IMAGE_STORAGE`; `PUT /api/v1/Setup/DataStorage/Images`
stores a new one in `setup_values` and announces it, and every replica switches at once (and
re-reads it every `image_sweep_s`, should the announcement be missed).

The bytes themselves go through shared.image_storage (cleanup removes them with the same code).
Deleting a row (directly or by a cascade) moves a file's or object's name to
`seen_image_garbage` (a trigger); `sweep()` removes those files and objects, right after the API
deletes something and every `image_sweep_s`. Replicas (and cleanup) share the work (`SKIP LOCKED`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import nats.errors

from services.camera_ingest import records
from services.camera_ingest.settings import IngestSettings
from shared import subjects
from shared.errors import Conflict, ServiceUnavailable
from shared.image_storage import ImageFiles, check_writable
from shared.messages.seen import ImageDataStorageConfig, ImageStorageMode
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

SETUP_KEY = "image_storage"
Written = tuple[str, str]  # (storage, location) of a file or object


class ImageStore:
    def __init__(self, ctx: ServiceContext, settings: IngestSettings) -> None:
        self.ctx = ctx
        self.mode: ImageStorageMode = settings.image_storage
        self.files = ImageFiles(ctx, settings.image_folder, settings.image_bucket)
        self.sweep_s = settings.image_sweep_s
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
                await self.ctx.run_blocking(check_writable, self.files.folder)
            except OSError as exc:
                raise Conflict(f"camera_ingest cannot write images to the folder {self.files.folder}: {exc}") from exc
        elif config.storage_mode == "ObjectStore":
            try:
                await self.files.bucket()
            except nats.errors.Error as exc:
                bucket = self.files.bucket_name
                raise ServiceUnavailable(f"The NATS object store {bucket} is not available: {exc}") from exc
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
        await self.files.put(mode, location, data)
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
        return await self.files.get(storage, location)

    async def discard(self, written: list[Written]) -> None:
        """Remove files or objects whose rows were never committed (the transaction failed)."""
        for storage, location in written:
            await self.files.remove(storage, location)

    # --- garbage ---

    async def sweep(self) -> int:
        """Remove the files and objects of deleted images; how many."""
        return await self.files.sweep_garbage(self.ctx.db)

    async def _background(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_s)
            try:
                await self.refresh()
                await self.sweep()
            except Exception:  # Postgres or NATS away for a moment: the next round retries
                log.warning("image store: sweep failed", exc_info=True)
