"""One log format for every process: time, service, level, message; and the access-log line of
the HTTP edges (REST gateway, GraphQL), with the client's address as proxies forward it."""

from __future__ import annotations

import ipaddress
import json
import logging


def setup_logging(service: str, level: str) -> None:
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
    )
    # nats-py logs every reconnect attempt at INFO; keep ours readable.
    logging.getLogger("nats").setLevel(max(logging.WARNING, logging.getLevelName(level)))


ACCESS = logging.getLogger("facegate.access")


def log_access(level: int, **fields: object) -> None:
    """One access-log line of `key=value` pairs (values with spaces or quotes are JSON-quoted),
    so log tools can parse it: method=GET path=/api/v1/Watchlists status=200 duration_ms=3.1 ..."""
    if ACCESS.isEnabledFor(level):
        ACCESS.log(level, " ".join(f"{key}={_logfmt(value)}" for key, value in fields.items()))


def _logfmt(value: object) -> str:
    text = "-" if value is None else str(value)
    return json.dumps(text) if not text or any(c in text for c in ' "=\\') or not text.isprintable() else text


class TrustedProxies:
    """The client's address: the peer's, or, when the peer is a trusted proxy, the last address
    of X-Forwarded-For that is not itself a trusted proxy (anything left of it is client-made)."""

    def __init__(self, spec: str) -> None:
        self.networks = [ipaddress.ip_network(p.strip(), strict=False) for p in spec.split(",") if p.strip()]

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks)

    def client(self, peer: str | None, forwarded_for: str | None) -> str | None:
        if peer is None or not self.trusts(peer) or not forwarded_for:
            return peer
        hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop
        return hops[0] if hops else peer
