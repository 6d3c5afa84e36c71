"""The Litestar application: controllers, the error map, OpenAPI with offline Swagger UI."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from services.gateway.cameras import CameraController
from services.gateway.freshness import GalleryFreshness
from services.gateway.idempotency import IdempotencyStore, idempotency_middleware
from services.gateway.identification import CONTROLLERS as IDENTIFICATION_CONTROLLERS
from services.gateway.members import WatchlistMemberController
from services.gateway.metrics import Metrics, metrics_middleware
from services.gateway.openapi import ASSETS_PATH, SWAGGER_ASSETS, openapi_config
from services.gateway.paging import PAGING
from services.gateway.problems import EXCEPTION_HANDLERS
from services.gateway.seen import SEEN_CONTROLLERS
from services.gateway.setup import SetupController
from services.gateway.system import HealthController, VersionController, gateway_readiness
from services.gateway.watchlists import WatchlistController
from shared.bus import Bus
from shared.settings import Settings

CONTROLLERS = [
    WatchlistController,
    WatchlistMemberController,
    *IDENTIFICATION_CONTROLLERS,
    CameraController,
    *SEEN_CONTROLLERS,
    SetupController,
    VersionController,
    HealthController,
]


@get(["/", "/swagger/index.html"], include_in_schema=False)
async def root() -> Redirect:
    """SmartFace shows Swagger UI at the root of its port and at /swagger/index.html."""
    return Redirect("/swagger")


def create_app(settings: Settings, bus: Bus | None = None) -> Litestar:
    """Build the gateway; it connects to NATS on startup unless given a bus (tests)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        owned = bus is None
        app.state.bus = bus or await Bus.connect(settings, "gateway")
        await GalleryFreshness.of(app.state.bus).follow(app.state.bus)
        app.state.readiness = gateway_readiness(app.state.bus)
        await app.state.readiness.start()
        try:
            yield
        finally:
            await app.state.readiness.stop()
            await idempotency.close()
            if owned:
                await app.state.bus.close()

    async def provide_bus(state: State) -> Bus:
        bus: Bus = state.bus
        return bus

    metrics = Metrics()
    idempotency = IdempotencyStore(settings)
    return Litestar(
        route_handlers=[
            root,
            *CONTROLLERS,
            create_static_files_router(path=ASSETS_PATH, directories=[SWAGGER_ASSETS], include_in_schema=False),
        ],
        dependencies={"bus": Provide(provide_bus), "paging": PAGING},
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        lifespan=[lifespan],
        state=State({"metrics": metrics}),
        middleware=[metrics_middleware(metrics), idempotency_middleware(idempotency)],
        request_max_body_size=settings.max_request_bytes,
        debug=False,
    )
