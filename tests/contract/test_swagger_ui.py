"""Swagger UI where SmartFace users look for it, working without internet, and the document at
SmartFace's path."""

from __future__ import annotations

import re

import pytest

from services.gateway.compatibility import HTTP_METHODS
from tests.support import Cluster


@pytest.mark.parametrize("path", ["/", "/swagger", "/swagger/index.html"])
def test_swagger_ui_where_smartface_shows_it(cluster: Cluster, path: str) -> None:
    """SmartFace: the root of port 8098 and Swashbuckle's /swagger/index.html."""
    with cluster.http() as api:
        page = api.get(path, follow_redirects=True)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle(" in page.text


def test_swagger_ui_needs_no_internet(cluster: Cluster) -> None:
    """Every script, style and icon comes from the gateway (no CDN), and the styles load nothing
    from elsewhere (fonts, images)."""
    with cluster.http() as api:
        page = api.get("/swagger").text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page)
        assert {a.rsplit(".", 1)[-1] for a in assets} >= {"js", "css"}, assets
        for asset in assets:
            assert asset.startswith("/swagger-assets/"), asset
            r = api.get(asset)
            assert r.status_code == 200 and len(r.content) > 500, asset
            if asset.endswith(".css"):
                assert not re.findall(r"url\(\s*['\"]?(?:https?:)?//", r.text), asset


def test_document_at_smartface_path_is_the_served_one(cluster: Cluster) -> None:
    with cluster.http() as api:
        smartface_path = api.get("/swagger/v1/swagger.json")
        litestar_path = api.get("/swagger/openapi.json")
    assert smartface_path.status_code == 200 and smartface_path.headers["content-type"].startswith("application/json")
    assert smartface_path.json() == litestar_path.json()
    doc = smartface_path.json()
    facegate = [t for t in doc["tags"] if t["name"] == "Facegate"]
    assert facegate and "addition" in facegate[0]["description"]
    tagged = {
        f"{method.upper()} {path}"
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS and "Facegate" in operation.get("tags", [])
    }
    assert {"POST /api/v1/Faces/Detect", "GET /healthz", "GET /readyz", "GET /metrics"} <= tagged


def test_swagger_ui_links_the_graphql_ide(cluster: Cluster) -> None:
    """The description's link leads a browser to the GraphQL IDE, on the GraphQL service's port."""
    with cluster.http() as api:
        description = api.get("/swagger/v1/swagger.json").json()["info"]["description"]
        assert "](/graphql)" in description
        for path in ("/graphql", "/graphql/"):
            ide = api.get(path, headers={"Accept": "text/html"}, follow_redirects=True)
            assert str(ide.url) == f"{cluster.graphql_url}/graphql/", path
            assert ide.status_code == 200 and "<title>Facegate GraphQL</title>" in ide.text
            assert not re.search(r"https?://", ide.text), "the IDE loads nothing from another host"
