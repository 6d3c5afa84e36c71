"""/api/v1/EdgeStreams: routed to camera_ingest, which owns the edge streams, sends devices their
settings and watchlists over MQTT and reads their results (docs/edge_streams.md)."""

from __future__ import annotations

from litestar import Controller, delete, get, post, put

from services.gateway.problems import responses
from services.gateway.resources import check_edge_stream
from services.gateway.seen import Guid
from shared import subjects
from shared.bus import Bus, Empty
from shared.messages.common import ById
from shared.messages.edge_streams import (
    EdgeStream,
    EdgeStreamCreateRequest,
    EdgeStreamUpdateRequest,
    EdgeStreamWatchlistSynchronization,
    EdgeStreamWatchlistSynchronizationRequest,
    WatchlistSyncUpdate,
)


class EdgeStreamController(Controller):
    path = "/api/v1/EdgeStreams"
    tags = ["EdgeStream"]

    @get("/", responses=responses())
    async def list_edge_streams(self, bus: Bus) -> list[EdgeStream]:
        """Every edge stream (a plain array, as SmartFace answers)."""
        return await bus.request(subjects.EDGE_STREAM_LIST, Empty(), list[EdgeStream])

    @post("/", status_code=201, responses=responses(409, 413))
    async def create_edge_stream(self, data: EdgeStreamCreateRequest, bus: Bus) -> EdgeStream:
        """Create an edge stream for the device `clientId` (one stream per clientId: 409 for a
        second). Its device gets the settings on the next `Settings/Synchronize`; while
        `enabled`, the results it sends are stored, matched and announced as a camera's."""
        check_edge_stream(data)
        return await bus.request(subjects.EDGE_STREAM_CREATE, data, EdgeStream)

    @put("/", status_code=200, responses=responses(404, 409, 413))
    async def update_edge_stream(self, data: EdgeStreamUpdateRequest, bus: Bus) -> EdgeStream:
        """Replace the edge stream `id` (what the request leaves out keeps its value)."""
        check_edge_stream(data)
        return await bus.request(subjects.EDGE_STREAM_UPDATE, data, EdgeStream)

    @get("/{id:str}", responses=responses(404))
    async def get_edge_stream(self, id: Guid, bus: Bus) -> EdgeStream:
        """One edge stream."""
        return await bus.request(subjects.EDGE_STREAM_GET, ById(id=id), EdgeStream)

    @delete("/{id:str}", status_code=204, responses=responses(404))
    async def delete_edge_stream(self, id: Guid, bus: Bus) -> None:
        """Delete an edge stream: its device's retained settings and watchlists are cleared and its
        results are no longer read."""
        await bus.request(subjects.EDGE_STREAM_DELETE, ById(id=id), Empty)

    @post("/Settings/Synchronize", status_code=204, responses=responses())
    async def synchronize_edge_stream_settings(self, bus: Bus) -> None:
        """Send every edge stream's settings to its device: a retained MQTT message on
        `facegate/edge/<clientId>/settings`, which a device gets at once or when it next
        connects."""
        await bus.request(subjects.EDGE_STREAM_SYNC_SETTINGS, Empty(), Empty)

    @put("/{id:str}/WatchlistSynchronization", status_code=200, responses=responses(404, 413))
    async def set_edge_stream_watchlists(
        self, id: Guid, data: EdgeStreamWatchlistSynchronizationRequest, bus: Bus
    ) -> EdgeStreamWatchlistSynchronization:
        """Which watchlists the device matches against itself: `None`, `All` or `Selected`
        (`watchlistIds`). Their members and templates are published retained on
        `facegate/edge/<clientId>/watchlists` now and again after every change of them."""
        update = WatchlistSyncUpdate(id=id, sync=data)
        return await bus.request(subjects.EDGE_STREAM_WATCHLISTS_SET, update, EdgeStreamWatchlistSynchronization)

    @get("/{id:str}/WatchlistSynchronization", responses=responses(404))
    async def get_edge_stream_watchlists(self, id: Guid, bus: Bus) -> EdgeStreamWatchlistSynchronization:
        """The edge stream's watchlist synchronisation."""
        return await bus.request(subjects.EDGE_STREAM_WATCHLISTS_GET, ById(id=id), EdgeStreamWatchlistSynchronization)
