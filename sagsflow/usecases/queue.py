"""A signed-in person's own queue ("Mine frister"), read as that principal.

Their deadlines due within the horizon, their breached ones and the notifications parked for
them; a team leader also sees what is parked for anyone in the team's cases. One `list` row
in the access log (written by `supervision.list_scope` before the read; a role that sees no
case is denied and logged as denied). The reads are `sagsflow.read.queue`'s.
"""

from __future__ import annotations

from sagsflow.context import Context
from sagsflow.read.queue import Queue, own_queue
from sagsflow.usecases.access import Asked
from sagsflow.usecases.supervision import list_scope
from statemachine.phases import Role
from statemachine.visibility import Principal

HORIZON_DAYS = 14
LIMIT = 50


def my_queue(
    context: Context,
    principal: Principal,
    asked: Asked,
    *,
    within_days: int = HORIZON_DAYS,
    limit: int = LIMIT,
) -> Queue:
    """`principal`'s queue at `asked.at` (see `read.queue.own_queue`), within what they may
    see; the team's parked notifications for a team leader."""
    scope = list_scope(context, principal, asked)
    team = principal.team if principal.role is Role.TEAM_LEADER else None
    return own_queue(
        context,
        scope,
        person=principal.name,
        team=team,
        now=asked.at,
        within_days=within_days,
        limit=limit,
    )
