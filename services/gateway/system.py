"""Version, health and metrics: the gateway's own endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import State

from services.gateway.metrics import Metrics
from services.gateway.openapi import FACEGATE_TAG, OPEN_SECURITY
from services.gateway.overload import Admission
from services.gateway.problems import responses
from shared import subjects, threads
from shared.bus import Bus, Empty
from shared.messages.gallery import DatabaseVersion, VersionInfo
from shared.readiness import Readiness
from shared.version import VERSION

_BUILT_AT = datetime.fromtimestamp(Path(__file__).stat().st_mtime, tz=UTC)

# The workers the REST API routes to: without one of them part of it answers 503.
NEEDED_WORKERS = ("matcher", "camera_ingest", "detector", "extractor")


def gateway_readiness(bus: Bus) -> Readiness:
    """/readyz of the gateway: NATS connected and a replica of each needed worker running."""
    readiness = Readiness()
    readiness.add_live("nats", lambda: bus.nc.is_connected)
    for worker in NEEDED_WORKERS:
        readiness.add_probe(worker, lambda worker=worker: bus.ping(worker))  # type: ignore[misc]
    return readiness


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
    async def readyz(self, state: State) -> Response[str]:
        """Readiness: connected to NATS and a replica of each worker the API needs (matcher,
        camera_ingest, detector, extractor) running; one line per check."""
        readiness: Readiness = state.readiness
        ok, text = readiness.ready()
        return Response(text, status_code=200 if ok else 503, media_type=MediaType.TEXT)

    @get("/metrics", media_type="text/plain; version=0.0.4")
    async def metrics(self, state: State) -> str:
        """Prometheus text: requests and latency per route and status, admission (in flight,
        waiting, refused) and the process's thread pools."""
        metrics: Metrics = state.metrics
        admission: Admission = state.admission
        return metrics.render() + admission.metrics_text() + threads.metrics_text("gateway")
