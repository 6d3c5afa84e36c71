"""Wires the GraphQL API: its own process (not the REST gateway's) with an HTTP server on the
GraphQL port, Postgres for queries and NATS for subscriptions.

Why a service of its own: SmartFace serves GraphQL on a port of its own, and a process of its
own lets it scale apart from REST (dashboards polling big pages, many idle WebSockets) and keeps
it free of the gateway's internals. It reads Postgres (read-only; the owners write) and NATS
events, like any other replica, so any replica serves any query or subscriber.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import uvicorn

from services.graphql.access import Access
from services.graphql.app import GraphQLApp
from services.graphql.schema import build_schema
from services.graphql.subscriptions import EventHub
from shared.auth import Authenticator
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn inside the service's event loop: the runtime owns SIGTERM and draining."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def setup(ctx: ServiceContext, authenticator: Authenticator) -> None:
    """Serve GraphQL until the service stops; callers authenticate as on the gateway."""
    schema = build_schema()
    hub = EventHub(ctx.bus.nc)
    access = Access.from_settings(ctx.settings, authenticator)
    app = GraphQLApp(schema, ctx.db, hub, ready=ctx.readiness_report, access=access)
    config = uvicorn.Config(
        app, host=ctx.settings.gateway_host, port=ctx.settings.graphql_port, lifespan="off", ws="websockets-sansio",
        log_level=ctx.settings.log_level.lower(), access_log=False, timeout_graceful_shutdown=5,
    )  # fmt: skip
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # re-raises why it could not start (port taken, ...)
            raise RuntimeError("the GraphQL server stopped while starting")
        await asyncio.sleep(0.05)
    log.info("GraphQL on http://%s:%d/graphql/", ctx.settings.gateway_host, ctx.settings.graphql_port)

    async def stop() -> None:
        server.should_exit = True
        await task
        await hub.close()

    ctx.on_shutdown.append(stop)
