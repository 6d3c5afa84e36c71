"""A tiny identity provider for the security tests: real RSA keys, a JWKS document served over
HTTP on 127.0.0.1, and tokens signed like an OIDC provider signs them (nothing mocked)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support import serve_http

ISSUER = "https://idp.example/realms/facegate"
AUDIENCE = "facegate-api"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))

    def jwk(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**data, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass
class IdentityProvider:
    """Keys published in `jwks()`; `token()` signs claims with the first key unless told."""

    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey("key-1")])
    fetches: int = 0  # how often the JWKS was fetched over HTTP

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.jwk() for k in self.keys]}

    def claims(self, roles: list[str] | None = None, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": "user-42", "preferred_username": "alice",
            "iat": now, "exp": now + 300, "realm_access": {"roles": roles if roles is not None else ["fg-admin"]},
        }  # fmt: skip
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(self, roles: list[str] | None = None, key: SigningKey | None = None, **overrides: Any) -> str:
        key = key or self.keys[0]
        return jwt.encode(self.claims(roles, **overrides), key.private, algorithm="RS256", headers={"kid": key.kid})

    def unsigned_token(self, roles: list[str] | None = None) -> str:
        """`alg: none`: no signature at all."""
        return _compact({"alg": "none", "typ": "JWT"}, self.claims(roles), b"")

    def hs256_with_public_key(self, roles: list[str] | None = None) -> str:
        """The algorithm-confusion attack: HMAC-SHA256 keyed with the provider's *public* key
        (which anyone can read from the JWKS), hoping the verifier uses it as the HMAC secret."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.keys[0].kid}
        signing_input = _compact(header, self.claims(roles), None)
        mac = hmac.new(self.keys[0].public_pem(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes | None) -> str:
    parts = [_b64(json.dumps(header).encode()), _b64(json.dumps(claims).encode())]
    return ".".join(parts) if signature is None else ".".join([*parts, _b64(signature)])


@contextmanager
def serve_jwks(idp: IdentityProvider) -> Iterator[str]:
    """The provider's JWKS at http://127.0.0.1:<port>/jwks (the current keys on every fetch)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            idp.fetches += 1
            body = json.dumps(idp.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    with serve_http(Handler) as base:
        yield f"{base}/jwks"
