"""Paging: one page of a list, `limit` rows from `offset`, and the bounds every list keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_LIMIT = 500
MAX_OFFSET = 100_000


class PageInvalid(ValueError):
    """A limit or offset out of range: which (`name`), what was asked, and the bounds."""

    def __init__(self, name: str, value: int, low: int, high: int) -> None:
        self.name, self.value, self.low, self.high = name, value, low, high
        super().__init__(f"{name} {value}: between {low} and {high}")


@dataclass(frozen=True)
class Page(Generic[T]):
    """`items`: at most `limit` rows from `offset`; `has_more`: rows follow after them."""

    items: list[T]
    limit: int
    offset: int
    has_more: bool
    # The number of rows in the whole list, where knowing it cost nothing extra.
    total: int | None = None
    # Keyset paging (lists that offer it): the cursor of the next page; None: the last page.
    next_after: str | None = None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise PageInvalid("limit", limit, 1, MAX_LIMIT)
    if not 0 <= offset <= MAX_OFFSET:
        raise PageInvalid("offset", offset, 0, MAX_OFFSET)


def page_of(rows: list[T], limit: int, offset: int) -> Page[T]:
    """`rows` fetched with limit + 1."""
    return Page(rows[:limit], limit, offset, len(rows) > limit)
