"""Authentication, authorisation and the audit log on a real gateway.

A second gateway runs with authentication on, against the test cluster's NATS and Postgres:
bearer JWTs of a real RSA key whose JWKS a tiny HTTP server on 127.0.0.1 publishes (tests/idp.py),
and API keys. The cluster's own gateway stays open (loopback, no auth), as `make run` is.
"""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from litestar.testing import AsyncTestClient

from services.gateway.app import create_app
from services.gateway.audit import AuditEntry, AuditLog
from services.gateway.permissions import rule_for
from shared.auth import Role, hash_key
from shared.embedded import free_port
from shared.jwks import InvalidCredentials, JwksCache, JwtVerifier
from shared.settings import Settings
from tests.idp import AUDIENCE, ISSUER, IdentityProvider, SigningKey, serve_jwks
from tests.support import REPO, Cluster, assert_problem, photo_b64, truncate, wait_until

ROLES = {Role.VIEWER: "fg-viewer", Role.OPERATOR: "fg-operator", Role.ADMIN: "fg-admin"}
API_KEYS = {"robot-admin": ("admin", "fg_robot-admin-key"), "robot-viewer": ("viewer", "fg_robot-viewer-key")}
METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def idp() -> Iterator[tuple[IdentityProvider, str]]:
    provider = IdentityProvider()
    with serve_jwks(provider) as url:
        yield provider, url


def auth_env(jwks_url: str) -> dict[str, str]:
    """Settings of a service with JWT (ROLES through a role map) and API-key (API_KEYS) auth on."""
    keys = ",".join(f"{name}:{role}:{hash_key(key)}" for name, (role, key) in API_KEYS.items())
    return {
        "FACEGATE_GATEWAY_HOST": "127.0.0.1",
        "FACEGATE_AUTH_ISSUER": ISSUER, "FACEGATE_AUTH_AUDIENCE": AUDIENCE, "FACEGATE_AUTH_JWKS_URL": jwks_url,
        "FACEGATE_AUTH_ROLES_CLAIM": "realm_access.roles",
        "FACEGATE_AUTH_ROLE_MAP": ",".join(f"{claim}={role.name.lower()}" for role, claim in ROLES.items()),
        "FACEGATE_AUTH_API_KEYS": keys, "FACEGATE_TRUSTED_PROXIES": "127.0.0.1",
    }  # fmt: skip


@pytest.fixture(scope="module")
def secure(cluster: Cluster, idp: tuple[IdentityProvider, str]) -> Iterator[httpx.Client]:
    """A client of a second gateway with JWT and API-key authentication on."""
    port = free_port()
    cluster.services.start("gateway", index=1, extra_env={
        **auth_env(idp[1]), "FACEGATE_GATEWAY_PORT": str(port), "FACEGATE_INSTANCE_ID": "secure-gateway",
    })  # fmt: skip
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until(lambda: client.get("/readyz").status_code == 200, 60, "the secure gateway")
            yield client
    finally:
        cluster.services.stop_one("gateway", 1)


@pytest.fixture(scope="module")
def document(secure: httpx.Client) -> dict[str, Any]:
    doc: dict[str, Any] = secure.get("/swagger/v1/swagger.json").json()
    return doc


def operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    return [(m.upper(), p) for p, item in document["paths"].items() for m in item if m in METHODS]


def concrete(path: str) -> str:
    """The path with a made-up id for every path parameter ({id}, {groupingId}...)."""
    return re.sub(r"\{[^}/]+\}", "some-id", path)


def call(client: httpx.Client, method: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """The operation with made-up ids and an empty body: refusals come before anything is read."""
    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, concrete(path), json=body, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_operation_without_credentials_is_401(secure: httpx.Client, document: dict[str, Any]) -> None:
    refused = 0
    for method, path in operations(document):
        r = call(secure, method, path)
        if rule_for(method, path).role is None:
            assert r.status_code == 200, f"{method} {path} should stay open"
            continue
        body = assert_problem(r, 401)
        assert body["instance"] == concrete(path)
        assert r.headers["www-authenticate"] == 'Bearer realm="facegate", ApiKey realm="facegate"', path
        refused += 1
    assert refused >= 40


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR])
def test_each_role_is_403_where_it_lacks_the_right(
    secure: httpx.Client, document: dict[str, Any], idp: tuple[IdentityProvider, str], role: Role
) -> None:
    headers = bearer(idp[0].token([ROLES[role]]))
    for method, path in operations(document):
        needed = rule_for(method, path).role
        if needed is not None and needed > role:
            r = call(secure, method, path, headers)
            body = assert_problem(r, 403)
            assert f"needs the {needed.name.lower()} role ({role.name.lower()} given)" in body["detail"]
            assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
        elif method == "GET" and "{" not in path:
            assert call(secure, method, path, headers).status_code == 200, path


