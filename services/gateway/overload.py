"""Admission under overload: the gateway computes at most FACEGATE_MAX_IN_FLIGHT API requests
at once; a request beyond that waits for a place at most FACEGATE_QUEUE_WAIT_S, then gets 429
Too Many Requests (problem details, `Retry-After`).

Without it, a client sending faster than the workers answer made every request wait longer
(the queue in NATS only grew), until the slowest reached the request timeout as 503s: p95 grew
without bound. With it, an admitted request's latency is bounded by the queue wait plus the time
of `max_in_flight` requests shared by the workers, and the excess is refused at once, cheaply,
with a time to come back. Only the API (`/api/...`) is limited: health, metrics, the OpenAPI
document and the console's files are always answered, and so is a camera's MJPEG preview (a
stream held open as long as someone watches: it would hold a place for good).
"""

from __future__ import annotations

import asyncio
import math
from http import HTTPStatus
from typing import Any

import msgspec
from litestar.types import ASGIApp, Receive, Scope, Send

from services.gateway.problems import PROBLEM_JSON, problem_details

LIMITED_PREFIX = "/api/"
STREAMS = ("/preview",)  # paths (lower case) answered as open-ended streams


def limited(path: str) -> bool:
    return path.startswith(LIMITED_PREFIX) and not path.lower().endswith(STREAMS)


class Admission:
    """The in-flight limit and the queue wait of one gateway replica."""

    def __init__(self, max_in_flight: int, queue_wait_s: float) -> None:
        self.max_in_flight = max_in_flight
        self.queue_wait_s = queue_wait_s
        self._slots = asyncio.Semaphore(max_in_flight)
        self.in_flight = 0
        self.waiting = 0
        self.refused = 0

    @property
    def retry_after_s(self) -> int:
        """What a refused client is told to wait: the queue wait, at least a second."""
        return max(1, math.ceil(self.queue_wait_s))

    async def _enter(self) -> bool:
        """Take a place, waiting at most the queue wait; False when none came free."""
        if not self._slots.locked():
            await self._slots.acquire()
            return True
        if self.queue_wait_s <= 0:
            return False
        self.waiting += 1
        try:
            await asyncio.wait_for(self._slots.acquire(), self.queue_wait_s)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting -= 1

    def metrics_text(self) -> str:
        return "\n".join([
            "# HELP facegate_gateway_in_flight API requests the gateway computes now.",
            "# TYPE facegate_gateway_in_flight gauge",
            f"facegate_gateway_in_flight {self.in_flight}",
            "# HELP facegate_gateway_waiting API requests waiting for a place (FACEGATE_QUEUE_WAIT_S at most).",
            "# TYPE facegate_gateway_waiting gauge",
            f"facegate_gateway_waiting {self.waiting}",
            "# HELP facegate_gateway_refused_total API requests answered 429: no place within the queue wait.",
            "# TYPE facegate_gateway_refused_total counter",
            f"facegate_gateway_refused_total {self.refused}",
        ]) + "\n"  # fmt: skip

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The ASGI middleware (a Litestar middleware factory: pass the bound method)."""

        async def admit(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not limited(str(scope["path"])):
                await app(scope, receive, send)
                return
            if not await self._enter():
                self.refused += 1
                await self._refuse(send, str(scope["path"]))
                return
            self.in_flight += 1
            try:
                await app(scope, receive, send)
            finally:
                self.in_flight -= 1
                self._slots.release()

        return admit

    async def _refuse(self, send: Send, path: str) -> None:
        detail = (
            f"The gateway is computing {self.max_in_flight} requests and none finished within "
            f"{self.queue_wait_s:g} s; retry after {self.retry_after_s} s."
        )
        body = msgspec.json.encode(problem_details(429, HTTPStatus(429).phrase, detail, path))
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(self.retry_after_s).encode()),
        ]
        start: Any = {"type": "http.response.start", "status": 429, "headers": headers}
        await send(start)
        end: Any = {"type": "http.response.body", "body": body, "more_body": False}
        await send(end)
