"""The read models behind the aggregated figures, kept in the database (docs/decisions/
010-read-models.md): the deadline tally (deadlines per case owner, rule, Copenhagen due day
and how they count), its team and municipality roll-ups per month and quarter (012-tally-
spans.md) and the ended phase stays.

Written in the transaction that changes what they summarise: `CaseRepository.record` (every
event) and the sweep's breach marking (`add_to_tally`); `rebuild` fills them set-based from the
base tables (the migration that adds them, and the benchmarks' generated databases).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Float,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models.statements import Prepared, Runner
from models.tables import (
    AuditRecord,
    Case,
    Deadline,
    DeadlineTally,
    DeadlineTallySpan,
    Notification,
    PhaseStay,
)
from models.types import UTCDateTime
from statemachine.calendar import local_date
from statemachine.late import Timeliness, settled
from statemachine.periods import month_of, quarter_of
from statemachine.phases import DeadlineStatus

CASE = Case.__table__  # type: ignore[attr-defined]
DEADLINE = Deadline.__table__  # type: ignore[attr-defined]
AUDIT = AuditRecord.__table__  # type: ignore[attr-defined]
TALLY = DeadlineTally.__table__  # type: ignore[attr-defined]
SPAN = DeadlineTallySpan.__table__  # type: ignore[attr-defined]
STAY = PhaseStay.__table__  # type: ignore[attr-defined]
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
# The outcome of a deadline still open: late or pending depending on the reader's `now`.
OPEN = "open"
# Late, and kept apart: the overview counts the breached deadlines (a breached deadline is one of
# an open case: closing a case cancels its unresolved ones, statemachine/process.py).
BREACHED = DeadlineStatus.BREACHED.value
NONE = ""  # no team / no worker, in the tally's key columns
# Roll-up rows, kept with the others: worker ALL counts every deadline of the team (a team
# leader's and the department head's per-team figures), team and worker ALL every deadline of
# the municipality (its totals). At 40,000 caseworkers the worker rows are nearly one per
# deadline (25 cases each); a quarter of a municipality is then a few thousand roll-up rows
# instead of a million (docs/decisions/010). No organisation id is "*".
ALL = "*"
BATCH = 5000
# A tally row that counts something (spelt as the partial index's own term, so that SQLite
# uses it: models/tables.py).
COUNTS = TALLY.c.n != literal_column("0")

# (municipality, team, worker, rule, due_day, outcome)
TallyKey = tuple[str, str, str, str, date, str]
# (span, first_day, team, municipality, rule): `DeadlineTallySpan`'s key, in its order.
SpanKey = tuple[str, date, str, str, str]
MONTH, QUARTER = "month", "quarter"
# The tally's outcomes (`outcome_of`), each a count column of the spans, in this order.
SPAN_OUTCOMES = (
    Timeliness.ON_TIME.value,
    Timeliness.LATE.value,
    Timeliness.CANCELLED.value,
    OPEN,
    BREACHED,
)
_AT = {outcome: i for i, outcome in enumerate(SPAN_OUTCOMES)}


def outcome_of(status: str, due_at: datetime, closed_at: datetime | None) -> str:
    """The tally's outcome column: `statemachine.late.settled`, `open`, or `breached` (late)."""
    if status == BREACHED:
        return BREACHED
    kind = settled(DeadlineStatus(status), due_at, closed_at)
    return OPEN if kind is None else kind.value


def tally_key(
    owner: tuple[str, str | None, str | None],
    rule: str,
    status: str,
    due_at: datetime,
    closed_at: datetime | None,
) -> TallyKey:
    municipality, team, worker = owner
    return (
        municipality,
        team or NONE,
        worker or NONE,
        rule,
        local_date(due_at),
        outcome_of(status, due_at, closed_at),
    )


_COLUMNS = ("municipality", "team", "worker", "rule", "due_day", "outcome")
_SPAN_COLUMNS = ("span", "first_day", "team", "municipality", "rule")


def _make_upsert(
    insert_of: Any, table: Any, columns: tuple[str, ...], counts: tuple[str, ...] = ("n",)
) -> Any:
    statement = insert_of(table)
    return statement.on_conflict_do_update(
        index_elements=list(columns),
        set_={c: table.c[c] + statement.excluded[c] for c in counts},
    )


