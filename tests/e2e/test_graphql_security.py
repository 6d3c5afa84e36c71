"""The GraphQL API with authentication on, as a real process against the test cluster: the REST
gateway's credentials (bearer JWTs of tests/idp.py's real JWKS server, API keys) and roles, over
HTTP and on WebSocket subscriptions fed by real NATS events; and the loopback rule at start."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import nats
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from shared.auth import Role
from shared.embedded import free_port
from tests.e2e.test_security import API_KEYS, ROLES, auth_env, bearer
from tests.e2e.test_security import idp as idp  # a fixture: the identity provider and its JWKS URL
from tests.graphql_client import Subscriber, match_event, publish, query
from tests.idp import IdentityProvider
from tests.support import REPO, Cluster, wait_until

CHALLENGE = 'Bearer realm="facegate", ApiKey realm="facegate"'
MATCH = """subscription($camera: UUID) { matchResult(where: {streamId: {eq: $camera}}) {
  id streamId watchlistMemberId score } }"""


@pytest.fixture(scope="module")
def secure_graphql(cluster: Cluster, idp: tuple[IdentityProvider, str]) -> Iterator[str]:
    """The base URL of a second GraphQL service, with JWT and API-key authentication on."""
    port = free_port()
    env = {**auth_env(idp[1]), "FACEGATE_GRAPHQL_PORT": str(port)}
    cluster.services.start("graphql", index=1, extra_env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, 60, "the secure GraphQL service")
        yield base
    finally:
        cluster.services.stop_one("graphql", 1)


def post(base: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{base}/graphql/", json={"query": "{ watchlists { totalCount } }"}, headers=headers)


def test_http_needs_a_token_or_a_key_with_the_viewer_role(
    secure_graphql: str, idp: tuple[IdentityProvider, str], cluster: Cluster
) -> None:
    provider = idp[0]
    missing = post(secure_graphql)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == CHALLENGE
    assert missing.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    expired = post(secure_graphql, bearer(provider.token([ROLES[Role.VIEWER]], exp=int(time.time()) - 3600)))
    assert expired.status_code == 401 and expired.json()["errors"][0]["message"] == "token expired"
    assert 'error="invalid_token", error_description="token expired"' in expired.headers["www-authenticate"]
    no_role = post(secure_graphql, bearer(provider.token(["another-app"])))
    assert no_role.status_code == 403
    assert no_role.json()["errors"][0] == {
        "message": "GraphQL needs the viewer role (no role given).", "extensions": {"code": "FORBIDDEN"},
    }  # fmt: skip
    assert 'error="insufficient_scope"' in no_role.headers["www-authenticate"]
    # The same answer as the open GraphQL of the session cluster, for a token and for a key.
    expected = query(cluster.graphql_url, "{ watchlists { totalCount } }")
    viewer_key = API_KEYS["robot-viewer"][1]
    for headers in (bearer(provider.token([ROLES[Role.VIEWER]])), {"X-API-Key": viewer_key}):
        assert query(secure_graphql, "{ watchlists { totalCount } }", headers=headers) == expected
    # The IDE page itself is open (it holds no data).
    page = httpx.get(f"{secure_graphql}/graphql/", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Facegate GraphQL" in page.text


async def answer_to_init(base: str, protocol: str, payload: dict[str, Any]) -> dict[str, Any] | int:
    """The server's answer to a connection_init: its first message, or the close code."""
    async with connect(base.replace("http://", "ws://") + "/graphql/", subprotocols=[protocol]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            return dict(json.loads(await asyncio.wait_for(socket.recv(), 10)))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code


async def test_subscriptions_authenticate_on_connection_init(
    secure_graphql: str, idp: tuple[IdentityProvider, str], cluster: Cluster
) -> None:
    provider = idp[0]
    viewer = {"Authorization": f"Bearer {provider.token([ROLES[Role.VIEWER]])}"}
    # Refused: graphql-transport-ws closes with 4401 or 4403; graphql-ws answers connection_error.
    assert await answer_to_init(secure_graphql, "graphql-transport-ws", {}) == 4401
    expired = {"Authorization": f"Bearer {provider.token(exp=int(time.time()) - 3600)}"}
    assert await answer_to_init(secure_graphql, "graphql-transport-ws", expired) == 4401
    no_role = {"Authorization": f"Bearer {provider.token(['another-app'])}"}
    assert await answer_to_init(secure_graphql, "graphql-transport-ws", no_role) == 4403
    refused = await answer_to_init(secure_graphql, "graphql-ws", {"X-API-Key": "fg_guessed"})
    unknown_key = {"message": "unknown API key", "extensions": {"code": "UNAUTHENTICATED"}}
    assert refused == {"type": "connection_error", "payload": unknown_key}

    # Accepted: a JWT (graphql-transport-ws) and an API key (graphql-ws) receive a real NATS event.
    camera = str(uuid.uuid4())
    key = {"X-API-Key": API_KEYS["robot-viewer"][1]}
    nc = await nats.connect(cluster.servers.nats_url)
    try:
        async with (
            Subscriber(secure_graphql, "graphql-transport-ws", MATCH, {"camera": camera}, viewer) as current,
            Subscriber(secure_graphql, "graphql-ws", MATCH, {"camera": camera}, key) as legacy,
        ):
            event = match_event(camera, "person01", 0)
            expected = {"id": event.id, "streamId": camera, "watchlistMemberId": "person01", "score": 80}
            for subscriber in (current, legacy):
                assert await received(subscriber, lambda: publish(nc, event)) == expected
    finally:
        await nc.close()


async def received(subscriber: Subscriber, send: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """The first matchResult; the event is sent again until one arrives, since a subscription
    reaches NATS a moment after it is acknowledged."""
    for _ in range(20):
        await send()
        try:
            answer = await subscriber.next(0.5)
        except TimeoutError:
            continue
        return dict(answer.get("data", answer)["matchResult"])
    raise AssertionError("no event within 10 s")


def test_graphql_refuses_to_start_open_on_a_public_address(cluster: Cluster) -> None:
    env = {**cluster.servers.env(), "FACEGATE_GATEWAY_HOST": "0.0.0.0", "FACEGATE_GRAPHQL_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "services.graphql"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1
    assert "refusing to serve the API on 0.0.0.0 without authentication" in done.stderr
