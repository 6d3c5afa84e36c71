"""Start the GraphQL API: `python -m services.graphql` (FACEGATE_GRAPHQL_PORT, default 8097)."""

from __future__ import annotations

import functools

from services.graphql.service import setup
from shared.auth import startup_checks
from shared.logs import setup_logging
from shared.runtime import run_service
from shared.settings import load_settings


def main() -> None:
    settings = load_settings()
    setup_logging("graphql", settings.log_level)
    # As the gateway: refuses to start on bad auth settings, or open on an address other than loopback.
    authenticator = startup_checks(settings)
    description = "SmartFace's GraphQL API: queries and subscriptions"
    run_service("graphql", description, functools.partial(setup, authenticator=authenticator), needs_db=True)


if __name__ == "__main__":
    main()
