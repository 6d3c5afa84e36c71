"""Authentication without servers: tokens of a real RSA key against a static JWKS, API keys,
roles, the challenge headers and the rule that an open gateway listens on loopback only."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from shared.auth import (
    ADMIN_KEY_FILE,
    OPEN_ACCESS,
    Authenticator,
    Role,
    Unauthenticated,
    ensure_api_keys_file,
    hash_key,
    is_loopback,
    parse_api_keys,
    startup_checks,
)
from shared.jwks import parse_algorithms
from shared.logs import TrustedProxies
from shared.settings import Settings
from tests.idp import AUDIENCE, ISSUER, IdentityProvider, SigningKey

ROLE_MAP = "fg-admin=admin,fg-operator=operator,fg-viewer=viewer"


@pytest.fixture(scope="module")
def idp() -> IdentityProvider:
    return IdentityProvider()


def jwt_settings(idp: IdentityProvider, **extra: object) -> Settings:
    values: dict[str, object] = {
        "auth_issuer": ISSUER, "auth_audience": AUDIENCE, "auth_jwks": json.dumps(idp.jwks()),
        "auth_roles_claim": "realm_access.roles", "auth_role_map": ROLE_MAP, **extra,
    }  # fmt: skip
    return Settings(**values)  # type: ignore[arg-type]


async def refused(auth: Authenticator, token: str) -> str:
    with pytest.raises(Unauthenticated) as caught:
        await auth.authenticate(f"Bearer {token}")
    assert not caught.value.missing
    return caught.value.reason


async def test_a_valid_token_gives_its_subject_and_mapped_role(idp: IdentityProvider) -> None:
    auth = Authenticator.from_settings(jwt_settings(idp))
    principal = await auth.authenticate(f"Bearer {idp.token(['fg-operator', 'other-app'])}")
    assert (principal.subject, principal.name, principal.auth) == ("user-42", "alice", "jwt")
    assert principal.role is Role.OPERATOR
    # The highest mapped role wins; names outside the map grant nothing, not even "admin".
    assert (await auth.authenticate(f"Bearer {idp.token(['fg-viewer', 'fg-admin'])}")).role is Role.ADMIN
    assert (await auth.authenticate(f"Bearer {idp.token(['admin'])}")).role is None


async def test_expired_wrong_audience_and_wrong_issuer_are_refused(idp: IdentityProvider) -> None:
    auth = Authenticator.from_settings(jwt_settings(idp))
    past = int(time.time()) - 3600
    assert await refused(auth, idp.token(exp=past)) == "token expired"
    assert await refused(auth, idp.token(aud="another-api")) == "wrong audience"
    assert await refused(auth, idp.token(iss="https://evil.example")) == "wrong issuer"
    assert await refused(auth, idp.token(exp=None)) == "token lacks the 'exp' claim"
    assert await refused(auth, idp.token(nbf=int(time.time()) + 3600)) == "token not valid yet"


async def test_alg_none_and_hs256_signed_with_the_public_key_are_refused(idp: IdentityProvider) -> None:
    auth = Authenticator.from_settings(jwt_settings(idp))
    assert await refused(auth, idp.unsigned_token()) == "algorithm 'none' not allowed"
    assert await refused(auth, idp.hs256_with_public_key()) == "algorithm 'HS256' not allowed"
    # Even an allow-list that named HS256 is refused when the settings are read.
    for bad in ("HS256", "RS256,none", ""):
        with pytest.raises(ValueError, match="not allowed"):
            parse_algorithms(bad)


async def test_unknown_key_bad_signature_and_garbage_are_refused(idp: IdentityProvider) -> None:
    auth = Authenticator.from_settings(jwt_settings(idp))
    stranger = SigningKey("key-1")  # same kid, another key: the signature does not verify
    assert await refused(auth, idp.token(key=stranger)) == "bad signature"
    assert await refused(auth, idp.token(key=SigningKey("key-9"))) == "unknown signing key"
    assert await refused(auth, "not-a-token") == "malformed token"
    # RS256 key, ES256 header: the algorithm must fit the key.
    token = idp.token()
    header = json.dumps({"alg": "ES256", "kid": "key-1"}).encode()
    forged = base64.urlsafe_b64encode(header).rstrip(b"=").decode() + token[token.index(".") :]
    assert await refused(auth, forged) == "algorithm 'ES256' does not match the signing key"


async def test_missing_credentials_and_challenges(idp: IdentityProvider) -> None:
    key = "fg_test-key"
    auth = Authenticator.from_settings(jwt_settings(idp, auth_api_keys=f"robot:viewer:{hash_key(key)}"))
    with pytest.raises(Unauthenticated) as caught:
        await auth.authenticate(None)
    assert caught.value.missing
    assert auth.challenge(caught.value) == 'Bearer realm="facegate", ApiKey realm="facegate"'
    invalid = Unauthenticated("token expired")
    assert auth.challenge(invalid) == (
        'Bearer realm="facegate", error="invalid_token", error_description="token expired", ApiKey realm="facegate"'
    )
    assert auth.challenge(insufficient=True).startswith('Bearer realm="facegate", error="insufficient_scope"')
    with pytest.raises(Unauthenticated, match="unsupported authorization scheme 'Basic'"):
        await auth.authenticate("Basic dXNlcjpwYXNz")


async def test_api_keys_by_header_or_authorization_scheme() -> None:
    keys = {"ci": "fg_ci-key", "ops": "fg_ops-key"}
    settings = Settings(auth_api_keys=f"ci:operator:{hash_key(keys['ci'])}, ops:admin:{hash_key(keys['ops'])}")
    auth = Authenticator.from_settings(settings)
    assert (await auth.authenticate(api_key=keys["ci"])).role is Role.OPERATOR
    principal = await auth.authenticate(f"ApiKey {keys['ops']}")
    assert (principal.subject, principal.auth, principal.role) == ("ops", "api_key", Role.ADMIN)
    for wrong in ("fg_guess", "", hash_key(keys["ci"])):  # the stored hash is not a key
        with pytest.raises(Unauthenticated, match="unknown API key"):
            await auth.authenticate(api_key=wrong)
    with pytest.raises(Unauthenticated, match="bearer tokens are not accepted"):
        await auth.authenticate("Bearer abc")
    assert auth.challenge(Unauthenticated("x", missing=True)) == 'ApiKey realm="facegate"'


def test_api_key_entries_must_hold_a_sha256_and_a_role() -> None:
    assert parse_api_keys(f"# comment\na:viewer:{'0' * 64}\n\n", "file") == parse_api_keys(f"a:viewer:{'0' * 64}", "x")
    with pytest.raises(ValueError, match="needs a SHA-256 hex digest"):
        parse_api_keys("admin:admin:CHANGE-ME", "FACEGATE_AUTH_API_KEYS")
    with pytest.raises(ValueError, match="unknown role 'root'"):
        parse_api_keys(f"a:root:{'0' * 64}", "x")
    with pytest.raises(ValueError, match="not name:role:sha256"):
        parse_api_keys("plain-key", "x")


async def test_without_auth_configured_everyone_is_admin() -> None:
    auth = Authenticator.from_settings(Settings())
    assert not auth.enabled
    assert await auth.authenticate(None) is OPEN_ACCESS and OPEN_ACCESS.may(Role.ADMIN)


def test_an_open_gateway_listens_on_loopback_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert [is_loopback(h) for h in ("127.0.0.1", "127.0.0.2", "::1", "localhost")] == [True] * 4
    assert [is_loopback(h) for h in ("0.0.0.0", "::", "10.0.0.5", "gateway.example")] == [False] * 4
    assert not startup_checks(Settings()).enabled  # the default: 127.0.0.1, open
    with pytest.raises(SystemExit) as stopped:
        startup_checks(Settings(gateway_host="0.0.0.0"))
    assert stopped.value.code == 1
    message = capsys.readouterr().err
    assert "refusing to serve the API on 0.0.0.0 without authentication" in message
    assert "FACEGATE_ALLOW_UNAUTHENTICATED=true" in message
    assert not startup_checks(Settings(gateway_host="0.0.0.0", allow_unauthenticated=True)).enabled
    key_settings = Settings(gateway_host="0.0.0.0", auth_api_keys=f"a:admin:{hash_key('k')}")
    assert startup_checks(key_settings).enabled


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        (Settings(auth_jwks_url="https://idp.example/jwks"), "FACEGATE_AUTH_ISSUER and FACEGATE_AUTH_AUDIENCE"),
        (Settings(auth_jwks='{"keys": []}', auth_issuer="i", auth_audience="a"), "no usable signing key"),
        (Settings(auth_api_keys="admin:admin:CHANGE-ME"), "FACEGATE_AUTH_API_KEYS"),
        (Settings(auth_role_map="fg-admin"), "FACEGATE_AUTH_ROLE_MAP"),
    ],
)
def test_unusable_auth_settings_stop_the_gateway(
    settings: Settings, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        startup_checks(settings)
    assert named in capsys.readouterr().err


async def test_a_missing_keys_file_is_created_with_a_generated_admin_key(tmp_path: Path) -> None:
    path = tmp_path / "auth" / "api-keys"
    path.parent.mkdir()
    ensure_api_keys_file(path)
    key = (path.parent / ADMIN_KEY_FILE).read_text().strip()
    assert oct((path.parent / ADMIN_KEY_FILE).stat().st_mode & 0o777) == "0o600"
    assert key not in path.read_text() and hash_key(key) in path.read_text()
    auth = startup_checks(Settings(gateway_host="0.0.0.0", auth_api_keys_file=str(path)))
    assert (await auth.authenticate(api_key=key)).role is Role.ADMIN
    ensure_api_keys_file(path)  # present: kept as it is
    assert (path.parent / ADMIN_KEY_FILE).read_text().strip() == key


def test_forwarded_for_is_believed_from_trusted_proxies_only() -> None:
    proxies = TrustedProxies("10.0.0.0/8, 127.0.0.1")
    assert proxies.client("10.1.2.3", "198.51.100.7, 203.0.113.9") == "203.0.113.9"
    assert proxies.client("10.1.2.3", "198.51.100.7, 10.9.9.9") == "198.51.100.7"  # a proxy chain
    assert proxies.client("192.0.2.1", "203.0.113.9") == "192.0.2.1"  # not a proxy: header ignored
    assert TrustedProxies("").client("127.0.0.1", "203.0.113.9") == "127.0.0.1"
