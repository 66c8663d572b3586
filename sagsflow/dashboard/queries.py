"""The dashboard's read queries: aggregates in SQL, lists with a LIMIT, always within a scope.

`scope` is the signed-in user's visibility (`access.case_filter`), a WHERE clause over the case
table. Every query here groups or limits in the database; none reads all cases into Python.
Deadline queries go through the (status, due_at) index: a status is always named, even where
all statuses are meant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, or_, select
from sqlalchemy.sql.elements import True_

from models.repository import CASE, DEADLINE, MEASURE
from rulebooks import Catalogue
from sagsflow.compliance import MEASURES, Share
from sagsflow.dashboard.stuck import StuckRules, start_of_local_day
from statemachine.calendar import add_months, end_of_local_day, local_date
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
    """Cases and stuck cases per phase (closure included), in one pass over the case table."""
    breached = (
        select(DEADLINE.c.case_id)
        .where(DEADLINE.c.status == BREACHED)
        .group_by(DEADLINE.c.case_id)
        .subquery("breached_cases")
    )
    stuck = and_(
        OPEN,
        or_(rules.over_norm, rules.inactive, rules.waiting, breached.c.case_id.is_not(None)),
    )
    query = (
        select(CASE.c.phase, func.count().label("n"), func.sum(case((stuck, 1), else_=0)))
        .select_from(CASE.outerjoin(breached, breached.c.case_id == CASE.c.id))
        .where(scope)
        .group_by(CASE.c.phase)
    )
    found = {row[0]: (int(row[1]), int(row[2] or 0)) for row in connection.execute(query)}
    return [PhaseCount(p.value, *found.get(p.value, (0, 0))) for p in Phase]


# --- deadlines -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRow:
    deadline_id: int
    case_id: int
    child_ref: str
    rule: str
    measure_id: str | None
    due_at: datetime
    status: str
    worker: str | None
    team: str | None
    phase: str


def _deadline_rows(connection: Connection, query: Any) -> list[DeadlineRow]:
    return [
        DeadlineRow(
            r.id,
            r.case_id,
            r.child_ref,
            r.rule,
            r.measure_key,
            r.due_at,
            r.status,
            r.worker,
            r.team,
            r.phase,
        )
        for r in connection.execute(query)
    ]


_DEADLINE_COLUMNS = (
    DEADLINE.c.id,
    DEADLINE.c.case_id,
    DEADLINE.c.rule,
    DEADLINE.c.measure_key,
    DEADLINE.c.due_at,
    DEADLINE.c.status,
    CASE.c.child_ref,
    CASE.c.worker,
    CASE.c.team,
    CASE.c.phase,
)


def _breached(scope: ColumnElement[bool]) -> list[ColumnElement[bool]]:
    return [DEADLINE.c.status == BREACHED, OPEN, scope]


def _due(scope: ColumnElement[bool], now: datetime, days: int) -> list[ColumnElement[bool]]:
    until = end_of_local_day(local_date(now) + timedelta(days=days))
    return [
        DEADLINE.c.status == DeadlineStatus.OPEN.value,
        DEADLINE.c.due_at > now,
        DEADLINE.c.due_at <= until,
        OPEN,
        scope,
    ]


def _count_deadlines(connection: Connection, where: Sequence[ColumnElement[bool]]) -> int:
    query = (
        select(func.count())
        .select_from(DEADLINE.join(CASE, CASE.c.id == DEADLINE.c.case_id))
        .where(*where)
    )
    return int(connection.execute(query).scalar_one())


def _first_deadlines(
    connection: Connection, where: Sequence[ColumnElement[bool]], limit: int
) -> list[DeadlineRow]:
    return _deadline_rows(
        connection,
        select(*_DEADLINE_COLUMNS)
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(*where)
        .order_by(DEADLINE.c.due_at, DEADLINE.c.id)
        .limit(limit),
    )


def count_breached(connection: Connection, scope: ColumnElement[bool]) -> int:
    """How many deadlines of open cases are breached."""
    return _count_deadlines(connection, _breached(scope))


def most_overdue(
    connection: Connection, scope: ColumnElement[bool], *, limit: int
) -> list[DeadlineRow]:
    """The `limit` breached deadlines of open cases that fell due first."""
    return _first_deadlines(connection, _breached(scope), limit)


def count_due(
    connection: Connection, scope: ColumnElement[bool], now: datetime, *, days: int
) -> int:
    """Open deadlines of open cases due from `now` to the end of the `days`-th day ahead."""
    return _count_deadlines(connection, _due(scope, now, days))


def due_first(
    connection: Connection, scope: ColumnElement[bool], now: datetime, *, days: int, limit: int
) -> list[DeadlineRow]:
    """The first `limit` of those, soonest first."""
    return _first_deadlines(connection, _due(scope, now, days), limit)


# --- compliance: shares on time ----------------------------------------------------------------


def quarter_of(day: date) -> tuple[date, date, str]:
    """The calendar quarter holding `day`: first day, last day and its name (2026-Q4)."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    last = add_months(first, 3) - timedelta(days=1)
    return first, last, f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _late(now: datetime) -> ColumnElement[bool]:
    # As sagsflow/compliance.py counts a deadline late: met late, breached, still open after its
    # due time, or cancelled after its due time had passed.
    status, due_at = DEADLINE.c.status, DEADLINE.c.due_at
    return or_(
        status.in_([DeadlineStatus.MET_LATE.value, BREACHED]),
        and_(status == DeadlineStatus.OPEN.value, due_at < now),
        and_(status == DeadlineStatus.CANCELLED.value, DEADLINE.c.closed_at > due_at),
    )


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


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
            _count(status == DeadlineStatus.MET.value).label("on_time"),
            _count(_late(now)).label("late"),
            _count(and_(status == DeadlineStatus.OPEN.value, due_at >= now)).label("pending"),
        )
        .select_from(_deadlines_from(scope))
        .where(
            status.in_(ALL_STATUSES),
            due_at >= start_of_local_day(start),
            due_at < start_of_local_day(end + timedelta(days=1)),
            DEADLINE.c.rule.in_([rule.value for rule, _ in MEASURES]),
            scope,
        )
        .group_by(DEADLINE.c.rule)
    )
    found = {
        row.rule: Share(row.rule, int(row.on_time), int(row.late), int(row.pending))
        for row in connection.execute(query)
    }
    return [found.get(rule.value, Share(rule.value)) for rule, _ in MEASURES]


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
    counted = or_(DEADLINE.c.status == DeadlineStatus.MET.value, _late(now))
    query = (
        select(
            bucket.label("week"),
            _count(DEADLINE.c.status == DeadlineStatus.MET.value).label("on_time"),
            _count(_late(now)).label("late"),
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


# --- caseload ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    team: str | None
    worker: str | None
    open_cases: int


def caseload(connection: Connection, scope: ColumnElement[bool]) -> list[Load]:
    """Open cases per team and caseworker."""
    query = (
        select(CASE.c.team, CASE.c.worker, func.count().label("n"))
        .where(OPEN, scope)
        .group_by(CASE.c.team, CASE.c.worker)
    )
    return [Load(r.team, r.worker, int(r.n)) for r in connection.execute(query)]


def main_municipality(connection: Connection, scope: ColumnElement[bool]) -> str | None:
    """The municipality most of the visible open cases belong to."""
    row = connection.execute(
        select(CASE.c.municipality, func.count().label("n"))
        .where(OPEN, scope)
        .group_by(CASE.c.municipality)
        .order_by(func.count().desc(), CASE.c.municipality)
        .limit(1)
    ).first()
    return None if row is None else str(row.municipality)


def caseload_target(catalogue: Catalogue, municipality: str, now: datetime) -> tuple[int, str]:
    """The target of the rulebook in force today for `municipality`, and that rulebook's key."""
    rulebook = catalogue.in_force(catalogue.rulebook_id_for(municipality), local_date(now))
    return rulebook.caseload_target, rulebook.key


# --- a list of cases -----------------------------------------------------------------------------


def count_cases(connection: Connection, scope: ColumnElement[bool], where: Sequence[Any]) -> int:
    return int(
        connection.execute(select(func.count()).select_from(CASE).where(scope, *where)).scalar_one()
    )


def measures_of(connection: Connection, case_ids: Sequence[int]) -> dict[int, list[str]]:
    """The active measure types of each case."""
    if not case_ids:
        return {}
    found: dict[int, list[str]] = {}
    query = (
        select(MEASURE.c.case_id, MEASURE.c.type)
        .where(MEASURE.c.case_id.in_(case_ids), MEASURE.c.ended_at.is_(None))
        .order_by(MEASURE.c.case_id, MEASURE.c.id)
    )
    for row in connection.execute(query):
        found.setdefault(row.case_id, []).append(row.type)
    return found
