"""The GraphQL endpoint as an ASGI app: `/graphql/` and `/graphql` on the GraphQL port.

HTTP: POST runs any query, GET runs a query given as `?query=` (and shows the GraphQL IDE,
`ide.py`, to a browser). WebSocket: subscriptions in either sub-protocol clients use, picked by
the one the client offers: `graphql-transport-ws` (the graphql-ws library) or `graphql-ws`
(Apollo's older subscriptions-transport-ws). Ariadne implements both; one app per protocol
shares the schema. Credentials, roles and the access log: `access.py`.

Errors are always GraphQL's `{"errors": [{message, locations, path, extensions: {code}}]}`:
HTTP 200 for a document that parses (validation and execution errors included), 400 for a
request that is not GraphQL (bad JSON, no query, a syntax error). An unexpected failure is
logged with a trace id and answered without its text, never as a 500; Postgres unreachable is
an error naming it (`SERVICE_UNAVAILABLE`), and HTTP 503 with `Retry-After` when nothing was read.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

import asyncpg
from ariadne.asgi import GraphQL
from ariadne.asgi.handlers import GraphQLHTTPHandler, GraphQLWebsocketHandlerBase
from ariadne.exceptions import HttpError
from graphql import GraphQLError, GraphQLSchema
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from services.graphql.access import Access, LegacyWSHandler, TransportWSHandler, parse_document
from services.graphql.ide import OfflineIDE
from services.graphql.limits import validation_rules
from services.graphql.queries import Reader
from services.graphql.subscriptions import EventHub
from shared.errors import RETRY_AFTER_S
from shared.faults import dependency_error

log = logging.getLogger(__name__)
# Ariadne logs every error of every request; clients' errors are answered, not logged, and
# unexpected ones are logged once by `format_error` with their trace id.
REQUEST_LOG = "services.graphql.requests"
logging.getLogger(REQUEST_LOG).setLevel(logging.CRITICAL)

PATHS = frozenset({"/graphql", "/graphql/"})
REQUEST_ERROR_CODES = frozenset({"GRAPHQL_PARSE_FAILED", "BAD_REQUEST"})
# A server the query needs (Postgres) is down: the error names it, the answer is a 503.
UNAVAILABLE_CODE = "SERVICE_UNAVAILABLE"


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """GraphQL's error shape with an `extensions.code` on every error."""
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    original = error.original_error
    unavailable = dependency_error(original, "graphql") if original is not None else None
    if unavailable is not None:
        log.warning("%s unavailable at %s: %s", unavailable.dependency, error.path, original)
        formatted["message"] = unavailable.detail
        extensions = {"code": UNAVAILABLE_CODE, "dependency": unavailable.dependency}
    elif error.path is not None and original is not None and not isinstance(original, GraphQLError):
        trace = uuid.uuid4().hex[:16]
        log.error("unexpected error at %s (trace %s)", error.path, trace, exc_info=original)
        formatted["message"] = f"Unexpected Execution Error (trace {trace})."
        extensions = {"code": "INTERNAL_SERVER_ERROR", "trace": trace}
    elif "code" not in extensions:
        extensions["code"] = _code(error)
    formatted["extensions"] = extensions
    return formatted


def _code(error: GraphQLError) -> str:
    message = error.message
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if message.startswith("Variable '$") or "got invalid value" in message:
        return "BAD_USER_INPUT"
    if error.path is None:
        return "GRAPHQL_VALIDATION_FAILED" if error.nodes else "BAD_REQUEST"
    return "EXECUTION_ERROR"


def _error_body(message: str, code: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


class HttpHandler(GraphQLHTTPHandler):
    """Ariadne's HTTP handler with GraphQL-shaped answers for requests it cannot read."""

    async def graphql_http_server(self, request: Request) -> Response:
        try:
            data = await self.extract_data_from_request(request)
        except HttpError as error:
            return JSONResponse(_error_body(error.message or "Bad request.", "BAD_REQUEST"), HTTPStatus.BAD_REQUEST)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return JSONResponse(_error_body("The request body is not JSON.", "BAD_REQUEST"), HTTPStatus.BAD_REQUEST)
        success, result = await self.execute_graphql_query(request, data)
        return await self.create_json_response(request, result, success)

    async def create_json_response(self, request: Request, result: dict[str, Any], success: bool) -> Response:
        codes = {e.get("extensions", {}).get("code") for e in result.get("errors") or []}
        failed = result.get("data") is None and bool(codes) and codes <= REQUEST_ERROR_CODES
        if result.get("data") is None and codes == {UNAVAILABLE_CODE}:
            # Nothing could be read (Postgres down): a 503 that clients and proxies retry.
            headers = {"Retry-After": str(RETRY_AFTER_S)}
            return JSONResponse(result, status_code=HTTPStatus.SERVICE_UNAVAILABLE, headers=headers)
        return JSONResponse(result, status_code=HTTPStatus.BAD_REQUEST if failed else HTTPStatus.OK)


class GraphQLApp:
    """Routes `/graphql` to the HTTP or the right WebSocket handler; `/healthz` and `/readyz`.
    Callers are checked by `access` (by default none is configured: everyone may)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        pool: asyncpg.Pool | None,
        hub: EventHub | None = None,
        ready: Callable[[], tuple[bool, str]] = lambda: (True, "ready"),
        access: Access | None = None,
    ) -> None:
        self.ready = ready
        self.access = access or Access.open()
        ide = OfflineIDE()

        def context(request: Any, _data: Any = None) -> dict[str, Any]:
            return {"request": request, "reader": Reader(pool, schema), "hub": hub}

        def app(websocket_handler: GraphQLWebsocketHandlerBase) -> GraphQL:
            return GraphQL(
                schema, context_value=context, query_parser=parse_document, validation_rules=validation_rules,
                execute_get_queries=True, explorer=ide, error_formatter=format_error, http_handler=HttpHandler(),
                websocket_handler=websocket_handler, logger=REQUEST_LOG,
            )  # fmt: skip

        self.current = app(TransportWSHandler(self.access))
        self.legacy = app(LegacyWSHandler(self.access))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return  # resources are opened and closed by the service's runtime, not here
        path = scope.get("path", "")
        if scope["type"] == "websocket":
            if path not in PATHS:
                await send({"type": "websocket.close", "code": 4404})
                return
            offered = scope.get("subprotocols") or []
            legacy = "graphql-ws" in offered and "graphql-transport-ws" not in offered
            await (self.legacy if legacy else self.current)(scope, receive, send)
            return
        if path in PATHS:
            await self.access.serve_http(self.current, scope, receive, send)
            return
        response: Response
        if path == "/healthz":
            response = PlainTextResponse("ok")
        elif path == "/readyz":
            ok, text = self.ready()
            response = PlainTextResponse(text, 200 if ok else 503)
        elif path == "/":
            response = RedirectResponse("/graphql/")
        else:
            response = JSONResponse(
                _error_body(f"Nothing at {path}: GraphQL is served at /graphql/.", "NOT_FOUND"), 404
            )
        await response(scope, receive, send)
