"""Reporting periods: a month, a quarter, a year or a range of Copenhagen calendar days (pure).

Management supervision (ledelsestilsyn) reports per period; the compliance report, the
dashboard's "this quarter" and the flows' "previous month/quarter" all count periods here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from statemachine.calendar import add_months

PREVIOUS_MONTH = "previous-month"
PREVIOUS_QUARTER = "previous-quarter"


class PeriodInvalid(ValueError):
    """A period that cannot be read (`format`), that ends before it starts (`reversed`), or
    outside the years a report covers (`range`)."""

    def __init__(self, period: str, kind: str = "format") -> None:
        self.period = period
        self.kind = kind
        super().__init__(f"period {period!r}: {kind}")


@dataclass(frozen=True)
class Period:
    """First and last Copenhagen calendar day, both included, and the period's name."""

    first: date
    last: date
    name: str


def quarter_of(day: date) -> Period:
    """The calendar quarter holding `day` (2026-Q4: 1 Oct–31 Dec 2026)."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return Period(first, add_months(first, 3) - timedelta(days=1), _quarter_name(first))


def month_of(day: date) -> Period:
    first = day.replace(day=1)
    return Period(first, add_months(first, 1) - timedelta(days=1), f"{first:%Y-%m}")


def _quarter_name(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def parse_period(text: str) -> tuple[date, date]:
    """ "2026-Q3", "2026-10", "2026" or "2026-07-01..2026-09-30" → (first day, last day), inclusive."""
    value = text.strip()
    try:
        if match := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", value):
            start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            if end < start:
                raise PeriodInvalid(text, "reversed")
            return start, end
        if match := re.fullmatch(r"(\d{4})-[Qq]([1-4])", value):
            quarter = quarter_of(date(int(match[1]), 3 * int(match[2]) - 2, 1))
            return quarter.first, quarter.last
        if match := re.fullmatch(r"(\d{4})-(\d{2})", value):
            month = month_of(date(int(match[1]), int(match[2]), 1))
            return month.first, month.last
        if match := re.fullmatch(r"(\d{4})", value):
            return date(int(match[1]), 1, 1), date(int(match[1]), 12, 31)
    except ValueError as error:  # a day or month that does not exist
        if isinstance(error, PeriodInvalid):
            raise
        raise PeriodInvalid(text) from None
    raise PeriodInvalid(text)


def resolve_period(period: str, today: date) -> str:
    """What a schedule's keyword means on Copenhagen date `today`; other periods as given."""
    if period == PREVIOUS_MONTH:
        return month_of(today.replace(day=1) - timedelta(days=1)).name
    if period == PREVIOUS_QUARTER:
        return quarter_of(quarter_of(today).first - timedelta(days=1)).name
    return period


@dataclass(frozen=True)
class Span:
    """A whole calendar month or quarter (`kind`: "month" | "quarter"), both ends included."""

    kind: str
    first: date
    last: date


def cover(first: date, last: date) -> tuple[list[Span], list[tuple[date, date]]]:
    """Days `first`…`last` as the fewest whole quarters and months, and the day runs left over
    at either end (each (first, last), inclusive): a year is four quarters; 15 April–31 July
    2026 is the run 15–30 April, then May, June and July (the third quarter is not whole)."""
    spans: list[Span] = []
    runs: list[tuple[date, date]] = []
    day = first
    while day <= last:
        quarter, month = quarter_of(day), month_of(day)
        if day == quarter.first and quarter.last <= last:
            spans.append(Span("quarter", quarter.first, quarter.last))
            day = quarter.last + timedelta(days=1)
        elif day == month.first and month.last <= last:
            spans.append(Span("month", month.first, month.last))
            day = month.last + timedelta(days=1)
        else:
            end = min(last, month.last)
            runs.append((day, end))
            day = end + timedelta(days=1)
    return spans, runs
