"""What edge devices are sent: their settings and their synchronised watchlists (retained MQTT
messages, edge_mqtt.py), and the members a device's own matches name.

Settings go out on `EdgeStreams/Settings/Synchronize` (every stream). Watchlists go out when a
stream's synchronisation is set, and again whenever the gallery changes (the matcher's
`gallery.changed` event, one replica of a queue group per change) or, as a safety net, every
`resync_s`: each stream's message is rebuilt from the gallery and published only when its digest
differs from the one stored with the stream, so replicas never need to agree on anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from datetime import UTC, datetime

import asyncpg
import msgspec
from nats.aio.msg import Msg

from services.camera_ingest import edge_streams
from services.camera_ingest.edge_mqtt import EdgePublisher
from shared import subjects
from shared.messages import matcher as m
from shared.messages.edge_streams import (
    EdgeSettingsMessage,
    EdgeStreamWatchlistSynchronization,
    EdgeWatchlistsMessage,
    SyncedMember,
    SyncedTemplate,
    SyncedWatchlist,
)
from shared.messages.gallery import Label, PrivacyData
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

QUEUE = "camera_ingest.edge_sync"  # one replica rebuilds the watchlists after a gallery change
DEBOUNCE_S = 0.2  # changes in a burst (a Register: member, face, link) make one rebuild


def settings_message(stored: edge_streams.Stored) -> bytes:
    return msgspec.json.encode(EdgeSettingsMessage(stored.stream, stored.license, datetime.now(UTC)))


async def watchlists_message(conn: asyncpg.Connection, sync: EdgeStreamWatchlistSynchronization) -> bytes:
    """The watchlists message of a synchronisation, whole: the watchlists, their members and the
    members' templates (none for "None")."""
    option = sync.watchlist_sync_option
    selected = None if option == "All" else (sync.watchlist_ids if option == "Selected" else [])
    rows = await conn.fetch(
        """SELECT id, display_name, full_name, threshold, preview_color FROM watchlists
           WHERE $1::text[] IS NULL OR id = ANY($1) ORDER BY id""",
        selected,
    )
    watchlists = [SyncedWatchlist(r["id"], r["display_name"], r["full_name"], r["threshold"], r["preview_color"])
                  for r in rows]  # fmt: skip
    ids = [w.id for w in watchlists]
    members = await conn.fetch(
        """SELECT m.id, m.display_name, m.full_name, array_agg(l.watchlist_id ORDER BY l.watchlist_id) AS lists
           FROM watchlist_links l JOIN watchlist_members m ON m.id = l.member_id
           WHERE l.watchlist_id = ANY($1) GROUP BY m.id ORDER BY m.id""",
        ids,
    )
    faces = await conn.fetch(
        """SELECT id, member_id, model_name, model_version, template FROM member_faces
           WHERE member_id = ANY($1) ORDER BY member_id, created_at, id""",
        [r["id"] for r in members],
    )
    templates: dict[str, list[SyncedTemplate]] = {}
    for f in faces:
        model = f"{f['model_name']}@{f['model_version']}"
        templates.setdefault(f["member_id"], []).append(SyncedTemplate(f["id"], bytes(f["template"]), model))
    revision = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM template_changes")
    synced = [
        SyncedMember(r["id"], r["display_name"], r["full_name"], list(r["lists"]), templates.get(r["id"], []))
        for r in members
    ]
    message = EdgeWatchlistsMessage(option, watchlists, synced, int(revision))
    return msgspec.json.encode(message)


def digest(payload: bytes) -> str:
    """What decides whether a watchlists message changed (its revision left out: a change of
    another watchlist moves the revision without changing this message)."""
    content = msgspec.json.decode(payload, type=EdgeWatchlistsMessage)
    return hashlib.sha256(msgspec.json.encode(msgspec.structs.replace(content, revision=0))).hexdigest()


Named = tuple[m.MatchedMember, m.MatchedWatchlist]


