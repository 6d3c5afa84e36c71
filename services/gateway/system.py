"""Version, health and metrics: the gateway's own endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State

from services.gateway.metrics import Metrics
from services.gateway.openapi import FACEGATE_TAG, OPEN_SECURITY
from services.gateway.problems import responses
from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.gallery import DatabaseVersion, VersionInfo
from shared.version import VERSION

_BUILT_AT = datetime.fromtimestamp(Path(__file__).stat().st_mtime, tz=UTC)


class VersionController(Controller):
    path = "/api/v1/Version"
    tags = ["Version"]

    @get("/", responses=responses())
    async def version(self, bus: Bus) -> VersionInfo:
        """Versions of the database schema and of Facegate."""
        db = await bus.request(subjects.MATCHER_VERSION, Empty(), DatabaseVersion)
        return VersionInfo(
            database_version=db.version,
            database_version_creation_time=db.created_at,
            database_version_updated_time=db.updated_at,
            assembly_version=VERSION,
            assembly_last_modified_time=_BUILT_AT,
            full_version=f"Facegate {VERSION}",
        )


class HealthController(Controller):
    path = "/"
    tags = [FACEGATE_TAG]
    include_in_schema = True
    security = OPEN_SECURITY  # probes and scrapers send no credentials (permissions.py)

    @get("/healthz", media_type=MediaType.TEXT)
    async def healthz(self) -> str:
        """Liveness: the gateway process answers."""
        return "ok"

    @get("/readyz", media_type=MediaType.TEXT)
    async def readyz(self, bus: Bus) -> Response[str]:
        """Readiness: connected to NATS, so requests can reach the workers."""
        if bus.nc.is_connected:
            return Response("ready", media_type=MediaType.TEXT)
        return Response("NATS not connected", status_code=503, media_type=MediaType.TEXT)

    @get("/metrics", media_type="text/plain; version=0.0.4")
    async def metrics(self, state: State) -> str:
        """Prometheus text: requests and latency per route and status."""
        metrics: Metrics = state.metrics
        return metrics.render()
