"""Settings of every Facegate process, read once from `FACEGATE_*` environment variables.

One Struct for all services keeps the list of variables in one place (the README documents it
field by field); a service's own settings (`FACEGATE_CAMERA_*`, `FACEGATE_MATCHER_*`) are read by
the same loader, `from_environment`. Bad values stop the process with a clear message instead of
a traceback.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

import msgspec

PREFIX = "FACEGATE_"

S = TypeVar("S", bound=msgspec.Struct)

Provider = Literal["cpu", "cuda", "gpu"]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Configuration shared by all services; each field is `FACEGATE_<FIELD>` in the environment."""

    nats_url: str = "nats://127.0.0.1:4222"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/facegate"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # CA certificate (PEM) that a `tls://` NATS URL is verified against (Postgres and Redis take
    # theirs in their URLs: sslrootcert=, ssl_ca_certs=); empty: the system's CAs.
    tls_ca_file: str = ""
    # Loopback by default: an open gateway (no authentication configured) may listen only there.
    gateway_host: str = "127.0.0.1"
    gateway_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8098
    # SmartFace's GraphQL API (services/graphql), on the gateway's host address.
    graphql_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8097
    # Where browsers reach the GraphQL API (Swagger UI links the gateway's /graphql, which
    # redirects here); empty: the host name the browser used for the gateway, on graphql_port.
    graphql_url: str = ""
    # Workers answer /healthz and /readyz on this port for Kubernetes probes; 0 switches it off.
    health_port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 0
    # Seconds the gateway waits for a worker's reply before answering 503.
    request_timeout: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    # How long the gateway keeps the answer of a request sent with an Idempotency-Key (in Redis).
    idempotency_ttl_s: Annotated[int, msgspec.Meta(ge=60)] = 24 * 3600
    # Keep the whole photo of every registered member face (Register, AddNewFace), served as the
    # face's imageDataId instead of its crop; the member's privacy (saveRegistrationImages) still
    # decides whether any image is kept.
    keep_registration_photos: bool = False
    # Bodies above this many bytes get 413 before anything is decoded.
    max_request_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 32 * 1024 * 1024
    # Requests a service handles at once per replica; more wait in NATS.
    concurrency: Annotated[int, msgspec.Meta(ge=1)] = 64
    # Threads for CPU-bound work (inference, decoding, index search) per process.
    worker_threads: Annotated[int, msgspec.Meta(ge=1)] = 2
    # Cores the process may use (a container's CPU limit); 0: the CPUs it may run on. Sizes the
    # onnxruntime, OpenCV and BLAS thread pools (shared/threads.py).
    cpu_cores: Annotated[int, msgspec.Meta(ge=0, le=1024)] = 0
    # The gateway computes at most this many API requests at once; more wait up to
    # queue_wait_s for a place, then get 429 with Retry-After (services/gateway/overload.py).
    max_in_flight: Annotated[int, msgspec.Meta(ge=1)] = 32
    queue_wait_s: Annotated[float, msgspec.Meta(ge=0, le=60)] = 2.0
    events_stream: str = "FACEGATE_EVENTS"
    # Events between services only (shared.subjects.INTERNAL_PREFIX), same limits as the events.
    internal_stream: str = "FACEGATE_INTERNAL"
    events_max_age_s: Annotated[int, msgspec.Meta(ge=60)] = 7 * 24 * 3600
    events_max_bytes: int = 1024 * 1024 * 1024
    # Payloads larger than one NATS message (images over the server's max_payload) go through
    # this JetStream object store and expire after blob_ttl_s.
    blob_bucket: str = "FACEGATE_BLOBS"
    blob_ttl_s: Annotated[int, msgspec.Meta(ge=10)] = 600
    models_dir: str = "var/models"
    execution_provider: Provider = "cpu"
    data_dir: str = "var/data"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Key(s) that encrypt secrets at rest (camera credentials): Fernet keys, comma-separated, the
    # first encrypts (shared/encryption.py). Unset: read from (or generated into) secret_key_file.
    secret_key: str = ""
    secret_key_file: str = "var/secret.key"
    instance_id: str = ""
    # Authentication of API clients, REST and GraphQL alike (README, Security; shared/auth.py).
    # With none of auth_jwks_url, auth_jwks, auth_api_keys, auth_api_keys_file set the API is
    # open, which the gateway and graphql allow on a loopback address only, unless
    # allow_unauthenticated says otherwise.
    allow_unauthenticated: bool = False
    auth_issuer: str = ""
    auth_audience: str = ""
    auth_jwks_url: str = ""
    # A JWKS document inline (starts with "{") or the path of a JWKS file: offline setups.
    auth_jwks: str = ""
    auth_jwks_cache_s: Annotated[int, msgspec.Meta(ge=60)] = 3600
    # Asymmetric algorithms only: HS* (a shared secret) and `none` are refused here.
    auth_algorithms: str = "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA"
    # Dotted path of the roles claim (Keycloak: realm_access.roles) and `idp-role=facegate-role,...`.
    auth_roles_claim: str = "roles"
    auth_role_map: str = ""
    # The web console's OIDC sign-in (authorization code with PKCE, a public client of the identity
    # provider at auth_issuer, redirect URI <gateway>/console/); empty: API keys only.
    console_oidc_client_id: str = ""
    console_oidc_scope: str = "openid profile"
    # API keys for machines, `name:role:sha256-of-key` separated by commas (or lines in the file).
    auth_api_keys: str = ""
    auth_api_keys_file: str = ""
    # Comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed.
    trusted_proxies: str = ""
    audit_retention_days: Annotated[int, msgspec.Meta(ge=1)] = 365
    # One line per request (method, path, status, duration, subject) at INFO.
    access_log: bool = True


def from_environment(kind: type[S], prefix: str, docs: str, environ: Mapping[str, str] | None = None) -> S:
    """`kind` with each field from `<prefix><FIELD>` (empty means unset: the default); exit 1 with
    a readable message, pointing at `docs`, when a value is invalid."""
    env = os.environ if environ is None else environ
    known = set(kind.__struct_fields__)
    # Unknown variables with the prefix are ignored: tools (tests, make) and the other loaders'
    # longer prefixes (FACEGATE_CAMERA_...) share it.
    raw = {
        name: value
        for key, value in env.items()
        if key.startswith(prefix) and value != "" and (name := key[len(prefix) :].lower()) in known
    }
    try:
        return msgspec.convert(raw, kind, strict=False)
    except msgspec.ValidationError as exc:
        field = re.search(r"`\$\.(\w+)", str(exc))  # msgspec names the field: `$.<field>`
        variable = f"{prefix}{field.group(1).upper()}" if field else f"{prefix}*"
        sys.stderr.write(f"facegate: invalid configuration: {variable}: {exc} (see {docs})\n")
        raise SystemExit(1) from exc


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from `FACEGATE_*`; exit 1 with a readable message if invalid."""
    return from_environment(Settings, PREFIX, "README, Configuration", environ)
