"""Waiting for a reply without waiting on a replica that died.

NATS request/reply alone cannot tell "still working" from "died with my request": a caller whose
worker was killed waited its whole timeout. So a request asks for a receipt (`ASK_RECEIPT`): the
replica that takes it from the queue group first sends an empty message naming itself
(`TAKEN_BY`), then the reply. While waiting, the caller asks once a second whether that replica
still listens on its liveness subject (`subjects.replica_alive`, subscribed for the life of its
NATS connection, so a replica draining on SIGTERM still counts as alive): NATS answers "no
responders" at once when it is gone, and the request fails with 503 within about a second.

No subscriber at all for the subject is also known at once (NATS's no-responders status).
`Replies` is one wildcard inbox subscription per connection, each request reading its own token.
"""

from __future__ import annotations

import asyncio
import itertools

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from shared import subjects
from shared.errors import ServiceUnavailable

# Caller -> replica: "send a receipt first". Replica -> caller: the receipt, naming the replica.
ASK_RECEIPT = "Facegate-Receipt"
TAKEN_BY = "Facegate-Taken-By"
# How often a caller checks that the replica holding its request still runs, and how long that
# check may take (a busy replica answers late: only "no responders" counts as gone).
LIVENESS_CHECK_S = 1.0
LIVENESS_TIMEOUT_S = 0.5
_NO_RESPONDERS = "503"  # the status NATS puts on the reply when nobody subscribes the subject


class Replies:
    """The replies to one connection's requests, each on `<inbox>.<n>`."""

    def __init__(self, nc: NatsClient) -> None:
        self.nc = nc
        self.inbox = nc.new_inbox()
        self._waiting: dict[str, asyncio.Queue[Msg]] = {}
        self._numbers = itertools.count()
        self._subscribed = False
        self._subscribing = asyncio.Lock()

    async def _subscribe(self) -> None:
        async with self._subscribing:
            if not self._subscribed:
                await self.nc.subscribe(f"{self.inbox}.*", cb=self._deliver)
                self._subscribed = True

    async def _deliver(self, msg: Msg) -> None:
        queue = self._waiting.get(msg.subject.rpartition(".")[2])
        if queue is not None:  # else: a late reply to a request given up on
            queue.put_nowait(msg)

    async def request(self, subject: str, payload: bytes, timeout: float) -> Msg:
        """Publish a request and return its reply; `ServiceUnavailable` when nobody serves the
        subject, the replica that took it stopped, or no reply came within `timeout` seconds."""
        if not self._subscribed:
            await self._subscribe()
        token = str(next(self._numbers))
        queue: asyncio.Queue[Msg] = asyncio.Queue()
        self._waiting[token] = queue
        try:
            await self.nc.publish(subject, payload, reply=f"{self.inbox}.{token}", headers={ASK_RECEIPT: "1"})
            return await self._await_reply(queue, subject, timeout)
        finally:
            del self._waiting[token]

    async def _await_reply(self, queue: asyncio.Queue[Msg], subject: str, timeout: float) -> Msg:
        service = subjects.service_of(subject)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        taken_by: str | None = None
        while (remaining := deadline - loop.time()) > 0:
            try:
                msg = await asyncio.wait_for(queue.get(), min(remaining, LIVENESS_CHECK_S) if taken_by else remaining)
            except TimeoutError:
                if taken_by is not None and not await self._alive(service, taken_by):
                    raise ServiceUnavailable(
                        f"The {service} replica that took the request stopped before answering; retry."
                    ) from None
                continue
            headers = msg.headers or {}
            if headers.get("Status") == _NO_RESPONDERS:
                raise ServiceUnavailable(f"No replica of the {service} service is running (no responder on {subject}).")
            if TAKEN_BY in headers:
                taken_by = headers[TAKEN_BY]
                continue
            return msg
        raise ServiceUnavailable(
            f"The {service} service did not answer within {timeout:g} s; it may be overloaded or down."
        )

    async def _alive(self, service: str, replica: str) -> bool:
        try:
            await self.nc.request(subjects.replica_alive(service, replica), b"", timeout=LIVENESS_TIMEOUT_S)
        except NoRespondersError:
            return False
        except NatsTimeoutError:
            return True  # busy or slow, not known to be gone
        return True
