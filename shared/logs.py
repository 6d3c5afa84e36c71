"""One log format for every process: time, service, level, message."""

from __future__ import annotations

import logging


def setup_logging(service: str, level: str) -> None:
    logging.basicConfig(
        level=level,
        format=f"%(asctime)s {service} %(levelname)s %(name)s: %(message)s",
    )
    # nats-py logs every reconnect attempt at INFO; keep ours readable.
    logging.getLogger("nats").setLevel(max(logging.WARNING, logging.getLevelName(level)))
