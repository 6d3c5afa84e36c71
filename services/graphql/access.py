"""Who may use the GraphQL API: the REST gateway's credentials and roles (shared/auth.py, one
Authenticator), and one access-log line per operation, since queries and subscriptions read
biometric data (faces, their images' ids, match results).

Every root of the schema reads (it has no mutations), so every operation needs the viewer role.
- HTTP (`POST`, and `GET` with `?query=`): `Authorization: Bearer <JWT>`, `Authorization: ApiKey
  <key>` or `X-API-Key: <key>`. Missing or invalid: 401 with `WWW-Authenticate`; no viewer role:
  403; both as GraphQL errors (`extensions.code` UNAUTHENTICATED, FORBIDDEN).
- WebSocket: the credentials in the `connection_init` payload (keys `Authorization`, `X-API-Key`,
  any case), else the upgrade request's headers (clients other than browsers can set those).
  Refused, graphql-transport-ws closes the socket with 4401 (missing or invalid) or 4403 (role
  too low), the codes that protocol names; Apollo's graphql-ws answers `connection_error` and
  closes. They are checked once per connection: a subscription outlives its token's `exp`.
- Open without credentials, as on the gateway: the IDE page (a `GET` without a query; it holds
  no data), `OPTIONS`, `/healthz` and `/readyz`.

The access-log line (`facegate.access`, as the gateway's) has the method (POST, GET, or WS for a
WebSocket), path, status (HTTP's; on a WebSocket 101 for an operation started, the close code
for a refused connection), duration, subject, client, and the root fields the operation reads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from ariadne.asgi.handlers import GraphQLTransportWSHandler, GraphQLWSHandler
from ariadne.asgi.handlers.graphql_transport_ws import ClientContext
from ariadne.exceptions import WebSocketConnectionError
from ariadne.types import Operation
from graphql import DocumentNode, FieldNode, OperationDefinitionNode, parse
from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from shared.auth import Authenticator, Principal, Role, Unauthenticated
from shared.logs import TrustedProxies, log_access
from shared.settings import Settings

NEEDED = Role.VIEWER  # queries and subscriptions only read
CALLER = "facegate.caller"  # the scope key of a request's or WebSocket's Caller
MAX_CLOSE_REASON = 123  # bytes a WebSocket close frame's reason may hold


@dataclass
class Caller:
    """Who sent an HTTP request or opened a WebSocket, and what its latest operation reads."""

    principal: Principal | None = None
    fields: list[str] = field(default_factory=list)
    parsed_at: float = 0.0


class Refused(Exception):
    """Credentials missing or invalid (401), or a role too low (403)."""

    def __init__(self, status: HTTPStatus, code: str, message: str, challenge: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.challenge = status, code, message, challenge

    @property
    def close_code(self) -> int:
        return 4000 + self.status  # graphql-transport-ws: 4401 Unauthorized, 4403 Forbidden

    def response(self) -> JSONResponse:
        body = {"errors": [{"message": self.message, "extensions": {"code": self.code}}]}
        return JSONResponse(body, self.status, headers={"WWW-Authenticate": self.challenge})


def caller_of(scope: Scope) -> Caller:
    """The Caller of this request or WebSocket (made on first use)."""
    caller: Caller = scope.setdefault(CALLER, Caller())
    return caller


def parse_document(context: Any, data: dict[str, Any]) -> DocumentNode:
    """Ariadne's query parser: parses, and notes the root fields for the access log."""
    document = parse(data["query"])
    caller = caller_of(context["request"].scope)
    caller.fields, caller.parsed_at = root_fields(document, data.get("operationName")), time.perf_counter()
    return document


def root_fields(document: DocumentNode, operation_name: str | None) -> list[str]:
    """The fields at the root of the operation that runs (the named one, or the only one)."""
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and (
            operation_name is None or (definition.name and definition.name.value == operation_name)
        ):
            return [s.name.value for s in definition.selection_set.selections if isinstance(s, FieldNode)]
    return []


