"""The GraphQL section of docs/compatibility.md: every Query root and Subscription of SmartFace's
schema, and whether Facegate answers it with data (generated with the REST table by
`python -m services.gateway.compatibility`)."""

from __future__ import annotations

from services.graphql.entities import ROOTS
from services.graphql.schema import build_schema
from services.graphql.subscriptions import FED

EMPTY_ROOT = "an empty segment: Facegate keeps no such data yet"
SILENT = "accepted, never fires: Facegate produces no such event yet"


def _fed(subscription: str) -> str:
    if subscription not in FED:
        return SILENT
    return f"answered from `{FED[subscription].filter}`"


def lines() -> list[str]:
    """Markdown lines of the section."""
    schema = build_schema()
    assert schema.query_type is not None and schema.subscription_type is not None
    roots = list(schema.query_type.fields)
    subscriptions = list(schema.subscription_type.fields)
    out = [
        "",
        f"## GraphQL (port 8097, `/graphql/`): {sum(r in ROOTS for r in roots)} of {len(roots)} query roots "
        f"and {sum(s in FED for s in subscriptions)} of {len(subscriptions)} subscriptions answered",
        "",
        "SmartFace's schema is served exactly (introspection included); every root and subscription is",
        "accepted, and those without data answer empty rather than with an error.",
        "",
        "| root | kind | status |",
        "|---|---|---|",
    ]
    out += [f"| `{r}` | query | {'answered from Postgres' if r in ROOTS else EMPTY_ROOT} |" for r in roots]
    out += [f"| `{s}` | subscription | {_fed(s)} |" for s in subscriptions]
    return out
