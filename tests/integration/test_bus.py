"""The bus against a real NATS: typed errors cross it, timeouts are 503s, replies run concurrently."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from shared import subjects
from shared.bus import Bus, Empty, ServiceHost
from shared.errors import InternalError, NotFound, ServiceUnavailable, Unprocessable
from shared.settings import Settings
from tests.support import Servers


class Echo(msgspec.Struct, frozen=True):
    text: str
    delay: float = 0.0


@pytest.fixture
async def bus(servers: Servers) -> AsyncIterator[Bus]:
    # The default events stream: a second stream may not claim the same subjects (facegate.evt.>).
    settings = Settings(nats_url=servers.nats_url, request_timeout=1.0)
    connected = await Bus.connect(settings, "test")
    yield connected
    await connected.close()


@pytest.fixture
async def host(bus: Bus) -> AsyncIterator[ServiceHost]:
    name = f"svc_{uuid.uuid4().hex[:8]}"
    service = ServiceHost(bus, name, "1.0.0", "test service", stats=lambda: {"held": 7})

    async def echo(req: Echo) -> Echo:
        await asyncio.sleep(req.delay)
        if req.text == "missing":
            raise NotFound("no such thing", errors={"id": ["unknown"]})
        if req.text == "bad-image":
            raise Unprocessable("image 0: no face found")
        if req.text == "crash":
            raise RuntimeError("secret internals")
        return Echo(text=req.text.upper())

    await service.start()
    await service.add(f"facegate.rpc.{name}.echo.run", Echo, echo)
    yield service
    await service.stop()


async def test_reply_is_typed(bus: Bus, host: ServiceHost) -> None:
    reply = await bus.request(f"facegate.rpc.{host.name}.echo.run", Echo(text="hi"), Echo)
    assert reply == Echo(text="HI")


async def test_domain_errors_cross_the_bus_with_their_type(bus: Bus, host: ServiceHost) -> None:
    subject = f"facegate.rpc.{host.name}.echo.run"
    with pytest.raises(NotFound) as not_found:
        await bus.request(subject, Echo(text="missing"), Echo)
    assert not_found.value.detail == "no such thing" and not_found.value.errors == {"id": ["unknown"]}
    with pytest.raises(Unprocessable, match="no face"):
        await bus.request(subject, Echo(text="bad-image"), Echo)
    with pytest.raises(InternalError) as internal:
        await bus.request(subject, Echo(text="crash"), Echo)
    assert "secret" not in internal.value.detail and "trace" in internal.value.detail


async def test_no_responder_is_service_unavailable_at_once(bus: Bus) -> None:
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable, match="No replica of the nobody service"):
        await bus.request("facegate.rpc.nobody.thing.get", Empty(), Empty)
    assert time.monotonic() - started < 0.5


async def test_slow_service_times_out_as_service_unavailable(bus: Bus, host: ServiceHost) -> None:
    with pytest.raises(ServiceUnavailable, match="did not answer within 1 s"):
        await bus.request(f"facegate.rpc.{host.name}.echo.run", Echo(text="x", delay=1.5), Echo)


async def test_requests_are_served_concurrently(bus: Bus, host: ServiceHost) -> None:
    subject = f"facegate.rpc.{host.name}.echo.run"
    started = time.monotonic()
    replies = await asyncio.gather(*(bus.request(subject, Echo(text=str(i), delay=0.3), Echo) for i in range(10)))
    assert [r.text for r in replies] == [str(i) for i in range(10)]
    assert time.monotonic() - started < 1.0  # ten 0.3 s requests overlapped


async def test_service_discovery(bus: Bus, host: ServiceHost) -> None:
    ping = await bus.nc.request(f"$SRV.PING.{host.name}", b"", timeout=1)
    assert msgspec.json.decode(ping.data)["name"] == host.name
    stats = msgspec.json.decode((await bus.nc.request(f"$SRV.STATS.{host.name}", b"", timeout=1)).data)
    assert stats["endpoints"][0]["data"] == {"held": 7}


async def test_events_are_kept_by_jetstream(bus: Bus) -> None:
    await bus.ensure_event_stream()
    await bus.ensure_event_stream()  # idempotent
    subject = f"facegate.evt.test.happened.{uuid.uuid4().hex}"
    await bus.publish_event(subject, Echo(text="payload"))
    info = await bus.js.stream_info(bus.settings.events_stream)
    assert info.state.messages >= 1
    msg = await bus.js.get_last_msg(bus.settings.events_stream, subject)
    assert msg.data is not None
    assert msgspec.json.decode(msg.data) == {"text": "payload", "delay": 0.0}


# A replica in its own process, so that the test can kill it with a request in flight.
_WORKER = """
import asyncio, sys
from shared import subjects
from shared.bus import Bus, ServiceHost
from shared.settings import Settings
from tests.integration.test_bus import Echo

async def main() -> None:
    bus = await Bus.connect(Settings(nats_url=sys.argv[1]), "worker")
    host = ServiceHost(bus, sys.argv[2], "1.0.0", "a replica to kill")
    await host.start()

    async def echo(req: Echo) -> Echo:
        await asyncio.sleep(req.delay)
        return Echo(text=req.text)

    await host.add(sys.argv[3], Echo, echo)
    await bus.nc.flush()  # the subscriptions reached the server
    print("ready", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_a_request_whose_replica_dies_fails_fast(servers: Servers) -> None:
    name = f"svc_{uuid.uuid4().hex[:8]}"
    subject = subjects.rpc(name, "echo", "run")
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _WORKER, servers.nats_url, name, subject, stdout=asyncio.subprocess.PIPE
    )
    bus = await Bus.connect(Settings(nats_url=servers.nats_url, request_timeout=20.0), "test")
    try:
        assert worker.stdout is not None
        assert await asyncio.wait_for(worker.stdout.readline(), 60) == b"ready\n"
        assert await bus.request(subject, Echo(text="alive"), Echo) == Echo(text="alive")
        in_flight = asyncio.create_task(bus.request(subject, Echo(text="x", delay=60), Echo))
        await asyncio.sleep(0.5)  # taken by the worker
        worker.kill()
        killed = time.monotonic()
        with pytest.raises(ServiceUnavailable, match=f"The {name} replica that took the request stopped"):
            await in_flight
        assert time.monotonic() - killed < 3  # not the 20 s timeout
    finally:
        if worker.returncode is None:
            worker.kill()
        await worker.wait()
        await bus.close()


async def test_a_draining_replica_still_counts_as_alive(servers: Servers, host: ServiceHost) -> None:
    """SIGTERM stops the service's subscriptions first and finishes the requests it holds: the
    callers of those keep waiting for their replies."""
    caller = await Bus.connect(Settings(nats_url=servers.nats_url, request_timeout=10.0), "test")
    try:
        subject = f"facegate.rpc.{host.name}.echo.run"
        slow = asyncio.create_task(caller.request(subject, Echo(text="late", delay=2.5), Echo))
        await asyncio.sleep(0.3)
        await host.stop()  # waits for the request in flight
        assert await slow == Echo(text="LATE")
    finally:
        await caller.close()
