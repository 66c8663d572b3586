"""The notification outbox as an operator reads it (`sagsflow notify list`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models.database import reading
from models.repository import DEADLINE, NOTIFICATION
from sagsflow.context import Context
from statemachine.phases import NotificationStatus


def list_notifications(
    context: Context,
    *,
    status: NotificationStatus | None = None,
    case_id: int | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
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
        return [dict(row._mapping) for row in connection.execute(query)]
