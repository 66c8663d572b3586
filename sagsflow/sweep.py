"""The sweep: mark breached deadlines and create each due notification exactly once.

Set-based and batched: one UPDATE marks every breach; unresolved deadlines near or past their
due time are streamed in batches per rulebook version, their ladders evaluated, and the due
notifications inserted with ON CONFLICT DO NOTHING on (deadline, rung) — so a rerun, a crash
half-way or two sweeps at once never create a notification twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models.database import reading
from models.repository import CASE, DEADLINE
from models.tables import Notification
from sagsflow.services import Context
from statemachine.escalation import ladder_for, rungs, widest
from statemachine.phases import DeadlineStatus, Phase
from statemachine.rulebook import Rulebook

NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
BATCH = 5000


@dataclass(frozen=True)
class SweepResult:
    breached: int
    notifications_created: int
    deadlines_examined: int

    def as_dict(self) -> dict[str, int]:
        return {
            "breached": self.breached,
            "notifications_created": self.notifications_created,
            "deadlines_examined": self.deadlines_examined,
        }


def mark_breaches(connection: Connection, now: datetime) -> int:
    """Every open deadline whose due time has passed becomes breached (one statement)."""
    result = connection.execute(
        update(DEADLINE)
        .where(and_(DEADLINE.c.status == DeadlineStatus.OPEN.value, DEADLINE.c.due_at < now))
        .values(status=DeadlineStatus.BREACHED.value, breached_at=now)
    )
    return int(result.rowcount or 0)


def _horizon(rulebook: Rulebook, now: datetime) -> datetime:
    """No deadline due later than this can have a reminder due now."""
    ladders = [r.ladder for r in rulebook.deadlines.values()]
    ladders += [r.ladder for r in rulebook.measure_deadlines.values()]
    reminders = [step.before for ladder in ladders for step in ladder if step.before is not None]
    return now + max((widest(span) for span in reminders), default=widest(None))


def _candidates(
    connection: Connection, rulebook: Rulebook, now: datetime
) -> Iterator[Sequence[Any]]:
    query = (
        select(DEADLINE.c.id, DEADLINE.c.case_id, DEADLINE.c.rule, DEADLINE.c.due_at)
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(
            DEADLINE.c.status.in_([DeadlineStatus.OPEN.value, DeadlineStatus.BREACHED.value]),
            DEADLINE.c.due_at <= _horizon(rulebook, now),
            CASE.c.rulebook_id == rulebook.id,
            CASE.c.rulebook_version == rulebook.version,
            CASE.c.phase != Phase.CLOSURE.value,
        )
        .order_by(DEADLINE.c.id)
    )
    result = connection.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    yield from result.partitions(BATCH)


def due_notifications(
    rulebook: Rulebook, rows: Iterable[Any], now: datetime
) -> list[dict[str, Any]]:
    """The notifications due by `now` for these unresolved deadlines (pure apart from the rows)."""
    calendar = rulebook.working_calendar()
    due: list[dict[str, Any]] = []
    for row in rows:
        for rung in rungs(ladder_for(rulebook, row.rule), row.due_at, calendar):
            if rung.send_after > now:
                continue
            # A reminder that comes only after the due time has passed is no reminder: the
            # breach notice replaces it.
            if rung.level == "reminder" and row.due_at <= now:
                continue
            due.append(
                {
                    "deadline_id": row.id,
                    "case_id": row.case_id,
                    "rung": rung.rung,
                    "level": rung.level,
                    "recipient_role": rung.to,
                    "due_at": row.due_at,
                    "send_after": rung.send_after,
                    "created_at": now,
                    "status": "pending",
                    "attempts": 0,
                }
            )
    return due


def _still_unresolved(connection: Connection, deadline_ids: set[int]) -> set[int]:
    """Re-read inside the writing transaction: a deadline met or a case closed since the read
    gets no notification. On PostgreSQL the rows are share-locked, so a concurrent event on the
    same case waits for this batch (and vice versa); SQLite serialises writers anyway."""
    query = (
        select(DEADLINE.c.id)
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(
            DEADLINE.c.id.in_(deadline_ids),
            DEADLINE.c.status.in_([DeadlineStatus.OPEN.value, DeadlineStatus.BREACHED.value]),
            CASE.c.phase != Phase.CLOSURE.value,
        )
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    return set(connection.execute(query).scalars())


def _insert_once(connection: Connection, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    live = _still_unresolved(connection, {r["deadline_id"] for r in rows})
    rows = [r for r in rows if r["deadline_id"] in live]
    if not rows:
        return 0
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(NOTIFICATION)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["deadline_id", "rung"])
        # SQLAlchemy 2.0 reports an INSERT's rowcount only when asked: psycopg gives -1 otherwise.
        .execution_options(preserve_rowcount=True)
    )
    return int(connection.execute(statement).rowcount or 0)


def sweep(context: Context, now: datetime) -> SweepResult:
    """Mark breaches and create due notifications; safe to rerun and to run concurrently."""
    if now.tzinfo is None:
        raise ValueError("now needs a UTC offset")
    with context.engine.begin() as connection:
        breached = mark_breaches(connection, now)
    created = examined = 0
    for rulebook in context.catalogue.rulebooks:
        with reading(context.engine) as reader:
            for batch in _candidates(reader, rulebook, now):
                examined += len(batch)
                rows = due_notifications(rulebook, batch, now)
                for start in range(0, len(rows), 1000):
                    with context.engine.begin() as writer:
                        created += _insert_once(writer, rows[start : start + 1000])
    return SweepResult(breached, created, examined)
