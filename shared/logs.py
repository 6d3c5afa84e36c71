"""One log format for every process: time, service, level, message."""

from __future__ import annotations

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
