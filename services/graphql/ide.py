"""The GraphQL IDE a browser gets at `/graphql/`: `ide.html`, one self-contained page (query
editor, variables, run button, result pane, the schema's roots by introspection, subscriptions
over graphql-transport-ws) with no script, style or font from another host.

Why not GraphiQL: ariadne's page loads it from a CDN, which fails on the closed networks where
cameras live, and vendoring GraphiQL (React, its editor) would add megabytes to the repository
for the few features a look at the API needs. The page sends the credentials typed into it
(`Authorization`, or `X-API-Key` for a bare key) with each request; it holds no data itself, so
it is served without credentials, as Swagger UI is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ariadne.explorer import Explorer

PAGE = Path(__file__).with_name("ide.html")


class OfflineIDE(Explorer):
    """Ariadne's hook for the page a `GET` without a query gets."""

    def __init__(self) -> None:
        self.page = PAGE.read_text()

    def html(self, _request: Any) -> str:
        return self.page
