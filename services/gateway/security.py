"""The gateway's security layer: authentication, authorisation by role, the audit log and the
access log, in one ASGI middleware that every HTTP route passes through.

For each request, after routing (the route template and its path parameters are known):
1. the route's Rule (`permissions.py`): open, or the least role it needs;
2. credentials -> Principal (`auth.py`): 401 with `WWW-Authenticate` when missing or invalid,
   403 when the role is below the rule's; both as problem details (`problems.problem`);
3. the handler runs; then an AuditEntry for changes and searches (`audit.py`, queued, never
   waited for) and one access-log line (`shared.logs.log_access`).

`Security.from_settings` builds the parts once per app; `app.py` adds its middleware, lifespan
and state. The GraphQL service checks the same credentials itself (services/graphql/access.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from litestar import Litestar, Request
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from services.gateway.audit import AuditEntry, AuditLog, AuthOutcome
from services.gateway.permissions import AuditAction, rule_for
from services.gateway.problems import problem
from shared.auth import Authenticator, Principal, Unauthenticated
from shared.logs import TrustedProxies, log_access
from shared.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Security:
    """What one gateway app needs for authentication and auditing."""

    authenticator: Authenticator
    audit: AuditLog
    proxies: TrustedProxies
    access_log: bool
    instance: str

    @classmethod
    def from_settings(cls, settings: Settings, authenticator: Authenticator | None = None) -> Security:
        """ValueError on unusable auth settings (`auth.startup_checks` reports them first)."""
        return cls(
            authenticator=authenticator or Authenticator.from_settings(settings),
            audit=AuditLog(settings.database_url, settings.audit_retention_days),
            proxies=TrustedProxies(settings.trusted_proxies),
            access_log=settings.access_log,
            instance=settings.instance_id,
        )

    @asynccontextmanager
    async def lifespan(self, _app: Litestar) -> AsyncGenerator[None, None]:
        await self.audit.start()
        try:
            yield
        finally:
            await self.audit.stop()

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """The ASGI middleware (a Litestar middleware factory: pass the bound method)."""

        async def guard(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                await self._handle(app, cast("HTTPScope", scope), receive, send)
            else:  # no WebSocket route here (GraphQL's are in its own service)
                await app(scope, receive, send)

        return guard

    async def _handle(self, app: ASGIApp, scope: HTTPScope, receive: Receive, send: Send) -> None:
        started, at = time.perf_counter(), datetime.now(UTC)
        request = Handled(scope["method"], scope.get("path_template") or scope["path"], scope)
        rule = rule_for(request.method, request.route)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status = 500
        principal: Principal | None = None
        outcome: AuthOutcome = "none"

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            if rule.role is None:
                await app(scope, receive, capture)
                return
            try:
                principal = await self.authenticator.authenticate(
                    headers.get("authorization"), headers.get("x-api-key")
                )
            except Unauthenticated as exc:
                outcome = "missing" if exc.missing else "invalid"
                detail = "Credentials are required: a bearer token or an API key." if exc.missing else exc.reason
                challenge = self.authenticator.challenge(exc)
                await self._refuse(scope, receive, capture, 401, "Unauthorized", detail, challenge)
                return
            outcome = principal.auth
            if not principal.may(rule.role):
                have = principal.role.name.lower() if principal.role else "no role"
                detail = f"This operation needs the {rule.role.name.lower()} role ({have} given)."
                challenge = self.authenticator.challenge(insufficient=True)
                await self._refuse(scope, receive, capture, 403, "Forbidden", detail, challenge)
                return
            await app(scope, receive, capture)
        finally:
            peer = scope.get("client")
            client = self.proxies.client(peer[0] if peer else None, headers.get("x-forwarded-for"))
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            if rule.audit is not None:
                self.audit.record(
                    request.audit_entry(rule.audit, at, principal, outcome, client, status, duration_ms, self.instance)
                )
            if self.access_log:
                # Probes and Swagger assets every few seconds would drown the rest: DEBUG for open routes.
                level = logging.DEBUG if rule.role is None else logging.INFO
                subject = principal.subject if principal else None
                log_access(level, method=request.method, path=scope["path"], status=status,
                           duration_ms=duration_ms, subject=subject, client=client)  # fmt: skip

    async def _refuse(
        self, scope: HTTPScope, receive: Receive, send: Send, status: int, title: str, detail: str, challenge: str
    ) -> None:
        request: Request[Any, Any, Any] = Request(scope, receive)
        response = problem(request, status, title, detail)
        response.headers["WWW-Authenticate"] = challenge
        await response.to_asgi_response(app=None, request=request)(scope, receive, send)


@dataclass(frozen=True)
class Handled:
    """The routed request, as the audit log names it."""

    method: str
    route: str  # the template: /api/v1/Watchlists/{id}
    scope: HTTPScope

    def audit_entry(
        self, action: AuditAction, at: datetime, principal: Principal | None, outcome: AuthOutcome,
        client: str | None, status: int, duration_ms: float, instance: str,
    ) -> AuditEntry:  # fmt: skip
        return AuditEntry(
            at=at,
            action=action,
            subject=principal.subject if principal else None,
            name=principal.name if principal else None,
            auth=outcome,
            role=principal.role.name.lower() if principal and principal.role else None,
            method=self.method,
            route=self.route,
            resource_ids={k: str(v) for k, v in (self.scope.get("path_params") or {}).items()},
            client=client,
            status=status,
            duration_ms=duration_ms,
            instance=instance,
        )
