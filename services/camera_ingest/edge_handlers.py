"""Edge stream handlers: CRUD, settings synchronisation, watchlist synchronisation."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass

from services.camera_ingest import edge_streams
from services.camera_ingest.edge_config import new_edge_stream, updated_edge_stream
from services.camera_ingest.edge_sync import EdgeSync
from shared import subjects
from shared.bus import Empty
from shared.errors import NotFound, ServiceUnavailable, ValidationFailed
from shared.messages.common import ById
from shared.messages.edge_streams import (
    EdgeStream,
    EdgeStreamCreateRequest,
    EdgeStreamEvent,
    EdgeStreamUpdateRequest,
    EdgeStreamWatchlistSynchronization,
    WatchlistSyncUpdate,
)
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

SYNC_OPTIONS = ("None", "All", "Selected")


@dataclass
class EdgeStreamHandlers:
    ctx: ServiceContext
    sync: EdgeSync

    async def _event(self, event: subjects.Event, edge_id: str, stream: EdgeStream | None) -> None:
        # Every replica's scheduler listens: the owner of an enabled stream reads its results.
        await self.ctx.bus.publish_event(event.subject(edge_id), EdgeStreamEvent(edge_id, stream))

    def _missing(self, edge_id: object) -> NotFound:
        return NotFound(f"Edge stream '{edge_id}' does not exist.")

    async def create(self, req: EdgeStreamCreateRequest) -> EdgeStream:
        stream, license_data = new_edge_stream(uuid.uuid4(), req)
        async with self.ctx.db.acquire() as conn:
            stream = await edge_streams.insert(conn, stream, license_data)
        await self._event(subjects.EDGE_STREAM_CREATED, str(stream.id), stream)
        return stream

    async def update(self, req: EdgeStreamUpdateRequest) -> EdgeStream:
        async with self.ctx.db.acquire() as conn, conn.transaction():
            stored = await edge_streams.get(conn, str(req.id))
            if stored is None:
                raise self._missing(req.id)
            stream, license_data = updated_edge_stream(stored.stream, req)
            done = await edge_streams.update(conn, stream, license_data)
        if done is None:  # deleted between the two statements
            raise self._missing(req.id)
        stream, old_client = done
        await self._event(subjects.EDGE_STREAM_UPDATED, str(stream.id), stream)
        if old_client != stream.client_id:  # the old topics must not keep telling a device anything
            await self._quietly(self.sync.forget(old_client))
        return stream

    async def get(self, req: ById) -> EdgeStream:
        async with self.ctx.db.acquire() as conn:
            stored = await edge_streams.get(conn, req.id)
        if stored is None:
            raise self._missing(req.id)
        return stored.stream

    async def list_all(self, _req: Empty) -> list[EdgeStream]:
        async with self.ctx.db.acquire() as conn:
            return await edge_streams.list_all(conn)

    async def delete(self, req: ById) -> None:
        async with self.ctx.db.acquire() as conn:
            client_id = await edge_streams.delete(conn, req.id)
        if client_id is None:
            raise self._missing(req.id)
        await self._event(subjects.EDGE_STREAM_DELETED, req.id, None)
        await self._quietly(self.sync.forget(client_id))

    async def sync_settings(self, _req: Empty) -> None:
        """Every stream's settings to its device (retained on facegate/edge/<clientId>/settings)."""
        count = await self.sync.sync_settings()
        log.info("edge streams: published the settings of %d stream(s)", count)

    async def get_watchlists(self, req: ById) -> EdgeStreamWatchlistSynchronization:
        async with self.ctx.db.acquire() as conn:
            stored = await edge_streams.get(conn, req.id)
        if stored is None:
            raise self._missing(req.id)
        return stored.sync

    async def set_watchlists(self, req: WatchlistSyncUpdate) -> EdgeStreamWatchlistSynchronization:
        """Store which watchlists the device gets and publish them (retained on
        facegate/edge/<clientId>/watchlists); they follow the gallery from then on."""
        sync = await self._checked(req)
        async with self.ctx.db.acquire() as conn:
            if not await edge_streams.set_sync(conn, req.id, sync):
                raise self._missing(req.id)
        if self.sync.publisher.enabled:  # else stored only: no device can be reached (edge_mqtt.py)
            await self.sync.sync_watchlists(req.id, force=True)
        return sync

    async def _checked(self, req: WatchlistSyncUpdate) -> EdgeStreamWatchlistSynchronization:
        """SmartFace's option in its own spelling (any letter case accepted), the watchlists of
        "Selected" (each must exist; the others take none)."""
        given = req.sync.watchlist_sync_option
        option = next((o for o in SYNC_OPTIONS if o.lower() == given.strip().lower()), None)
        if option is None:
            why = f"'{given}' is not one of {', '.join(SYNC_OPTIONS)}"
            raise ValidationFailed(f"watchlistSyncOption: {why}.", errors={"watchlistSyncOption": [why]})
        ids = list(dict.fromkeys(req.sync.watchlist_ids or [])) if option == "Selected" else []
        if option == "Selected" and not ids:
            why = "'Selected' needs at least one watchlist id"
            raise ValidationFailed(f"watchlistIds: {why}.", errors={"watchlistIds": [why]})
        if ids:
            async with self.ctx.db.acquire() as conn:
                found = {r["id"] for r in await conn.fetch("SELECT id FROM watchlists WHERE id = ANY($1)", ids)}
            missing = [i for i in ids if i not in found]
            if missing:
                why = f"no watchlist has the id {', '.join(repr(i) for i in missing)}"
                raise ValidationFailed(f"watchlistIds: {why}.", errors={"watchlistIds": [why]})
        return EdgeStreamWatchlistSynchronization(option, ids)

    @staticmethod
    async def _quietly(publishing: Awaitable[None]) -> None:
        """Clearing retained messages is tidying: the change stands when NATS's MQTT listener
        cannot be reached (or is not configured)."""
        try:
            await publishing
        except ServiceUnavailable as exc:
            log.info("edge streams: retained messages not cleared: %s", exc)
