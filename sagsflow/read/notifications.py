"""The notification outbox as an operator reads it (`sagsflow notify list`)."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict, cast

from sqlalchemy import select

from models.database import reading
from models.repository import DEADLINE, NOTIFICATION
from sagsflow.context import Context
from statemachine.phases import NotificationStatus


class NotificationListed(TypedDict):
    """One row of the outbox (`sagsflow notify list`)."""

    id: int
    case_id: int
    rule: str
    level: int
    recipient_role: str
    recipient: str
    recipient_email: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    parked_reason: str | None


def list_notifications(
    context: Context,
    *,
    status: NotificationStatus | None = None,
    case_id: int | None = None,
    limit: int = 200,
) -> list[NotificationListed]:
    """The outbox, oldest first, with each row's rule, recipient, attempts and reason."""
    query = (
        select(
            NOTIFICATION.c.id,
            NOTIFICATION.c.case_id,
            DEADLINE.c.rule,
            NOTIFICATION.c.level,
            NOTIFICATION.c.recipient_role,
            NOTIFICATION.c.recipient,
            NOTIFICATION.c.recipient_email,
            NOTIFICATION.c.status,
            NOTIFICATION.c.attempts,
            NOTIFICATION.c.created_at,
            NOTIFICATION.c.next_attempt_at,
            NOTIFICATION.c.last_attempt_at,
            NOTIFICATION.c.sent_at,
            NOTIFICATION.c.last_error,
            NOTIFICATION.c.parked_reason,
        )
        .join(DEADLINE, DEADLINE.c.id == NOTIFICATION.c.deadline_id)
        .order_by(NOTIFICATION.c.id)
        .limit(limit)
    )
    if status is not None:
        query = query.where(NOTIFICATION.c.status == status.value)
    if case_id is not None:
        query = query.where(NOTIFICATION.c.case_id == case_id)
    with reading(context.engine) as connection:
        return [cast(NotificationListed, dict(row._mapping)) for row in connection.execute(query)]
