"""Paging: one page of a list, `limit` rows from `offset`, and the bounds every list keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_LIMIT = 500
MAX_OFFSET = 100_000
# The stuck-case report judges every open case of its scope in Python (working-day calendars,
# consent ages): above this many open cases in one report it asks for a narrower filter
# instead of taking seconds. A team (100-300 cases) or a caseworker is far below it.
STUCK_MAX_CASES = 2_000


class PageInvalid(ValueError):
    """A limit or offset out of range: which (`name`), what was asked, and the bounds."""

    def __init__(self, name: str, value: int, low: int, high: int) -> None:
        self.name, self.value, self.low, self.high = name, value, low, high
        super().__init__(f"{name} {value}: between {low} and {high}")


class TooBroad(ValueError):
    """A report over more open cases than it judges in one request: narrow the filter."""

    def __init__(self, open_cases: int, most: int) -> None:
        self.open_cases = open_cases
        self.most = most
        super().__init__(
            f"more than {most} open cases match: filter by team, worker or phase "
            f"(the stuck-case report judges at most {most} open cases per request)"
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """`items`: at most `limit` rows from `offset`; `has_more`: rows follow after them."""

    items: list[T]
    limit: int
    offset: int
    has_more: bool
    # The number of rows in the whole list, where knowing it cost nothing extra.
    total: int | None = None

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
