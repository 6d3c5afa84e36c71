"""The web console's two routes: the page names the GraphQL URL and allows connections to it
(and nothing else outside the gateway); the assets are the package's files."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import TestClient

from services.gateway.console import STATIC, console_routes
from shared.settings import Settings


def client(settings: Settings) -> TestClient[Litestar]:
    return TestClient(Litestar(route_handlers=console_routes(settings)), base_url="http://gate.example:8098")


def policy_of(header: str) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in header.split("; ")}


def test_the_page_names_graphql_on_this_host_and_may_connect_only_there() -> None:
    with client(Settings(graphql_port=8097)) as http:
        for path in ("/console", "/console/"):
            r = http.get(path)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert '<meta name="facegate-graphql" content="http://gate.example:8097/graphql/">' in r.text
            policy = policy_of(r.headers["content-security-policy"])
            assert policy["connect-src"] == "'self' http://gate.example:8097 ws://gate.example:8097"
            assert policy["script-src"] == policy["style-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
            assert "unsafe" not in r.headers["content-security-policy"]


def test_a_published_graphql_url_is_used_with_secure_websockets_and_escaped() -> None:
    with client(Settings(graphql_url='https://gql.example/graphql/?a="b"')) as http:
        r = http.get("/console")
    assert 'content="https://gql.example/graphql/?a=&quot;b&quot;"' in r.text
    assert policy_of(r.headers["content-security-policy"])["connect-src"] == (
        "'self' https://gql.example wss://gql.example"
    )


def test_every_module_the_page_loads_is_served() -> None:
    with client(Settings()) as http:
        page = http.get("/console").text
        loaded = re.findall(r'(?:src|href)="(/console/assets/[^"]+)"', page)
        modules = [f"/console/assets/js/{p.name}" for p in (STATIC / "assets" / "js").glob("*.js")]
        assert len(modules) >= 8 and "/console/assets/js/app.js" in loaded
        for path in loaded + modules:
            r = http.get(path)
            assert r.status_code == 200, path
            if path.endswith(".js"):  # browsers refuse a module of another media type
                assert "javascript" in r.headers["content-type"], path
