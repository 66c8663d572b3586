"""Reporting periods: what a schedule's keyword means on a Copenhagen date, and period text."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statemachine.calendar import local_date, parse_instant
from statemachine.periods import cover, month_of, quarter_of, resolve_period


@pytest.mark.parametrize(
    ("period", "now", "expected"),
    [
        # the monthly schedule fires at 06:00 on the 1st, Copenhagen time
        ("previous-month", "2026-05-01T06:00:00+02:00", "2026-04"),
        ("previous-month", "2027-01-01T06:00:00+01:00", "2026-12"),
        # 00:30 on 1 March in Copenhagen is still 28 February in UTC: the local date counts
        ("previous-month", "2026-02-28T23:30:00+00:00", "2026-02"),
        ("previous-quarter", "2026-04-01T06:00:00+02:00", "2026-Q1"),
        ("previous-quarter", "2027-01-01T06:00:00+01:00", "2026-Q4"),
        ("previous-quarter", "2026-08-15T12:00:00+02:00", "2026-Q2"),
        ("2026-Q3", "2027-01-01T06:00:00+01:00", "2026-Q3"),
    ],
)
def test_compliance_periods_named_by_the_schedules_are_counted_from_now(period, now, expected):
    assert resolve_period(period, local_date(parse_instant(now))) == expected


@pytest.mark.parametrize(
    ("first", "last", "spans", "runs"),
    [
        # a whole quarter, a whole month, a year of four quarters
        ("2026-04-01", "2026-06-30", [("quarter", "2026-04-01")], []),
        ("2026-02-01", "2026-02-28", [("month", "2026-02-01")], []),
        (
            "2026-01-01",
            "2026-12-31",
            [
                ("quarter", "2026-01-01"),
                ("quarter", "2026-04-01"),
                ("quarter", "2026-07-01"),
                ("quarter", "2026-10-01"),
            ],
            [],
        ),
        # a leap February is a month; a range starting mid-month has a run before its months
        ("2028-02-01", "2028-02-29", [("month", "2028-02-01")], []),
        (
            "2026-04-15",
            "2026-07-31",
            [("month", "2026-05-01"), ("month", "2026-06-01"), ("month", "2026-07-01")],
            [("2026-04-15", "2026-04-30")],
        ),
        # within one month: a run only
        ("2026-05-04", "2026-05-20", [], [("2026-05-04", "2026-05-20")]),
        # a quarter and a few days after it
        ("2026-01-01", "2026-04-03", [("quarter", "2026-01-01")], [("2026-04-01", "2026-04-03")]),
    ],
)
def test_a_period_is_covered_by_whole_quarters_and_months_and_runs_of_days(
    first: str, last: str, spans: list[tuple[str, str]], runs: list[tuple[str, str]]
) -> None:
    found, left = cover(date.fromisoformat(first), date.fromisoformat(last))
    assert [(s.kind, s.first.isoformat()) for s in found] == spans
    assert [(a.isoformat(), b.isoformat()) for a, b in left] == runs


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.integers(0, 800))
def test_the_cover_holds_every_day_once_and_only_whole_spans(first: date, length: int) -> None:
    last = first + timedelta(days=length)
    spans, runs = cover(first, last)
    days = [s.first + timedelta(days=i) for s in spans for i in range((s.last - s.first).days + 1)]
    days += [a + timedelta(days=i) for a, b in runs for i in range((b - a).days + 1)]
    assert sorted(days) == [first + timedelta(days=i) for i in range(length + 1)]
    for span in spans:
        whole = quarter_of(span.first) if span.kind == "quarter" else month_of(span.first)
        assert (span.first, span.last) == (whole.first, whole.last)
    for a, b in runs:
        # a run never holds a whole month, and stays within one month
        assert month_of(a) == month_of(b) and (a, b) != (month_of(a).first, month_of(a).last)
