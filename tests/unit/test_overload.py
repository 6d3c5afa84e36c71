"""services/gateway/overload.py: a bounded number of API requests in flight, a bounded wait for a
place, then 429 with Retry-After; what is not the API is never held back."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from services.gateway.overload import Admission


class Held:
    """An ASGI app whose requests answer 200 once `release` is set."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.entered = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.entered += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok", "more_body": False})


async def call(app: Any, path: str = "/api/v1/Watchlists") -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    await app({"type": "http", "path": path, "method": "GET", "headers": []}, receive, send)
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


def test_beyond_the_limit_a_request_is_refused_429_once_its_wait_is_over() -> None:
    async def run() -> None:
        inner = Held()
        admission = Admission(max_in_flight=2, queue_wait_s=0.05)
        app = admission.middleware(inner)
        first = [asyncio.create_task(call(app)) for _ in range(2)]
        while inner.entered < 2:
            await asyncio.sleep(0)
        status, headers, body = await call(app)  # both places taken for longer than the wait
        assert status == 429 and headers[b"retry-after"] == b"1"
        assert headers[b"content-type"] == b"application/problem+json"
        assert json.loads(body)["status"] == 429
        inner.release.set()
        assert [s for s, _, _ in await asyncio.gather(*first)] == [200, 200]
        assert admission.refused == 1 and admission.in_flight == 0
        assert "facegate_gateway_refused_total 1" in admission.metrics_text()

    asyncio.run(run())


def test_a_request_waits_for_a_place_within_the_queue_wait() -> None:
    async def run() -> None:
        inner = Held()
        admission = Admission(max_in_flight=1, queue_wait_s=30)
        app = admission.middleware(inner)
        first = asyncio.create_task(call(app))
        while inner.entered < 1:
            await asyncio.sleep(0)
        second = asyncio.create_task(call(app))
        while admission.waiting < 1:
            await asyncio.sleep(0)
        assert inner.entered == 1  # the second waits, it is not computed beside the first
        inner.release.set()
        assert [(await t)[0] for t in (first, second)] == [200, 200]
        assert admission.refused == 0

    asyncio.run(run())


def test_what_is_not_the_api_is_never_held_back() -> None:
    async def run() -> None:
        inner = Held()
        inner.release.set()
        admission = Admission(max_in_flight=1, queue_wait_s=0)
        await admission._slots.acquire()  # the one place taken
        assert (await call(admission.middleware(inner), "/readyz"))[0] == 200
        assert (await call(admission.middleware(inner), "/api/v1/Cameras/c1/Preview"))[0] == 200
        assert (await call(admission.middleware(inner)))[0] == 429

    asyncio.run(run())
