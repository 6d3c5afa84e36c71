"""Small messages many services share: ids, paging."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec

T = TypeVar("T")

MAX_PAGE_SIZE = 1000
# SmartFace pages are int32; the bound also keeps the SQL offset inside bigint.
MAX_PAGE_NUMBER = 2**31 - 1


class ById(msgspec.Struct, frozen=True):
    """Ask for one entity by its id."""

    id: str


class PageQuery(msgspec.Struct, frozen=True):
    """SmartFace paging: 1-based page, newest or oldest first by creation time."""

    page_number: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_NUMBER)] = 1
    page_size: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE_SIZE)] = 20
    ascending: bool = True
    show_total_count: bool = False

    @property
    def offset(self) -> int:
        return (self.page_number - 1) * self.page_size


class Page(msgspec.Struct, Generic[T], frozen=True):
    """One page of items as a service returns it; the gateway adds the page links."""

    items: list[T]
    has_next: bool
    total_items_count: int | None = None
