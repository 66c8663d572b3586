"""A person's own queue ("Mine frister"): the deadlines that are theirs, due within the
horizon or breached, and the notifications parked for them — for a team leader also those
parked for anyone in the team's cases.

"Theirs": a deadline of an open case they are the caseworker of, or one a notification was
addressed to them about (a team leader's breach notices, a department head's escalations).
Worst first everywhere: the longest overdue, then the soonest due. Every query keeps to
`scope` (the principal's visibility, `read.visibility.case_filter`) and reads at most
`limit` + 1 rows per list.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select

from models.database import reading
from models.repository import CASE, DEADLINE, MEASURE, NOTIFICATION
from sagsflow.context import Context
from statemachine.calendar import end_of_local_day, local_date
from statemachine.phases import DeadlineStatus, NotificationStatus, Phase


@dataclass(frozen=True)
class QueuedDeadline:
    deadline_id: int
    case_id: int
    child_ref: str
    rule: str
    measure_id: str | None
    due_at: datetime
    source: str
    worker: str | None
    team: str | None
    statutory: bool  # the law sets it (else the municipality's service level)
    days: int  # whole Copenhagen days over (breached) or left (due)
    own_case: bool  # the person is the case's caseworker (else: told about it)


@dataclass(frozen=True)
class QueuedParked:
    notification_id: int
    case_id: int
    child_ref: str
    rule: str
    level: str
    recipient_role: str
    recipient: str | None
    worker: str | None
    due_at: datetime
    parked_reason: str | None
    attempts: int


@dataclass(frozen=True)
class Queue:
    breached: tuple[QueuedDeadline, ...]
    due: tuple[QueuedDeadline, ...]
    parked: tuple[QueuedParked, ...]
    more: frozenset[str]  # the lists cut at `limit` ("breached", "due", "parked")


def own_queue(
    context: Context,
    scope: ColumnElement[bool],
    *,
    person: str,
    team: str | None,
    now: datetime,
    within_days: int,
    limit: int,
) -> Queue:
    """`person`'s queue at `now`: breached deadlines (most overdue first), deadlines due by
    the end of the Copenhagen day `within_days` ahead (soonest first), notifications parked
    for them — and, with `team` (a team leader's), parked for anyone in the team's cases —
    by due time."""
    told = DEADLINE.c.id.in_(
        select(NOTIFICATION.c.deadline_id).where(
            NOTIFICATION.c.recipient == person,
            NOTIFICATION.c.status != NotificationStatus.DROPPED.value,
        )
    )
    # Two reads, merged in due order: their own cases (the case table's worker index), and
    # the deadlines they were told about in others' cases (one pass over the outbox).
    whose = (
        CASE.c.worker == person,
        and_(told, or_(CASE.c.worker.is_(None), CASE.c.worker != person)),
    )
    columns = (
        DEADLINE.c.id,
        DEADLINE.c.case_id,
        DEADLINE.c.rule,
        DEADLINE.c.measure_key,
        DEADLINE.c.due_at,
        DEADLINE.c.source,
        CASE.c.child_ref,
        CASE.c.worker,
        CASE.c.team,
        CASE.c.rulebook_id,
        CASE.c.rulebook_version,
        MEASURE.c.type.label("measure_type"),
    )

    def mine(*where: ColumnElement[bool]) -> list[Select[Any]]:
        return [
            select(*columns)
            .join(CASE, CASE.c.id == DEADLINE.c.case_id)
            .outerjoin(
                MEASURE,
                and_(
                    MEASURE.c.case_id == DEADLINE.c.case_id,
                    MEASURE.c.key == DEADLINE.c.measure_key,
                ),
            )
            .where(CASE.c.phase != Phase.CLOSURE.value, scope, owner, *where)
            .order_by(DEADLINE.c.due_at, DEADLINE.c.case_id, DEADLINE.c.id)
            .limit(limit + 1)
            for owner in whose
        ]

    breached = mine(
        DEADLINE.c.status.in_([DeadlineStatus.BREACHED.value, DeadlineStatus.OPEN.value]),
        DEADLINE.c.due_at <= now,
    )
    horizon = end_of_local_day(local_date(now) + timedelta(days=within_days))
    due = mine(
        DEADLINE.c.status == DeadlineStatus.OPEN.value,
        DEADLINE.c.due_at > now,
        DEADLINE.c.due_at <= horizon,
    )
    for_them = NOTIFICATION.c.recipient == person
    parked = (
        select(
            NOTIFICATION.c.id,
            NOTIFICATION.c.case_id,
            NOTIFICATION.c.level,
            NOTIFICATION.c.recipient_role,
            NOTIFICATION.c.recipient,
            NOTIFICATION.c.due_at,
            NOTIFICATION.c.parked_reason,
            NOTIFICATION.c.attempts,
            DEADLINE.c.rule,
            CASE.c.child_ref,
            CASE.c.worker,
        )
        .join(DEADLINE, DEADLINE.c.id == NOTIFICATION.c.deadline_id)
        .join(CASE, CASE.c.id == NOTIFICATION.c.case_id)
        .where(
            NOTIFICATION.c.status == NotificationStatus.PARKED.value,
            scope,
            or_(for_them, and_(CASE.c.team == team)) if team else for_them,
        )
        .order_by(NOTIFICATION.c.due_at, NOTIFICATION.c.case_id, NOTIFICATION.c.id)
        .limit(limit + 1)
    )
    today = local_date(now)
    with reading(context.engine) as connection:
        lists = {
            name: [
                QueuedDeadline(
                    r.id,
                    r.case_id,
                    r.child_ref,
                    r.rule,
                    r.measure_key,
                    r.due_at,
                    r.source,
                    r.worker,
                    r.team,
                    context.catalogue.get(r.rulebook_id, r.rulebook_version).is_statutory(
                        r.rule, r.measure_type
                    ),
                    abs((local_date(r.due_at) - today).days),
                    r.worker == person,
                )
                for r in heapq.merge(
                    *(connection.execute(query).all() for query in queries),
                    key=lambda r: (r.due_at, r.case_id, r.id),
                )
            ][: limit + 1]
            for name, queries in (("breached", breached), ("due", due))
        }
        parked_rows = [
            QueuedParked(
                r.id,
                r.case_id,
                r.child_ref,
                r.rule,
                r.level,
                r.recipient_role,
                r.recipient,
                r.worker,
                r.due_at,
                r.parked_reason,
                r.attempts,
            )
            for r in connection.execute(parked)
        ]
    more = {name for name, rows in lists.items() if len(rows) > limit}
    if len(parked_rows) > limit:
        more.add("parked")
    return Queue(
        tuple(lists["breached"][:limit]),
        tuple(lists["due"][:limit]),
        tuple(parked_rows[:limit]),
        frozenset(more),
    )
