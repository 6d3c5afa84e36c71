"""The operators' web console at `/console`: watchlists and members with their photos, enrolment
from uploads or the webcam, live cameras and match results, searches.

Why this stack: the console is static HTML, one stylesheet and plain ES modules (`static/`), run
by the browser as written, with no framework, bundler or build step. Everything it shows comes
from the public APIs, called from the browser with the signed-in user's credentials: REST on this
port, GraphQL subscriptions over a WebSocket to the GraphQL port (graphql-transport-ws). So the
console can do nothing the API would refuse that user, the gateway holds no console logic (only
these two routes), and `make run` serves it offline from the installed package. A framework or
server-rendered templates (htmx) would add a dependency or server-side views of every API
answer, for a few pages of forms, tables and one WebSocket; plain modules are read and changed by
anyone who knows the web platform, and stay that way.

Sign-in: an API key, or OIDC (authorization code with PKCE, `static/assets/js/oidc.js`) when
FACEGATE_CONSOLE_OIDC_CLIENT_ID names the console's client at the identity provider of
FACEGATE_AUTH_ISSUER: the browser gets an access token there and sends it as a bearer token,
which the API verifies as it verifies any other (shared/auth.py).

The page holds no data (each API call carries the credentials), so, like Swagger UI, the page
and its assets are served without credentials (`permissions.py`). The page is served by a
handler, not as a file, to name the GraphQL URL (FACEGATE_GRAPHQL_URL, or this host on the
GraphQL port) in a `<meta>` tag and in its Content-Security-Policy: scripts, styles and images
only from this origin (photos as `blob:`/`data:` URLs), connections only here and to GraphQL.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar import MediaType, Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.router import Router
from litestar.static_files import create_static_files_router

from services.gateway.openapi import graphql_url
from shared.settings import Settings

CONSOLE_PATH = "/console"
ASSETS_PATH = "/console/assets"
STATIC = Path(__file__).with_name("static")
PAGE_TEMPLATE = (STATIC / "index.html").read_text()


def console_routes(settings: Settings) -> list[HTTPRouteHandler | Router]:
    """The page (`/console`) and its assets (`/console/assets/...`), for app.py."""

    @get([CONSOLE_PATH, f"{CONSOLE_PATH}/"], include_in_schema=False, media_type=MediaType.HTML)
    async def console_page(request: Request[Any, Any, Any]) -> Response[str]:
        graphql = graphql_url(settings, request)
        issuer = settings.auth_issuer if settings.console_oidc_client_id else ""
        page = PAGE_TEMPLATE
        for name, value in (
            ("GRAPHQL_URL", graphql),
            ("OIDC_ISSUER", issuer),
            ("OIDC_CLIENT_ID", settings.console_oidc_client_id),
            ("OIDC_SCOPE", settings.console_oidc_scope),
        ):
            page = page.replace(f"{{{{{name}}}}}", html.escape(value, quote=True))
        return Response(page, media_type=MediaType.HTML, headers=security_headers(graphql, issuer))

    assets = create_static_files_router(
        path=ASSETS_PATH, directories=[STATIC / "assets"], include_in_schema=False, name="console-assets"
    )
    return [console_page, assets]


def security_headers(graphql: str, issuer: str = "") -> dict[str, str]:
    """The page may load code and styles only from here, and connect only here, to GraphQL (HTTP
    and WebSocket) and to the identity provider of the OIDC sign-in (its discovery document and
    token endpoint), so a name or note shown in it can never run as a script."""
    parts = urlsplit(graphql)
    secure = parts.scheme == "https"
    sockets = f"{'wss' if secure else 'ws'}://{parts.netloc}"
    provider = urlsplit(issuer)
    identity = f" {provider.scheme}://{provider.netloc}" if issuer else ""
    policy = "; ".join(
        [
            "default-src 'self'",
            f"connect-src 'self' {parts.scheme}://{parts.netloc} {sockets}{identity}",
            "img-src 'self' data: blob:",
            "media-src 'self' blob: mediastream:",
            "style-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
