"""The same short `main()` for every worker.

Settings once; NATS, Postgres, Redis and one bounded thread pool in an AsyncExitStack; the
service's `setup` registers its endpoints (after warming models); then wait for SIGTERM or
Ctrl-C and drain: stop taking requests, finish the ones in flight, close connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import logging
import signal
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import redis.asyncio as aioredis
import uvloop

from shared import threads
from shared.bus import Bus, ServiceHost
from shared.db.pool import create_pool
from shared.health import serve_health
from shared.logs import setup_logging
from shared.readiness import Readiness
from shared.settings import Settings, load_settings
from shared.version import VERSION

log = logging.getLogger(__name__)

T = TypeVar("T")

# Each shutdown hook's limit: Kubernetes' default grace period (30 s) must cover draining too.
SHUTDOWN_HOOK_TIMEOUT_S = 10
REDIS_CONNECT_TIMEOUT_S = 5


@dataclass
class ServiceContext:
    """What a service's handlers need; passed explicitly instead of module globals."""

    name: str
    settings: Settings
    bus: Bus
    host: ServiceHost
    executor: ThreadPoolExecutor
    pool: asyncpg.Pool | None = None
    redis: aioredis.Redis | None = None
    ready: bool = False
    # What /readyz reports beside `ready`: NATS, and Postgres and Redis where the service uses them.
    readiness: Readiness = field(default_factory=Readiness)
    # The replica's figures in `$SRV.STATS`, by name: Structs or plain values.
    extra_stats: dict[str, Callable[[], object]] = field(default_factory=dict)
    # Prometheus text providers, served on the health port's /metrics.
    metrics: list[Callable[[], str]] = field(default_factory=list)
    # Awaited in order on SIGTERM, once no new request is taken and those in flight are done,
    # while NATS, Postgres and Redis are still open: a service ends its own work here (e.g.
    # camera_ingest stops its streams, announces their tracklets and hands over its leases).
    on_shutdown: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU-bound work in the bounded pool, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def readiness_report(self) -> tuple[bool, str]:
        """Ready (set up, models warm, the servers it needs reachable) and the text of /readyz."""
        ok, text = self.readiness.ready()
        state = "ok" if self.ready else "starting or stopping"
        return self.ready and ok, f"{self.name}: {state}\n{text}"

    @property
    def db(self) -> asyncpg.Pool:
        assert self.pool is not None, f"{self.name} was started without Postgres"
        return self.pool


def run_service(
    name: str,
    description: str,
    setup: Callable[[ServiceContext], Awaitable[None]],
    *,
    needs_db: bool = False,
    needs_redis: bool = False,
    redis_required: bool = True,
) -> None:
    """Entry point of `python -m services.<name>`. `redis_required=False`: the service works
    without Redis (a cache), so Redis down does not make it unready."""
    # A crash in native code (FFmpeg, onnxruntime, OpenCV) prints every thread's Python stack to
    # stderr: the only trace such a crash leaves in the logs.
    faulthandler.enable()
    settings = load_settings()
    setup_logging(name, settings.log_level)
    # Every pool sized for the cores given, before the service loads anything (shared/threads.py).
    threads.apply(threads.plan(settings.worker_threads, settings.cpu_cores))
    with contextlib.suppress(KeyboardInterrupt):
        # uvloop: ~12% more requests/s through the gateway and matcher (benchmarks/crud.py).
        uvloop.run(_serve(name, description, settings, setup, needs_db, needs_redis, redis_required))


async def _serve(
    name: str,
    description: str,
    settings: Settings,
    setup: Callable[[ServiceContext], Awaitable[None]],
    needs_db: bool,
    needs_redis: bool,
    redis_required: bool,
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async with contextlib.AsyncExitStack() as stack:
        bus = await Bus.connect(settings, name)
        stack.push_async_callback(bus.close)
        executor = ThreadPoolExecutor(settings.worker_threads, thread_name_prefix=name)
        stack.callback(executor.shutdown, wait=False, cancel_futures=True)
        ctx_ref: list[ServiceContext] = []

        def stats() -> dict[str, object]:
            return {key: fn() for key, fn in ctx_ref[0].extra_stats.items()} if ctx_ref else {}

        host = ServiceHost(bus, name, VERSION, description, stats=stats)
        ctx = ServiceContext(name=name, settings=settings, bus=bus, host=host, executor=executor)
        ctx.metrics.append(host.metrics_text)
        ctx.metrics.append(lambda: threads.metrics_text(name, settings.worker_threads))
        ctx.extra_stats["threads"] = lambda: threads.effective(settings.worker_threads)
        ctx_ref.append(ctx)
        ctx.readiness.add_live("nats", lambda: bus.nc.is_connected)
        if needs_db:
            ctx.pool = await create_pool(settings.database_url)
            stack.push_async_callback(ctx.pool.close)
            ctx.readiness.add_probe("postgres", lambda: ctx.db.fetchval("SELECT 1"))
        if needs_redis:
            # Connects lazily: a service starts while Redis is down and reconnects when it is back.
            # A bounded connect keeps a request from hanging on an unreachable Redis.
            ctx.redis = aioredis.from_url(settings.redis_url, socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S)
            stack.push_async_callback(ctx.redis.aclose)
            redis = ctx.redis
            ctx.readiness.add_probe("redis", lambda: redis.ping(), required=redis_required)
        await ctx.readiness.start()
        stack.push_async_callback(ctx.readiness.stop)
        if settings.health_port:
            server = await serve_health(
                settings.health_port,
                ctx.readiness_report,
                lambda: "".join(provider() for provider in ctx.metrics),
            )
            stack.callback(server.close)
        await host.start()
        await setup(ctx)
        # Again once the service's modules and models are loaded (OpenCV may have come with them).
        threads.apply(threads.plan(settings.worker_threads, settings.cpu_cores))
        ctx.ready = True
        log.info("%s ready (instance %s)", name, host.instance_id)
        await stop.wait()
        log.info("%s stopping", name)
        ctx.ready = False
        await host.stop()
        for hook in ctx.on_shutdown:
            try:
                await asyncio.wait_for(hook(), SHUTDOWN_HOOK_TIMEOUT_S)
            except Exception:  # one hook's failure must not keep the others or the close from running
                log.exception("%s: a shutdown step failed", name)
