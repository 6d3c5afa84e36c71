"""Bearer JWTs of an OAuth2/OIDC identity provider, verified against its JSON Web Key Set.

`JwtVerifier.verify(token)` returns the token's claims or raises `InvalidCredentials` with a
short reason ("token expired", "wrong audience", ...) that goes into the 401's
`WWW-Authenticate: Bearer error_description`. What is checked:

- the algorithm is in the allow-list (asymmetric only: `none` and HS* are refused when the
  settings are read, so an HS256 token signed with the provider's *public* key as the HMAC
  secret never verifies), matches the key's type and the key's own `alg` when it has one;
- the signature, with the key named by the token's `kid` (a token without `kid` is accepted
  only when the set has exactly one signing key);
- `exp` (required), `nbf`, `iss` (required, equal to FACEGATE_AUTH_ISSUER) and `aud` (required,
  containing FACEGATE_AUTH_AUDIENCE), with 30 s of leeway for clock skew.

Keys come from FACEGATE_AUTH_JWKS_URL (fetched on first use, refreshed after
FACEGATE_AUTH_JWKS_CACHE_S, and refetched when a token names an unknown `kid`, which is how
providers rotate keys, at most once per MIN_REFETCH_S so a flood of made-up `kid`s cannot make
this process hammer the provider) or from FACEGATE_AUTH_JWKS (inline JSON or a file), for
offline setups. A failed fetch keeps the keys already known.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt

log = logging.getLogger(__name__)

MIN_REFETCH_S = 30.0
FETCH_TIMEOUT_S = 5.0
MAX_JWKS_BYTES = 1024 * 1024
LEEWAY_S = 30

# Which key type signs with which algorithm (RFC 7518, RFC 8037).
ALGORITHMS_BY_KEY_TYPE = {
    "RSA": {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"},
    "EC": {"ES256", "ES384", "ES512"},
    "OKP": {"EdDSA"},
}
ASYMMETRIC = frozenset().union(*ALGORITHMS_BY_KEY_TYPE.values())


class InvalidCredentials(Exception):
    """Credentials were sent but do not verify; the message says why (safe to show the client)."""


def parse_algorithms(text: str) -> frozenset[str]:
    """The allow-list from FACEGATE_AUTH_ALGORITHMS; ValueError for `none`, HS* or unknown names."""
    names = {name.strip() for name in text.split(",") if name.strip()}
    refused = sorted(names - ASYMMETRIC)
    if refused or not names:
        raise ValueError(
            f"FACEGATE_AUTH_ALGORITHMS: {', '.join(refused) or 'empty'} not allowed; "
            f"use asymmetric algorithms only ({', '.join(sorted(ASYMMETRIC))})"
        )
    return frozenset(names)


@dataclass(frozen=True)
class SigningKey:
    """One usable key of the set: its JWK fields and the key object PyJWT verifies with."""

    kid: str | None
    key_type: str
    algorithm: str | None  # the JWK's own `alg`, when it names one
    key: Any


def parse_jwks(document: dict[str, Any]) -> list[SigningKey]:
    """The asymmetric signing keys of a JWKS document (`use: enc` and symmetric keys skipped)."""
    keys = []
    for data in document.get("keys", []):
        if not isinstance(data, dict) or data.get("use", "sig") != "sig":
            continue
        if data.get("kty") not in ALGORITHMS_BY_KEY_TYPE:
            continue  # `oct` (shared secrets) never verifies a token here
        try:
            parsed = jwt.PyJWK(data)
        except jwt.PyJWTError as exc:
            log.warning("JWKS key %s skipped: %s", data.get("kid"), exc)
            continue
        keys.append(SigningKey(data.get("kid"), data["kty"], data.get("alg"), parsed.key))
    return keys


def read_static_jwks(value: str) -> dict[str, Any]:
    """FACEGATE_AUTH_JWKS: the document inline, or the path of a file holding it."""
    text = value if value.lstrip().startswith("{") else Path(value).read_text()
    document: dict[str, Any] = json.loads(text)
    return document


@dataclass
class JwksCache:
    """The provider's keys by `kid`, fetched from `url` (None: the static `keys` only)."""

    url: str | None
    cache_s: float = 3600.0
    keys: list[SigningKey] = field(default_factory=list)
    fetched_at: float = float("-inf")
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def find(self, kid: str | None) -> SigningKey:
        """The key that signed a token with this `kid`; InvalidCredentials when none does."""
        now = time.monotonic()
        stale = now - self.fetched_at > self.cache_s
        key = self._match(kid)
        if self.url and (stale or (key is None and now - self.fetched_at >= MIN_REFETCH_S)):
            await self.refresh()
            key = self._match(kid)
        if key is None:
            raise InvalidCredentials("unknown signing key" if kid else "token names no key (kid)")
        return key

    def _match(self, kid: str | None) -> SigningKey | None:
        if kid is None:
            return self.keys[0] if len(self.keys) == 1 else None
        return next((k for k in self.keys if k.kid == kid), None)

    async def refresh(self) -> None:
        """Fetch the set again (one fetch at a time); on failure keep the keys already known."""
        assert self.url is not None
        async with self._lock:
            if time.monotonic() - self.fetched_at < MIN_REFETCH_S:
                return  # another request fetched it while this one waited
            # Rate limit failures too: a provider that is down is not asked on every request.
            self.fetched_at = time.monotonic()
            try:
                document = await asyncio.to_thread(_fetch, self.url)
                keys = parse_jwks(document)
            except (OSError, ValueError) as exc:
                log.warning("JWKS fetch from %s failed, keeping %d known keys: %s", self.url, len(self.keys), exc)
                return
            if not keys:
                log.warning("JWKS at %s has no usable signing key; keeping the %d known", self.url, len(self.keys))
                return
            self.keys = keys


def _fetch(url: str) -> dict[str, Any]:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"JWKS URL must be http(s): {url}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_S) as reply:
        body = reply.read(MAX_JWKS_BYTES + 1)
    if len(body) > MAX_JWKS_BYTES:
        raise ValueError("JWKS document too large")
    document: dict[str, Any] = json.loads(body)
    return document


@dataclass
class JwtVerifier:
    """Verifies bearer tokens of one issuer for one audience."""

    issuer: str
    audience: str
    algorithms: frozenset[str]
    jwks: JwksCache

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid token; InvalidCredentials (with the reason) otherwise."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidCredentials("malformed token") from exc
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidCredentials(f"algorithm {algorithm!r} not allowed")
        kid = header.get("kid")
        key = await self.jwks.find(kid if isinstance(kid, str) else None)
        if algorithm not in ALGORITHMS_BY_KEY_TYPE[key.key_type] or key.algorithm not in (None, algorithm):
            raise InvalidCredentials(f"algorithm {algorithm!r} does not match the signing key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidCredentials("token expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise InvalidCredentials("token not valid yet") from exc
        except jwt.InvalidAudienceError as exc:
            raise InvalidCredentials("wrong audience") from exc
        except jwt.InvalidIssuerError as exc:
            raise InvalidCredentials("wrong issuer") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidCredentials(f"token lacks the {exc.claim!r} claim") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidCredentials("bad signature") from exc
        except jwt.PyJWTError as exc:
            raise InvalidCredentials("invalid token") from exc
        return claims
