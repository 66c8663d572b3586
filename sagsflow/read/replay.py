"""State proved by history (`audit verify --replay`): every case, or one, rebuilt from its audit
records through the domain (`statemachine.replay`) and compared with its stored rows.

Compared: the case row's phase and its instants, rulebook, municipality, birth date, awareness,
source and notifier, when it was opened, its facts, worker and team (from the opening record; older records do not
hold them: counted as not provable), and its stuck clock as derived from the rebuilt case; each
measure's columns; each deadline's rule, measure, instants, status, closing and escalation. A
deadline the sweep marked breached (no audit record: `usecases.sweep.mark_breaches`) is the
replay's open one once its due time has passed, and the other way round (the sweep lags). Every
record is also compared with what the domain would have written for it. Not compared: what is
derived for reading or delivery (notifications, `notified_rungs`, `breached_at`,
`breached_since`, the read models, the deadline's explanation text) and the child reference (no
event fact). docs/decisions/020-replay-verify.md.

Cases are read in batches of `BATCH` by id, each batch's records and rows in four queries, all in
one read transaction (REPEATABLE READ on PostgreSQL: one snapshot), so memory stays that of one
batch and a case written meanwhile is never half seen.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, TypedDict

from sqlalchemy import Connection, Row, func, select

from models.database import reading

# The repository's own values of a case file, a measure and a deadline: what a save writes.
from models.repository import (
    AUDIT,
    CASE,
    DEADLINE,
    MEASURE,
    CaseNotFound,
    clock_facts_of,
    deadline_values,
    facts_of,
    measure_values,
    stuck_clock_values,
)
from rulebooks import UnknownRulebook
from sagsflow.context import Context
from sagsflow.progress import Progress
from sagsflow.read.audit import audit_entry
from statemachine.audit import AuditEntry
from statemachine.calendar import local_iso
from statemachine.case import CaseFile, DeadlineState
from statemachine.phases import DeadlineStatus
from statemachine.replay import Mismatch, Replayed, replay
from statemachine.rulebook import Rulebook

BATCH = 500
# How many differences an answer lists (all are counted: `differences_total`).
SHOWN = 100
# What the replay does not compare (the answer says so, every time).
NOT_COMPARED: tuple[str, ...] = (
    "child_ref",
    "version",
    "audit_seq",
    "audit_hash",
    "breached_since",
    "deadlines.*.explanation",
    "deadlines.*.breached_at",
    "deadlines.*.notified_rungs",
    "notifications",
    "read models",
)
_OPEN_OR_BREACHED = frozenset({DeadlineStatus.OPEN.value, DeadlineStatus.BREACHED.value})
_UNCOMPARED_DEADLINE = frozenset({"explanation", "breached_at", "notified_rungs"})


class ReplayDifference(TypedDict):
    """One difference: the case, the record (None: the stored state, not one record), the
    field, and its value as stored and as replayed (None: absent)."""

    case_id: int
    seq: int | None
    field: str
    stored: Any
    replayed: Any


class Unproven(TypedDict):
    """A field the trail cannot prove for `cases` cases (records written before it held it)."""

    field: str
    cases: int


class ReplayVerification(TypedDict):
    """`audit verify --replay`'s answer (CLI `--json`, the audit use case)."""

    ok: bool
    cases_checked: int
    events_replayed: int
    differences: list[ReplayDifference]  # the first SHOWN
    differences_total: int
    not_provable: list[Unproven]
    not_compared: list[str]


def shown(value: Any) -> Any:
    """A value as the answer gives it: instants with the Copenhagen offset, dates as ISO text."""
    if isinstance(value, datetime):
        return local_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [shown(v) for v in value]
    return value


class _Found:
    """The differences found so far: the first `limit` kept, all counted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: list[ReplayDifference] = []
        self.total = 0

    def add(self, case_id: int, seq: int | None, name: str, stored: Any, replayed: Any) -> None:
        self.total += 1
        if len(self.kept) < self.limit:
            self.kept.append(
                {
                    "case_id": case_id,
                    "seq": seq,
                    "field": name,
                    "stored": shown(stored),
                    "replayed": shown(replayed),
                }
            )


class _Rulebooks:
    """The catalogue's versions by key, looked up once each."""

    def __init__(self, context: Context) -> None:
        self.catalogue = context.catalogue
        self.found: dict[str, Rulebook | None] = {}

    def __call__(self, key: str) -> Rulebook | None:
        if key not in self.found:
            try:
                self.found[key] = self.catalogue.resolve(key, "")
            except UnknownRulebook:
                self.found[key] = None
        return self.found[key]