def test_a_token_without_a_facegate_role_is_403(secure: httpx.Client, idp: tuple[IdentityProvider, str]) -> None:
    r = secure.get("/api/v1/Watchlists", headers=bearer(idp[0].token(["another-app"])))
    assert "(no role given)" in assert_problem(r, 403)["detail"]


def test_bad_tokens_are_401_with_the_reason(secure: httpx.Client, idp: tuple[IdentityProvider, str]) -> None:
    provider = idp[0]
    past = int(time.time()) - 3600
    cases = {
        "token expired": provider.token(exp=past),
        "wrong audience": provider.token(aud="another-api"),
        "wrong issuer": provider.token(iss="https://evil.example"),
        "algorithm 'none' not allowed": provider.unsigned_token(),
        "algorithm 'HS256' not allowed": provider.hs256_with_public_key(),
        "bad signature": provider.token(key=SigningKey(provider.keys[0].kid)),
    }
    for reason, token in cases.items():
        r = secure.get("/api/v1/Watchlists", headers=bearer(token))
        assert assert_problem(r, 401)["detail"] == reason
        assert f'error="invalid_token", error_description="{reason}"' in r.headers["www-authenticate"]
    assert_problem(secure.get("/api/v1/Watchlists", headers={"X-API-Key": "fg_guessed"}), 401)


def test_a_valid_token_and_valid_api_keys_get_the_normal_answer(
    secure: httpx.Client, cluster: Cluster, idp: tuple[IdentityProvider, str]
) -> None:
    truncate(cluster.servers.database_url)
    admin = bearer(idp[0].token([ROLES[Role.ADMIN]]))
    created = secure.post("/api/v1/Watchlists", json={"displayName": "Secure", "fullName": "Secure"}, headers=admin)
    assert created.status_code == 201, created.text
    robot = API_KEYS["robot-viewer"][1]
    for headers in (admin, {"X-API-Key": robot}, {"Authorization": f"ApiKey {robot}"}):
        r = secure.get("/api/v1/Watchlists", headers=headers)
        assert r.status_code == 200 and [w["displayName"] for w in r.json()["items"]] == ["Secure"]
    # The open gateway of `make run` (loopback, no auth configured) answers the same without any.
    with cluster.http() as open_client:
        assert open_client.get("/api/v1/Watchlists").json()["items"] == r.json()["items"]


