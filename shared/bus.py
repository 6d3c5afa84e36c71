"""Typed request/reply and events over NATS.

- `Bus.request` sends a msgspec Struct (MessagePack) to a service subject and decodes the typed
  reply; a remote domain error is re-raised as the same `FacegateError` class; no replica, a
  replica that died with the request (shared.replies) or no answer in time becomes
  `ServiceUnavailable` with a message that names the service.
- `ServiceHost` registers endpoints on a `nats.micro` service, so every worker answers NATS
  service discovery (`$SRV.PING/INFO/STATS`) and replicas share a queue group.
- Events go to JetStream (`Bus.publish_event`) as JSON, for workers and outside subscribers.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import msgspec
import nats
from nats.aio.client import DEFAULT_INBOX_PREFIX
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, NoRespondersError
from nats.errors import NoServersError as NatsNoServersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig, StreamConfig
from nats.js.errors import BadRequestError
from nats.js.object_store import ObjectStore
from nats.micro import add_service
from nats.micro.request import ERROR_CODE_HEADER, ERROR_HEADER, Request
from nats.micro.service import EndpointConfig, Service, ServiceVerb, control_subject

from shared import subjects
from shared.errors import DependencyUnavailable, FacegateError, InternalError, ServiceUnavailable, error_for_status
from shared.faults import dependency_error
from shared.nats_users import inbox_prefix
from shared.replies import ASK_RECEIPT, TAKEN_BY, Replies
from shared.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
Req = TypeVar("Req", bound=msgspec.Struct)

_encoder = msgspec.msgpack.Encoder()
_json_encoder = msgspec.json.Encoder()


class Empty(msgspec.Struct, frozen=True):
    """A request or reply that carries nothing."""


class _ErrorBody(msgspec.Struct, frozen=True):
    detail: str
    errors: dict[str, list[str]] | None = None


class Bus:
    """A NATS connection with typed requests and JetStream events."""

    def __init__(self, nc: NatsClient, settings: Settings) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()
        self.settings = settings
        self.replies = Replies(nc)
        self._blobs: ObjectStore | None = None

    @classmethod
    async def connect(cls, settings: Settings, name: str, wait_s: float = 60) -> Bus:
        """Connect to NATS, retrying while the server starts (clusters start in any order)."""

        async def on_error(exc: Exception) -> None:
            log.warning("nats: %s", exc)

        deadline = asyncio.get_running_loop().time() + wait_s
        # Replies to a service's requests come to an inbox only its NATS user may read.
        user = urlsplit(settings.nats_url).username
        inbox = inbox_prefix(unquote(user)) if user else DEFAULT_INBOX_PREFIX.decode()
        tls = ssl.create_default_context(cafile=settings.tls_ca_file) if settings.tls_ca_file else None
        while True:
            try:
                nc = await nats.connect(
                    settings.nats_url,
                    name=name,
                    inbox_prefix=inbox,
                    tls=tls,
                    connect_timeout=5,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=1,
                    allow_reconnect=True,
                    error_cb=on_error,
                )
                return cls(nc, settings)
            except (OSError, NatsNoServersError) as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.info("waiting for NATS at %s: %s", settings.nats_url, exc)
                await asyncio.sleep(0.5)

    async def close(self) -> None:
        """Let in-flight messages finish, then close."""
        if not self.nc.is_closed:
            await self.nc.drain()

    async def request(
        self,
        subject: str,
        message: msgspec.Struct,
        response_type: type[T],
        *,
        timeout: float | None = None,
    ) -> T:
        """Send `message` to the service owning `subject` and return its typed reply."""
        wait = self.settings.request_timeout if timeout is None else timeout
        try:
            reply = await self.replies.request(subject, _encoder.encode(message), wait)
        except ConnectionClosedError:
            raise DependencyUnavailable("NATS", subjects.service_of(subject), "the connection is closed") from None
        headers = reply.headers or {}
        if ERROR_CODE_HEADER in headers:
            raise _decode_error(headers, reply.data)
        return msgspec.msgpack.decode(reply.data, type=response_type)

    async def ping(self, service: str, timeout: float = 1.0) -> None:
        """Return when a replica of `service` answers NATS service discovery; raise
        `ServiceUnavailable` when none runs (readiness of the replicas that call it)."""
        try:
            await self.nc.request(control_subject(ServiceVerb.PING, service), b"", timeout=timeout)
        except NoRespondersError:
            raise ServiceUnavailable(f"no replica of the {service} service is running") from None

    async def discover(self, verb: str, service: str, wait_s: float = 0.5) -> list[dict[str, Any]]:
        """The answers of every replica of `service` to a NATS service-discovery request
        (`PING`, `INFO`, `STATS`), collected for `wait_s`."""
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox)
        try:
            await self.nc.publish(subjects.discovery(verb, service), b"", reply=inbox)
            answers: list[dict[str, Any]] = []
            deadline = time.monotonic() + wait_s
            while (left := deadline - time.monotonic()) > 0:
                try:
                    msg = await sub.next_msg(timeout=left)
                except NatsTimeoutError:
                    break
                try:
                    answers.append(msgspec.json.decode(msg.data))
                except msgspec.DecodeError:
                    log.warning("unreadable %s answer of %s", verb, service)
            return answers
        finally:
            await sub.unsubscribe()

    async def ensure_event_stream(self) -> None:
        """Create (or update) the JetStream streams that keep events: the public one for
        subscribers and the internal one between services."""
        for name, stream_subjects in (
            (self.settings.events_stream, subjects.EVENTS_STREAM_SUBJECTS),
            (self.settings.internal_stream, subjects.INTERNAL_STREAM_SUBJECTS),
        ):
            config = StreamConfig(
                name=name,
                subjects=stream_subjects,
                max_age=float(self.settings.events_max_age_s),
                max_bytes=self.settings.events_max_bytes,
            )
            try:
                await self.js.add_stream(config)
            except BadRequestError:
                # Exists with other limits: adopt the configured ones.
                await self.js.update_stream(config)

    async def blob_store(self) -> ObjectStore:
        """The JetStream object store for payloads too large for one message (see shared.blobs);
        objects expire after `blob_ttl_s` so a crashed caller leaves nothing behind for long."""
        if self._blobs is None:
            config = ObjectStoreConfig(ttl=float(self.settings.blob_ttl_s), description="large request payloads")
            self._blobs = await self.js.create_object_store(self.settings.blob_bucket, config=config)
        return self._blobs

    async def publish(self, subject: str, message: msgspec.Struct) -> None:
        """Publish `message` on core NATS, to whoever listens now (no stream, no reply)."""
        await self.nc.publish(subject, _encoder.encode(message))

    async def publish_event(self, subject: str, payload: msgspec.Struct, headers: dict[str, str] | None = None) -> None:
        """Publish an event as camelCase JSON on the events stream (acknowledged by JetStream)."""
        await self.js.publish(subject, _json_encoder.encode(payload), headers=headers)


def _decode_error(headers: dict[str, str], data: bytes) -> FacegateError:
    try:
        status = int(headers.get(ERROR_CODE_HEADER, "500"))
    except ValueError:
        status = 500
    try:
        body = msgspec.json.decode(data, type=_ErrorBody)
        return error_for_status(status, body.detail, body.errors)
    except msgspec.DecodeError:
        return error_for_status(status, headers.get(ERROR_HEADER, "remote error"))


Handler = Callable[[Any], Awaitable[msgspec.Struct | None]]


class ServiceHost:
    """One `nats.micro` service per process: discovery, queue group, typed endpoints.

    nats.micro runs a subscription's handler inline, one message at a time; each request is
    handed to its own task here (bounded by `settings.concurrency`) so slow requests do not
    queue behind each other inside a replica.
    """

    def __init__(
        self,
        bus: Bus,
        name: str,
        version: str,
        description: str,
        stats: Callable[[], object] | None = None,
    ) -> None:
        self.bus = bus
        self.name = name
        self.version = version
        self.description = description
        self.stats = stats
        self._service: Service | None = None
        # Names this process in receipts; its liveness subject lives as long as the connection.
        self.replica_id = uuid.uuid4().hex
        self._slots = asyncio.Semaphore(bus.settings.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self.instance_id = bus.settings.instance_id or uuid.uuid4().hex[:12]
        # Answered requests by outcome, and the seconds they took (metrics_text).
        self.answered = {"ok": 0, "error": 0}
        self.busy_seconds = 0.0

    async def start(self) -> None:
        """Announce the service (PING/INFO/STATS answer from now on)."""
        stats_handler = None
        if self.stats is not None:
            stats_source = self.stats

            def stats_handler(_endpoint: Any) -> Any:
                return msgspec.to_builtins(stats_source())  # nats.micro sends it with json.dumps

        await self.bus.nc.subscribe(subjects.replica_alive(self.name, self.replica_id), cb=self._answer_alive)
        self._service = await add_service(
            self.bus.nc,
            name=self.name,
            version=self.version,
            description=self.description,
            queue_group=self.name,
            metadata={"instance": self.instance_id},
            stats_handler=stats_handler,
        )

    async def add(self, subject: str, request_type: type[Req], handler: Callable[[Req], Awaitable[Any]]) -> None:
        """Serve `subject`: decode the request as `request_type`, reply with the handler's Struct."""
        assert self._service is not None, "start() first"

        async def receive(request: Request) -> None:
            if request.headers and ASK_RECEIPT in request.headers:
                # Before waiting for a slot: the caller then watches this replica (shared.replies).
                await request.respond(b"", headers={TAKEN_BY: self.replica_id})
            await self._slots.acquire()
            task = asyncio.create_task(self._handle(request, request_type, handler))
            self._tasks.add(task)
            task.add_done_callback(self._done)

        endpoint_name = subject.removeprefix(f"{subjects.RPC_PREFIX}.{self.name}.").replace(".", "-")
        await self._service.add_endpoint(EndpointConfig(name=endpoint_name, subject=subject, handler=receive))

    @staticmethod
    async def _answer_alive(msg: Msg) -> None:
        if msg.reply:
            await msg.respond(b"")

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    async def _handle(
        self, request: Request, request_type: type[Req], handler: Callable[[Req], Awaitable[Any]]
    ) -> None:
        started = time.monotonic()
        outcome = "error"
        try:
            message = msgspec.msgpack.decode(request.data, type=request_type)
            result = await handler(message)
            await request.respond(_encoder.encode(result if result is not None else Empty()))
            outcome = "ok"
        except Exception as exc:  # every failure must reach the caller as a typed answer
            error = _as_domain_error(exc, self.name, request.subject)
            body = _json_encoder.encode(_ErrorBody(detail=error.detail, errors=error.errors))
            try:
                await request.respond_error(str(error.status), error.detail[:200], data=body)
            except Exception:
                log.exception("could not send the error reply on %s", request.subject)
        finally:
            self.answered[outcome] += 1
            self.busy_seconds += time.monotonic() - started

    def metrics_text(self) -> str:
        """Prometheus exposition of this replica's requests. `in_flight` is the work waiting in
        this replica (taken from the queue group, not yet answered: running or waiting for a
        worker thread), the per-pod signal to scale a worker on (docs/deployment.md)."""
        labels = f'service="{self.name}",instance="{self.instance_id}"'
        return "\n".join([
            "# HELP facegate_requests_in_flight Requests this replica has taken and not yet answered.",
            "# TYPE facegate_requests_in_flight gauge",
            f"facegate_requests_in_flight{{{labels}}} {len(self._tasks)}",
            "# HELP facegate_requests_total Requests this replica answered, by outcome.",
            "# TYPE facegate_requests_total counter",
            *(f'facegate_requests_total{{{labels},outcome="{k}"}} {n}' for k, n in self.answered.items()),
            "# HELP facegate_request_seconds_total Time from taking a request to answering it.",
            "# TYPE facegate_request_seconds_total counter",
            f"facegate_request_seconds_total{{{labels}}} {self.busy_seconds:.6f}",
        ]) + "\n"  # fmt: skip

    async def stop(self) -> None:
        """Stop taking requests and wait for the ones in flight."""
        if self._service is not None:
            await self._service.stop()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=30)


def _as_domain_error(exc: Exception, service: str, subject: str) -> FacegateError:
    if isinstance(exc, FacegateError):
        return exc
    if isinstance(exc, msgspec.ValidationError | msgspec.DecodeError):
        # A caller sent a message of the wrong shape: that is the caller's bug, not ours.
        log.warning("bad message on %s: %s", subject, exc)
        return InternalError(f"The {service} service could not read the request: {exc}")
    unavailable = dependency_error(exc, service)
    if unavailable is not None:
        log.warning("%s unavailable on %s: %s", unavailable.dependency, subject, exc)
        return unavailable
    trace = uuid.uuid4().hex[:16]
    log.exception("unexpected error on %s (trace %s)", subject, trace)
    return InternalError(f"Unexpected error in the {service} service (trace {trace}).")