# Built and compiled once (the event path runs them with every event that touches a deadline).
_UPSERTS = {
    "postgresql": Prepared(_make_upsert(pg_insert, TALLY, _COLUMNS)),
    "sqlite": Prepared(_make_upsert(sqlite_insert, TALLY, _COLUMNS)),
}
_SPAN_UPSERTS = {
    "postgresql": Prepared(_make_upsert(pg_insert, SPAN, _SPAN_COLUMNS, SPAN_OUTCOMES)),
    "sqlite": Prepared(_make_upsert(sqlite_insert, SPAN, _SPAN_COLUMNS, SPAN_OUTCOMES)),
}


def with_rollups(deltas: Mapping[TallyKey, int]) -> dict[TallyKey, int]:
    """Each worker row's delta, and the same delta on its team's and municipality's roll-ups."""
    found: defaultdict[TallyKey, int] = defaultdict(int)
    for (municipality, team, worker, rule, day, outcome), n in deltas.items():
        if n:
            found[municipality, team, worker, rule, day, outcome] += n
            found[municipality, team, ALL, rule, day, outcome] += n
            found[municipality, ALL, ALL, rule, day, outcome] += n
    return found


def span_rollups(rolled: Mapping[TallyKey, int]) -> dict[SpanKey, list[int]]:
    """The team and municipality roll-ups (`with_rollups`' rows of worker ALL) summed per
    calendar month and quarter of their due day (`DeadlineTallySpan`): per span key, a count
    per outcome in `SPAN_OUTCOMES` order."""
    found: dict[SpanKey, list[int]] = {}
    firsts: dict[date, tuple[date, date]] = {}
    for (municipality, team, worker, rule, day, outcome), n in rolled.items():
        if worker != ALL or not n:
            continue
        spans = firsts.get(day)
        if spans is None:
            spans = firsts[day] = (month_of(day).first, quarter_of(day).first)
        at = _AT[outcome]
        for key in (
            (MONTH, spans[0], team, municipality, rule),
            (QUARTER, spans[1], team, municipality, rule),
        ):
            counts = found.get(key)
            if counts is None:
                counts = found[key] = [0] * len(SPAN_OUTCOMES)
            counts[at] += n
    return found


def add_to_tally(
    connection: Connection,
    deltas: Mapping[TallyKey, int],
    runner: Runner | None = None,
    *,
    spans: bool = True,
) -> None:
    """Add each delta (worker rows) to its tally row, its roll-ups and their months and
    quarters (created at need). In key order, the tally's rows before the spans', so two
    transactions touching the same rows lock them in the same order (no deadlock on
    PostgreSQL). `spans=False`: the tally alone (for migration 0005, which predates spans)."""
    rolled = with_rollups(deltas)
    run = runner or Runner(connection)
    _upsert(connection, run, _UPSERTS, _COLUMNS, rolled)
    if spans:
        _upsert_spans(connection, run, span_rollups(rolled))


def _upsert(
    connection: Connection,
    run: Runner,
    upserts: Mapping[str, Prepared],
    columns: tuple[str, ...],
    found: Mapping[tuple[Any, ...], int],
) -> None:
    """Add each non-zero count to its row (by `columns`, the key), in key order."""
    rows = [
        {**dict(zip(columns, key, strict=True)), "n": n} for key, n in sorted(found.items()) if n
    ]
    statement = upserts[connection.dialect.name]
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        run.write(statement, chunk[0] if len(chunk) == 1 else chunk)


def _upsert_spans(connection: Connection, run: Runner, found: Mapping[SpanKey, list[int]]) -> None:
    """Add each span key's counts to its row, in key order (none where every count is 0)."""
    rows = [
        {
            **dict(zip(_SPAN_COLUMNS, key, strict=True)),
            **dict(zip(SPAN_OUTCOMES, counts, strict=True)),
        }
        for key, counts in sorted(found.items())
        if any(counts)
    ]
    statement = _SPAN_UPSERTS[connection.dialect.name]
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        run.write(statement, chunk[0] if len(chunk) == 1 else chunk)