def audit_rows(
    database_url: str, instance: str = "secure-gateway", since: datetime | None = None
) -> list[dict[str, Any]]:
    """The gateway's audit rows in the order written; only those of requests made at `since` or
    later when given (an earlier test's last entries may still wait for their commit:
    audit.LINGER_S)."""

    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT * FROM audit_log WHERE instance = $1 AND at >= $2 ORDER BY id",
                instance,
                since or datetime.min.replace(tzinfo=UTC),
            )
            return [dict(r) for r in rows]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_changes_and_searches_are_audited_with_who_what_where_and_outcome(
    secure: httpx.Client, cluster: Cluster, idp: tuple[IdentityProvider, str]
) -> None:
    truncate(cluster.servers.database_url)
    since = datetime.now(UTC)
    admin, operator = (bearer(idp[0].token([ROLES[r]])) for r in (Role.ADMIN, Role.OPERATOR))
    forwarded = {"X-Forwarded-For": "203.0.113.7"}  # the gateway trusts 127.0.0.1 as a proxy
    created = secure.put("/api/v1/Watchlists", json={"id": "audited", "displayName": "A", "fullName": "A"},
                         headers={**admin, **forwarded})  # fmt: skip
    assert created.status_code == 200, created.text
    search = secure.post("/api/v1/Watchlists/Search", json={"image": {"data": photo_b64("img1.jpg")}}, headers=operator)
    assert search.status_code == 200, search.text
    assert secure.delete("/api/v1/Watchlists/audited", headers=operator).status_code == 403
    robot = {"X-API-Key": API_KEYS["robot-admin"][1]}
    assert secure.delete("/api/v1/Watchlists/audited", headers=robot).status_code == 204
    assert secure.get("/api/v1/Watchlists/audited", headers=admin).status_code == 404  # reads are not audited

    wait_until(lambda: len(audit_rows(cluster.servers.database_url, since=since)) >= 4, 10, "four audit rows")
    rows = audit_rows(cluster.servers.database_url, since=since)
    seen = [(r["action"], r["method"], r["route"], r["subject"], r["auth"], r["role"], r["status"]) for r in rows]
    assert seen == [
        ("change", "PUT", "/api/v1/Watchlists", "user-42", "jwt", "admin", 200),
        ("search", "POST", "/api/v1/Watchlists/Search", "user-42", "jwt", "operator", 200),
        ("change", "DELETE", "/api/v1/Watchlists/{id}", "user-42", "jwt", "operator", 403),
        ("change", "DELETE", "/api/v1/Watchlists/{id}", "robot-admin", "api_key", "admin", 204),
    ]
    assert rows[0]["client"] == "203.0.113.7" and rows[1]["client"] == "127.0.0.1"
    assert rows[0]["name"] == "alice" and rows[3]["resource_ids"] == '{"id": "audited"}'
    assert all(abs(r["at"] - datetime.now(UTC)) < timedelta(minutes=1) and r["duration_ms"] >= 0 for r in rows)

    # Admins read it through the API; nobody else may.
    r = secure.get("/api/v1/Audit", params={"Subject": "robot-admin", "Ascending": "false"}, headers=admin)
    assert r.status_code == 200, r.text
    latest = r.json()["items"][0]
    assert (latest["route"], latest["resourceIds"], latest["status"]) == (
        "/api/v1/Watchlists/{id}", {"id": "audited"}, 204,
    )  # fmt: skip
    r = secure.get("/api/v1/Audit", params={"Action": "search", "ShowTotalCount": "true"}, headers=admin)
    assert r.json()["totalItemsCount"] >= 1 and {e["action"] for e in r.json()["items"]} == {"search"}
    assert_problem(secure.get("/api/v1/Audit", headers=operator), 403)


def test_unauthenticated_attempts_are_audited_too(secure: httpx.Client, cluster: Cluster) -> None:
    since = datetime.now(UTC)
    assert secure.delete("/api/v1/Cameras/cam-1").status_code == 401
    wait_until(lambda: len(audit_rows(cluster.servers.database_url, since=since)) > 0, 10, "an audit row")
    row = audit_rows(cluster.servers.database_url, since=since)[-1]
    assert (row["subject"], row["auth"], row["status"]) == (None, "missing", 401)
    assert row["resource_ids"] == '{"id": "cam-1"}'


async def test_the_audit_table_is_append_only_and_retention_deletes_old_rows(cluster: Cluster) -> None:
    url = cluster.servers.database_url
    conn = await asyncpg.connect(url)
    try:
        old = datetime.now(UTC) - timedelta(days=400)
        row_id = await conn.fetchval(
            "INSERT INTO audit_log (at, action, subject, auth, method, route, status, duration_ms, instance) "
            "VALUES ($1, 'change', 'old', 'jwt', 'DELETE', '/x', 204, 1, 'retention-test') RETURNING id",
            old,
        )
        for statement in ("UPDATE audit_log SET subject = 'someone-else' WHERE id = $1",
                          "DELETE FROM audit_log WHERE id = $1"):  # fmt: skip
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement, row_id)
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute("TRUNCATE audit_log")
        audit = AuditLog(url, retention_days=365)
        try:
            assert await audit.apply_retention() >= 1
        finally:
            await audit.stop()
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE id = $1", row_id) == 0
    finally:
        await conn.close()