async def matched(conn: asyncpg.Connection, member_id: str, watchlist_id: str) -> Named | None:
    """The member and watchlist a device's match names, as a search answers them; None when either
    is gone or the member is not in that watchlist any more."""
    row = await conn.fetchrow(
        """SELECT m.id, m.display_name, m.full_name, m.labels, m.privacy,
                  w.id AS w_id, w.display_name AS w_display, w.full_name AS w_full, w.preview_color
           FROM watchlist_links l JOIN watchlist_members m ON m.id = l.member_id
           JOIN watchlists w ON w.id = l.watchlist_id
           WHERE l.member_id = $1 AND l.watchlist_id = $2""",
        member_id, watchlist_id,
    )  # fmt: skip
    if row is None:
        return None
    member = m.MatchedMember(
        id=row["id"], display_name=row["display_name"], full_name=row["full_name"],
        labels=msgspec.convert(_json(row["labels"]), list[Label]), privacy=msgspec.convert(_json(row["privacy"]),
                                                                                            PrivacyData),
    )  # fmt: skip
    watchlist = m.MatchedWatchlist(
        id=row["w_id"], display_name=row["w_display"], full_name=row["w_full"], preview_color=row["preview_color"]
    )
    return member, watchlist


def _json(value: object) -> object:
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


class EdgeSync:
    """Publishes settings and watchlists to the devices (any replica may; see the module doc)."""

    def __init__(self, ctx: ServiceContext, publisher: EdgePublisher, resync_s: float) -> None:
        self.ctx, self.publisher, self.resync_s = ctx, publisher, resync_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        if not self.publisher.enabled:
            log.info("edge streams: FACEGATE_EDGE_MQTT_URL is not set; devices get no settings or watchlists")
            return
        await self.ctx.bus.nc.subscribe(subjects.GALLERY_CHANGED_FILTER, queue=QUEUE, cb=self._on_change)
        self._task = asyncio.create_task(self._loop())
        self.ctx.on_shutdown.append(self.stop)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _on_change(self, _msg: Msg) -> None:
        self._wake.set()

    async def _loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.resync_s)
            await asyncio.sleep(DEBOUNCE_S)
            self._wake.clear()
            try:
                await self.sync_watchlists()
            except Exception as exc:  # Postgres or the MQTT listener away: the next round retries
                log.warning("edge streams: synchronising watchlists failed: %s", exc)

    async def sync_settings(self) -> int:
        """Publish every stream's settings (retained); the number published."""
        async with self.ctx.db.acquire() as conn:
            streams = await edge_streams.all_stored(conn)
        await self.publisher.publish(
            [(subjects.edge_topic(s.stream.client_id, "settings"), settings_message(s)) for s in streams]
        )
        return len(streams)

    async def sync_watchlists(self, edge_id: str | None = None, force: bool = False) -> None:
        """Publish the watchlists of every stream (or `edge_id`) whose message changed."""
        async with self._lock:
            async with self.ctx.db.acquire() as conn:
                streams = await edge_streams.all_stored(conn)
                changed: list[tuple[edge_streams.Stored, bytes, str | None]] = []
                for s in streams:
                    if edge_id is not None and str(s.stream.id) != edge_id:
                        continue
                    if s.sync.watchlist_sync_option == "None" and s.synced_digest is None and not force:
                        continue  # never synchronised: nothing to publish or clear
                    payload = await watchlists_message(conn, s.sync)
                    new = None if s.sync.watchlist_sync_option == "None" else digest(payload)
                    if force or new != s.synced_digest:
                        changed.append((s, payload if new is not None else b"", new))
            if not changed:
                return
            await self.publisher.publish(
                [(subjects.edge_topic(s.stream.client_id, "watchlists"), payload) for s, payload, _ in changed]
            )
            async with self.ctx.db.acquire() as conn:
                for s, _, new in changed:
                    await edge_streams.set_digest(conn, str(s.stream.id), new)

    async def forget(self, client_id: str) -> None:
        """Clear a deleted stream's (or a renamed clientId's) retained messages."""
        if self.publisher.enabled:
            await self.publisher.publish([(subjects.edge_topic(client_id, kind), b"") for kind in
                                          subjects.EDGE_TO_DEVICE])  # fmt: skip
