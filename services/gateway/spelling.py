"""Routes in any letter case, as SmartFace's (ASP.NET) are: `/api/v1/watchlists` and
`/API/V1/Images/{id}` reach `/api/v1/Watchlists` and `/api/v1/Images/{id}`. Litestar routes by
exact spelling, so before routing the gateway spells a request's path as its route is registered;
path parameters (ids) keep the case they were sent in. As in ASP.NET, a route that takes the
request's method is preferred (`GET /api/v1/WatchlistMembers/register` is the member "register",
not the POST-only `Register`). A path that matches no route in any case is left as it is (and is
a 404 as before).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from litestar import Litestar
from litestar.types import ASGIApp, HTTPScope, Receive, Scope, Send


@dataclass
class _Node:
    static: dict[str, tuple[str, _Node]] = field(default_factory=dict)  # lower case -> (spelling, next)
    parameter: _Node | None = None
    methods: set[str] = field(default_factory=set)  # of the route that ends here


class RouteSpelling:
    """The registered routes as a tree of segments, to spell a path in any case as registered."""

    def __init__(self, routes: Iterable[tuple[str, Iterable[str]]]) -> None:
        """`routes`: (path template, its methods) of each registered route."""
        self._root = _Node()
        for template, methods in routes:
            node = self._root
            for segment in _segments(template):
                if segment.startswith("{"):
                    node.parameter = node.parameter or _Node()
                    node = node.parameter
                else:
                    node = node.static.setdefault(segment.lower(), (segment, _Node()))[1]
            node.methods.update(methods)

    def spell(self, method: str, path: str) -> str:
        """`path` with each fixed segment spelled as its route has it, a route that takes `method`
        first (else any, whose 405 then says so); unchanged when none matches."""
        segments = _segments(path)
        if "" in segments:  # a doubled slash: left to Litestar
            return path
        spelled = self._walk(self._root, segments, method)
        if spelled is None:
            spelled = self._walk(self._root, segments, None)
        if spelled is None:
            return path
        return "/" + "/".join(spelled) + ("/" if path.endswith("/") and spelled else "")

    def _walk(self, node: _Node, segments: list[str], method: str | None) -> list[str] | None:
        # A fixed segment wins over a parameter, as in Litestar's own routing; a parameter is
        # tried when the fixed one leads nowhere (or not to the method).
        if not segments:
            return [] if node.methods and (method is None or method in node.methods) else None
        first, rest = segments[0], segments[1:]
        if (fixed := node.static.get(first.lower())) is not None:
            tail = self._walk(fixed[1], rest, method)
            if tail is not None:
                return [fixed[0], *tail]
        if node.parameter is not None:
            tail = self._walk(node.parameter, rest, method)
            if tail is not None:
                return [first, *tail]
        return None


def _segments(path: str) -> list[str]:
    stripped = path.strip("/")
    return stripped.split("/") if stripped else []


def route_in_any_case(app: Litestar) -> None:
    """Make `app` route a path in any letter case (call once all its routes are registered)."""
    spelling = RouteSpelling((route.path_format, route.methods) for route in app.routes)
    routed: ASGIApp = app.asgi_handler

    async def spelled(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            http = cast("HTTPScope", scope)
            http["path"] = spelling.spell(http["method"], http["path"])
        await routed(scope, receive, send)

    app.asgi_handler = spelled
