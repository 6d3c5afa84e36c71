"""Image data storage (Database, Folder, ObjectStore) on the real cluster: the setting through
the API, images saved by the ImageStore the pipeline uses (real Postgres, NATS object store and
folder), served by /api/v1/Images and removed with the faces, frames and tracklets they belong to.
The live pipeline's use of it is checked with a real stream in tests/rtsp/test_pipeline.py."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.errors import NotFoundError

from services.camera_ingest import records
from services.camera_ingest.image_store import ImageStore, Written
from services.camera_ingest.settings import IngestSettings
from shared.bus import Bus, ServiceHost
from shared.db.pool import create_pool
from shared.runtime import ServiceContext
from shared.settings import Settings
from tests.e2e.test_seen import FACE_FIELDS, SEEN_TABLES, jpeg
from tests.support import Cluster, assert_problem, storage_mode, truncate, wait_until

BUCKET = "FACEGATE_IMAGES"


@contextlib.asynccontextmanager
async def image_store(cluster: Cluster) -> AsyncIterator[ImageStore]:
    """camera_ingest's ImageStore as the pipeline runs it, in this process (same folder and bucket
    as the cluster's replica)."""
    settings = Settings(nats_url=cluster.servers.nats_url, database_url=cluster.servers.database_url)
    bus = await Bus.connect(settings, "image-store-test")
    pool = await create_pool(settings.database_url)
    executor = ThreadPoolExecutor(1)
    host = ServiceHost(bus, "image-store-test", "0", "test")
    ctx = ServiceContext("image-store-test", settings, bus, host, executor, pool=pool)
    store = ImageStore(ctx, IngestSettings(image_folder=cluster.servers.image_folder, image_sweep_s=3600))
    await store.start()
    try:
        yield store
    finally:
        await store.stop()
        await pool.close()
        await bus.close()
        executor.shutdown()


async def seed_face(store: ImageStore, camera_id: str) -> dict[str, str]:
    """One tracklet, frame and face with a frame image and a crop, saved as the pipeline does."""
    ids = {"tracklet": str(uuid.uuid4()), "frame": str(uuid.uuid4()), "face": str(uuid.uuid4())}
    written: list[Written] = []
    async with store.ctx.db.acquire() as conn, conn.transaction():
        now = datetime.now(UTC)
        await records.insert_tracklet(conn, ids["tracklet"], camera_id, now, 0)
        ids["frame_image"] = await store.save(conn, camera_id, "frame", (640, 360), jpeg(640, 360), written)
        await records.insert_frame(conn, ids["frame"], camera_id, ids["frame_image"], now, 0)
        ids["crop"] = await store.save(conn, camera_id, "crop", (112, 112), jpeg(112, 112), written)
        await records.insert_face(conn, ids["face"], camera_id, ids["tracklet"], ids["frame"], ids["crop"], FACE_FIELDS)
    return ids


async def stored_where(store: ImageStore, image_id: str) -> tuple[str, str | None, bool]:
    async with store.ctx.db.acquire() as conn:
        row = await records.get_image(conn, image_id)
    assert row is not None
    return row[0], row[1], row[2] is not None


async def object_exists(nats_url: str, name: str) -> bool:
    nc = await nats.connect(nats_url)
    try:
        bucket = await nc.jetstream().object_store(BUCKET)
        try:
            await bucket.get_info(name)
        except NotFoundError:
            return False
        return True
    finally:
        await nc.close()


@pytest.fixture
def camera(cluster: Cluster) -> Iterator[tuple[httpx.Client, str]]:
    truncate(cluster.servers.database_url, SEEN_TABLES)
    with cluster.http() as api:
        r = api.post("/api/v1/Cameras", json={"name": "gate", "source": "rtsp://127.0.0.1:9/none"})
        assert r.status_code == 201, r.text
        yield api, r.json()["id"]
    truncate(cluster.servers.database_url, SEEN_TABLES)


def test_the_setting_is_validated_and_kept(cluster: Cluster) -> None:
    with cluster.http() as api:
        with storage_mode(api, "Folder"):
            assert api.get("/api/v1/Setup/DataStorage/Images").json() == {"storageMode": "Folder"}
            for bad in ({"storageMode": "Disk"}, {}, {"storageMode": 1}, {"storageMode": None}):
                assert_problem(api.put("/api/v1/Setup/DataStorage/Images", json=bad), 400)
            json_type = {"content-type": "application/json"}
            assert_problem(api.put("/api/v1/Setup/DataStorage/Images", content=b"{", headers=json_type), 400)
            assert_problem(api.put("/api/v1/Setup/DataStorage/Images", content=b"{}"), 415)  # not declared JSON
            assert api.get("/api/v1/Setup/DataStorage/Images").json() == {"storageMode": "Folder"}
        assert api.get("/api/v1/Setup/DataStorage/Images").json() == {"storageMode": "Database"}
        # A folder camera_ingest cannot write to is refused, and the setting stays.
        folder = Path(cluster.servers.image_folder)
        aside = folder.with_name("images-aside")
        if folder.exists():
            folder.rename(aside)
        folder.write_bytes(b"not a folder")
        try:
            problem = assert_problem(api.put("/api/v1/Setup/DataStorage/Images", json={"storageMode": "Folder"}), 409)
            assert str(folder) in problem["detail"]
        finally:
            folder.unlink()
            if aside.exists():
                aside.rename(folder)
        assert api.get("/api/v1/Setup/DataStorage/Images").json() == {"storageMode": "Database"}


