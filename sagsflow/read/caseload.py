"""Open cases per team and caseworker, against the rulebook's caseload target.

Read from the open-caseload read model (`models.tables.OpenCaseload`), which the audit writer
keeps in each event's transaction: a department head's caseload over a million cases is a few
thousand counters, not a GROUP BY over the case table. The visibility `scope` callers hand in
is a WHERE clause over the case table's `team` and `worker`; `visibility.on_table` re-points
it at the read model's columns of the same names (where '' stands for none).
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ColumnElement, Connection, case, func, select

from models.database import reading
from models.repository import CASE, OPEN_CASELOAD
from rulebooks import Catalogue
from sagsflow.context import Context
from sagsflow.read.visibility import on_table
from statemachine.calendar import local_date
from statemachine.phases import DeadlineStatus, Phase

OPEN = CASE.c.phase != Phase.CLOSURE.value
BREACHED = DeadlineStatus.BREACHED.value


# --- caseload ----------------------------------------------------------------------------------


class Load(NamedTuple):
    """A tuple: a department head's caseload makes 40,000 of them per request."""

    team: str | None
    worker: str | None
    open_cases: int


def caseload(
    connection: Connection, scope: ColumnElement[bool], team: str | None = None
) -> list[Load]:
    """Open cases per team and caseworker (of `team` only, when given)."""
    query = select(OPEN_CASELOAD.c.team, OPEN_CASELOAD.c.worker, OPEN_CASELOAD.c.open_cases).where(
        OPEN_CASELOAD.c.open_cases > 0, on_table(scope, OPEN_CASELOAD)
    )
    if team is not None:
        query = query.where(OPEN_CASELOAD.c.team == team)
    # Several municipalities may share a team name: one row per team and caseworker.
    counts: dict[tuple[str | None, str | None], int] = {}
    for team, worker, n in connection.execute(query).tuples():
        key = (team or None, worker or None)
        counts[key] = counts.get(key, 0) + n
    return [Load(team, worker, n) for (team, worker), n in counts.items()]


def main_municipality(connection: Connection, scope: ColumnElement[bool]) -> str | None:
    """The municipality most of the visible open cases belong to."""
    total = func.sum(OPEN_CASELOAD.c.open_cases)
    row = connection.execute(
        select(OPEN_CASELOAD.c.municipality, total.label("n"))
        .where(OPEN_CASELOAD.c.open_cases > 0, on_table(scope, OPEN_CASELOAD))
        .group_by(OPEN_CASELOAD.c.municipality)
        .order_by(total.desc(), OPEN_CASELOAD.c.municipality)
        .limit(1)
    ).first()
    return None if row is None else str(row.municipality)


def caseload_target(catalogue: Catalogue, municipality: str, now: datetime) -> tuple[int, str]:
    """The target of the rulebook in force today for `municipality`, and that rulebook's key."""
    rulebook = catalogue.in_force(catalogue.rulebook_id_for(municipality), local_date(now))
    return rulebook.caseload_target, rulebook.key


def open_loads(context: Context, scope: ColumnElement[bool], team: str | None = None) -> list[Load]:
    """Open cases per team and caseworker in `scope` (of `team` only, when given)."""
    with reading(context.engine) as connection:
        return caseload(connection, scope, team)


def municipality_of(context: Context, scope: ColumnElement[bool]) -> str | None:
    """The municipality most of the open cases in `scope` belong to."""
    with reading(context.engine) as connection:
        return main_municipality(connection, scope)


class TeamCounts(NamedTuple):
    """One team's open-caseload counters, summed in SQL (a department head's 40,000
    caseworkers are 4,000 of these, not 40,000 rows to add up in Python)."""

    team: str | None
    cases: int  # held by caseworkers
    unassigned: int  # without a caseworker
    has_unassigned: bool
    most: int  # held by one caseworker at most
    over: int  # caseworkers holding more than the target
    workers: frozenset[str]  # the caseworkers holding its cases


# Between the caseworkers' ids in one aggregated string (a control character: no name has it).
SEPARATOR = "\x1f"


def team_counts(context: Context, scope: ColumnElement[bool], target: int) -> list[TeamCounts]:
    """Open cases per team in `scope`: held by caseworkers, without one, at most by one
    caseworker, how many caseworkers hold more than `target`, and who hold them. A caseworker
    is counted once per team, whatever municipalities the team's cases belong to (as
    `caseload` merges them)."""
    held = OPEN_CASELOAD.c
    per_worker = (
        select(held.team, held.worker, func.sum(held.open_cases).label("n"))
        .where(held.open_cases > 0, on_table(scope, OPEN_CASELOAD))
        .group_by(held.team, held.worker)
        .subquery("per_worker")
    )
    n, worker = per_worker.c.n, per_worker.c.worker
    assigned = worker != ""
    query = select(
        per_worker.c.team,
        func.sum(case((assigned, n), else_=0)),
        func.sum(case((assigned, 0), else_=n)),
        func.max(case((assigned, 0), else_=1)),
        func.max(case((assigned, n), else_=0)),
        func.sum(case((assigned & (n > target), 1), else_=0)),
        # NULL (no caseworker) is left out of the string by both databases.
        func.aggregate_strings(case((assigned, worker)), SEPARATOR),
    ).group_by(per_worker.c.team)
    with reading(context.engine) as connection:
        return [
            TeamCounts(
                team or None,
                int(cases),
                int(unassigned),
                bool(without),
                int(most),
                int(over),
                frozenset(workers.split(SEPARATOR)) if workers else frozenset(),
            )
            for team, cases, unassigned, without, most, over, workers in connection.execute(
                query
            ).tuples()
        ]
