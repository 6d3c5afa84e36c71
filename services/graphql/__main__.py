"""Start the GraphQL API: `python -m services.graphql` (FACEGATE_GRAPHQL_PORT, default 8097)."""

from __future__ import annotations

from services.graphql.service import setup
from shared.runtime import run_service


def main() -> None:
    run_service("graphql", "SmartFace's GraphQL API: queries and subscriptions", setup, needs_db=True)


if __name__ == "__main__":
    main()
