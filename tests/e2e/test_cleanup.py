"""The cleanup service on the real cluster: DbCleanup deletes exactly the oldest frames with their
faces, images (in every storage mode) and tracklets, or only their images; members are never
touched; each run is announced; and of two replicas only the one holding the lease runs.

Camera data is written as camera_ingest's pipeline writes it (its ImageStore and records.py, in
this process), then dated back in SQL, so no camera and no model is needed for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
import nats
import pytest
import redis.asyncio as aioredis
from nats.js.api import DeliverPolicy

from services.camera_ingest.image_store import ImageStore
from services.cleanup import housekeeping
from shared import gallery_log, setup, subjects
from shared.bus import Bus
from shared.embedded import free_port
from shared.messages.setup import CleanupCompleted
from shared.settings import Settings
from tests.e2e.test_image_storage import image_store, object_exists, seed_face
from tests.e2e.test_seen import SEEN_TABLES
from tests.support import Cluster, photo_b64, storage_mode, truncate, wait_until

FRAMES = 5
KEEP = 2


@contextlib.asynccontextmanager
async def database(cluster: Cluster) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(cluster.servers.database_url)
    try:
        yield conn
    finally:
        await conn.close()


async def seed_old_frames(store: ImageStore, camera_id: str, count: int, newest_age: timedelta) -> list[dict[str, str]]:
    """`count` frames, each with a face, a crop, a frame image and an ended tracklet, oldest
    first, the newest `newest_age` old and each one an hour older than the next."""
    seeded = []
    for i in range(count):
        ids = await seed_face(store, camera_id)
        at = datetime.now(UTC) - newest_age - timedelta(hours=count - i)
        async with store.ctx.db.acquire() as conn:
            await conn.execute("UPDATE seen_frames SET created_at = $2 WHERE id = $1", uuid.UUID(ids["frame"]), at)
            await conn.execute("UPDATE seen_faces SET created_at = $2 WHERE id = $1", uuid.UUID(ids["face"]), at)
            await conn.execute(
                """UPDATE seen_tracklets SET created_at = $2, time_appeared = $2, time_disappeared = $2
                   WHERE id = $1""",
                uuid.UUID(ids["tracklet"]), at,
            )  # fmt: skip
            await conn.execute(
                "UPDATE seen_images SET created_at = $2 WHERE id = ANY($1::uuid[])",
                [uuid.UUID(ids["crop"]), uuid.UUID(ids["frame_image"])], at,
            )  # fmt: skip
        seeded.append(ids)
    return seeded


async def add_match_result(cluster: Cluster, camera_id: str, seen: dict[str, str], member_id: str) -> str:
    """A match result of the seeded face, as camera_ingest stores one."""
    result_id = uuid.uuid4()
    async with database(cluster) as conn:
        await conn.execute(
            """INSERT INTO seen_match_results (id, camera_id, tracklet_id, face_id, watchlist_member_id, score, result)
               VALUES ($1, $2, $3, $4, $5, 80, '{}'::jsonb)""",
            result_id, uuid.UUID(camera_id), uuid.UUID(seen["tracklet"]), uuid.UUID(seen["face"]), member_id,
        )  # fmt: skip
    return str(result_id)


async def ids_in(cluster: Cluster, table: str) -> set[str]:
    async with database(cluster) as conn:
        return {str(r["id"]) for r in await conn.fetch(f"SELECT id FROM {table}")}


async def member_rows(cluster: Cluster) -> dict[str, int]:
    async with database(cluster) as conn:
        return {
            t: int(await conn.fetchval(f"SELECT count(*) FROM {t}"))
            for t in ("watchlists", "watchlist_members", "watchlist_links", "member_faces")
        }


async def completed_runs(nats_url: str, since: datetime) -> list[CleanupCompleted]:
    """Every cleanup run announced since `since` (read back from the events stream)."""
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().subscribe(
            subjects.CLEANUP_COMPLETED.filter, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        runs = []
        while True:
            try:
                msg = await sub.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                break
            run = msgspec.json.decode(msg.data, type=CleanupCompleted)
            if run.started_at >= since:
                runs.append(run)
        return runs
    finally:
        await nc.close()


def runs_of(cluster: Cluster, since: datetime, trigger: str) -> list[CleanupCompleted]:
    return [r for r in asyncio.run(completed_runs(cluster.servers.nats_url, since)) if r.trigger == trigger]


def put_db_cleanup(api: httpx.Client, **values: Any) -> None:
    body = {"enabled": True, "maxFramesCount": None, "maxImageDataAge": None, "cleanupStart": None,
            "deleteSql": True, "deleteMatchResults": False, **values}  # fmt: skip
    r = api.put("/api/v1/Setup/DbCleanup", json=body)
    assert r.status_code == 200, r.text


@pytest.fixture
def camera(cluster: Cluster) -> Iterator[tuple[httpx.Client, str, str]]:
    """A camera, a registered member (whose rows must survive every cleanup), DbCleanup off
    again afterwards."""
    truncate(cluster.servers.database_url, SEEN_TABLES)
    truncate(cluster.servers.database_url)
    with cluster.http() as api:
        r = api.post("/api/v1/Cameras", json={"name": "gate", "source": "rtsp://127.0.0.1:9/none"})
        assert r.status_code == 201, r.text
        watchlist = api.post("/api/v1/Watchlists", json={"displayName": "staff", "fullName": "staff"}).json()["id"]
        body = {"id": "", "images": [{"data": photo_b64("img1.jpg")}], "watchlistIds": [watchlist]}
        member = api.post("/api/v1/WatchlistMembers/Register", json=body)
        assert member.status_code == 201, member.text
        try:
            yield api, r.json()["id"], member.json()["id"]
        finally:
            body = msgspec.to_builtins(setup.DB_CLEANUP.default)
            body.pop("cleanupAmount")
            assert api.put("/api/v1/Setup/DbCleanup", json=body).status_code == 200
            truncate(cluster.servers.database_url, SEEN_TABLES)


@pytest.mark.parametrize("mode", ["Database", "Folder", "ObjectStore"])
def test_max_frames_count_deletes_exactly_the_oldest_frames_with_what_belongs_to_them(
    cluster: Cluster, camera: tuple[httpx.Client, str, str], mode: str
) -> None:
    api, camera_id, member_id = camera
    members_before = asyncio.run(member_rows(cluster))
    member_faces = api.get(f"/api/v1/WatchlistMembers/{member_id}/Faces").json()["items"]
    with_results = mode == "Database"  # deleteMatchResults on in one mode, off in the others

    async def seed() -> tuple[list[dict[str, str]], dict[str, str | None], str]:
        async with image_store(cluster) as store:
            with storage_mode(api, mode):
                await asyncio.to_thread(wait_until, lambda: store.mode == mode, 5, "the switch")
                seeded = await seed_old_frames(store, camera_id, FRAMES, timedelta(hours=1))
            async with store.ctx.db.acquire() as conn:
                rows = await conn.fetch("SELECT id::text, location FROM seen_images")
            result = await add_match_result(cluster, camera_id, seeded[0], member_id)
            return seeded, {r["id"]: r["location"] for r in rows}, result

    seeded, locations, match_result = asyncio.run(seed())
    since = datetime.now(UTC)
    put_db_cleanup(api, maxFramesCount=KEEP, deleteMatchResults=with_results)
    wait_until(lambda: runs_of(cluster, since, "maxFramesCount"), 30, "a maxFramesCount run")

    kept = seeded[FRAMES - KEEP :]  # the newest KEEP; the sets below leave out exactly the others
    assert asyncio.run(ids_in(cluster, "seen_frames")) == {s["frame"] for s in kept}
    assert asyncio.run(ids_in(cluster, "seen_faces")) == {s["face"] for s in kept}
    assert asyncio.run(ids_in(cluster, "seen_tracklets")) == {s["tracklet"] for s in kept}
    assert asyncio.run(ids_in(cluster, "seen_images")) == {s[k] for s in kept for k in ("crop", "frame_image")}
    results = asyncio.run(ids_in(cluster, "seen_match_results"))
    assert results == (set() if with_results else {match_result})
    for s in kept:
        assert api.get(f"/api/v1/Images/{s['crop']}").status_code == 200

    # The bytes went with the rows: files and objects of the deleted images are gone, the rest stay.
    def stored(image: str) -> bool:
        location = str(locations[image])
        if mode == "Folder":
            return (Path(cluster.servers.image_folder) / location).is_file()
        return asyncio.run(object_exists(cluster.servers.nats_url, location))

    if mode != "Database":
        images = {image: s in kept for s in seeded for image in (s["crop"], s["frame_image"])}
        wait_until(lambda: {i: stored(i) for i in images} == images, 10, "the files of deleted images removed")
    (run,) = runs_of(cluster, since, "maxFramesCount")
    removed = run.removed
    assert (removed.frames, removed.faces, removed.tracklets, removed.images) == (3, 3, 3, 6), removed
    assert removed.match_results == (1 if with_results else 0)
    # Nothing a member owns was touched.
    assert asyncio.run(member_rows(cluster)) == members_before
    assert api.get(f"/api/v1/WatchlistMembers/{member_id}/Faces").json()["items"] == member_faces
    assert api.get(f"/api/v1/Faces/{member_faces[0]['id']}").status_code == 200


def test_without_delete_sql_only_the_images_of_old_frames_go_at_the_start_time(
    cluster: Cluster, camera: tuple[httpx.Client, str, str]
) -> None:
    """maxImageDataAge 1 day, deleteSql false, cleanupStart in two seconds: the frames older than a
    day keep their rows and lose their images; the younger ones keep everything."""
    api, camera_id, _ = camera

    async def seed() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        async with image_store(cluster) as store:
            old = await seed_old_frames(store, camera_id, 3, timedelta(days=2))
            young = await seed_old_frames(store, camera_id, 2, timedelta(hours=1))
            return old, young

    old, young = asyncio.run(seed())
    since = datetime.now(UTC)
    start = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%H:%M:%S")
    put_db_cleanup(api, maxImageDataAge=1, deleteSql=False, cleanupStart=start)
    wait_until(lambda: runs_of(cluster, since, "schedule"), 30, "the scheduled run")
    (run,) = runs_of(cluster, since, "schedule")
    assert (run.removed.frames, run.removed.faces, run.removed.images) == (0, 0, 6), run.removed
    everything = old + young
    assert asyncio.run(ids_in(cluster, "seen_frames")) == {s["frame"] for s in everything}
    assert asyncio.run(ids_in(cluster, "seen_faces")) == {s["face"] for s in everything}
    assert asyncio.run(ids_in(cluster, "seen_images")) == {s[k] for s in young for k in ("crop", "frame_image")}
    for s in old:
        face = api.get(f"/api/v1/Faces/{s['face']}").json()
        assert face["imageDataId"] is None and api.get(f"/api/v1/Frames/{s['frame']}").json()["imageDataId"] is None


def leaders(cluster: Cluster) -> dict[str, bool]:
    """Each running cleanup replica's instance id -> whether it holds the lease ($SRV.STATS)."""

    async def ask() -> dict[str, bool]:
        nc = await nats.connect(cluster.servers.nats_url)
        try:
            inbox = nc.new_inbox()
            sub = await nc.subscribe(inbox)
            await nc.publish(subjects.discovery("STATS", "cleanup"), b"", reply=inbox)
            found = {}
            with contextlib.suppress(nats.errors.TimeoutError):
                while True:
                    answer = msgspec.json.decode((await sub.next_msg(timeout=0.7)).data)
                    stats = answer["endpoints"][0]["data"]["cleanup"]
                    found[stats["instance"]] = stats["leading"]
            return found
        finally:
            await nc.close()

    return asyncio.run(ask())


