"""The OpenAPI document's settings: the tag of Facegate's additions, where the document and an
offline Swagger UI are served, and the link to the GraphQL IDE. Controllers import the tag from
here; app.py the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui
from litestar import MediaType, Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag

from shared.settings import Settings
from shared.version import VERSION

FACEGATE_TAG = "Facegate"  # marks Facegate's additions to the SmartFace API

# Swagger UI's files ship inside the swagger-ui-py wheel: the UI works without internet.
SWAGGER_ASSETS = Path(swagger_ui.__file__).parent / "static"
ASSETS_PATH = "/swagger-assets"

# Swagger UI's Authorize button takes either; shared/auth.py verifies them. Operations
# open to anyone (probes, metrics) say `security: [{}]` (OPEN_SECURITY on their handlers).
SECURITY_SCHEMES = {
    "bearer": SecurityScheme(
        type="http", scheme="bearer", bearer_format="JWT",
        description="An access token of the identity provider (OAuth2/OIDC), with a Facegate role.",
    ),
    "apiKey": SecurityScheme(
        type="apiKey", name="X-API-Key", security_scheme_in="header",
        description="An API key (FACEGATE_AUTH_API_KEYS); `Authorization: ApiKey <key>` works too.",
    ),
}  # fmt: skip
OPEN_SECURITY: list[dict[str, list[str]]] = [{}]

# Swagger UI's description links this path of the gateway, which redirects to the GraphQL port
# (a relative link cannot name another port).
GRAPHQL_LINK = "/graphql"


def graphql_url(settings: Settings, request: Request[Any, Any, Any]) -> str:
    """Where a browser reaches the GraphQL API: FACEGATE_GRAPHQL_URL, or the host name the browser
    used for the gateway on the GraphQL port (another service, so another port)."""
    if settings.graphql_url:
        return settings.graphql_url
    host = request.url.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"{request.url.scheme}://{host}:{settings.graphql_port}/graphql/"


def openapi_config() -> OpenAPIConfig:
    """The served document (SmartFace's paths among them) and Swagger UI at /swagger."""
    return OpenAPIConfig(
        title="Facegate API",
        version=VERSION,
        description="Face identification with the SmartFace Platform REST API. "
        f"Operations tagged '{FACEGATE_TAG}' are Facegate's additions.\n\n"
        f"SmartFace's GraphQL API (queries and live subscriptions) has a port of its own: [{GRAPHQL_LINK}]"
        f"({GRAPHQL_LINK}) opens its GraphQL IDE, with the same credentials.",
        tags=[Tag(name=FACEGATE_TAG, description="Facegate's additions to the SmartFace API")],
        components=Components(security_schemes=dict(SECURITY_SCHEMES)),
        security=[{name: []} for name in SECURITY_SCHEMES],
        path="/swagger",
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
            ),
            JsonRenderPlugin(path="/openapi.json"),
            # SmartFace's path, with the media type Swashbuckle serves it with.
            JsonRenderPlugin(path="/v1/swagger.json", media_type=MediaType.JSON),
            YamlRenderPlugin(path="/openapi.yaml"),
        ],
    )
