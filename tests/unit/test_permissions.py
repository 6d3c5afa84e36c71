"""The one table of who may call what covers every route the gateway serves."""

from __future__ import annotations

import warnings

import pytest
from litestar import Litestar

from services.gateway.compatibility import HTTP_METHODS, served_document
from services.gateway.permissions import OPEN, ROUTES, SEARCH, rule_for
from shared.auth import Role

SEARCHES = {
    ("POST", "/api/v1/Watchlists/Search"), ("POST", "/api/v1/Watchlists/SearchByTemplate"),
    ("POST", "/api/v1/Faces/Verify"), ("POST", "/api/v1/Faces/SpoofCheck"), ("POST", "/api/v1/Faces/Detect"),
    ("POST", "/api/v1/Individuals/Search"), ("POST", "/api/v1/Faces/Search"), ("POST", "/api/v1/Detect"),
}  # fmt: skip
OPEN_PATHS = {"/healthz", "/readyz", "/metrics", "/", "/graphql"}


@pytest.fixture(scope="module")
def app() -> Litestar:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from services.gateway.app import create_app
        from shared.settings import Settings

        return create_app(Settings())


def test_every_operation_of_the_served_document_has_an_entry() -> None:
    document = served_document()
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS
    }
    assert operations - set(ROUTES) == set()


def test_every_route_of_the_app_has_an_entry_and_no_entry_is_stale(app: Litestar) -> None:
    served = {(m, r.path_format) for r in app.routes for m in getattr(r, "methods", ()) if m != "OPTIONS"}
    assert served - set(ROUTES) == set(), "add these to services/gateway/permissions.py"
    assert set(ROUTES) - served == set(), "these routes are gone"


def test_reads_need_a_viewer_searches_an_operator_and_everything_else_an_admin() -> None:
    for (method, path), rule in ROUTES.items():
        if rule is OPEN:
            assert method in ("GET", "HEAD") and (path in OPEN_PATHS or path.startswith(("/swagger", "/console"))), path
        elif (method, path) in SEARCHES:
            assert rule == SEARCH
        elif method == "GET" and path != "/api/v1/Audit":
            assert rule.role is Role.VIEWER and rule.audit is None, path
        else:
            assert rule.role is Role.ADMIN, path
            assert rule.audit == ("change" if method != "GET" else None), path


def test_open_operations_say_so_in_the_document_and_the_rest_need_credentials() -> None:
    document = served_document()
    assert document["security"] == [{"bearer": []}, {"apiKey": []}]
    assert set(document["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                is_open = rule_for(method.upper(), path) is OPEN
                assert (operation.get("security") == [{}]) == is_open, f"{method} {path}"


def test_unlisted_routes_need_an_admin_and_are_audited() -> None:
    assert rule_for("PATCH", "/api/v1/Nowhere") == (Role.ADMIN, "change")
    assert rule_for("OPTIONS", "/api/v1/Watchlists") is OPEN