def test_of_two_replicas_one_runs_and_the_other_takes_over(
    cluster: Cluster, camera: tuple[httpx.Client, str, str]
) -> None:
    api, camera_id, _ = camera
    port = free_port()
    cluster.services.start("cleanup", 1, {"FACEGATE_HEALTH_PORT": str(port), "FACEGATE_CLEANUP_LEASE_RETRY_S": "0.5"})
    try:
        wait_until(lambda: len(leaders(cluster)) == 2, 60, "two cleanup replicas")
        for _ in range(5):  # never two holders, never none
            assert sorted(leaders(cluster).values()) == [False, True]
        (leader,) = [name for name, leading in leaders(cluster).items() if leading]
        assert leader == "cleanup-0"  # the one that started first holds it

        async def seed(count: int) -> None:
            async with image_store(cluster) as store:
                await seed_old_frames(store, camera_id, count, timedelta(hours=1))

        asyncio.run(seed(3))
        since = datetime.now(UTC)
        put_db_cleanup(api, maxFramesCount=1)
        wait_until(lambda: len(asyncio.run(ids_in(cluster, "seen_frames"))) == 1, 30, "the count enforced")
        assert {r.instance for r in runs_of(cluster, since, "maxFramesCount")} == {"cleanup-0"}

        # The holder stops: the standby takes the lease and enforces the count from then on.
        cluster.services.stop_one("cleanup", 0)
        try:
            wait_until(lambda: leaders(cluster) == {"cleanup-1": True}, 30, "the standby taking over")
            asyncio.run(seed(2))
            since = datetime.now(UTC)
            wait_until(lambda: len(asyncio.run(ids_in(cluster, "seen_frames"))) == 1, 30, "the count enforced again")
            assert {r.instance for r in runs_of(cluster, since, "maxFramesCount")} == {"cleanup-1"}
            metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            assert 'facegate_cleanup_leader{instance="cleanup-1"} 1' in metrics
            assert 'facegate_cleanup_removed_total{instance="cleanup-1",kind="frames"} 2' in metrics
        finally:
            cluster.services.start("cleanup", 0)
            wait_until(lambda: len(leaders(cluster)) == 2, 60, "cleanup-0 back")
    finally:
        cluster.services.stop_one("cleanup", 1)


