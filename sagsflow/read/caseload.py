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

from sqlalchemy import ColumnElement, Connection, func, select

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


def caseload(connection: Connection, scope: ColumnElement[bool]) -> list[Load]:
    """Open cases per team and caseworker."""
    query = select(OPEN_CASELOAD.c.team, OPEN_CASELOAD.c.worker, OPEN_CASELOAD.c.open_cases).where(
        OPEN_CASELOAD.c.open_cases > 0, on_table(scope, OPEN_CASELOAD)
    )
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


def open_loads(context: Context, scope: ColumnElement[bool]) -> tuple[list[Load], str | None]:
    """Open cases per team and caseworker in `scope`, and the municipality most belong to."""
    with reading(context.engine) as connection:
        return caseload(connection, scope), main_municipality(connection, scope)
