"""The overview's figures: cases and stuck cases per phase, shares on time, the weekly trend.

`scope` is the signed-in user's visibility (`access.case_filter`), a WHERE clause over the case
table. Every query here groups or limits in the database; none reads all cases into Python.
Deadline queries go through the (status, due_at) index: a status is always named, even where
all statuses are meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Connection, func, select

from models.database import reading
from models.repository import CASE
from sagsflow.context import Context
from sagsflow.read.compliance import MEASURES, Share, counted
from sagsflow.read.deadlines import count_breached, count_due
from sagsflow.read.stuck import StuckRules
from statemachine.calendar import local_date
from statemachine.periods import quarter_of
from statemachine.phases import DeadlineStatus, Phase

OPEN = CASE.c.phase != Phase.CLOSURE.value
ALL_STATUSES = [s.value for s in DeadlineStatus]
BREACHED = DeadlineStatus.BREACHED.value


# --- cases per phase -------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseCount:
    phase: str
    cases: int
    stuck: int


def cases_per_phase(
    connection: Connection, scope: ColumnElement[bool], rules: StuckRules
) -> list[PhaseCount]:
    """Cases and stuck cases per phase (closure included): the cases per phase (the phase
    index), the cases with a time-driven reason (`stuck_at < now`: the (phase, stuck_at) index)
    and the breached cases among the rest (the (phase, breached_since, …) index), each grouped in the
    database (sagsflow/read/stuck.py: the same conditions as the stuck list)."""
    phase = CASE.c.phase
    every = select(phase, func.count()).where(scope).group_by(phase)
    timed = select(phase, func.count()).where(scope, rules.timed).group_by(phase)
    # Every phase named: the (phase, breached_since, …) index is then sought per phase, and
    # only its breached entries are read (174,436 of 1,000,000 cases at a million: 72 → 28 ms;
    # without, SQLite scanned the whole index).
    breached_only = (
        select(phase, func.count())
        .where(phase.in_([p.value for p in Phase]), scope, rules.breached, rules.not_timed)
        .group_by(phase)
    )
    cases = {p: int(n) for p, n in connection.execute(every)}
    stuck: dict[str, int] = {}
    for query in (timed, breached_only):
        for p, n in connection.execute(query):
            stuck[p] = stuck.get(p, 0) + int(n)
    return [PhaseCount(p.value, cases.get(p.value, 0), stuck.get(p.value, 0)) for p in Phase]


# --- compliance: shares on time ----------------------------------------------------------------


def shares_on_time(
    connection: Connection,
    scope: ColumnElement[bool],
    now: datetime,
    *,
    start: date,
    end: date,
) -> list[Share]:
    """Per compliance measure (`compliance.MEASURES`), the deadlines due start…end (Copenhagen
    days, inclusive) met on time and late, counted as the compliance report counts them (from
    the deadline tally, `compliance.counted`)."""
    found = counted(
        connection,
        scope,
        now,
        first=start,
        last=end,
        keys=(),
        rules=[rule.value for rule in MEASURES],
    ).get((), {})
    shares = []
    for rule in MEASURES:
        share = Share(rule.value, *found.get(rule.value, ()))
        # The overview shows no cancelled ones (as before the read model).
        shares.append(Share(share.rule, share.on_time, share.late, share.pending))
    return shares


@dataclass(frozen=True)
class Week:
    monday: date
    on_time: int
    late: int

    @property
    def total(self) -> int:
        return self.on_time + self.late


def weekly_trend(
    connection: Connection, scope: ColumnElement[bool], now: datetime, *, weeks: int
) -> list[Week]:
    """Deadlines that fell due in each of the last `weeks` ISO weeks (this one included) by
    `now`, met on time and late: the deadline tally's days (`compliance.counted`), summed per
    week here."""
    today = local_date(now)
    mondays = [today - timedelta(days=today.weekday() + 7 * k) for k in reversed(range(weeks))]
    found = counted(
        connection, scope, now, first=mondays[0], last=today, keys=("due_day",), due_by_now=True
    )
    totals = [[0, 0] for _ in mondays]
    for (day,), by_rule in found.items():
        index = (day - mondays[0]).days // 7
        for rule, counts in by_rule.items():
            share = Share(rule, *counts)
            totals[index][0] += share.on_time
            totals[index][1] += share.late
    return [Week(monday, *totals[i]) for i, monday in enumerate(mondays)]


@dataclass(frozen=True)
class OverviewFigures:
    """The overview's scope-wide figures."""

    phases: list[PhaseCount]
    breached: int
    due: int
    quarter: str
    shares: list[Share]
    weeks: list[Week]


def overview_figures(
    context: Context,
    scope: ColumnElement[bool],
    now: datetime,
    *,
    horizon_days: int,
    trend_weeks: int,
) -> OverviewFigures:
    """Cases and stuck cases per phase, breached deadlines, deadlines due within
    `horizon_days`, this quarter's shares on time and the last `trend_weeks` weeks, in `scope`."""
    rules = StuckRules(context.catalogue, now)
    quarter = quarter_of(local_date(now))
    with reading(context.engine) as connection:
        return OverviewFigures(
            phases=cases_per_phase(connection, scope, rules),
            breached=count_breached(connection, scope),
            due=count_due(connection, scope, now, days=horizon_days),
            quarter=quarter.name,
            shares=shares_on_time(connection, scope, now, start=quarter.first, end=quarter.last),
            weeks=weekly_trend(connection, scope, now, weeks=trend_weeks),
        )
