"""The complaint period's end: a refused case kept open while a complaint can still come is
closed, audited, once the period has passed without one (retssikkerhedsloven §67 stk. 1).

The sweep's first step after the rulebook moves (and the enforcement flow's task
`end-complaint-periods`): one query finds the refused cases whose period has passed, and each
is closed by its own `end_complaint_period` event, recorded at the instant the period ended (or
right after the case's last event), so the history says when the case ended, not when the
sweep came by. Safe to rerun: a closed case has no open period left.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, select

from models.database import reading
from models.repository import CASE, DEADLINE
from sagsflow.context import Context
from sagsflow.usecases.cases import fire_event
from statemachine.errors import ConcurrencyConflict, EventRefused
from statemachine.phases import DeadlineStatus, Event, Role
from statemachine.rulebook import RuleId

# Who the audit trail names for the cases the sweep closes (as an operator: role admin).
SWEEP_ACTOR = "enforce-deadlines"


def end_complaint_periods(
    context: Context,
    now: datetime,
    *,
    actor: str = SWEEP_ACTOR,
    municipality: str | None = None,
) -> int:
    """Close every refused case whose complaint period passed before `now` with no complaint;
    the number closed."""
    if now.tzinfo is None:
        raise ValueError("now needs a UTC offset")
    query = (
        select(DEADLINE.c.case_id, DEADLINE.c.due_at, CASE.c.last_event_at)
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(
            and_(
                DEADLINE.c.rule == RuleId.COMPLAINT_PERIOD.value,
                DEADLINE.c.status == DeadlineStatus.OPEN.value,
                DEADLINE.c.due_at < now,
            )
        )
        .order_by(DEADLINE.c.case_id)
    )
    if municipality is not None:
        query = query.where(CASE.c.municipality == municipality)
    with reading(context.engine) as connection:
        due = connection.execute(query).all()
    closed = 0
    for row in due:
        try:
            fire_event(
                context,
                row.case_id,
                Event.END_COMPLAINT_PERIOD.value,
                at=max(row.due_at, row.last_event_at),
                data=None,
                actor=actor,
                role=Role.ADMIN,
                now=now,
            )
        except (EventRefused, ConcurrencyConflict):
            # Something still runs on the case (a measure granted since), or a person acted on
            # it meanwhile: the next sweep looks again; nothing was written.
            continue
        closed += 1
    return closed
