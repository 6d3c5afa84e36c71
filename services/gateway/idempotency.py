"""`Idempotency-Key` on POST and PATCH: a retried request is answered with the first result.

A client that lost the answer to a create (a timeout, a dropped connection) cannot know whether
it happened; sending the same request again with the same `Idempotency-Key` header (any string
of 1 to 255 printable ASCII characters, e.g. a UUID) is safe: the first request's status, headers
and body are kept in Redis for `FACEGATE_IDEMPOTENCY_TTL_S` (24 h) and answered again, with
`Idempotent-Replayed: true`. The same key with another method, path or body is refused (422);
a retry while the first request still runs is answered 409 with `Retry-After`. Answers of 500
and above are not kept (the work may not have happened): the retry runs again. Keys are per
client: the credentials of the request (Authorization, X-API-Key) are part of the stored key.
Without Redis, a request carrying the header is answered 503 naming Redis (its promise cannot be
kept); requests without the header never touch Redis.
"""

from __future__ import annotations

import hashlib
import logging
from http import HTTPStatus
from typing import Any, cast

import msgspec
import redis.asyncio as aioredis
import redis.exceptions
from litestar.types import (
    ASGIApp,
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)

from services.gateway.problems import PROBLEM_JSON, problem_details
from shared.errors import RETRY_AFTER_S
from shared.settings import Settings

log = logging.getLogger(__name__)

HEADER = b"idempotency-key"
REPLAYED = b"idempotent-replayed"
KEY_PREFIX = "facegate:gateway:idempotency:"
METHODS = frozenset({"POST", "PATCH"})
# Headers of the first answer not replayed (they describe that transmission, not the result).
_NOT_REPLAYED = frozenset({b"date", b"server", b"content-length", b"transfer-encoding", b"connection"})


class Stored(msgspec.Struct, frozen=True):
    """One key's record: `status` 0 while the first request runs."""

    fingerprint: str
    status: int = 0
    headers: list[tuple[bytes, bytes]] = []
    body: bytes = b""


class IdempotencyStore:
    """The records in Redis (connected lazily: the gateway starts without Redis)."""

    def __init__(self, settings: Settings) -> None:
        self.redis = aioredis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        self.ttl_s = settings.idempotency_ttl_s
        # The first request may run the whole detect -> extract -> enroll chain.
        self.pending_ttl_s = int(3 * settings.request_timeout + 10)
        self.max_body = settings.max_request_bytes

    async def claim(self, key: str, fingerprint: str) -> Stored | None:
        """Mark `key` as running; None when this request is the first, else the existing record."""
        pending = msgspec.msgpack.encode(Stored(fingerprint))
        if await self.redis.set(key, pending, nx=True, ex=self.pending_ttl_s):
            return None
        raw = cast("bytes | None", await self.redis.get(key))  # the client does not decode: bytes
        if raw is None:  # expired in between: claim again
            return await self.claim(key, fingerprint)
        return msgspec.msgpack.decode(raw, type=Stored)

    async def finish(self, key: str, record: Stored) -> None:
        await self.redis.set(key, msgspec.msgpack.encode(record), ex=self.ttl_s)

    async def forget(self, key: str) -> None:
        await self.redis.delete(key)

    async def close(self) -> None:
        await self.redis.aclose()


def idempotency_middleware(store: IdempotencyStore) -> Any:
    """ASGI middleware factory answering retried POST/PATCH requests from `store`."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            header = _header(scope, HEADER)
            method = str(scope.get("method", ""))
            if scope["type"] != "http" or method not in METHODS or header is None:
                await app(scope, receive, send)
                return
            path = str(scope.get("path", ""))
            if not 1 <= len(header) <= 255 or not header.isascii() or not header.isprintable():
                detail = "The Idempotency-Key header must be 1 to 255 printable ASCII characters."
                await _problem(send, path, 400, detail)
                return
            body = await _read_body(receive, store.max_body)
            if body is None:
                await _problem(send, path, 413, "The body is larger than FACEGATE_MAX_REQUEST_BYTES.")
                return
            key = KEY_PREFIX + _digest(header.encode(), _header(scope, b"authorization"), _header(scope, b"x-api-key"))
            fingerprint = _digest(method, path.encode(), scope.get("query_string", b""), body)
            try:
                found = await store.claim(key, fingerprint)
            except redis.exceptions.RedisError as exc:
                log.warning("idempotency store unavailable: %s", exc)
                detail = "Redis is unavailable, so the gateway cannot honour Idempotency-Key; retry."
                await _problem(send, path, 503, detail)
                return
            if found is not None:
                await _answer_again(send, path, found, fingerprint)
                return
            await _run_first(app, scope, (body, receive), send, store, key, fingerprint)

        return middleware

    return factory


async def _run_first(
    app: ASGIApp,
    scope: Scope,
    request: tuple[bytes, Receive],
    send: Send,
    store: IdempotencyStore,
    key: str,
    fingerprint: str,
) -> None:
    body, receive = request
    status = 500
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []
    sent_body = False

    async def replay_body() -> ReceiveMessage:
        nonlocal sent_body
        if sent_body:
            return await receive()  # only a disconnect can come after the body
        sent_body = True
        event: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
        return event

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers", [])]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
        await send(message)

    try:
        await app(scope, replay_body, capture)
    finally:
        try:
            if status < 500:
                kept = [(k, v) for k, v in headers if k.lower() not in _NOT_REPLAYED]
                await store.finish(key, Stored(fingerprint, status, kept, b"".join(chunks)))
            else:
                await store.forget(key)  # the work may not have happened: a retry runs it
        except redis.exceptions.RedisError as exc:
            log.warning("could not keep the answer of an Idempotency-Key request: %s", exc)


async def _answer_again(send: Send, path: str, found: Stored, fingerprint: str) -> None:
    if found.fingerprint != fingerprint:
        detail = "This Idempotency-Key was used for another request (method, path or body differ)."
        await _problem(send, path, 422, detail)
    elif found.status == 0:
        detail = "A request with this Idempotency-Key is still being processed; retry later for its answer."
        await _problem(send, path, 409, detail)
    else:
        headers = [*found.headers, (b"content-length", str(len(found.body)).encode()), (REPLAYED, b"true")]
        await _send(send, found.status, headers, found.body)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it exceeds `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            return None
        parts.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(parts)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _digest(*parts: str | bytes | None) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else (part or b"")
        h.update(len(data).to_bytes(8, "big") + data)  # length-prefixed: no ambiguity between parts
    return h.hexdigest()


async def _problem(send: Send, path: str, status: int, detail: str) -> None:
    body = msgspec.json.encode(problem_details(status, HTTPStatus(status).phrase, detail, path))
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    if status in (409, 503):
        headers.append((b"retry-after", str(RETRY_AFTER_S).encode()))
    await _send(send, status, headers, body)


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body, "more_body": False}
    await send(end)
