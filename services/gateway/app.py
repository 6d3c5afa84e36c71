"""The Litestar application: controllers, the error map, OpenAPI with offline Swagger UI."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from services.gateway.audit_api import AuditController
from services.gateway.bodies import SmartFaceRequest
from services.gateway.cameras import CameraController
from services.gateway.console import console_routes
from services.gateway.detection import DETECTION_CONTROLLERS
from services.gateway.edge_streams import EdgeStreamController
from services.gateway.face_search import CONTROLLERS as FACE_SEARCH_CONTROLLERS
from services.gateway.freshness import GalleryFreshness
from services.gateway.groupings import GROUPING_CONTROLLERS
from services.gateway.idempotency import IdempotencyStore, idempotency_middleware
from services.gateway.identification import CONTROLLERS as IDENTIFICATION_CONTROLLERS
from services.gateway.individuals import IndividualController
from services.gateway.members import WatchlistMemberController
from services.gateway.metrics import Metrics, metrics_middleware
from services.gateway.openapi import ASSETS_PATH, GRAPHQL_LINK, SWAGGER_ASSETS, graphql_url, openapi_config
from services.gateway.overload import Admission
from services.gateway.paging import PAGING
from services.gateway.preview import CameraPreviewController
from services.gateway.problems import EXCEPTION_HANDLERS, document_statuses
from services.gateway.security import Security
from services.gateway.seen import SEEN_CONTROLLERS
from services.gateway.setup import SetupController, SmartFaceSetupController
from services.gateway.setup_features import SetupFeatures
from services.gateway.spelling import route_in_any_case
from services.gateway.system import HealthController, VersionController, gateway_readiness
from services.gateway.template_model import TemplateModel
from services.gateway.video_records import VideoRecordController
from services.gateway.watchlists import WatchlistController
from shared.auth import Authenticator
from shared.bus import Bus
from shared.messages.setup import FeaturesConfig
from shared.settings import Settings

CONTROLLERS = [
    WatchlistController,
    WatchlistMemberController,
    *IDENTIFICATION_CONTROLLERS,
    CameraController,
    CameraPreviewController,
    *SEEN_CONTROLLERS,
    *FACE_SEARCH_CONTROLLERS,
    VideoRecordController,
    EdgeStreamController,
    *GROUPING_CONTROLLERS,
    IndividualController,
    *DETECTION_CONTROLLERS,
    SetupController,
    SmartFaceSetupController,
    AuditController,
    VersionController,
    HealthController,
]


@get(["/", "/swagger/index.html"], include_in_schema=False)
async def root() -> Redirect:
    """SmartFace shows Swagger UI at the root of its port and at /swagger/index.html."""
    return Redirect("/swagger")


def graphql_redirect(settings: Settings) -> HTTPRouteHandler:
    """Swagger UI's link to the GraphQL IDE (`openapi.graphql_url`)."""

    @get(GRAPHQL_LINK, include_in_schema=False)
    async def graphql(request: Request[Any, Any, Any]) -> Redirect:
        return Redirect(graphql_url(settings, request))

    return graphql


def create_app(settings: Settings, bus: Bus | None = None, authenticator: Authenticator | None = None) -> Litestar:
    """Build the gateway; it connects to NATS on startup unless given a bus (tests). Credentials
    are checked as the settings say (or by `authenticator`): services/gateway/security.py."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncGenerator[None, None]:
        owned = bus is None
        app.state.bus = bus or await Bus.connect(settings, "gateway")
        await app.state.freshness.follow(app.state.bus)
        await app.state.features.follow(app.state.bus)
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

    async def provide_freshness(state: State) -> GalleryFreshness:
        freshness: GalleryFreshness = state.freshness
        return freshness

    async def provide_features(state: State) -> FeaturesConfig:
        features: SetupFeatures = state.features
        return features.value

    async def provide_template_model(state: State) -> TemplateModel:
        model: TemplateModel = state.template_model
        return model

    async def provide_keep_photos() -> bool:
        return settings.keep_registration_photos

    metrics = Metrics()
    admission = Admission(settings.max_in_flight, settings.queue_wait_s)
    idempotency = IdempotencyStore(settings)
    security = Security.from_settings(settings, authenticator)
    app = Litestar(
        route_handlers=[
            root,
            graphql_redirect(settings),
            *console_routes(settings),
            *CONTROLLERS,
            create_static_files_router(path=ASSETS_PATH, directories=[SWAGGER_ASSETS], include_in_schema=False),
        ],
        dependencies={
            "bus": Provide(provide_bus),
            "freshness": Provide(provide_freshness),
            "template_model": Provide(provide_template_model),
            "keep_photos": Provide(provide_keep_photos),
            "features": Provide(provide_features),
            "paging": PAGING,
        },
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi_config(),
        lifespan=[lifespan, security.lifespan],
        state=State(
            {
                "metrics": metrics,
                "admission": admission,
                "freshness": GalleryFreshness(),
                "template_model": TemplateModel(),
                "features": SetupFeatures(),
                "audit": security.audit,
                "authenticator": security.authenticator,
            }
        ),
        # Credentials before the idempotency store: a replayed answer goes only to an allowed caller.
        # Admission first: a request refused under overload costs no decoding, no credentials check.
        middleware=[
            metrics_middleware(metrics),
            admission.middleware,
            security.middleware,
            idempotency_middleware(idempotency),
        ],
        request_max_body_size=settings.max_request_bytes,
        request_class=SmartFaceRequest,
        # shared/logs.py configures logging (one format, FACEGATE_LOG_LEVEL); Litestar's default
        # would replace the root logger's handlers and level at INFO.
        logging_config=None,
        debug=False,
    )
    route_in_any_case(app)
    document_statuses(app.openapi_schema)  # built once here; the served document is this one
    return app
