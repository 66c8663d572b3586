"""The demo's users: everyone in the organisation file, plus an auditor and an admin.

For `make run` and `sagsflow demo` only: every demo user shares the password DEMO_PASSWORD, which
`make run` prints. A real municipality creates its users with `sagsflow user add`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from models.repository import USER
from sagsflow.context import Context
from sagsflow.organisation import Organisation
from sagsflow.usecases.users import add_user
from statemachine.phases import Role

DEMO_PASSWORD = "sagsflow-demo"
AUDITOR = "revisor"
ADMIN = "admin"


def demo_people(organisation: Organisation) -> list[tuple[str, Role, str | None]]:
    """(name, role, team) for each person of the organisation file, then auditor and admin."""
    people: list[tuple[str, Role, str | None]] = []
    people.append((organisation.department_head.id, Role.DEPARTMENT_HEAD, None))
    for team in organisation.teams:
        people.append((team.leader.id, Role.TEAM_LEADER, team.id))
        people.extend((worker.id, Role.CASEWORKER, team.id) for worker in team.caseworkers)
    if organisation.committee is not None:
        people.append((organisation.committee.id, Role.COMMITTEE, None))
    people.extend([(AUDITOR, Role.AUDITOR, None), (ADMIN, Role.ADMIN, None)])
    return people


def add_demo_users(context: Context, organisation: Organisation, *, now: datetime) -> list[str]:
    """Create the demo users that do not exist yet; returns the names created."""
    with context.engine.connect() as connection:
        existing = set(connection.execute(select(USER.c.name)).scalars())
    created = []
    for name, role, team in demo_people(organisation):
        if name in existing:
            continue
        add_user(
            context,
            name,
            role=role,
            team=team,
            now=now,
            organisation=organisation,
            password=DEMO_PASSWORD,
        )
        created.append(name)
    return created
