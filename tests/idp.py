"""A tiny identity provider for the security tests: real RSA keys, a JWKS document served over
HTTP on 127.0.0.1, and tokens signed like an OIDC provider signs them (nothing mocked)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

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


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    subject: str


@contextmanager
def serve_oidc(idp: IdentityProvider, client_id: str, roles: list[str]) -> Iterator[str]:
    """An OIDC provider at http://127.0.0.1:<port> (the issuer URL): discovery, JWKS, a sign-in
    page (`/authorize`, its "Sign in as alice" button approves) and a token endpoint that checks
    the PKCE verifier against the challenge (S256), the client and the redirect URI, as a real
    provider does, then signs an access token for `roles` with the provider's key. CORS is open
    on discovery and token, as providers allow a browser client's origin."""
    grants: dict[str, Grant] = {}
    issuer = ""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, kind: str = "application/json", **headers: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            for name, value in headers.items():
                self.send_header(name.replace("_", "-"), value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: dict[str, Any]) -> None:
            self._send(status, json.dumps(data).encode())

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(200, {
                    "issuer": issuer, "authorization_endpoint": f"{issuer}/authorize",
                    "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/jwks",
                    "code_challenge_methods_supported": ["S256"],
                })  # fmt: skip
            elif url.path == "/jwks":
                self._json(200, idp.jwks())
            elif url.path == "/authorize":
                asked = dict(parse_qsl(url.query))
                if asked.get("client_id") != client_id or asked.get("code_challenge_method") != "S256":
                    self._send(400, b"unknown client or no S256 challenge", "text/plain")
                    return
                hidden = "".join(
                    f'<input type=hidden name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in asked.items()
                )
                form = (
                    "<!doctype html><title>Identity provider</title><form method=post action=/authorize>"
                    f"{hidden}<button>Sign in as alice</button></form>"
                )
                self._send(200, form.encode(), "text/html")
            else:
                self._send(404, b"{}")

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length", "0"))
            return dict(parse_qsl(self.rfile.read(length).decode()))

        def do_POST(self) -> None:
            form = self._form()
            if self.path == "/authorize":  # the user approved: back to the client with a code
                code = secrets.token_urlsafe(16)
                grants[code] = Grant(form["client_id"], form["redirect_uri"], form["code_challenge"], "alice")
                back = f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form.get('state', '')})}"
                self._send(302, b"", "text/plain", Location=back)
            elif self.path == "/token":
                grant = grants.pop(form.get("code", ""), None)  # one use only
                verifier = form.get("code_verifier", "")
                proof = _b64(hashlib.sha256(verifier.encode()).digest())
                if (
                    grant is None or form.get("grant_type") != "authorization_code"
                    or form.get("client_id") != grant.client_id or form.get("redirect_uri") != grant.redirect_uri
                    or not hmac.compare_digest(proof, grant.challenge)
                ):  # fmt: skip
                    self._json(400, {"error": "invalid_grant"})
                    return
                token = idp.token(roles, iss=issuer, preferred_username=grant.subject)
                self._json(200, {"access_token": token, "token_type": "Bearer", "expires_in": 300})
            else:
                self._send(404, b"{}")

        def log_message(self, *_args: Any) -> None:
            pass

    with serve_http(Handler) as base:
        issuer = base  # the handler reads it at request time
        yield issuer
