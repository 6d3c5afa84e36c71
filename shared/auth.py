"""Who is calling: bearer JWTs and API keys turned into a Principal with a Role.

Both HTTP edges authenticate with this one module, the same credentials and roles: the REST
gateway (`services/gateway/security.py`, per route) and the GraphQL API
(`services/graphql/access.py`, per request and per WebSocket's `connection_init`).

Credentials (README, Security):
- `Authorization: Bearer <JWT>` of the OAuth2/OIDC identity provider, verified by `jwks.py`
  (FACEGATE_AUTH_ISSUER, _AUDIENCE, _JWKS_URL or _JWKS, _ALGORITHMS); the role comes from the
  claim FACEGATE_AUTH_ROLES_CLAIM (dotted path, e.g. `realm_access.roles`), through
  FACEGATE_AUTH_ROLE_MAP when set (`idp-name=facegate-role,...`), the highest role winning.
- `X-API-Key: <key>` or `Authorization: ApiKey <key>` for machines: FACEGATE_AUTH_API_KEYS and
  the lines of FACEGATE_AUTH_API_KEYS_FILE hold `name:role:sha256-hex-of-the-key`; the key
  itself is never stored. `python -m shared.auth new-key NAME ROLE` makes one.

With none of them configured the API is open (every caller is an admin): `startup_checks`
allows that only while it listens on a loopback address or FACEGATE_ALLOW_UNAUTHENTICATED is set.

Use:

    authenticator = startup_checks(settings)   # once per process, before it listens
    try:
        principal = await authenticator.authenticate(authorization=..., api_key=...)
    except Unauthenticated as exc:      # HTTP: 401 with WWW-Authenticate: authenticator.challenge(exc)
        ...                             # WebSocket: close with 4401
    if not principal.may(Role.OPERATOR):
        ...                             # 403 / close with 4403
"""

from __future__ import annotations

import argparse
import enum
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shared.jwks import (
    InvalidCredentials,
    JwksCache,
    JwtVerifier,
    SigningKey,
    parse_algorithms,
    parse_jwks,
    read_static_jwks,
)
from shared.settings import Settings

log = logging.getLogger(__name__)

REALM = "facegate"
ADMIN_KEY_FILE = "admin-api-key"  # next to FACEGATE_AUTH_API_KEYS_FILE when it is generated


class Role(enum.IntEnum):
    """What a caller may do; each role includes the ones below it."""

    VIEWER = 1  # reads
    OPERATOR = 2  # reads and biometric searches (Search, Verify, SpoofCheck, SearchByTemplate, Detect)
    ADMIN = 3  # everything: watchlists, members, cameras, setup, deletes, the audit log

    @classmethod
    def named(cls, name: str) -> Role:
        """`viewer`, `operator` or `admin` (any case); ValueError otherwise."""
        try:
            return cls[name.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r} (viewer, operator, admin)") from None