def rebuild_spans(connection: Connection) -> int:
    """Fill the month and quarter spans from the tally's roll-up rows, replacing what they
    held (migration 0009, which gives them their count columns): streamed, summed by
    `span_rollups` — the same month and quarter arithmetic as the write path
    (`statemachine.periods`). Returns the rows."""
    connection.execute(delete(SPAN))
    rollups = select(*(TALLY.c[c] for c in _COLUMNS), TALLY.c.n).where(
        TALLY.c.worker == ALL, COUNTS
    )
    found: dict[SpanKey, list[int]] = {}
    stream = connection.execute(rollups.execution_options(stream_results=True, yield_per=50_000))
    for rows in stream.partitions():
        chunk = {tuple(row[:6]): int(row.n) for row in rows}
        for key, counts in span_rollups(chunk).items():
            kept = found.get(key)
            if kept is None:
                found[key] = counts
            else:
                for i, n in enumerate(counts):
                    kept[i] += n
    _upsert_spans(connection, Runner(connection), found)
    return sum(1 for counts in found.values() if any(counts))


def moved(deltas: defaultdict[TallyKey, int], old: TallyKey | None, new: TallyKey | None) -> None:
    """A deadline went from counting under `old` to counting under `new` (None: absent)."""
    if old == new:
        return
    if old is not None:
        deltas[old] -= 1
    if new is not None:
        deltas[new] += 1


def case_owners(
    connection: Connection, case_ids: Iterable[int]
) -> dict[int, tuple[str, str | None, str | None]]:
    """(municipality, team, worker) of each case."""
    ids = sorted(set(case_ids))
    found: dict[int, tuple[str, str | None, str | None]] = {}
    for start in range(0, len(ids), 900):
        query = select(CASE.c.id, CASE.c.municipality, CASE.c.team, CASE.c.worker).where(
            CASE.c.id.in_(ids[start : start + 900])
        )
        for row in connection.execute(query):
            found[row.id] = (row.municipality, row.team, row.worker)
    return found


# --- the rungs notified per deadline --------------------------------------------------------


def keep_notified_rungs(connection: Connection, deadline_ids: Iterable[int] | None) -> None:
    """Each deadline's `notified_rungs` made again from its stored notifications (the OR of
    1 << rung, which is their sum: a rung is stored once per deadline): those of
    `deadline_ids`, or (None) every deadline with a notification. The sweep calls it in the
    transaction that stores a batch of notifications, migration 0008 to fill the column
    (docs/decisions/013-notified-rungs.md)."""
    mask = (
        select(func.coalesce(func.sum(literal_column("1").op("<<")(NOTIFICATION.c.rung)), 0))
        .where(NOTIFICATION.c.deadline_id == DEADLINE.c.id)
        .scalar_subquery()
    )
    which = (
        DEADLINE.c.id.in_(select(NOTIFICATION.c.deadline_id))
        if deadline_ids is None
        else DEADLINE.c.id.in_(sorted(set(deadline_ids)))
    )
    connection.execute(update(DEADLINE).where(which).values(notified_rungs=mask))


# --- phase stays -----------------------------------------------------------------------------


class DaysBetween(FunctionElement[float]):
    """Elapsed days from the second instant to the first, as a fraction."""

    type = Float()
    inherit_cache = True


