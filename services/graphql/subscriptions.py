"""GraphQL subscriptions fed from Facegate's NATS events (`facegate.evt.*`, the JetStream events
stream's subjects): each replica subscribes once per kind of event, not in a queue group, so
every replica sees every event and serves any subscriber; it fans each event out to its own
WebSocket subscribers, each filtered by its `where`. A subscriber sees events from the moment
its subscription is registered with NATS (flushed before the first event is awaited).

The payloads are the NATS events' JSON as they are: they already carry the fields of the
schema's notification types (shared/messages/events.py). Subscriptions whose events Facegate
does not produce (grouping progress, ...) are accepted and stay
silent, never an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from ariadne import SubscriptionType
from graphql import GraphQLResolveInfo, get_named_type
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from services.graphql.matching import matches
from shared import subjects
from shared.messages import events as ev

log = logging.getLogger(__name__)

# Subscription field -> the event kind that feeds it.
FED: dict[str, subjects.Event] = {
    "faceCreated": ev.FACE_CREATED.event,
    "faceExtracted": ev.FACE_EXTRACTED.event,
    "matchResult": ev.MATCH_FOUND.event,
    "noMatchResult": ev.MATCH_MISSED.event,
    "matchResultInsert": ev.MATCH_STORED.event,
    "trackletCompleted": ev.TRACKLET_COMPLETED.event,
    "videoRecordNotificationStateChanged": subjects.VIDEO_RECORD_CHANGED,
    "pedestrianInserted": subjects.PEDESTRIAN_INSERTED,
    "objectInserted": subjects.OBJECT_INSERTED,
}
# Events a slow subscriber may lag behind before the oldest are dropped for it.
QUEUE_SIZE = 1000


class EventHub:
    """One NATS subscription per event kind (made on first use), fanned out to listeners."""

    def __init__(self, nc: NatsClient) -> None:
        self.nc = nc
        self._listeners: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._subscriptions: dict[str, Subscription] = {}
        self._lock = asyncio.Lock()

    async def listen(self, kind: subjects.Event) -> AsyncIterator[dict[str, Any]]:
        """The events of `kind` from now on, decoded, until the caller stops iterating."""
        subject = kind.filter
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._listeners.setdefault(subject, set()).add(queue)
        try:
            await self._subscribe(subject)
            while True:
                yield await queue.get()
        finally:
            self._listeners[subject].discard(queue)

    async def _subscribe(self, subject: str) -> None:
        async with self._lock:
            if subject not in self._subscriptions:
                self._subscriptions[subject] = await self.nc.subscribe(subject, cb=self._deliver)
            await self.nc.flush()  # the server has the subscription: nothing after this is missed

    async def _deliver(self, msg: Msg) -> None:
        listeners = self._listeners.get(msg.subject.rpartition(".")[0] + ".*")
        if not listeners:
            return
        try:
            payload = json.loads(msg.data)
        except ValueError:
            log.warning("an event on %s is not JSON; not forwarded", msg.subject)
            return
        for queue in listeners:
            if queue.full():  # a subscriber that cannot keep up loses its oldest events, not others
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(payload)

    async def close(self) -> None:
        for subscription in self._subscriptions.values():
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()
        self._subscriptions.clear()


def _where_type(info: GraphQLResolveInfo) -> Any:
    arg = info.parent_type.fields[info.field_name].args.get("where")
    return get_named_type(arg.type) if arg else None


def subscription_type(field_names: list[str]) -> SubscriptionType:
    """Sources and resolvers of every Subscription field (silent where Facegate has no events)."""
    subscription = SubscriptionType()

    async def source(_obj: Any, info: GraphQLResolveInfo, where: Any = None, **_args: Any) -> AsyncGenerator[Any]:
        kind = FED.get(info.field_name)
        if kind is None:
            await asyncio.Event().wait()  # no such events in Facegate: an open, silent stream
            return
        hub: EventHub = info.context["hub"]
        where_type = _where_type(info)
        async for event in hub.listen(kind):
            if matches(where, where_type, event):
                yield event

    def resolve(event: Any, _info: GraphQLResolveInfo, **_args: Any) -> Any:
        return event

    for name in field_names:
        subscription.set_source(name, source)
        subscription.set_field(name, resolve)
    return subscription
