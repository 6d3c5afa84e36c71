"""The GraphQL API's authentication without a database (the app in-process, API keys; bearer JWTs
of a real JWKS server are in tests/e2e/test_graphql_security.py): 401 and the challenge over
HTTP, WebSockets closed as each protocol says, the offline IDE page open, one access-log line
per operation."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from services.graphql.access import Access
from services.graphql.app import GraphQLApp
from services.graphql.schema import build_schema
from shared.auth import Authenticator, hash_key, parse_api_keys
from shared.logs import TrustedProxies

KEY = "fg_dashboard-key"
SILENT = "subscription { pedestrianProcessed { frameInformation { streamId } } }"  # accepted, never fed: no NATS


def secured_app() -> GraphQLApp:
    keys = parse_api_keys(f"dashboard:viewer:{hash_key(KEY)}", "test")
    return GraphQLApp(build_schema(), pool=None, access=Access(Authenticator(None, keys), TrustedProxies("")))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=secured_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_http_needs_credentials_as_rest_does(client: httpx.AsyncClient) -> None:
    missing = await client.post("/graphql/", json={"query": "{ __typename }"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'ApiKey realm="facegate"'
    assert missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    wrong = await client.post("/graphql", json={"query": "{ __typename }"}, headers={"X-API-Key": "fg_guess"})
    assert wrong.status_code == 401 and wrong.json()["errors"][0]["message"] == "unknown API key"
    assert (await client.get("/graphql/", params={"query": "{ __typename }"})).status_code == 401
    for headers in ({"X-API-Key": KEY}, {"Authorization": f"ApiKey {KEY}"}):
        r = await client.post("/graphql/", json={"query": "{ __typename }"}, headers=headers)
        assert r.status_code == 200 and r.json() == {"data": {"__typename": "Query"}}
    r = await client.get("/graphql/", params={"query": "{ __typename }"}, headers={"X-API-Key": KEY})
    assert r.json() == {"data": {"__typename": "Query"}}
    assert (await client.get("/healthz")).status_code == 200  # probes send no credentials


async def test_a_browser_gets_the_offline_ide_without_credentials(client: httpx.AsyncClient) -> None:
    r = await client.get("/graphql/", headers={"Accept": "text/html"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert '<textarea id="query"' in page and "__schema" in page and "graphql-transport-ws" in page
    assert not re.search(r"https?://", page), "the page loads nothing from another host"
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page), "no asset outside the page"


async def test_one_access_log_line_per_operation(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="facegate.access"):
        document = "query Lists { watchlists { totalCount } __typename }"
        await client.post("/graphql/", json={"query": document}, headers={"X-API-Key": KEY})
        await client.post("/graphql/", json={"query": "{ faces { totalCount } }"})
        await client.get("/graphql/", headers={"Accept": "text/html"})
    lines = [(r.levelno, r.message) for r in caplog.records if r.name == "facegate.access"]
    assert len(lines) == 3
    # (watchlists fails without a database; the line says what was asked, and by whom)
    assert re.fullmatch(
        r"method=POST path=/graphql/ status=200 duration_ms=[\d.]+ subject=dashboard client=127.0.0.1 "
        r"fields=watchlists,__typename",
        lines[0][1],
    )
    assert re.fullmatch(r"method=POST path=/graphql/ status=401 .* subject=- client=127.0.0.1 fields=-", lines[1][1])
    assert lines[0][0] == lines[1][0] == logging.INFO and lines[2][0] == logging.DEBUG  # the IDE page


def open_socket(protocol: str, headers: dict[str, str] | None = None) -> Any:
    """A WebSocket to the app (Starlette's test client: httpx has no WebSocket)."""
    return TestClient(secured_app()).websocket_connect("/graphql/", subprotocols=[protocol], headers=headers or {})


@pytest.mark.parametrize("payload", [{}, {"X-API-Key": "fg_guess"}, {"Authorization": "Bearer abc"}])
def test_graphql_transport_ws_closes_4401_without_valid_credentials(payload: dict[str, Any]) -> None:
    with open_socket("graphql-transport-ws") as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_graphql_transport_ws_takes_credentials_from_the_payload_or_the_upgrade_headers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    for payload, headers in (({"x-api-key": KEY}, None), ({"Authorization": f"ApiKey {KEY}"}, None),
                             ({}, {"X-API-Key": KEY})):  # fmt: skip
        with (
            caplog.at_level(logging.INFO, logger="facegate.access"),
            open_socket("graphql-transport-ws", headers) as ws,
        ):
            ws.send_json({"type": "connection_init", "payload": payload})
            assert ws.receive_json() == {"type": "connection_ack"}
            ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": SILENT}})
            ws.send_json({"type": "ping"})
            assert ws.receive_json() == {"type": "pong"}  # the subscription runs (silent)
    lines = [r.message for r in caplog.records if r.name == "facegate.access"]
    assert len(lines) == 3 and all(
        re.fullmatch(r"method=WS path=/graphql/ status=101 .* subject=dashboard .* fields=pedestrianProcessed", line)
        for line in lines
    ), lines


def test_graphql_ws_answers_connection_error_without_valid_credentials() -> None:
    with open_socket("graphql-ws") as ws:
        ws.send_json({"type": "connection_init", "payload": {"X-API-Key": "fg_guess"}})
        assert ws.receive_json() == {
            "type": "connection_error",
            "payload": {"message": "unknown API key", "extensions": {"code": "UNAUTHENTICATED"}},
        }
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()
    with open_socket("graphql-ws") as ws:
        ws.send_json({"type": "connection_init", "payload": {"X-API-Key": KEY}})
        assert ws.receive_json() == {"type": "connection_ack"}