@compiles(DaysBetween, "sqlite")
def _days_between_sqlite(element: DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # Stored as naive UTC text, which julianday() reads.
    return f"(julianday({later}) - julianday({earlier}))"


@compiles(DaysBetween)
def _days_between_default(element: DaysBetween, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400.0)"


def days_between(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 86400.0


# A phase change: an audit record whose phase differs from the one before (open_case has none
# before it); the stay it begins ends at the case's next phase change.
IS_PHASE_CHANGE = or_(AUDIT.c.from_phase.is_(None), AUDIT.c.from_phase != AUDIT.c.to_phase)


# Built and compiled once (run with every phase change). The latest change as the one with the
# highest sequence number (no LIMIT: its bound value would be one the caller does not name).
_LATEST_CHANGE_SEQ = (
    select(func.max(AUDIT.c.seq))
    .where(AUDIT.c.case_id == bindparam("_case_id"), IS_PHASE_CHANGE)
    .scalar_subquery()
)
_LAST_PHASE_CHANGE = Prepared(
    select(AUDIT.c.to_phase, AUDIT.c.event_at).where(
        AUDIT.c.case_id == bindparam("_case_id"), AUDIT.c.seq == _LATEST_CHANGE_SEQ
    )
)


def last_phase_change(run: Runner, case_id: int) -> tuple[str, datetime] | None:
    """The phase the case's latest phase change entered, and when."""
    row = run.first(_LAST_PHASE_CHANGE, {"_case_id": case_id})
    return None if row is None else (row.to_phase, row.event_at)


# --- filling them from the base tables -------------------------------------------------------


def _outcome_sql() -> Any:
    status = DEADLINE.c.status
    return case(
        (status == DeadlineStatus.MET.value, literal(Timeliness.ON_TIME.value)),
        (status == BREACHED, literal(BREACHED)),
        (status == DeadlineStatus.MET_LATE.value, literal(Timeliness.LATE.value)),
        (status == DeadlineStatus.OPEN.value, literal(OPEN)),
        (
            and_(DEADLINE.c.closed_at.is_not(None), DEADLINE.c.closed_at > DEADLINE.c.due_at),
            literal(Timeliness.LATE.value),
        ),
        else_=literal(Timeliness.CANCELLED.value),
    )


def rebuild(connection: Connection, *, spans: bool = True) -> tuple[int, int]:
    """Fill both read models from the base tables, replacing what they held: a GROUP BY over
    the deadlines (due instants folded into Copenhagen days here, so the same on both
    databases) and one INSERT … SELECT of the phase stays. Returns (tally rows, stays)."""
    connection.execute(delete(TALLY))
    if spans:
        connection.execute(delete(SPAN))
    connection.execute(delete(STAY))
    outcome = _outcome_sql().label("outcome")
    grouped = (
        select(
            CASE.c.municipality,
            CASE.c.team,
            CASE.c.worker,
            DEADLINE.c.rule,
            DEADLINE.c.due_at,
            outcome,
            func.count().label("n"),
        )
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        # By position: the outcome's CASE carries bound values, which PostgreSQL would not
        # match between the select list and a repeated GROUP BY expression.
        .group_by(text("1, 2, 3, 4, 5, 6"))
    )
    tally: defaultdict[TallyKey, int] = defaultdict(int)
    days: dict[datetime, date] = {}
    # Streamed (the statement's option, not the connection's: the INSERT below must not be).
    stream = connection.execute(grouped.execution_options(stream_results=True, yield_per=50_000))
    for row in stream:
        day = days.get(row.due_at)
        if day is None:
            day = days[row.due_at] = local_date(row.due_at)
        team, worker = row.team or NONE, row.worker or NONE
        tally[row.municipality, team, worker, row.rule, day, row.outcome] += int(row.n)
    add_to_tally(connection, tally, spans=spans)

    left_at = type_coerce(
        func.lead(AUDIT.c.event_at).over(partition_by=AUDIT.c.case_id, order_by=AUDIT.c.seq),
        UTCDateTime(),
    )
    changes = (
        select(
            AUDIT.c.case_id,
            AUDIT.c.to_phase.label("phase"),
            AUDIT.c.event_at.label("entered_at"),
            left_at.label("left_at"),
        )
        .where(IS_PHASE_CHANGE)
        .subquery("phase_changes")
    )
    stays = (
        select(
            changes.c.case_id,
            CASE.c.municipality,
            CASE.c.team,
            CASE.c.worker,
            changes.c.phase,
            changes.c.entered_at,
            changes.c.left_at,
            DaysBetween(changes.c.left_at, changes.c.entered_at).label("days"),
        )
        .join(CASE, CASE.c.id == changes.c.case_id)
        .where(changes.c.left_at.is_not(None))
    )
    columns = [
        "case_id",
        "municipality",
        "team",
        "worker",
        "phase",
        "entered_at",
        "left_at",
        "days",
    ]
    connection.execute(insert(STAY).from_select(columns, stays))
    # Counted, not the INSERT's rowcount: psycopg reports -1 for an INSERT … SELECT here.
    return len(tally), int(connection.execute(select(func.count()).select_from(STAY)).scalar_one())