def replay_verify(
    context: Context,
    *,
    now: datetime,
    case_id: int | None = None,
    limit: int = SHOWN,
    progress: Progress | None = None,
) -> ReplayVerification:
    """Rebuild every case (or case `case_id`: CaseNotFound when it has neither a row nor a
    record) from its audit records and compare it with its stored rows; `now`: the instant of
    verification (a deadline the sweep may have breached by then). `ok`: no difference.

    `progress(done, total)` is called after each case row (the case rows of the snapshot
    counted once, first): for a progress bar; it must not touch the database."""
    rulebook_of = _Rulebooks(context)
    found = _Found(limit)
    cases = events = unproven = done = 0
    with reading(context.engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        total = _case_rows(connection, case_id) if progress is not None else 0
        for batch in _batches(connection, case_id):
            rows, records, measures, deadlines = batch
            for row in rows:
                cases += 1
                replayed = _replay_case(row, records.pop(row.id, []), deadlines, rulebook_of)
                events += replayed.events
                if replayed.complete and replayed.owner is None:
                    unproven += 1
                _compare_case(found, row, replayed, measures, deadlines, now)
                if progress is not None:
                    done += 1
                    progress(done, max(total, done))
            for orphan, its in sorted(records.items()):
                # Records of a case whose row is gone.
                cases += 1
                found.add(orphan, None, "case", None, {"records": len(its)})
    if case_id is not None and cases == 0:
        raise CaseNotFound(case_id)
    not_provable: list[Unproven] = (
        [{"field": "worker", "cases": unproven}, {"field": "team", "cases": unproven}]
        if unproven
        else []
    )
    return {
        "ok": found.total == 0,
        "cases_checked": cases,
        "events_replayed": events,
        "differences": found.kept,
        "differences_total": found.total,
        "not_provable": not_provable,
        "not_compared": list(NOT_COMPARED),
    }


_Batch = tuple[
    Sequence[Row[Any]],
    dict[int, list[AuditEntry]],
    dict[int, list[Row[Any]]],
    dict[int, list[Row[Any]]],
]


def _case_rows(connection: Connection, case_id: int | None) -> int:
    """How many case rows the replay will read (in the same snapshot)."""
    query = select(func.count()).select_from(CASE)
    if case_id is not None:
        query = query.where(CASE.c.id == case_id)
    return int(connection.execute(query).scalar_one())


def _batches(connection: Connection, case_id: int | None) -> Iterator[_Batch]:
    """The case rows in id order, `BATCH` at a time, each with the records, measures and
    deadlines of its id range (records of a case without a row included)."""
    if case_id is not None:
        rows = connection.execute(select(CASE).where(CASE.c.id == case_id)).all()
        yield _batch(connection, rows, case_id, case_id)
        return
    after = 0
    while True:
        query = select(CASE).where(CASE.c.id > after).order_by(CASE.c.id).limit(BATCH)
        rows = connection.execute(query).all()
        upper = rows[-1].id if len(rows) == BATCH else None
        yield _batch(connection, rows, after + 1, upper)
        if upper is None:
            return
        after = upper


def _batch(
    connection: Connection, rows: Sequence[Row[Any]], first: int, last: int | None
) -> _Batch:
    def within(column: Any) -> Any:
        return column >= first if last is None else column.between(first, last)

    records: dict[int, list[AuditEntry]] = defaultdict(list)
    query = select(AUDIT).where(within(AUDIT.c.case_id)).order_by(AUDIT.c.case_id, AUDIT.c.seq)
    for r in connection.execute(query):
        records[r.case_id].append(audit_entry(r)[0])
    measures: dict[int, list[Row[Any]]] = defaultdict(list)
    query = select(MEASURE).where(within(MEASURE.c.case_id)).order_by(MEASURE.c.id)
    for m in connection.execute(query):
        measures[m.case_id].append(m)
    deadlines: dict[int, list[Row[Any]]] = defaultdict(list)
    query = select(DEADLINE).where(within(DEADLINE.c.case_id)).order_by(DEADLINE.c.id)
    for d in connection.execute(query):
        deadlines[d.case_id].append(d)
    return rows, records, measures, deadlines


def _replay_case(
    row: Row[Any],
    records: list[AuditEntry],
    deadlines: dict[int, list[Row[Any]]],
    rulebook_of: _Rulebooks,
) -> Replayed:
    marks = {d.key: d.breached_at for d in deadlines.get(row.id, ()) if d.breached_at is not None}
    return replay(
        records, case_id=row.id, child_ref=row.child_ref, rulebook_of=rulebook_of, breached=marks
    )


def _compare_case(
    found: _Found,
    row: Row[Any],
    replayed: Replayed,
    measures: dict[int, list[Row[Any]]],
    deadlines: dict[int, list[Row[Any]]],
    now: datetime,
) -> None:
    case_id = row.id
    for mismatch in replayed.mismatches:
        _record_difference(found, case_id, mismatch)
    case = replayed.case
    if case is None and not replayed.mismatches:
        found.add(case_id, None, "case", row.phase, None)  # a row no record made
        return
    if case is None or not replayed.complete:
        return  # the record the replay stopped at is named; the state after it is not built
    _compare_row(found, row, case, replayed)
    _compare_measures(found, case_id, case, measures.get(case_id, []))
    _compare_deadlines(found, case_id, case, deadlines.get(case_id, []), now)


def _record_difference(found: _Found, case_id: int, mismatch: Mismatch) -> None:
    found.add(case_id, mismatch.seq, f"record.{mismatch.field}", mismatch.stored, mismatch.replayed)


def _compare_row(found: _Found, row: Row[Any], case: CaseFile, replayed: Replayed) -> None:
    case_id = row.id
    pairs: list[tuple[str, Any, Any]] = [
        ("phase", row.phase, case.phase.value),
        ("phase_entered_at", row.phase_entered_at, case.phase_entered_at),
        ("last_event_at", row.last_event_at, case.last_event_at),
        (
            "rulebook",
            f"{row.rulebook_id}@{row.rulebook_version}",
            f"{case.rulebook_id}@{case.rulebook_version}",
        ),
        ("municipality", row.municipality, case.municipality),
        ("birth_date", row.birth_date, case.birth_date),
        ("aware_at", row.aware_at, case.aware_at),
        ("source", row.source, case.source.value),
        ("notifier", row.notifier, case.notifier.value if case.notifier else None),
        ("opened_at", row.opened_at, replayed.opened_at),
    ]
    if replayed.owner is not None:
        pairs += [("worker", row.worker, replayed.owner[0]), ("team", row.team, replayed.owner[1])]
    for name, stored, rebuilt in pairs:
        if stored != rebuilt:
            found.add(case_id, None, name, stored, rebuilt)
    facts = facts_of(case)
    stored_facts = row.facts or {}
    for name in sorted(facts.keys() | stored_facts.keys()):
        if stored_facts.get(name) != facts.get(name):
            found.add(case_id, None, f"facts.{name}", stored_facts.get(name), facts.get(name))
    if replayed.rulebook is not None:
        clock = stuck_clock_values(replayed.rulebook, clock_facts_of(case))
        for name, rebuilt in clock.items():
            if getattr(row, name) != rebuilt:
                found.add(case_id, None, name, getattr(row, name), rebuilt)


def _compare_measures(found: _Found, case_id: int, case: CaseFile, rows: list[Row[Any]]) -> None:
    stored = {r.key: r for r in rows}
    rebuilt = {m.key: measure_values(m) for m in case.measures}
    for key, values in rebuilt.items():
        row = stored.pop(key, None)
        if row is None:
            found.add(case_id, None, f"measures.{key}", None, values)
            continue
        for name, value in values.items():
            if getattr(row, name) != value:
                found.add(case_id, None, f"measures.{key}.{name}", getattr(row, name), value)
    for key, row in stored.items():
        found.add(case_id, None, f"measures.{key}", _row_values(row, _MEASURE_FIELDS), None)


def _compare_deadlines(
    found: _Found, case_id: int, case: CaseFile, rows: list[Row[Any]], now: datetime
) -> None:
    stored = {r.key: r for r in rows}
    for deadline in case.deadlines:
        row = stored.pop(deadline.key, None)
        if row is None:
            found.add(case_id, None, f"deadlines.{deadline.key}", None, _deadline_view(deadline))
            continue
        for name in _DEADLINE_COMPARED:
            kept, value = getattr(row, name), getattr(deadline, name)
            if name == "status":
                value = value.value
                if kept != value and {kept, value} <= _OPEN_OR_BREACHED and deadline.due_at <= now:
                    continue  # the sweep marked it breached, or has not yet
            if kept != value:
                found.add(case_id, None, f"deadlines.{deadline.key}.{name}", kept, value)
    for key, row in stored.items():
        found.add(case_id, None, f"deadlines.{key}", _row_values(row, _DEADLINE_FIELDS), None)


def _deadline_view(deadline: DeadlineState) -> dict[str, Any]:
    values = deadline_values(deadline)
    values.pop("explanation")
    return values


_MEASURE_FIELDS = tuple(c.name for c in MEASURE.c)
_DEADLINE_FIELDS = tuple(c.name for c in DEADLINE.c if c.name not in _UNCOMPARED_DEADLINE)
# A deadline's columns the replay compares: the repository's values of a deadline
# (`deadline_values`) but its explanation, which renders the others (and is the costliest to
# build).
_DEADLINE_COMPARED = (
    "rule",
    "measure_key",
    "anchor_at",
    "due_at",
    "status",
    "source",
    "responsible",
    "escalated_to",
    "armed_at",
    "closed_at",
    "closed_by",
)


def _row_values(row: Row[Any], names: Sequence[str]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names if name not in ("id", "case_id", "key")}
