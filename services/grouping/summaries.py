"""Keeps the tracklet templates camera_ingest announces (internal `tracklet.summarised` events,
on the internal stream that outside subscribers cannot read) in `grouping_tracklets`, where
runs read them.

One durable JetStream consumer shared by every replica (each event reaches one of them), so a
replica that was down, or all of them, catch up from the events stream instead of losing
tracklets. An event is acknowledged once stored (or known to be useless: its tracklet was
deleted), so a replica dying in between leaves it to another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig

from services.grouping import tracklets
from shared import subjects
from shared.messages.grouping import TrackletSummary
from shared.runtime import ServiceContext

log = logging.getLogger(__name__)

DURABLE = "grouping-tracklets"
BATCH = 64


class Summaries:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.stored = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        config = ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_ack_pending=1024)
        subscription = await self.ctx.bus.js.pull_subscribe(
            subjects.TRACKLET_SUMMARISED.filter, durable=DURABLE, stream=self.ctx.settings.internal_stream,
            config=config,
        )  # fmt: skip
        self._task = asyncio.create_task(self._follow(subscription))
        self.ctx.on_shutdown.append(self.stop)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _follow(self, subscription: object) -> None:
        fetch = subscription.fetch  # type: ignore[attr-defined]
        while True:
            try:
                messages: list[Msg] = await fetch(BATCH, timeout=1)
            except (NatsTimeoutError, TimeoutError):
                continue
            except Exception:  # NATS reconnecting: try again shortly
                log.exception("fetching tracklet summaries failed")
                await asyncio.sleep(1)
                continue
            for message in messages:
                await self._store(message)

    async def _store(self, message: Msg) -> None:
        try:
            summary = msgspec.json.decode(message.data, type=TrackletSummary)
        except msgspec.DecodeError:
            log.warning("unreadable tracklet summary on %s; dropped", message.subject)
            await message.ack()
            return
        try:
            async with self.ctx.db.acquire() as conn:
                if await tracklets.insert(conn, summary):
                    self.stored += 1
        except Exception:  # Postgres away: JetStream delivers it again after ack_wait
            log.exception("storing tracklet %s failed", summary.id)
            return
        await message.ack()
