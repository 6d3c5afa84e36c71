"""A typed stand-in for shared.bus.Bus, for in-process gateway tests with no NATS and no workers.

Replies are set per subject (a reply, an error to raise, or a function of the request); every
request is recorded as it would cross the wire (MessagePack there and back), so tests can count
and inspect what the gateway sent. A subject with no reply set answers as the real bus does when
no replica is running: ServiceUnavailable (503).

    bus = FakeBus()
    bus.reply(subjects.WATCHLIST_GET, NotFound("no such watchlist"))
    app = create_app(Settings(), bus=bus)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import msgspec
from nats.aio.client import Client as NatsClient

from shared import subjects
from shared.bus import Bus
from shared.errors import ServiceUnavailable
from shared.settings import Settings

T = TypeVar("T")

# What a subject answers: a reply Struct, an exception to raise, or a function of the request
# (which may itself raise).
Handler = Callable[[Any], msgspec.Struct]
Reply = msgspec.Struct | Exception | Handler

_encoder = msgspec.msgpack.Encoder()


@dataclass(frozen=True)
class Sent:
    """One request the gateway sent: its subject and its message as the service would decode it."""

    subject: str
    message: msgspec.Struct


def service_of(subject: str) -> str:
    """The service owning an RPC subject (`facegate.rpc.<service>.<...>`), as the bus names it."""
    return subject.split(".")[2] if subject.startswith(subjects.RPC_PREFIX) else subject


def no_responders(subject: str) -> ServiceUnavailable:
    """What Bus.request raises when no replica of the subject's service runs."""
    return ServiceUnavailable(
        f"No replica of the {service_of(subject)} service is running (no responder on {subject})."
    )


def timed_out(subject: str, wait_s: float = Settings().request_timeout) -> ServiceUnavailable:
    """What Bus.request raises when the service did not answer in time (by default: the default
    FACEGATE_REQUEST_TIMEOUT)."""
    return ServiceUnavailable(
        f"The {service_of(subject)} service did not answer within {wait_s:g} s; it may be overloaded or down."
    )


@dataclass
class FakeNats:
    """The part of the NATS client the gateway touches: readiness and the lifespan's subscriptions
    (GalleryFreshness.follow), which are recorded and never delivered."""

    is_connected: bool = True
    is_closed: bool = False
    max_payload: int = 1024 * 1024  # NATS's default: images under it travel inline (shared/blobs.py)
    subscribed: list[str] = field(default_factory=list)

    async def subscribe(self, subject: str, cb: Callable[[Any], Awaitable[None]] | None = None, **_: Any) -> None:
        self.subscribed.append(subject)


class FakeBus(Bus):
    """Answers `request` from a table of replies per subject and records every request.

    A Bus subclass because Litestar checks injected dependencies against their annotation (`bus:
    Bus`). It has no NATS connection: Bus.__init__ is not called, so anything of the bus beyond
    `request` and `nc` (JetStream events, the blob store) fails loudly rather than half-works."""

    def __init__(self, settings: Settings | None = None) -> None:  # no super().__init__: no NATS
        self.settings = settings or Settings()
        self.nats = FakeNats()
        # The one cast: the gateway touches only subscribe() and is_connected of the client.
        self.nc = cast(NatsClient, self.nats)
        self.sent: list[Sent] = []
        self._replies: dict[str, Reply] = {}

    def reply(self, subject: str, answer: Reply) -> FakeBus:
        """Answer every request on `subject` with `answer` (replacing an earlier one)."""
        self._replies[subject] = answer
        return self

    def forget(self) -> None:
        """Drop every reply and recorded request (one app, many tests)."""
        self.sent.clear()
        self._replies.clear()

    def to(self, subject: str) -> list[msgspec.Struct]:
        """The messages sent on `subject`, in order."""
        return [s.message for s in self.sent if s.subject == subject]

    async def close(self) -> None:
        """Nothing to drain."""

    async def ping(self, service: str, timeout: float = 1.0) -> None:
        """Every worker runs (readiness follows the NATS connection only)."""

    async def request(
        self, subject: str, message: msgspec.Struct, response_type: type[T], *, timeout: float | None = None
    ) -> T:
        """Record the request and answer it as Bus.request does: a typed reply, or a raised error."""
        # Through MessagePack as on the wire: a message that would not encode fails here too.
        self.sent.append(Sent(subject, msgspec.msgpack.decode(_encoder.encode(message), type=type(message))))
        answer = self._replies.get(subject)
        if answer is None:
            raise no_responders(subject)
        if isinstance(answer, Exception):
            raise answer
        reply = answer if isinstance(answer, msgspec.Struct) else answer(self.sent[-1].message)
        # Decoded into the type the caller asked for, so a reply of the wrong shape fails as it would.
        return msgspec.msgpack.decode(_encoder.encode(reply), type=response_type)