def test_the_change_log_is_pruned_below_every_matcher_and_the_snapshot(cluster: Cluster) -> None:
    """Rows every matcher replica and the Redis snapshot have applied go; the rest (and always the
    newest) stay, and the matcher keeps following the log."""
    truncate(cluster.servers.database_url)
    with cluster.http() as api:
        for n in range(3):
            watchlist = api.post("/api/v1/Watchlists", json={"displayName": f"w{n}", "fullName": f"w{n}"}).json()
            member = api.post("/api/v1/WatchlistMembers", json={"displayName": f"m{n}"}).json()
            link = {"watchlistId": watchlist["id"], "watchlistMembersIds": [member["id"]]}
            assert api.post("/api/v1/WatchlistMembers/LinkToWatchlist", json=link).status_code == 204

    async def prune() -> tuple[int, int, list[int]]:
        settings = Settings(nats_url=cluster.servers.nats_url, redis_url=cluster.servers.redis_url)
        bus = await Bus.connect(settings, "prune-test")
        redis = aioredis.from_url(cluster.servers.redis_url)
        try:
            async with database(cluster) as conn:
                newest = int(await conn.fetchval("SELECT max(seq) FROM template_changes"))
                positions: list[int] | None = None
                while not positions or min(positions) < newest:  # the matcher catches up within its poll
                    positions = await housekeeping.applied_positions(bus)
                    await asyncio.sleep(0.2)
                database_id = await gallery_log.database_identity(conn)
                snapshot = await gallery_log.snapshot_seq(redis, gallery_log.DEFAULT_CACHE_KEY, database_id)
                below = min([*positions, *([snapshot] if snapshot is not None else [])])
                removed = await housekeeping.prune_changes(conn, bus, redis, gallery_log.DEFAULT_CACHE_KEY, 0, 2)
                left = [int(r["seq"]) for r in await conn.fetch("SELECT seq FROM template_changes ORDER BY seq")]
                return below, removed.template_changes, left
        finally:
            await redis.aclose()
            await bus.close()

    below, removed, left = asyncio.run(prune())
    assert removed > 0 and left, (below, removed, left)
    assert min(left) >= below or left == [left[-1]], (below, left)  # nothing below the bound but the newest
    with cluster.http() as api:  # the matcher still follows the log
        watchlist = api.post("/api/v1/Watchlists", json={"displayName": "after", "fullName": "after"}).json()
        assert api.get(f"/api/v1/Watchlists/{watchlist['id']}").status_code == 200
