"""Service credentials of the embedded servers: no anonymous client, each service only its rights.

These run against the servers the tests start (embedded); servers given by URL (CI's own) are
configured by their operator, and the tests skip."""

from __future__ import annotations

import asyncio
import stat
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import nats
import pytest
import redis
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from shared import subjects
from shared.bus import Bus, Empty
from shared.credentials import with_credentials
from shared.settings import Settings
from tests.support import Servers


@pytest.fixture(autouse=True)
def embedded_only(servers: Servers) -> None:
    if not servers.events_url or not servers.service_envs.get("matcher"):
        pytest.skip("servers given by URL: their credentials are their operator's")


def anonymous(url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


async def connect(url: str, errors: list[str] | None = None) -> NatsClient:
    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(str(exc))

    return await nats.connect(url, error_cb=on_error, allow_reconnect=False, connect_timeout=5)


async def received(nc: NatsClient, subject: str, publisher: NatsClient, sent: str) -> list[bytes]:
    """What a subscription of `nc` to `subject` gets when `publisher` publishes on `sent`."""
    got: list[bytes] = []

    async def keep(msg: Msg) -> None:
        got.append(msg.data)

    await nc.subscribe(subject, cb=keep)
    await nc.flush()
    await publisher.publish(sent, b"payload")
    await publisher.flush()
    for _ in range(20):  # up to 2 s on a busy machine; what is refused never comes
        if got:
            break
        await asyncio.sleep(0.1)
    return got


def test_nats_refuses_anonymous_clients(servers: Servers) -> None:
    with pytest.raises(Exception, match=r"(?i)authorization"):
        asyncio.run(connect(anonymous(servers.nats_url)))


async def _events_reader(servers: Servers) -> tuple[list[bytes], list[bytes], list[str]]:
    admin = await connect(servers.nats_url)
    errors: list[str] = []
    reader = await connect(servers.events_url, errors)
    try:
        events = await received(reader, f"{subjects.EVT_PREFIX}.>", admin, subjects.MATCH_FOUND.subject("cam"))
        requests = await received(reader, f"{subjects.RPC_PREFIX}.>", admin, subjects.DETECTOR_DETECT)
        return events, requests, errors
    finally:
        await reader.close()
        await admin.close()


def test_the_events_reader_sees_events_and_never_requests(servers: Servers) -> None:
    events, requests, errors = asyncio.run(_events_reader(servers))
    assert events == [b"payload"]
    assert requests == []  # images and templates travel there
    assert any("permissions violation for subscription" in e.lower() for e in errors), errors


async def _detector_tries_the_matchers_subjects(servers: Servers) -> tuple[list[bytes], list[str]]:
    admin = await connect(servers.nats_url)
    errors: list[str] = []
    detector = await connect(servers.service_env("detector")["FACEGATE_NATS_URL"], errors)
    try:
        stolen = await received(detector, f"{subjects.RPC_PREFIX}.matcher.>", admin, subjects.TEMPLATE_SEARCH)
        await detector.publish(subjects.MEMBER_DELETE, b"{}")  # it calls no service
        await detector.flush()
        await asyncio.sleep(0.3)
        return stolen, errors
    finally:
        await detector.close()
        await admin.close()


def test_a_worker_may_use_only_its_own_subjects(servers: Servers) -> None:
    stolen, errors = asyncio.run(_detector_tries_the_matchers_subjects(servers))
    assert stolen == []
    assert any("permissions violation for subscription" in e.lower() for e in errors), errors
    assert any("permissions violation for publish" in e.lower() for e in errors), errors


def test_redis_refuses_clients_without_the_password(servers: Servers) -> None:
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis.from_url(anonymous(servers.redis_url)).ping()
    assert redis.Redis.from_url(servers.redis_url).ping()


async def _postgres_rights(servers: Servers) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await asyncpg.connect(with_credentials(servers.database_url, "postgres", "wrong"))
    camera = await asyncpg.connect(servers.service_env("camera_ingest")["FACEGATE_DATABASE_URL"])
    graphql = await asyncpg.connect(servers.service_env("graphql")["FACEGATE_DATABASE_URL"])
    matcher = await asyncpg.connect(servers.service_env("matcher")["FACEGATE_DATABASE_URL"])
    gateway = await asyncpg.connect(servers.service_env("gateway")["FACEGATE_DATABASE_URL"])
    cleanup = await asyncpg.connect(servers.service_env("cleanup")["FACEGATE_DATABASE_URL"])
    try:
        for conn in (camera, graphql, matcher, gateway, cleanup):
            assert await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False
        # The gallery is the matcher's: others cannot write it.
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await camera.execute("INSERT INTO watchlists (id, display_name, full_name) VALUES ('x', 'x', 'x')")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await camera.execute("DELETE FROM member_faces")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await graphql.execute("DELETE FROM watchlists")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await matcher.execute("DELETE FROM cameras")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await graphql.fetch("SELECT * FROM seen_images LIMIT 1")  # GraphQL serves no image bytes
        assert await graphql.fetchval("SELECT count(*) FROM watchlists") >= 0
        assert await matcher.fetchval("SELECT count(*) FROM member_faces") >= 0
        # GraphQL reads what it serves (imageDataId), never templates, images or camera credentials.
        assert await graphql.fetchval("SELECT count(image_id) FROM member_faces") >= 0
        assert await graphql.fetchval("SELECT count(*) FROM cameras") >= 0
        for column, table in (("template", "member_faces"), ("photo", "member_faces"), ("crop", "member_faces"),
                              ("template", "seen_faces"), ("source_secret", "cameras")):  # fmt: skip
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await graphql.fetch(f"SELECT {column} FROM {table} LIMIT 1")
        # The audit log is the gateway's, append-only: insert, read, delete (for retention) only.
        await gateway.execute(
            "INSERT INTO audit_log (at, action, auth, method, route, status, duration_ms) "
            "VALUES (now() - interval '10 years', 'search', 'none', 'POST', '/test', 200, 1)"
        )
        assert await gateway.fetchval("SELECT count(*) FROM audit_log WHERE route = '/test'") >= 1
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await gateway.execute("UPDATE audit_log SET status = 500 WHERE route = '/test'")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await gateway.execute("TRUNCATE audit_log")
        async with gateway.transaction():
            await gateway.execute("SET LOCAL facegate.audit_retention = 'on'")
            await gateway.execute("DELETE FROM audit_log WHERE route = '/test'")
        for conn in (camera, graphql, matcher):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("INSERT INTO audit_log (at, action, auth, method, route, status, duration_ms) "
                                   "VALUES (now(), 'search', 'none', 'POST', '/x', 200, 1)")  # fmt: skip
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await gateway.fetch("SELECT * FROM watchlists LIMIT 1")
        # The cleanup deletes old camera data and change-log rows; it adds or changes none.
        await cleanup.execute("DELETE FROM seen_frames WHERE false")
        await cleanup.execute("DELETE FROM template_changes WHERE false")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await cleanup.execute("UPDATE seen_faces SET image_id = NULL WHERE false")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await cleanup.execute("DELETE FROM watchlists WHERE false")
    finally:
        for conn in (camera, graphql, matcher, gateway, cleanup):
            await conn.close()


def test_postgres_roles_have_only_their_services_rights(servers: Servers) -> None:
    asyncio.run(_postgres_rights(servers))


def test_generated_secrets_are_readable_by_their_owner_only(servers: Servers) -> None:
    folder = Path(servers.image_folder).parent / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = list(folder.iterdir())
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    conf = Path(servers.image_folder).parent / "nats" / "nats.conf"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600


async def _read_the_stream(servers: Servers) -> tuple[list[bytes], list[bytes]]:
    admin = await Bus.connect(Settings(nats_url=servers.nats_url), "test")
    reader = await connect(servers.events_url)
    try:
        await admin.ensure_event_stream()
        subject = subjects.TRACKLET_COMPLETED.subject(uuid.uuid4().hex)
        await admin.publish_event(subject, Empty())
        js = reader.jetstream()
        stream = admin.settings.events_stream
        ordered: list[bytes] = []
        durable: list[bytes] = []

        async def keep_ordered(msg: Msg) -> None:
            ordered.append(msg.data)

        async def keep_durable(msg: Msg) -> None:
            durable.append(msg.data)
            await msg.ack()

        # As deploy/examples/subscribe_events.py does, both ways.
        await js.subscribe(
            subject, stream=stream, ordered_consumer=True, cb=keep_ordered, deliver_policy=DeliverPolicy.ALL
        )
        config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
        name = f"test-{uuid.uuid4().hex[:8]}"
        await js.subscribe(subject, stream=stream, durable=name, cb=keep_durable, manual_ack=True, config=config)
        for _ in range(50):
            if ordered and durable:
                break
            await asyncio.sleep(0.1)
        return ordered, durable
    finally:
        await reader.close()
        await admin.close()


def test_the_events_reader_consumes_the_events_stream(servers: Servers) -> None:
    ordered, durable = asyncio.run(_read_the_stream(servers))
    assert ordered == durable == [b"{}"]


async def _read_the_internal_stream(servers: Servers) -> tuple[list[bytes], str | None, list[str]]:
    """What the outside event reader gets of an internal event (a tracklet's template), live
    and from the internal stream."""
    admin = await Bus.connect(Settings(nats_url=servers.nats_url), "test")
    errors: list[str] = []
    reader = await connect(servers.events_url, errors)
    try:
        await admin.ensure_event_stream()
        subject = subjects.TRACKLET_SUMMARISED.subject(uuid.uuid4().hex)
        live = await received(reader, f"{subjects.INTERNAL_PREFIX}.>", admin.nc, subject)
        await admin.publish_event(subject, Empty())
        refusal = None
        try:
            await reader.jetstream().subscribe(
                subject, stream=admin.settings.internal_stream, ordered_consumer=True, cb=None
            )
        except Exception as exc:  # refused by the server: no JetStream API of that stream
            refusal = type(exc).__name__
        return live, refusal, errors
    finally:
        await reader.close()
        await admin.close()


def test_the_events_reader_cannot_read_internal_events(servers: Servers) -> None:
    live, refusal, errors = asyncio.run(_read_the_internal_stream(servers))
    assert live == []
    assert refusal is not None
    assert any("permissions violation" in e.lower() for e in errors), errors
