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

_UPDATE = (
    update(CASE)
    .where(CASE.c.id == bindparam("_id"))
    .values(
        over_norm_at=bindparam("over_norm_at"),
        inactive_at=bindparam("inactive_at"),
        consent_wait_at=bindparam("consent_wait_at"),
        stuck_at=bindparam("stuck_at"),
    )
)


def recompute_stuck_clock(
    connection: Connection,
    rulebook_of: Callable[[str, str], Rulebook],
    *,
    batch: int = BATCH,
) -> int:
    """Write every case's stuck clock from its stored facts; the number of cases written.

    `rulebook_of(id, version)`: the rulebook a case is pinned to."""
    columns = (
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
            select(*columns).where(CASE.c.id > after).order_by(CASE.c.id).limit(batch)
        ).all()
        if not rows:
            return written
        values = []
        for row in rows:
            key = (row.rulebook_id, row.rulebook_version)
            if key not in pinned:
                pinned[key] = rulebook_of(*key)
            values.append(
                {"_id": row.id, **stuck_clock_values(pinned[key], clock_facts_of_row(row))}
            )
        connection.execute(_UPDATE, values)
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
    )
