"""The bytes of seen images outside Postgres: files under a folder, objects in the JetStream
object store. camera_ingest writes and reads them (services/camera_ingest/image_store.py, which
owns the storage setting); cleanup removes what retention deletes and what nothing points at.

Every `seen_images` row says where its bytes are (`storage`, `location`, 0006_image_storage.sql):
a file's path relative to the folder, or the object's name, both `<camera>/<yyyy-mm-dd>/<image
id>.jpg`, so the name alone says which row owns a file. Deleting a row (directly or by a cascade)
moves its file's or object's name to `seen_image_garbage` (a trigger: a transaction cannot delete
files); `sweep_garbage` removes those, shared among every replica of both services (`SKIP LOCKED`),
each taking only the storages it reaches (a process without the folder leaves its names alone).

The folder and bucket are camera_ingest's settings (`FACEGATE_CAMERA_IMAGE_FOLDER`,
`FACEGATE_CAMERA_IMAGE_BUCKET`); `ImageLocation` reads the same two variables for cleanup, so
both services always agree on where the bytes are.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

import asyncpg
import msgspec
from nats.js.api import ObjectStoreConfig
from nats.js.errors import NotFoundError
from nats.js.object_store import ObjectStore

from shared.runtime import ServiceContext
from shared.settings import from_environment

DEFAULT_IMAGE_FOLDER = "var/images"
DEFAULT_IMAGE_BUCKET = "FACEGATE_IMAGES"
LOCATION_PREFIX = "FACEGATE_CAMERA_"
SWEEP_BATCH = 500
STORAGES = ("Folder", "ObjectStore")
# Written into the folder with its first file: a process that sees it sees the folder camera_ingest
# writes (the same volume), not an empty local directory of the same name.
MARKER = ".facegate-images"


class ImageLocation(msgspec.Struct, frozen=True, kw_only=True):
    """Where seen images that are not in Postgres live (`FACEGATE_CAMERA_IMAGE_FOLDER`,
    `FACEGATE_CAMERA_IMAGE_BUCKET`, documented with camera_ingest's settings)."""

    image_folder: str = DEFAULT_IMAGE_FOLDER
    image_bucket: str = DEFAULT_IMAGE_BUCKET


def load_image_location(environ: Mapping[str, str] | None = None) -> ImageLocation:
    """The folder and bucket from `FACEGATE_CAMERA_*`; exit 1 with a readable message if invalid."""
    return from_environment(ImageLocation, LOCATION_PREFIX, "docs/cameras.md", environ)


def image_id_of(location: str) -> uuid.UUID | None:
    """The image id a file or object name carries (`<camera>/<day>/<id>.jpg`); None for a name
    Facegate did not write."""
    name = location.rpartition("/")[2]
    if not name.endswith(".jpg"):
        return None
    try:
        return uuid.UUID(name.removesuffix(".jpg"))
    except ValueError:
        return None


def write_file(path: Path, data: bytes) -> None:
    """Write to a temporary name, then rename: a reader never sees half a file."""
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


class ImageFiles:
    """The folder and the object store of seen images, for one process."""

    def __init__(self, ctx: ServiceContext, folder: str, bucket: str) -> None:
        self.ctx = ctx
        self.folder = Path(folder).resolve()
        self.bucket_name = bucket
        self._bucket: ObjectStore | None = None
        self._marked = False

    async def bucket(self) -> ObjectStore:
        """The object store (created on first use)."""
        if self._bucket is None:
            config = ObjectStoreConfig(description="Facegate: face crops and frames seen by cameras")
            self._bucket = await self.ctx.bus.js.create_object_store(self.bucket_name, config=config)
        return self._bucket

    def folder_in_use(self) -> bool:
        """Whether this process sees the folder camera_ingest writes images to (its marker)."""
        return (self.folder / MARKER).is_file()

    async def put(self, storage: str, location: str, data: bytes) -> None:
        """Write a file (`Folder`) or an object (`ObjectStore`)."""
        if storage == "Folder":
            if not self._marked:
                await self.ctx.run_blocking(write_file, self.folder / MARKER, b"Facegate's seen images\n")
                self._marked = True
            await self.ctx.run_blocking(write_file, self.folder / location, data)
        else:
            await (await self.bucket()).put(location, data)

    async def get(self, storage: str, location: str) -> bytes | None:
        """A file's or object's bytes; None when it is gone."""
        if storage == "Folder":
            return await self.ctx.run_blocking(read_file, self.folder / location)
        try:
            found = await (await self.bucket()).get(location)
        except NotFoundError:
            return None
        return found.data or b""

    async def remove(self, storage: str, location: str) -> None:
        """Remove a file or object; one already gone is not an error."""
        if storage == "Folder":
            await self.ctx.run_blocking(remove_file, self.folder / location)
        elif storage == "ObjectStore":
            with contextlib.suppress(NotFoundError):
                await (await self.bucket()).delete(location)

    async def sweep_garbage(self, pool: asyncpg.Pool, storages: Sequence[str] = STORAGES) -> int:
        """Remove the files and objects of deleted images (`seen_image_garbage`) kept in
        `storages`; how many."""
        removed = 0
        while True:
            async with pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(
                    """DELETE FROM seen_image_garbage WHERE id IN (
                           SELECT id FROM seen_image_garbage WHERE storage = ANY($2::text[])
                           ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
                       RETURNING storage, location""",
                    SWEEP_BATCH,
                    list(storages),
                )
                # Removed inside the transaction: a failure leaves the rows for the next sweep.
                for row in rows:
                    await self.remove(row["storage"], row["location"])
            removed += len(rows)
            if len(rows) < SWEEP_BATCH:
                return removed
