"""Reporting periods: what a schedule's keyword means on a Copenhagen date, and period text."""

from __future__ import annotations

import pytest

from statemachine.calendar import local_date, parse_instant
from statemachine.periods import resolve_period


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
