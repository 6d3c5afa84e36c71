"""Prometheus counters of the gateway, kept in-process (no client library needed)."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Request counts and latency histograms by method, route and status."""

    def __init__(self) -> None:
        self.count: dict[tuple[str, str, int], int] = defaultdict(int)
        self.seconds: dict[tuple[str, str], float] = defaultdict(float)
        self.buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * len(BUCKETS))
        self.requests: dict[tuple[str, str], int] = defaultdict(int)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.count[(method, route, status)] += 1
        key = (method, route)
        self.seconds[key] += seconds
        self.requests[key] += 1
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[key][i] += 1

    def render(self) -> str:
        lines = [
            "# HELP facegate_http_requests_total HTTP requests by method, route and status.",
            "# TYPE facegate_http_requests_total counter",
        ]
        for (method, route, status), n in sorted(self.count.items()):
            lines.append(f'facegate_http_requests_total{{method="{method}",route="{route}",status="{status}"}} {n}')
        lines += [
            "# HELP facegate_http_request_seconds HTTP request latency.",
            "# TYPE facegate_http_request_seconds histogram",
        ]
        for (method, route), counts in sorted(self.buckets.items()):
            labels = f'method="{method}",route="{route}"'
            for bound, n in zip(BUCKETS, counts, strict=True):
                lines.append(f'facegate_http_request_seconds_bucket{{{labels},le="{bound}"}} {n}')
            total = self.requests[(method, route)]
            lines.append(f'facegate_http_request_seconds_bucket{{{labels},le="+Inf"}} {total}')
            lines.append(f"facegate_http_request_seconds_sum{{{labels}}} {self.seconds[(method, route)]:.6f}")
            lines.append(f"facegate_http_request_seconds_count{{{labels}}} {total}")
        return "\n".join(lines) + "\n"


def metrics_middleware(metrics: Metrics) -> Any:
    """ASGI middleware factory that records every HTTP request."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, capture)
            finally:
                # The route template (not the raw path) keeps the label set small: ids stay out.
                route = str(scope.get("path_template") or "unmatched")
                metrics.observe(str(scope.get("method", "GET")), route, status, time.perf_counter() - started)

        return middleware

    return factory
