"""Deadlines of open cases: upcoming and breached, soonest (or longest overdue) first."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypedDict

from sqlalchemy import ColumnElement, Connection, Select, exists, func, select

from models.database import reading
from models.readmodels import BREACHED as READ_BREACHED
from models.readmodels import COUNTS, TALLY
from models.readmodels import OPEN as READ_OPEN
from models.repository import CASE, DEADLINE
from sagsflow.context import Context
from sagsflow.read.paging import Page, check_page, page_of
from sagsflow.read.visibility import on_table, restricts, tally_level
from statemachine.calendar import end_of_local_day, local_date, local_iso, start_of_local_day
from statemachine.phases import DeadlineStatus, Phase


class DeadlineView(StrEnum):
    UPCOMING = "upcoming"  # open, due after now and by the end of the day `within_days` ahead
    BREACHED = "breached"  # not met and past due: marked breached, or still open after due


_DEADLINE_COLUMNS = (
    DEADLINE.c.id,
    DEADLINE.c.case_id,
    DEADLINE.c.key,
    DEADLINE.c.rule,
    DEADLINE.c.measure_key,
    DEADLINE.c.due_at,
    DEADLINE.c.status,
    DEADLINE.c.source,
    DEADLINE.c.responsible,
    DEADLINE.c.escalated_to,
    CASE.c.phase,
    CASE.c.worker,
    CASE.c.team,
    CASE.c.municipality,
    CASE.c.child_ref,
)


def _deadlines(
    scope: ColumnElement[bool],
    *where: ColumnElement[bool],
    team: str | None,
    worker: str | None,
    rule: str | None,
) -> Select[Any]:
    query = (
        select(*_DEADLINE_COLUMNS)
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(*where, CASE.c.phase != Phase.CLOSURE.value, scope)
        .order_by(DEADLINE.c.due_at, DEADLINE.c.id)
    )
    for column, value in ((CASE.c.team, team), (CASE.c.worker, worker), (DEADLINE.c.rule, rule)):
        if value is not None:
            query = query.where(column == value)
    return query


class DeadlineListed(TypedDict):
    """One row of `GET /api/v1/deadlines` (its JSON, the contract)."""

    id: int
    case_id: int
    key: str
    rule: str
    measure_id: str | None
    due_at: str | None
    status: str
    days_left: int
    source: str
    responsible: str
    escalated_to: str | None
    phase: str
    worker: str | None
    team: str | None
    municipality: str
    child_ref: str


def deadline_page(
    context: Context,
    scope: ColumnElement[bool],
    *,
    now: datetime,
    view: DeadlineView,
    within_days: int = 14,
    team: str | None = None,
    worker: str | None = None,
    rule: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[DeadlineListed]:
    """Deadlines of open cases within `scope` (a WHERE clause over the case table), soonest (or longest overdue) first.

    `upcoming`: still open and due after `now`, at the latest at the end of the Copenhagen day
    `within_days` after today. `breached`: due at or before `now` and not met — the sweep's
    `breached`, and `open` ones the sweep has not reached yet. Both walk the (status, due_at)
    index in due order.
    """
    check_page(limit, offset)
    filters: dict[str, Any] = {"team": team, "worker": worker, "rule": rule}
    wanted = offset + limit + 1
    with reading(context.engine) as connection:
        if view is DeadlineView.UPCOMING:
            horizon = end_of_local_day(local_date(now) + timedelta(days=within_days))
            query = _deadlines(
                scope,
                DEADLINE.c.status == DeadlineStatus.OPEN.value,
                DEADLINE.c.due_at > now,
                DEADLINE.c.due_at <= horizon,
                **filters,
            )
            rows = list(connection.execute(query.limit(limit + 1).offset(offset)))
        else:
            # One ordered index range per status, merged: no sort of every breach.
            marked, late = (
                connection.execute(
                    _deadlines(
                        scope,
                        DEADLINE.c.status == status.value,
                        DEADLINE.c.due_at <= now,
                        **filters,
                    ).limit(wanted)
                ).all()
                for status in (DeadlineStatus.BREACHED, DeadlineStatus.OPEN)
            )
            merged = heapq.merge(marked, late, key=lambda r: (r.due_at, r.id))
            rows = list(merged)[offset:wanted]
    today = local_date(now)
    items: list[DeadlineListed] = [
        {
            "id": r.id,
            "case_id": r.case_id,
            "key": r.key,
            "rule": r.rule,
            "measure_id": r.measure_key,
            "due_at": local_iso(r.due_at),
            "status": r.status,
            "days_left": (local_date(r.due_at) - today).days,
            "source": r.source,
            "responsible": r.responsible,
            "escalated_to": r.escalated_to,
            "phase": r.phase,
            "worker": r.worker,
            "team": r.team,
            "municipality": r.municipality,
            "child_ref": r.child_ref,
        }
        for r in rows
    ]
    return page_of(items, limit, offset)


# --- the overview's short lists ---------------------------------------------------------------

OPEN = CASE.c.phase != Phase.CLOSURE.value
BREACHED = DeadlineStatus.BREACHED.value


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


def _list_rows(connection: Connection, query: Any) -> list[DeadlineRow]:
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


_LIST_COLUMNS = (
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


def _breached() -> list[ColumnElement[bool]]:
    return [DEADLINE.c.status == BREACHED]


def _due_soon(now: datetime, days: int) -> list[ColumnElement[bool]]:
    until = end_of_local_day(local_date(now) + timedelta(days=days))
    return [
        DEADLINE.c.status == DeadlineStatus.OPEN.value,
        DEADLINE.c.due_at > now,
        DEADLINE.c.due_at <= until,
    ]


def _count_open(
    connection: Connection, where: Sequence[ColumnElement[bool]], scope: ColumnElement[bool]
) -> int:
    """Open deadlines meeting `where` (deadline columns) of cases in `scope`. Every open
    deadline is an open case's (closing a case cancels them: statemachine/process.py; the
    property test in tests/dashboard/test_figures.py checks it), so the whole municipality's
    are counted from the deadline index alone: joined, SQLite first built a Bloom filter over
    every case (61 ms at a million cases, 1.4 s with the case table not in memory)."""
    if not restricts(scope):
        query = select(func.count()).select_from(DEADLINE).where(*where)
    else:
        query = (
            select(func.count())
            .select_from(DEADLINE.join(CASE, CASE.c.id == DEADLINE.c.case_id))
            .where(*where, OPEN, scope)
        )
    return int(connection.execute(query).scalar_one())


def _first_deadlines(
    connection: Connection,
    where: Sequence[ColumnElement[bool]],
    scope: ColumnElement[bool],
    limit: int,
) -> list[DeadlineRow]:
    """The first `limit` deadlines by due time meeting `where` (deadline columns) whose case is
    open and in `scope`.

    A team's or a caseworker's are found from the join. The whole municipality's are taken in
    due order from the deadline index, each checked against its case (EXISTS), until `limit`
    are found: joined, SQLite first built a Bloom filter over every case (290 ms at a million
    cases, for eight rows)."""
    order = (DEADLINE.c.due_at, DEADLINE.c.id)
    joined = select(*_LIST_COLUMNS).join(CASE, CASE.c.id == DEADLINE.c.case_id)
    if restricts(scope):
        query = joined.where(*where, OPEN, scope)
    else:
        first = (
            select(DEADLINE.c.id)
            .where(*where, exists().where(CASE.c.id == DEADLINE.c.case_id, OPEN))
            .order_by(*order)
            .limit(limit)
        )
        query = joined.where(DEADLINE.c.id.in_(first.scalar_subquery()))
    return _list_rows(connection, query.order_by(*order).limit(limit))


def count_breached(connection: Connection, scope: ColumnElement[bool]) -> int:
    """How many deadlines of open cases are breached: the deadline tally's breached rows
    (models/readmodels.py). Closing a case cancels its unresolved deadlines
    (statemachine/process.py), so every breached deadline is an open case's; the property test
    checks the count against the deadline table (tests/dashboard/test_figures.py)."""
    query = select(func.coalesce(func.sum(TALLY.c.n), 0)).where(
        TALLY.c.outcome == READ_BREACHED,
        COUNTS,
        on_table(scope, TALLY),
        tally_level(scope, TALLY, by_team=False),
    )
    return int(connection.execute(query).scalar_one())


def most_overdue(
    connection: Connection, scope: ColumnElement[bool], *, limit: int
) -> list[DeadlineRow]:
    """The `limit` breached deadlines of open cases that fell due first."""
    return _first_deadlines(connection, _breached(), scope, limit)


def count_due(
    connection: Connection, scope: ColumnElement[bool], now: datetime, *, days: int
) -> int:
    """Open deadlines of open cases due from `now` to the end of the `days`-th day ahead.

    The whole days between today and the last from the deadline tally's open rows (every open
    deadline is an open case's: closing a case cancels them); today's after `now`, and the last
    day's up to its end (23:59:59), from the deadline table.
    """
    today = local_date(now)
    last = today + timedelta(days=days)
    between = select(func.coalesce(func.sum(TALLY.c.n), 0)).where(
        TALLY.c.outcome == READ_OPEN,
        COUNTS,
        TALLY.c.due_day > today,
        TALLY.c.due_day < last,
        on_table(scope, TALLY),
        tally_level(scope, TALLY, by_team=False),
    )
    if days == 0:
        return _count_open(connection, _due_soon(now, 0), scope)
    rest_of_today = [
        DEADLINE.c.status == DeadlineStatus.OPEN.value,
        DEADLINE.c.due_at > now,
        DEADLINE.c.due_at < start_of_local_day(today + timedelta(days=1)),
    ]
    last_day = [
        DEADLINE.c.status == DeadlineStatus.OPEN.value,
        DEADLINE.c.due_at >= start_of_local_day(last),
        DEADLINE.c.due_at <= end_of_local_day(last),
    ]
    return (
        int(connection.execute(between).scalar_one())
        + _count_open(connection, rest_of_today, scope)
        + _count_open(connection, last_day, scope)
    )


def due_first(
    connection: Connection, scope: ColumnElement[bool], now: datetime, *, days: int, limit: int
) -> list[DeadlineRow]:
    """The first `limit` of those, soonest first."""
    return _first_deadlines(connection, _due_soon(now, days), scope, limit)


def overview_lists(
    context: Context, scope: ColumnElement[bool], now: datetime, *, days: int, limit: int
) -> tuple[list[DeadlineRow], list[DeadlineRow]]:
    """The `limit` most overdue breached deadlines, and the `limit` due first within `days`."""
    with reading(context.engine) as connection:
        return (
            most_overdue(connection, scope, limit=limit),
            due_first(connection, scope, now, days=days, limit=limit),
        )
