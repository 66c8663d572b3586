"""The sweep's bit mask of notified rungs on each deadline row against the notifications stored."""

from __future__ import annotations

from sqlalchemy import Connection, select

from models.repository import DEADLINE
from models.tables import Notification

NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]


def masks_disagreeing(connection: Connection) -> list[tuple[int, int, int]]:
    """(deadline id, its mask, the OR of its stored notifications' rungs) wherever they differ:
    empty when every deadline's `notified_rungs` names exactly its stored rungs."""
    stored: dict[int, int] = {}
    for deadline_id, rung in connection.execute(
        select(NOTIFICATION.c.deadline_id, NOTIFICATION.c.rung)
    ):
        stored[deadline_id] = stored.get(deadline_id, 0) | 1 << rung
    return [
        (deadline_id, mask, stored.get(deadline_id, 0))
        for deadline_id, mask in connection.execute(
            select(DEADLINE.c.id, DEADLINE.c.notified_rungs).order_by(DEADLINE.c.id)
        )
        if mask != stored.get(deadline_id, 0)
    ]
