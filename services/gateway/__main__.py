"""Start the gateway: `python -m services.gateway` (REST on FACEGATE_GATEWAY_PORT, default 8098)."""

from __future__ import annotations

import uvicorn

from services.gateway.app import create_app
from shared import threads
from shared.auth import startup_checks
from shared.logs import setup_logging
from shared.settings import load_settings


def main() -> None:
    settings = load_settings()
    setup_logging("gateway", settings.log_level)
    # The gateway computes no models (one event loop); its BLAS and OpenCV pools follow the one rule.
    threads.apply(threads.plan(1, settings.cpu_cores))
    # Refuses to start on bad auth settings, or open (no auth) on an address other than loopback.
    authenticator = startup_checks(settings)
    uvicorn.run(
        create_app(settings, authenticator=authenticator),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
    )


if __name__ == "__main__":
    main()