AuthKind = Literal["jwt", "api_key", "none"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller. `auth` is "none" when the API runs open (no auth configured)."""

    subject: str
    auth: AuthKind
    role: Role | None
    name: str | None = None  # a readable name (preferred_username, email) next to an opaque `sub`

    def may(self, needed: Role) -> bool:
        return self.role is not None and self.role >= needed


OPEN_ACCESS = Principal(subject="anonymous", auth="none", role=Role.ADMIN)


class Unauthenticated(Exception):
    """No credentials (`missing`), or credentials that do not verify (the message says why)."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


@dataclass(frozen=True)
class ApiKey:
    name: str
    role: Role
    digest: bytes  # SHA-256 of the key: keys are random, so a slow hash adds nothing


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_api_keys(text: str, where: str) -> list[ApiKey]:
    """Entries `name:role:sha256hex`, separated by commas or lines; `#` starts a comment."""
    keys = []
    for raw in text.replace(",", "\n").splitlines():
        entry = raw.split("#", 1)[0].strip()
        if not entry:
            continue
        parts = entry.split(":")
        if len(parts) != 3:
            raise ValueError(f"{where}: {entry!r} is not name:role:sha256")
        name, role, digest = (p.strip() for p in parts)
        try:
            raw_digest = bytes.fromhex(digest)
        except ValueError:
            raw_digest = b""
        if not name or len(raw_digest) != 32:
            raise ValueError(
                f"{where}: the key {name!r} needs a SHA-256 hex digest "
                "(make one with: python -m shared.auth new-key NAME ROLE)"
            )
        keys.append(ApiKey(name, Role.named(role), raw_digest))
    return keys


@dataclass
class Authenticator:
    """Turns the credentials of a request into a Principal (one per process)."""

    verifier: JwtVerifier | None
    api_keys: list[ApiKey]
    roles_claim: str = "roles"
    role_map: dict[str, Role] | None = None

    @property
    def enabled(self) -> bool:
        return self.verifier is not None or bool(self.api_keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> Authenticator:
        """From FACEGATE_AUTH_*; ValueError naming the variable when the configuration is unusable."""
        verifier = None
        if settings.auth_jwks_url or settings.auth_jwks:
            if not settings.auth_issuer or not settings.auth_audience:
                raise ValueError("FACEGATE_AUTH_ISSUER and FACEGATE_AUTH_AUDIENCE are required with a JWKS")
            jwks = JwksCache(settings.auth_jwks_url or None, cache_s=settings.auth_jwks_cache_s)
            if settings.auth_jwks:  # used alone, or until the first fetch from the URL
                jwks.keys = _static_keys(settings.auth_jwks)
            algorithms = parse_algorithms(settings.auth_algorithms)
            verifier = JwtVerifier(settings.auth_issuer, settings.auth_audience, algorithms, jwks)
        keys = parse_api_keys(settings.auth_api_keys, "FACEGATE_AUTH_API_KEYS")
        if settings.auth_api_keys_file:
            path = Path(settings.auth_api_keys_file)
            keys += parse_api_keys(path.read_text(), str(path))
        role_map = None
        if settings.auth_role_map:
            pairs = [p.split("=", 1) for p in settings.auth_role_map.split(",") if p.strip()]
            if any(len(p) != 2 for p in pairs):
                raise ValueError("FACEGATE_AUTH_ROLE_MAP: expected idp-role=facegate-role,...")
            role_map = {name.strip(): Role.named(role) for name, role in pairs}
        return cls(verifier, keys, settings.auth_roles_claim, role_map)

    async def authenticate(self, authorization: str | None = None, api_key: str | None = None) -> Principal:
        """The caller named by an `Authorization` header value or an API key; Unauthenticated when
        credentials are missing or invalid. An open API answers OPEN_ACCESS."""
        if not self.enabled:
            return OPEN_ACCESS
        if api_key is not None:
            return self._by_key(api_key.strip())
        if not authorization:
            raise Unauthenticated("credentials required", missing=True)
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "apikey":
            return self._by_key(value.strip())
        if scheme.lower() != "bearer":
            raise Unauthenticated(f"unsupported authorization scheme {scheme!r}")
        if self.verifier is None:
            raise Unauthenticated("bearer tokens are not accepted: use an API key")
        try:
            claims = await self.verifier.verify(value.strip())
        except InvalidCredentials as exc:
            raise Unauthenticated(str(exc)) from exc
        return self._by_claims(claims)

    def _by_key(self, key: str) -> Principal:
        digest = hashlib.sha256(key.encode()).digest()
        # Every entry is compared, in constant time, so the answer time says nothing about the key.
        found = [k for k in self.api_keys if hmac.compare_digest(k.digest, digest)]
        if not key or not found:
            raise Unauthenticated("unknown API key")
        return Principal(subject=found[0].name, auth="api_key", role=found[0].role)

    def _by_claims(self, claims: dict[str, Any]) -> Principal:
        subject = next((str(claims[c]) for c in ("sub", "client_id", "azp") if claims.get(c)), "unknown")
        name = next((str(claims[c]) for c in ("preferred_username", "email", "client_id") if claims.get(c)), None)
        return Principal(subject=subject, auth="jwt", role=self.role_of(claims), name=name)

    def role_of(self, claims: dict[str, Any]) -> Role | None:
        """The highest Facegate role the roles claim grants (None: no role, every route is 403)."""
        value: Any = claims
        for part in self.roles_claim.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        names = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
        roles = []
        for name in (n for n in names if isinstance(n, str)):
            if self.role_map is not None:
                if name in self.role_map:
                    roles.append(self.role_map[name])
            elif name.upper() in Role.__members__:
                roles.append(Role[name.upper()])
        return max(roles, default=None)

    def challenge(self, error: Unauthenticated | None = None, *, insufficient: bool = False) -> str:
        """The WWW-Authenticate value (RFC 6750 for Bearer; ApiKey as a second challenge)."""
        challenges = []
        if self.verifier is not None or not self.api_keys:
            bearer = f'Bearer realm="{REALM}"'
            if insufficient:
                bearer += ', error="insufficient_scope"'
            elif error is not None and not error.missing:
                reason = error.reason.replace('"', "'")
                bearer += f', error="invalid_token", error_description="{reason}"'
            challenges.append(bearer)
        if self.api_keys:
            challenges.append(f'ApiKey realm="{REALM}"')
        return ", ".join(challenges)


def _static_keys(value: str) -> list[SigningKey]:
    try:
        keys = parse_jwks(read_static_jwks(value))
    except (OSError, ValueError) as exc:
        raise ValueError(f"FACEGATE_AUTH_JWKS: cannot read a JWKS: {exc}") from exc
    if not keys:
        raise ValueError("FACEGATE_AUTH_JWKS: no usable signing key (RSA, EC or OKP with use=sig)")
    return keys


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve to anything


def new_key() -> str:
    return "fg_" + secrets.token_urlsafe(32)


def ensure_api_keys_file(path: Path, wait_s: float = 10.0) -> None:
    """Create FACEGATE_AUTH_API_KEYS_FILE with one generated admin key when it is missing (compose
    does this on first start): the key goes to `admin-api-key` next to it (mode 0600), only its
    hash into the file. Replicas sharing the folder race safely: the one that creates
    `admin-api-key` first writes both; the others wait for the file."""
    if path.exists():
        return
    secret_path = path.with_name(ADMIN_KEY_FILE)
    key = new_key()
    try:
        fd = os.open(secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        deadline = time.monotonic() + wait_s
        while not path.exists():
            if time.monotonic() > deadline:
                raise ValueError(f"{secret_path} exists but {path} does not: delete it to generate a new key") from None
            time.sleep(0.2)
        return
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    partial = path.with_name(path.name + ".partial")
    partial.write_text(f"# generated {time.strftime('%Y-%m-%d')}: name:role:sha256 of the key\n")
    with partial.open("a") as f:
        f.write(f"admin:admin:{hash_key(key)}\n")
    partial.replace(path)  # atomic: readers see no file or the whole file
    log.warning("generated an admin API key: read it from %s", secret_path)


def startup_checks(settings: Settings) -> Authenticator:
    """What the gateway and the GraphQL service check before they listen (both on
    FACEGATE_GATEWAY_HOST); SystemExit(1) with the reason when one must not start: unusable auth
    settings, or no authentication on an address other than loopback."""
    try:
        if settings.auth_api_keys_file:
            ensure_api_keys_file(Path(settings.auth_api_keys_file))
        authenticator = Authenticator.from_settings(settings)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"facegate: invalid authentication settings: {exc} (see README, Security)\n")
        raise SystemExit(1) from exc
    if not authenticator.enabled and not is_loopback(settings.gateway_host):
        if not settings.allow_unauthenticated:
            sys.stderr.write(
                f"facegate: refusing to serve the API on {settings.gateway_host} without authentication. "
                "Configure FACEGATE_AUTH_JWKS_URL (with FACEGATE_AUTH_ISSUER and FACEGATE_AUTH_AUDIENCE) "
                "or FACEGATE_AUTH_API_KEYS, listen on 127.0.0.1 (FACEGATE_GATEWAY_HOST), or set "
                "FACEGATE_ALLOW_UNAUTHENTICATED=true to run open on purpose (see README, Security)\n"
            )
            raise SystemExit(1)
        log.warning(
            "the API on %s is open to anyone who can reach it (FACEGATE_ALLOW_UNAUTHENTICATED)", settings.gateway_host
        )
    return authenticator


def main() -> None:
    parser = argparse.ArgumentParser(description="Make an API key for FACEGATE_AUTH_API_KEYS.")
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("new-key", help="print a new key and its FACEGATE_AUTH_API_KEYS entry")
    make.add_argument("name", help="who uses the key (appears in the audit log)")
    make.add_argument("role", choices=[r.name.lower() for r in Role])
    args = parser.parse_args()
    if ":" in args.name or "," in args.name:
        parser.error("the name may not contain ':' or ','")
    key = new_key()
    print(f"key:   {key}\nentry: {args.name}:{args.role}:{hash_key(key)}")


if __name__ == "__main__":
    main()