async def test_audit_entries_never_wait_for_a_missing_postgres(caplog: pytest.LogCaptureFixture) -> None:
    """Postgres unreachable: record() returns at once and the entries go to the log."""
    audit = AuditLog(f"postgresql://postgres@127.0.0.1:{free_port()}/facegate", retention_days=30)
    await audit.start()
    entry = AuditEntry(
        at=datetime.now(UTC), action="change", subject="alice", auth="jwt", method="DELETE",
        route="/api/v1/Watchlists/{id}", resource_ids={"id": "w1"}, status=204, duration_ms=2.0,
    )  # fmt: skip
    started = time.perf_counter()
    for _ in range(100):
        audit.record(entry)
    assert time.perf_counter() - started < 0.05
    await audit.flush()
    await audit.stop()
    unstored = [r.message for r in caplog.records if "audit entry not stored" in r.message]
    assert len(unstored) == 100 and '"subject":"alice"' in unstored[0] and '"resourceIds":{"id":"w1"}' in unstored[0]


async def test_jwks_rotation_refetches_on_an_unknown_kid_at_most_so_often(monkeypatch: pytest.MonkeyPatch) -> None:
    provider = IdentityProvider()
    monkeypatch.setattr("shared.jwks.MIN_REFETCH_S", 0.5)
    with serve_jwks(provider) as url:
        verifier = JwtVerifier(ISSUER, AUDIENCE, frozenset({"RS256"}), JwksCache(url))
        assert (await verifier.verify(provider.token()))["sub"] == "user-42"
        assert provider.fetches == 1
        rotated = SigningKey("key-2")
        provider.keys.append(rotated)
        # Within the refetch interval an unknown kid is refused without asking the provider again.
        with pytest.raises(InvalidCredentials, match="unknown signing key"):
            await verifier.verify(provider.token(key=rotated))
        assert provider.fetches == 1
        await asyncio.sleep(0.6)
        assert (await verifier.verify(provider.token(key=rotated)))["sub"] == "user-42"
        assert provider.fetches == 2
        claims = provider.claims()
        made_up = [jwt.encode(claims, rotated.private, "RS256", headers={"kid": f"x{i}"}) for i in range(20)]
        started = time.monotonic()
        for token in made_up:  # a flood of made-up kids: at most one fetch per interval
            with pytest.raises(InvalidCredentials, match="unknown signing key"):
                await verifier.verify(token)
        assert time.monotonic() - started < 0.5 and provider.fetches <= 3


def test_the_gateway_refuses_to_start_open_on_a_public_address(cluster: Cluster) -> None:
    env = {**cluster.servers.env(), "FACEGATE_GATEWAY_HOST": "0.0.0.0", "FACEGATE_GATEWAY_PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "services.gateway"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1
    assert "refusing to serve the API on 0.0.0.0 without authentication" in done.stderr


async def test_one_access_log_line_per_request(cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    """In process: the app connected to the cluster's NATS and Postgres, its access log captured."""
    settings = Settings(
        nats_url=cluster.servers.nats_url, database_url=cluster.servers.database_url,
        auth_api_keys=f"dashboard:viewer:{hash_key('fg_dashboard')}",
    )  # fmt: skip
    async with AsyncTestClient(create_app(settings)) as client:
        with caplog.at_level(logging.DEBUG, logger="facegate.access"):
            listed = await client.get("/api/v1/Watchlists", headers={"X-API-Key": "fg_dashboard"})
            assert listed.status_code == 200
            assert (await client.delete("/api/v1/Watchlists/w%201")).status_code == 401
            assert (await client.get("/healthz")).status_code == 200
    lines = [(r.levelno, r.message) for r in caplog.records if r.name == "facegate.access"]
    assert len(lines) == 3
    assert re.fullmatch(
        r"method=GET path=/api/v1/Watchlists status=200 duration_ms=[\d.]+ subject=dashboard client=testclient",
        lines[0][1],
    )
    assert re.fullmatch(
        r'method=DELETE path="/api/v1/Watchlists/w 1" status=401 .* subject=- client=testclient', lines[1][1]
    )
    assert lines[0][0] == lines[1][0] == logging.INFO and lines[2][0] == logging.DEBUG  # probes stay quiet
