"""SmartFace paging at the REST edge: query parameters in, paged collection with links out.

A list handler takes `paging: PageQuery`; the `paging` dependency (`PAGING`, registered on the
app) reads the four query parameters into it, so every list documents and validates them alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from litestar import Request
from litestar.di import Provide
from litestar.params import Parameter

from shared.messages.common import MAX_PAGE_NUMBER, MAX_PAGE_SIZE, Page, PageQuery

PageNumber = Annotated[
    int, Parameter(query="PageNumber", ge=1, le=MAX_PAGE_NUMBER, default=1, description="1-based page number")
]
PageSize = Annotated[
    int,
    Parameter(query="PageSize", ge=1, le=MAX_PAGE_SIZE, default=20, description=f"at most {MAX_PAGE_SIZE} items"),
]
Ascending = Annotated[bool, Parameter(query="Ascending", default=True, description="oldest first (by createdAt)")]
ShowTotalCount = Annotated[bool, Parameter(query="ShowTotalCount", default=False, description="fill totalItemsCount")]

Collection = TypeVar("Collection")

# Python parameter names -> the query names clients send (for validation messages).
QUERY_ALIASES = {
    "page_number": "PageNumber",
    "page_size": "PageSize",
    "ascending": "Ascending",
    "show_total_count": "ShowTotalCount",
}


async def page_query(
    page_number: PageNumber = 1,
    page_size: PageSize = 20,
    ascending: Ascending = True,
    show_total_count: ShowTotalCount = False,
) -> PageQuery:
    """The page a list request asks for, from its PageNumber, PageSize, Ascending and
    ShowTotalCount query parameters."""
    return PageQuery(page_number, page_size, ascending, show_total_count)


PAGING = Provide(page_query)


def page_links(request: Request[Any, Any, Any], query: PageQuery, page: Page[Any]) -> tuple[str | None, str | None]:
    """Relative URLs of the previous and next pages, repeating the request's query."""

    def link(number: int) -> str:
        params = dict(request.query_params)
        params.update(
            PageNumber=str(number),
            PageSize=str(query.page_size),
            Ascending=str(query.ascending).lower(),
            ShowTotalCount=str(query.show_total_count).lower(),
        )
        return f"{request.url.path}?{urlencode(params)}"

    previous = link(query.page_number - 1) if query.page_number > 1 else None
    following = link(query.page_number + 1) if page.has_next else None
    return previous, following


def paged(
    collection: Callable[..., Collection], request: Request[Any, Any, Any], query: PageQuery, page: Page[Any]
) -> Collection:
    """`page` as the SmartFace paged collection `collection` (every `*PagedCollection` has the
    same six fields), with links to the neighbouring pages."""
    previous, following = page_links(request, query, page)
    return collection(
        total_items_count=page.total_items_count, items=page.items, page_size=query.page_size,
        page_number=query.page_number, previous_page=previous, next_page=following,
    )  # fmt: skip