@dataclass
class Access:
    """Authentication and the access log of one GraphQL process."""

    authenticator: Authenticator
    proxies: TrustedProxies
    access_log: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, authenticator: Authenticator) -> Access:
        return cls(authenticator, TrustedProxies(settings.trusted_proxies), settings.access_log)

    @classmethod
    def open(cls) -> Access:
        """No authentication configured: every caller may (what `make run` serves on loopback)."""
        return cls(Authenticator(verifier=None, api_keys=[]), TrustedProxies(""))

    async def check(self, authorization: str | None, api_key: str | None) -> Principal:
        """The caller, if it may read; Refused otherwise."""
        try:
            principal = await self.authenticator.authenticate(authorization, api_key)
        except Unauthenticated as exc:
            message = "Credentials are required: a bearer token or an API key." if exc.missing else exc.reason
            raise Refused(
                HTTPStatus.UNAUTHORIZED, "UNAUTHENTICATED", message, self.authenticator.challenge(exc)
            ) from exc
        if not principal.may(NEEDED):
            have = principal.role.name.lower() if principal.role else "no role"
            message = f"GraphQL needs the {NEEDED.name.lower()} role ({have} given)."
            raise Refused(HTTPStatus.FORBIDDEN, "FORBIDDEN", message, self.authenticator.challenge(insufficient=True))
        return principal

    async def serve_http(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """An HTTP request to the GraphQL path: to `app` if its caller may, then its log line."""
        started, status = time.perf_counter(), 500
        headers, caller = Headers(scope=scope), caller_of(scope)

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        opened = scope["method"] == "OPTIONS" or (
            scope["method"] in ("GET", "HEAD") and not QueryParams(scope["query_string"]).get("query")
        )
        try:
            if not opened:
                try:
                    caller.principal = await self.check(headers.get("authorization"), headers.get("x-api-key"))
                except Refused as refused:
                    await refused.response()(scope, receive, capture)
                    return
            await app(scope, receive, capture)
        finally:
            # The IDE page and OPTIONS carry no data: DEBUG, as the gateway logs its open routes.
            level = logging.DEBUG if opened else logging.INFO
            self.log(level, scope["method"], scope, headers, status, started, caller)

    async def check_connection(self, websocket: WebSocket, payload: Any) -> None:
        """A WebSocket's `connection_init`: its credentials, else the upgrade request's."""
        sent = (
            {str(k).lower(): v for k, v in payload.items() if isinstance(v, str)} if isinstance(payload, dict) else {}
        )
        source: Mapping[str, str] = sent if {"authorization", "x-api-key"} & set(sent) else websocket.headers
        caller = caller_of(websocket.scope)
        try:
            caller.principal = await self.check(source.get("authorization"), source.get("x-api-key"))
        except Refused as refused:
            self.log(
                logging.INFO, "WS", websocket.scope, websocket.headers, refused.close_code, time.perf_counter(), caller
            )
            raise

    def on_operation(self, websocket: WebSocket, _operation: Operation) -> None:
        """Ariadne's hook when a WebSocket operation starts: its log line."""
        caller = caller_of(websocket.scope)
        self.log(logging.INFO, "WS", websocket.scope, websocket.headers, 101, caller.parsed_at, caller)

    def log(
        self, level: int, method: str, scope: Scope, headers: Mapping[str, str], status: int, started: float,
        caller: Caller,
    ) -> None:  # fmt: skip
        if not self.access_log:
            return
        peer = scope.get("client")
        client = self.proxies.client(peer[0] if peer else None, headers.get("x-forwarded-for"))
        subject = caller.principal.subject if caller.principal else None
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        log_access(level, method=method, path=scope["path"], status=status, duration_ms=duration_ms,
                   subject=subject, client=client, fields=",".join(caller.fields) or None)  # fmt: skip


class TransportWSHandler(GraphQLTransportWSHandler):
    """graphql-transport-ws whose `connection_init` must carry credentials that may read."""

    def __init__(self, access: Access) -> None:
        super().__init__(on_operation=access.on_operation)
        self.access = access

    async def handle_websocket_connection_init_message(
        self, websocket: WebSocket, message: dict[str, Any], client_context: ClientContext
    ) -> None:
        if not client_context.connection_init_received:  # a second init is ariadne's to refuse (4429)
            try:
                await self.access.check_connection(websocket, message.get("payload"))
            except Refused as refused:
                client_context.connection_init_received = True
                reason = refused.message.encode()[:MAX_CLOSE_REASON].decode(errors="ignore")
                await websocket.close(refused.close_code, reason)
                return
        await super().handle_websocket_connection_init_message(websocket, message, client_context)


class LegacyWSHandler(GraphQLWSHandler):
    """Apollo's graphql-ws: a refused `connection_init` answers `connection_error`, then closes."""

    def __init__(self, access: Access) -> None:
        async def on_connect(websocket: WebSocket, payload: Any) -> None:
            try:
                await access.check_connection(websocket, payload)
            except Refused as refused:
                raise WebSocketConnectionError(
                    {"message": refused.message, "extensions": {"code": refused.code}}
                ) from None

        super().__init__(on_connect=on_connect, on_operation=access.on_operation)