def test_every_replica_follows_a_change(cluster: Cluster) -> None:
    with cluster.http() as api:
        assert api.put("/api/v1/Setup/DataStorage/Images", json={"storageMode": "Database"}).status_code == 200

    async def run() -> None:
        async with image_store(cluster) as store:
            assert store.mode == "Database"
            with cluster.http() as api, storage_mode(api, "ObjectStore"):
                await asyncio.to_thread(wait_until, lambda: store.mode == "ObjectStore", 5, "the switch")
            await asyncio.to_thread(wait_until, lambda: store.mode == "Database", 5, "the switch back")

    asyncio.run(run())


def test_folder_images_are_files_served_and_removed_with_their_face(
    cluster: Cluster, camera: tuple[httpx.Client, str]
) -> None:
    api, camera_id = camera
    folder = Path(cluster.servers.image_folder)

    async def run() -> dict[str, Any]:
        async with image_store(cluster) as store:
            with storage_mode(api, "Folder"):
                await asyncio.to_thread(wait_until, lambda: store.mode == "Folder", 5, "the switch")
                ids = await seed_face(store, camera_id)
            storage, location, in_row = await stored_where(store, ids["crop"])
            return {**ids, "storage": storage, "location": location, "in_row": in_row}

    ids = asyncio.run(run())
    assert ids["storage"] == "Folder" and not ids["in_row"]
    crop_file = folder / ids["location"]
    assert crop_file.is_file() and crop_file.parts[-3] == camera_id
    assert api.get(f"/api/v1/Images/{ids['crop']}").content == crop_file.read_bytes()
    small = api.get(f"/api/v1/Images/{ids['frame_image']}", params={"maxSize": 64})
    assert small.status_code == 200 and small.headers["content-type"] == "image/jpeg"
    frame_file = crop_file.with_name(f"{ids['frame_image']}.jpg")
    assert frame_file.is_file()
    # Deleting the face removes its crop's file at once; the frame's file stays with the frame.
    assert api.delete(f"/api/v1/Faces/{ids['face']}").status_code == 204
    assert not crop_file.exists() and frame_file.is_file()
    assert_problem(api.get(f"/api/v1/Images/{ids['crop']}"), 404)
    assert api.delete(f"/api/v1/Frames/{ids['frame']}").status_code == 204
    assert not frame_file.exists()


def test_object_store_images_survive_a_switch_and_go_with_their_tracklet(
    cluster: Cluster, camera: tuple[httpx.Client, str]
) -> None:
    api, camera_id = camera
    nats_url = cluster.servers.nats_url

    async def run() -> tuple[dict[str, str], dict[str, str], str]:
        async with image_store(cluster) as store:
            before = await seed_face(store, camera_id)  # in Postgres
            with storage_mode(api, "ObjectStore"):
                await asyncio.to_thread(wait_until, lambda: store.mode == "ObjectStore", 5, "the switch")
                after = await seed_face(store, camera_id)
            storage, location, in_row = await stored_where(store, after["crop"])
            assert storage == "ObjectStore" and location and not in_row
            assert (await stored_where(store, before["crop"]))[0] == "Database"
            return before, after, location

    before, after, crop_object = asyncio.run(run())
    frame_object = crop_object.replace(after["crop"], after["frame_image"])
    assert asyncio.run(object_exists(nats_url, crop_object)) and asyncio.run(object_exists(nats_url, frame_object))
    for image in (before["crop"], after["crop"], after["frame_image"]):
        r = api.get(f"/api/v1/Images/{image}")
        assert r.status_code == 200 and r.content[:2] == b"\xff\xd8", image
    # A tracklet takes its faces and their crops; the frame keeps its image.
    assert api.delete(f"/api/v1/Tracklet/{after['tracklet']}").status_code == 204
    assert not asyncio.run(object_exists(nats_url, crop_object))
    assert asyncio.run(object_exists(nats_url, frame_object))
    assert_problem(api.get(f"/api/v1/Images/{after['crop']}"), 404)
    assert api.get(f"/api/v1/Images/{before['crop']}").status_code == 200


def test_a_failed_transaction_leaves_no_file(cluster: Cluster, camera: tuple[httpx.Client, str]) -> None:
    _, camera_id = camera

    async def run() -> Written:
        async with image_store(cluster) as store:
            store.mode = "Folder"  # this process only; the cluster's setting is not touched
            written: list[Written] = []
            with contextlib.suppress(RuntimeError):
                async with store.ctx.db.acquire() as conn, conn.transaction():
                    await store.save(conn, camera_id, "crop", (112, 112), jpeg(112, 112), written)
                    assert (Path(cluster.servers.image_folder) / written[0][1]).is_file()
                    raise RuntimeError("the face's row failed")
            await store.discard(written)
            return written[0]

    _, location = asyncio.run(run())
    assert not (Path(cluster.servers.image_folder) / location).exists()
