"""Open cases per team and caseworker, against the rulebook's caseload target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, func, select

from models.database import reading
from models.repository import CASE
from rulebooks import Catalogue
from sagsflow.context import Context
from statemachine.calendar import local_date
from statemachine.phases import DeadlineStatus, Phase

OPEN = CASE.c.phase != Phase.CLOSURE.value
BREACHED = DeadlineStatus.BREACHED.value


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


def open_loads(context: Context, scope: ColumnElement[bool]) -> tuple[list[Load], str | None]:
    """Open cases per team and caseworker in `scope`, and the municipality most belong to."""
    with reading(context.engine) as connection:
        return caseload(connection, scope), main_municipality(connection, scope)
