"""The overview's figures: cases and stuck cases per phase, shares on time, the weekly trend.

`scope` is the signed-in user's visibility (`access.case_filter`), a WHERE clause over the case
table. Every query here groups or limits in the database; none reads all cases into Python.
Deadline queries go through the (status, due_at) index: a status is always named, even where
all statuses are meant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, or_, select
from sqlalchemy.sql.elements import True_

from models.database import reading
from models.repository import CASE, DEADLINE
from sagsflow.context import Context
from sagsflow.read.compliance import (
    MEASURES,
    Share,
    count_where,
    timeliness_is,
)
from sagsflow.read.deadlines import count_breached, count_due
from sagsflow.read.stuck import StuckRules
from statemachine.calendar import local_date, start_of_local_day
from statemachine.late import Timeliness
from statemachine.periods import quarter_of
from statemachine.phases import DeadlineStatus, Phase

OPEN = CASE.c.phase != Phase.CLOSURE.value
ALL_STATUSES = [s.value for s in DeadlineStatus]
BREACHED = DeadlineStatus.BREACHED.value


def _scoped(scope: ColumnElement[bool]) -> bool:
    """Whether `scope` restricts at all (a join to the case table is needed only then)."""
    return not isinstance(scope, True_)


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
    breached_only = (
        select(phase, func.count()).where(scope, rules.breached, rules.not_timed).group_by(phase)
    )
    cases = {p: int(n) for p, n in connection.execute(every)}
    stuck: dict[str, int] = {}
    for query in (timed, breached_only):
        for p, n in connection.execute(query):
            stuck[p] = stuck.get(p, 0) + int(n)
    return [PhaseCount(p.value, cases.get(p.value, 0), stuck.get(p.value, 0)) for p in Phase]


# --- compliance: shares on time ----------------------------------------------------------------


def _deadlines_from(scope: ColumnElement[bool]) -> Any:
    return DEADLINE.join(CASE, CASE.c.id == DEADLINE.c.case_id) if _scoped(scope) else DEADLINE


def shares_on_time(
    connection: Connection,
    scope: ColumnElement[bool],
    now: datetime,
    *,
    start: date,
    end: date,
) -> list[Share]:
    """Per compliance measure (`compliance.MEASURES`), the deadlines due start…end (Copenhagen
    days, inclusive) met on time and late, counted as the compliance report counts them."""
    status, due_at = DEADLINE.c.status, DEADLINE.c.due_at
    query = (
        select(
            DEADLINE.c.rule,
            count_where(timeliness_is(Timeliness.ON_TIME, now)).label("on_time"),
            count_where(timeliness_is(Timeliness.LATE, now)).label("late"),
            count_where(timeliness_is(Timeliness.PENDING, now)).label("pending"),
        )
        .select_from(_deadlines_from(scope))
        .where(
            status.in_(ALL_STATUSES),
            due_at >= start_of_local_day(start),
            due_at < start_of_local_day(end + timedelta(days=1)),
            DEADLINE.c.rule.in_([rule.value for rule in MEASURES]),
            scope,
        )
        .group_by(DEADLINE.c.rule)
    )
    found = {
        row.rule: Share(row.rule, int(row.on_time), int(row.late), int(row.pending))
        for row in connection.execute(query)
    }
    return [found.get(rule.value, Share(rule.value)) for rule in MEASURES]


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
    """Deadlines that fell due in each of the last `weeks` ISO weeks (this one included), met on
    time and late. Weeks are bucketed in SQL by comparing with each Monday (no date functions,
    the same on SQLite and PostgreSQL)."""
    today = local_date(now)
    mondays = [today - timedelta(days=today.weekday() + 7 * k) for k in reversed(range(weeks))]
    starts = [start_of_local_day(m) for m in mondays]
    due_at = DEADLINE.c.due_at
    bucket = case(
        *((due_at < start, index - 1) for index, start in enumerate(starts[1:], start=1)),
        else_=weeks - 1,
    )
    counted = or_(timeliness_is(Timeliness.ON_TIME, now), timeliness_is(Timeliness.LATE, now))
    query = (
        select(
            bucket.label("week"),
            count_where(timeliness_is(Timeliness.ON_TIME, now)).label("on_time"),
            count_where(timeliness_is(Timeliness.LATE, now)).label("late"),
        )
        .select_from(_deadlines_from(scope))
        .where(
            DEADLINE.c.status.in_(ALL_STATUSES),
            due_at >= starts[0],
            due_at <= now,
            counted,
            scope,
        )
        .group_by(bucket)
    )
    found = {int(row.week): (int(row.on_time), int(row.late)) for row in connection.execute(query)}
    return [Week(monday, *found.get(i, (0, 0))) for i, monday in enumerate(mondays)]


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
