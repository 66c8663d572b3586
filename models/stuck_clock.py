"""Recomputing the case rows' stuck clock (statemachine.stuck.stuck_clock) in bulk.

The event path keeps the clock true case by case (`CaseRepository.record`). This is for what
changes the clock of cases without an event: the migration that adds the columns
(0004_stuck_clock) and any later backfill. Batches of `BATCH` rows in id order (keyset), one
executemany UPDATE each, so it reads and writes every case once, in a few minutes at a million.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, select, update

from models.repository import CASE, DEADLINE, stuck_clock_values
from statemachine.phases import DeadlineStatus, Phase
from statemachine.rulebook import Rulebook
from statemachine.stuck import ClockFacts

BATCH = 20_000

# The clock's columns as each migration knows them: 0004 wrote the first four, 0012 added the
# child conversation's (a migration must not name a column its revision does not have).
CLOCK_0004 = ("over_norm_at", "inactive_at", "consent_wait_at", "stuck_at")
CLOCK = (*CLOCK_0004[:3], "conversation_missing_at", "stuck_at")


def _update(columns: tuple[str, ...]) -> Any:
    values: dict[str, Any] = {name: bindparam(name) for name in columns}
    return update(CASE).where(CASE.c.id == bindparam("_id")).values(**values)


def recompute_stuck_clock(
    connection: Connection,
    rulebook_of: Callable[[str, str], Rulebook],
    *,
    batch: int = BATCH,
    columns: tuple[str, ...] = CLOCK,
) -> int:
    """Write every case's stuck clock from its stored facts; the number of cases written.

    `rulebook_of(id, version)`: the rulebook a case is pinned to; `columns`: the clock's
    columns the schema has at the caller's revision."""
    statement = _update(columns)
    read = (
        CASE.c.id,
        CASE.c.rulebook_id,
        CASE.c.rulebook_version,
        CASE.c.phase,
        CASE.c.phase_entered_at,
        CASE.c.last_event_at,
        CASE.c.birth_date,
        CASE.c.facts,
    )
    after, written = 0, 0
    pinned: dict[tuple[str, str], Rulebook] = {}
    while True:
        rows = connection.execute(
            select(*read).where(CASE.c.id > after).order_by(CASE.c.id).limit(batch)
        ).all()
        if not rows:
            return written
        values: list[dict[str, Any]] = []
        for row in rows:
            key = (row.rulebook_id, row.rulebook_version)
            if key not in pinned:
                pinned[key] = rulebook_of(*key)
            clock = stuck_clock_values(pinned[key], clock_facts_of_row(row))
            values.append({"_id": row.id, **{name: clock[name] for name in columns}})
        connection.execute(statement, values)
        written += len(rows)
        after = rows[-1].id


def refresh_breached_since(connection: Connection, cases: ColumnElement[bool]) -> int:
    """Set `breached_since` (the oldest breached deadline's due time) on the open cases meeting
    `cases`, a condition over the case table, from their deadlines; one statement. The sweep
    calls it for the cases whose deadlines it has just marked breached."""
    # The status as an expression (`status || ''`), not the bare column: with the column,
    # PostgreSQL may answer min() by walking the (status, due_at) index in due order until it
    # meets the case — when its statistics still say breaches are rare (just after a sweep
    # marked 180,000, before autovacuum analyses), that walk crosses every breach of the
    # municipality, ~50 s per 5,000 cases at 1M. As an expression it can only read the case's
    # few deadlines through ix_deadline_case_id.
    oldest = (
        select(func.min(DEADLINE.c.due_at))
        .where(
            DEADLINE.c.case_id == CASE.c.id,
            (DEADLINE.c.status + "") == DeadlineStatus.BREACHED.value,
        )
        .scalar_subquery()
    )
    result = connection.execute(
        update(CASE).where(cases, CASE.c.phase != Phase.CLOSURE.value).values(breached_since=oldest)
    )
    return int(result.rowcount or 0)


def clock_facts_of_row(row: Any) -> ClockFacts:
    """What the stuck clock reads of a case-table row."""
    facts = row.facts or {}
    birth: date = row.birth_date
    entered: datetime = row.phase_entered_at
    return ClockFacts(
        phase=Phase(row.phase),
        phase_entered_at=entered,
        last_event_at=row.last_event_at,
        birth_date=birth,
        consents=frozenset(facts.get("consents", [])),
        without_consent_decided=bool(facts.get("without_consent_decided")),
        birth_expected=bool(facts.get("expected")),
        child_heard_at=child_heard_at(facts),
        last_decision_at=_instant(facts.get("last_decision_at")),
    )


def child_heard_at(facts: dict[str, Any]) -> datetime | None:
    """The latest conversation with the child or exception from it, in a case row's facts."""
    held = [c["at"] for c in facts.get("child_conversations", [])]
    found = [
        datetime.fromisoformat(at)
        for at in [*held, *facts.get("child_conversation_exceptions", [])]
    ]
    return max(found, default=None)


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
