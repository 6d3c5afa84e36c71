"""Swagger UI and the OpenAPI document are served offline, from local assets."""

from __future__ import annotations

import re

import httpx


def test_swagger_ui_uses_local_assets(api: httpx.Client) -> None:
    root = api.get("/", follow_redirects=True)
    assert root.status_code == 200 and "swagger" in root.text.lower()
    page = api.get("/swagger").text
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert assets and all(a.startswith("/swagger-assets/") for a in assets), assets
    for asset in assets:
        r = api.get(asset)
        assert r.status_code == 200 and len(r.content) > 1000


def test_openapi_document_at_smartface_path(api: httpx.Client) -> None:
    doc = api.get("/swagger/v1/swagger.json").json()
    assert "/api/v1/Watchlists" in doc["paths"] and "/api/v1/WatchlistMembers/LinkToWatchlist" in doc["paths"]
    assert doc["paths"]["/healthz"]["get"]["tags"] == ["Facegate"]
    assert api.get("/swagger/openapi.json").json()["paths"].keys() == doc["paths"].keys()


def test_health_and_metrics(api: httpx.Client) -> None:
    assert api.get("/healthz").text == "ok"
    assert api.get("/readyz").status_code == 200
    api.get("/api/v1/Watchlists")
    metrics = api.get("/metrics").text
    assert 'facegate_http_requests_total{method="GET",route="/api/v1/Watchlists",status="200"}' in metrics


def test_body_over_the_limit_is_413(api: httpx.Client) -> None:
    big = b'{"displayName": "' + b"x" * (33 * 1024 * 1024) + b'"}'
    r = api.post("/api/v1/Watchlists", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json")
