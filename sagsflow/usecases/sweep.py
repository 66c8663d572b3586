"""The sweep: mark breached deadlines and create each due notification exactly once.

Set-based and partitioned: one UPDATE marks every breach; `sweep_batches` cuts the unresolved
deadlines near or past their due time into deadline-id ranges of at most `batch_size` (one
query), and `sweep_partition` evaluates one range's ladders and inserts the due notifications.
The `enforce_deadlines` flow runs each range as a Prefect task; `sweep` does the same work in
one pass, streaming the candidates from one query (server-side cursor) in batches of the same
size, so its memory is one batch's whatever the caseload (bench/sweep.py measures it).
Only rungs not stored yet reach a write transaction, so a sweep with nothing new writes nothing
(and takes no SQLite write lock); the rest is compiled once and sent with the driver's executemany.

Two guards keep each notification single, on every database and under every schedule:
- the (deadline_id, rung) unique key with ON CONFLICT DO NOTHING: whatever reruns, crashes half
  way or overlapping sweeps happen, a second insert of the same rung is a no-op. This is the
  guarantee; nothing else is needed for correctness.
- on PostgreSQL each write claims its deadlines with `SELECT … FOR NO KEY UPDATE SKIP LOCKED`:
  a second worker on an overlapping range skips the deadlines another worker is writing instead
  of queueing behind its transaction, and only writes what nobody holds. A deadline skipped
  because its claimant then rolled back is picked up by the next sweep (notifications are
  derived from the deadline's state, never from a queue). SKIP LOCKED alone would not suffice:
  once the first claimant commits, a worker that read the range earlier can claim the same rows
  — the unique key is what stops that. SQLite serialises writers (BEGIN IMMEDIATE) instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models.database import reading
from models.readmodels import (
    TallyKey,
    add_to_tally,
    case_owners,
    keep_notified_rungs,
    moved,
    tally_key,
)
from models.repository import CASE, DEADLINE
from models.stuck_clock import refresh_breached_since
from models.tables import Notification
from rulebooks import Catalogue
from sagsflow.context import Context
from statemachine.escalation import ladder_for, reach, rungs
from statemachine.phases import DeadlineStatus, Phase
from statemachine.rulebook import NEVER_BREACHED, LadderStep, Rulebook

NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
BATCH = 5000
# Rows per INSERT transaction: short write locks, so events on the same cases wait briefly.
WRITE_BATCH = 1000
REFRESH_BATCH = 5000  # cases per UPDATE of their breach fact after marking breaches
UNRESOLVED = (DeadlineStatus.OPEN.value, DeadlineStatus.BREACHED.value)
ANALYZE_AFTER = 10_000  # breaches marked at once after which PostgreSQL's statistics are renewed


@dataclass(frozen=True)
class SweepResult:
    breached: int
    notifications_created: int
    deadlines_examined: int
    # Refused cases closed as their complaint period passed (`usecases.complaints`).
    cases_closed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "breached": self.breached,
            "notifications_created": self.notifications_created,
            "deadlines_examined": self.deadlines_examined,
            "cases_closed": self.cases_closed,
        }

    def __add__(self, other: SweepResult) -> SweepResult:
        return SweepResult(
            self.breached + other.breached,
            self.notifications_created + other.notifications_created,
            self.deadlines_examined + other.deadlines_examined,
            self.cases_closed + other.cases_closed,
        )


def _check_aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now needs a UTC offset")


def _in_municipality(municipality: str | None) -> list[Any]:
    """A WHERE clause on deadlines narrowing them to one municipality's cases (none: all)."""
    if municipality is None:
        return []
    return [DEADLINE.c.case_id.in_(select(CASE.c.id).where(CASE.c.municipality == municipality))]


def mark_breaches(connection: Connection, now: datetime, *, municipality: str | None = None) -> int:
    """Every open deadline whose due time has passed becomes breached (one statement), and the
    cases it breached keep the fact (`case.breached_since`, the stuck list's breach: docs/
    decisions/009-stuck-clock.md), and the deadline tally moves them from open to breached, in
    the same transaction (docs/decisions/010-read-models.md). The rows the UPDATE returns
    (RETURNING) are exactly the ones it changed, whatever events ran meanwhile; the cases'
    fact is set by an UPDATE per 5,000 of them."""
    changed = connection.execute(
        update(DEADLINE)
        .where(
            and_(DEADLINE.c.status == DeadlineStatus.OPEN.value, DEADLINE.c.due_at < now),
            # The parties' complaint period is no duty of the municipality: it ends, it is
            # never breached (`usecases.complaints`).
            DEADLINE.c.rule.not_in(sorted(NEVER_BREACHED)),
            *_in_municipality(municipality),
        )
        .values(status=DeadlineStatus.BREACHED.value, breached_at=now)
        .returning(DEADLINE.c.case_id, DEADLINE.c.rule, DEADLINE.c.due_at)
    ).all()
    if changed:
        owners = case_owners(connection, (row.case_id for row in changed))
        deltas: defaultdict[TallyKey, int] = defaultdict(int)
        for row in changed:
            owner = owners[row.case_id]
            moved(
                deltas,
                tally_key(owner, row.rule, DeadlineStatus.OPEN.value, row.due_at, None),
                tally_key(owner, row.rule, DeadlineStatus.BREACHED.value, row.due_at, None),
            )
        add_to_tally(connection, deltas)
    cases = sorted({row.case_id for row in changed})
    for start in range(0, len(cases), REFRESH_BATCH):
        refresh_breached_since(connection, CASE.c.id.in_(cases[start : start + REFRESH_BATCH]))
    return len(changed)


def record_breaches(context: Context, now: datetime, *, municipality: str | None = None) -> int:
    """`mark_breaches` in its own transaction: the first step of a sweep.

    On PostgreSQL, after marking many (`ANALYZE_AFTER`), the deadline table's statistics are
    taken again: they still count those deadlines as open and overdue, and autovacuum analyses
    only after a tenth of the table has changed. With them, the next sweeps' breach UPDATE,
    which finds almost nothing, scanned all 6.4 million deadlines at a million cases (2.1 s)
    instead of the index (bench/README.md, "Issue 9")."""
    _check_aware(now)
    with context.engine.begin() as connection:
        changed = mark_breaches(connection, now, municipality=municipality)
    if changed >= ANALYZE_AFTER and context.engine.dialect.name == "postgresql":
        with context.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE deadline")
    return changed


def _horizon(rungs: dict[tuple[str, str, str], Rungs], now: datetime) -> datetime:
    """No deadline due later than this can have a reminder due at `now` (the latest `reach` of
    the ladders' reminders); overdue deadlines are due before it anyway."""
    return max((r.reach for r in rungs.values() if r.reach is not None), default=now)


def _widest_horizon(context: Context, now: datetime) -> datetime | None:
    """`_horizon` of every rulebook's ladders: a pre-filter valid for every case (None: no
    rulebook, nothing to sweep)."""
    if not context.catalogue.rulebooks:
        return None
    return _horizon(ladder_rungs(context.catalogue, now), now)


# Rendered as literals (`status IN ('open', 'breached')`): SQLite uses a partial index only when
# the query's WHERE contains the index's own terms with constants, and PostgreSQL cannot prove a
# generic plan's parameters match one. The unresolved-deadline index (models/tables.py) is what
# lets the flow's id ranges read only unresolved deadlines.
_UNRESOLVED_LITERAL: BindParameter[list[str]] = bindparam(
    "unresolved_statuses", list(UNRESOLVED), expanding=True, literal_execute=True
)


def _unresolved_near(horizon: datetime) -> list[Any]:
    return [DEADLINE.c.status.in_(_UNRESOLVED_LITERAL), DEADLINE.c.due_at <= horizon]


def sweep_batches(
    context: Context, now: datetime, batch_size: int = BATCH, *, municipality: str | None = None
) -> list[tuple[int, int]]:
    """Inclusive deadline-id ranges, each with at most `batch_size` deadlines to examine.

    One query (numbered in the database, never fetched row by row). The ranges cover the
    unresolved deadlines due before the widest rulebook horizon at `now`; deadlines created
    later belong to the next sweep.
    """
    _check_aware(now)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    horizon = _widest_horizon(context, now)
    if horizon is None:
        return []
    numbered = (
        select(
            DEADLINE.c.id,
            # Integer division on both databases (`//` would add FLOOR, which SQLite may lack).
            (func.row_number().over(order_by=DEADLINE.c.id) - 1)
            .self_group()
            .op("/")(batch_size)
            .label("batch"),
        )
        .where(*_unresolved_near(horizon), *_in_municipality(municipality))
        .subquery()
    )
    query = (
        select(func.min(numbered.c.id), func.max(numbered.c.id))
        .group_by(numbered.c.batch)
        .order_by(numbered.c.batch)
    )
    with reading(context.engine) as reader:
        return [(int(low), int(high)) for low, high in reader.execute(query)]


@dataclass(frozen=True)
class Rungs:
    """What a deadline's ladder can still give at `now` (rulebook data): the rungs (bit masks,
    bit r: rung r) that can be created for a deadline not yet due and for one already due, and
    the latest due time for which one of its reminders can already be due (`escalation.reach`
    in the rulebook's calendar; None: no reminder).

    As `due_notifications` decides: before the due time only a rung sent `before` it can be due
    (a reminder); from the due time on, every rung but the reminders, which then no longer come.
    """

    before_due: int
    once_due: int
    reach: datetime | None


def ladder_rungs(catalogue: Catalogue, now: datetime) -> dict[tuple[str, str, str], Rungs]:
    """(rulebook id, version, rule) → its ladder's `Rungs` at `now`."""
    found: dict[tuple[str, str, str], Rungs] = {}
    for rulebook in catalogue.rulebooks:
        calendar = rulebook.working_calendar()
        ladders = [(rule, spec.ladder) for rule, spec in rulebook.deadlines.items()]
        ladders += [(rule, spec.ladder) for rule, spec in rulebook.measure_deadlines.items()]
        for rule, ladder in ladders:
            before = [step.before for step in ladder if step.before is not None]
            found[rulebook.id, rulebook.version, rule.value] = Rungs(
                before_due=sum(1 << i for i, step in enumerate(ladder) if step.before is not None),
                once_due=sum(1 << i for i, step in enumerate(ladder) if step.level != "reminder"),
                reach=max(reach(span, now, calendar) for span in before) if before else None,
            )
    return found


def _needed(rungs: Rungs, now: datetime) -> ColumnElement[int]:
    """The rungs one ladder can still give at `now`: none while the due time is further off
    than its earliest reminder can come, its reminders until the due time, then the rest."""
    whens: list[tuple[ColumnElement[bool], ColumnElement[int]]] = []
    if rungs.reach is not None:
        whens.append((DEADLINE.c.due_at > rungs.reach, literal_column("0")))
    whens.append((DEADLINE.c.due_at > now, literal_column(str(int(rungs.before_due)))))
    return case(*whens, else_=literal_column(str(int(rungs.once_due))))


def _rungs_needed(rungs: dict[tuple[str, str, str], Rungs], now: datetime) -> ColumnElement[int]:
    """The rungs (a bit mask) the deadline's ladder can still give at `now` (`ladder_rungs`),
    as a CASE over the deadline's rule (rulebook data: a few literals). A rule whose ladder is
    the same in every rulebook of the catalogue needs no test of the case's rulebook; where
    ladders differ, or a rulebook lacks the rule, the case's rulebook and version choose."""
    books = {(rulebook_id, version) for rulebook_id, version, _ in rungs}
    per_rule: defaultdict[str, defaultdict[Rungs, list[tuple[str, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for (rulebook_id, version, rule), given in sorted(rungs.items()):
        per_rule[rule][given].append((rulebook_id, version))
    whens: dict[str, ColumnElement[int]] = {}
    for rule, ladders in sorted(per_rule.items()):
        if len(ladders) == 1:
            [(given, where)] = ladders.items()
            if set(where) == books:
                whens[rule] = _needed(given, now)
                continue
        whens[rule] = case(
            *(
                (_in_books(where), _needed(given, now))
                for given, where in sorted(ladders.items(), key=lambda item: item[1])
            ),
            else_=literal_column("0"),
        )
    return case(
        *((DEADLINE.c.rule == literal_column(_quoted(rule)), then) for rule, then in whens.items()),
        else_=literal_column("0"),
    )


def _in_books(books: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    return or_(
        *(
            and_(
                CASE.c.rulebook_id == literal_column(_quoted(rulebook_id)),
                CASE.c.rulebook_version == literal_column(_quoted(version)),
            )
            for rulebook_id, version in books
        )
    )


def _with_something_left(
    query: Select[Any], rungs: dict[tuple[str, str, str], Rungs], now: datetime
) -> Select[Any]:
    """`query` narrowed to the deadlines with a rung still to give that has no notification:
    the rungs notified (the deadline row's bit mask, kept with the notifications: models/
    tables.py) do not cover those the ladder can still give. A rerun so skips in SQL, in the
    same scan of the unresolved deadlines, every deadline with nothing left — a breach long
    past and escalated, a reminder already sent — instead of reading it into Python to find
    nothing to do (docs/decisions/013-notified-rungs.md)."""
    needed = _rungs_needed(rungs, now)
    return query.where(DEADLINE.c.notified_rungs.op("&")(needed) != needed)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _candidates(
    id_range: tuple[int, int] | None,
    municipality: str | None,
    rungs: dict[tuple[str, str, str], Rungs],
    now: datetime,
) -> Select[Any]:
    """The unresolved deadlines of open cases due before `_horizon` with a rung still to give
    (`_with_something_left`): those in `id_range` by id, or (None) all of them in the order the
    database finds them (its status-and-due index)."""
    query = (
        select(
            DEADLINE.c.id,
            DEADLINE.c.case_id,
            DEADLINE.c.rule,
            DEADLINE.c.due_at,
            DEADLINE.c.notified_rungs,
            CASE.c.rulebook_id,
            CASE.c.rulebook_version,
        )
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(*_unresolved_near(_horizon(rungs, now)), CASE.c.phase != Phase.CLOSURE.value)
    )
    query = _with_something_left(query, rungs, now)
    if id_range is not None:
        # Ordered, the whole set would be read in id order: a scan of every deadline on SQLite.
        query = query.where(DEADLINE.c.id.between(*id_range)).order_by(DEADLINE.c.id)
    return query if municipality is None else query.where(CASE.c.municipality == municipality)


def due_notifications(
    rulebook: Rulebook,
    rows: Iterable[Any],
    now: datetime,
    existing: Container[tuple[int, int]] = frozenset(),
) -> list[dict[str, Any]]:
    """The notifications due by `now` for these unresolved deadlines (pure apart from the rows).

    `existing`: (deadline_id, rung) pairs already stored, left out — and their send times never
    computed, as are those of rungs that cannot be due yet; the calendar arithmetic is most of a
    sweep's own work.
    """
    calendar = rulebook.working_calendar()
    ladders: dict[str, list[LadderStep]] = {}
    # Deadlines counted in days fall due at the end of a day: many share a due instant, and so
    # the send time of each rung.
    send_times: dict[tuple[str, int, datetime], datetime] = {}
    due: list[dict[str, Any]] = []
    for row in rows:
        rule = row.rule
        steps = ladders.get(rule)
        if steps is None:
            steps = ladders[rule] = ladder_for(rulebook, rule)
        deadline_id, due_at = row.id, row.due_at
        for index, step in enumerate(steps):
            if (deadline_id, index) in existing:
                continue
            # A reminder that comes only after the due time has passed is no reminder: the
            # breach notice replaces it.
            if step.level == "reminder" and due_at <= now:
                continue
            # A rung a positive span after the due time is not due while the deadline is not.
            if step.after is not None and step.after.amount > 0 and due_at > now:
                continue
            send_after = send_times.get((rule, index, due_at))
            if send_after is None:
                [rung] = rungs([step], due_at, calendar)
                send_after = send_times[rule, index, due_at] = rung.send_after
            if send_after > now:
                continue
            due.append(
                {
                    "deadline_id": deadline_id,
                    "case_id": row.case_id,
                    "rung": index,
                    "level": step.level,
                    "recipient_role": step.to.value,
                    "due_at": due_at,
                    "send_after": send_after,
                    "created_at": now,
                    "status": "pending",
                    "attempts": 0,
                }
            )
    return due


def _claim(connection: Connection, deadline_ids: set[int], case_ids: set[int]) -> set[int]:
    """The deadlines this transaction may notify about: still unresolved, case still open.

    Re-read inside the writing transaction, so a deadline met or a case closed since the read
    gets no notification. On PostgreSQL, in the event path's lock order (case, then deadline):
    the cases are share-locked — an event on one of them waits for this batch, and this batch
    waits for an event already under way, then sees its outcome — and the deadlines are
    claimed with SKIP LOCKED, so a concurrent sweep's claim is skipped, not waited for.
    SQLite serialises writers anyway.
    """
    if connection.dialect.name != "postgresql":
        query = (
            select(DEADLINE.c.id)
            .join(CASE, CASE.c.id == DEADLINE.c.case_id)
            .where(
                DEADLINE.c.id.in_(deadline_ids),
                DEADLINE.c.status.in_(UNRESOLVED),
                CASE.c.phase != Phase.CLOSURE.value,
            )
        )
        return set(connection.execute(query).scalars())
    open_cases = (
        select(CASE.c.id)
        .where(CASE.c.id.in_(case_ids), CASE.c.phase != Phase.CLOSURE.value)
        .order_by(CASE.c.id)
        .with_for_update(read=True)
    )
    live_cases = list(connection.execute(open_cases).scalars())
    if not live_cases:
        return set()
    claim = (
        select(DEADLINE.c.id)
        .where(
            DEADLINE.c.id.in_(deadline_ids),
            DEADLINE.c.status.in_(UNRESOLVED),
            DEADLINE.c.case_id.in_(live_cases),
        )
        .order_by(DEADLINE.c.id)
        # FOR NO KEY UPDATE: the notification's foreign key (KEY SHARE) is not blocked.
        .with_for_update(skip_locked=True, key_share=True)
    )
    return set(connection.execute(claim).scalars())


def _insert_once(connection: Connection, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    live = _claim(connection, {r["deadline_id"] for r in rows}, {r["case_id"] for r in rows})
    rows = [r for r in rows if r["deadline_id"] in live]
    if not rows:
        return 0
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    # One cached statement, many parameter sets: the driver's executemany (psycopg pipelines it).
    statement = insert(NOTIFICATION).on_conflict_do_nothing(index_elements=["deadline_id", "rung"])
    result = connection.execute(statement.execution_options(preserve_rowcount=True), rows)
    # The deadlines' notified rungs, in the same transaction: made again from the stored
    # notifications, so each mask names exactly the rungs stored (another sweep's included).
    # The deadlines are this transaction's claim (PostgreSQL: FOR NO KEY UPDATE), so no other
    # sweep writes theirs meanwhile.
    keep_notified_rungs(connection, (row["deadline_id"] for row in rows))
    return int(result.rowcount)


class _Notified(Container[tuple[int, int]]):
    """(deadline_id, rung) in it: that rung is already notified (the rows' bit masks)."""

    def __init__(self, rows: Sequence[Any]) -> None:
        self.masks = {row.id: row.notified_rungs for row in rows if row.notified_rungs}

    def __contains__(self, key: object) -> bool:
        deadline_id, rung = cast("tuple[int, int]", key)
        return bool(self.masks.get(deadline_id, 0) >> rung & 1)


def _evaluate(
    context: Context, now: datetime, rows: Sequence[Any], existing: Container[tuple[int, int]]
) -> SweepResult:
    """Create the due notifications for these candidate rows (`_candidates`' columns)."""
    by_rulebook: defaultdict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        by_rulebook[row.rulebook_id, row.rulebook_version].append(row)
    created = examined = 0
    for rulebook in context.catalogue.rulebooks:
        # (The candidates' query left out every deadline no reminder can reach yet.)
        batch = by_rulebook.get((rulebook.id, rulebook.version), [])
        examined += len(batch)
        due = due_notifications(rulebook, batch, now, existing)
        for start in range(0, len(due), WRITE_BATCH):
            with context.engine.begin() as writer:
                created += _insert_once(writer, due[start : start + WRITE_BATCH])
    return SweepResult(0, created, examined)


def sweep_partition(
    context: Context,
    now: datetime,
    id_range: tuple[int, int],
    *,
    municipality: str | None = None,
) -> SweepResult:
    """Create the due notifications for the deadlines with ids in `id_range` (inclusive).

    Marks no breaches (`record_breaches` does, first). Safe to rerun and to run on several
    workers at once, overlapping or not: see the module's docstring.
    """
    _check_aware(now)
    if not context.catalogue.rulebooks:
        return SweepResult(0, 0, 0)
    query = _candidates(id_range, municipality, ladder_rungs(context.catalogue, now), now)
    with reading(context.engine) as reader:
        _planned_for_reading(reader)
        rows = reader.execute(query).all()
    return _evaluate(context, now, rows, _Notified(rows))


def sweep(
    context: Context,
    now: datetime,
    *,
    batch_size: int = BATCH,
    municipality: str | None = None,
) -> SweepResult:
    """Mark breaches and create due notifications; safe to rerun and to run concurrently.

    What the partitions of `sweep_batches` give together, in one pass: one query streams the
    candidates (a server-side cursor on PostgreSQL), and they are evaluated `batch_size` at a
    time as `sweep_partition` evaluates its range — memory stays that of one batch whatever the
    caseload, and no deadline is read twice.
    """
    _check_aware(now)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    from sagsflow.usecases.complaints import end_complaint_periods

    closed = end_complaint_periods(context, now, municipality=municipality)
    result = SweepResult(record_breaches(context, now, municipality=municipality), 0, 0, closed)
    if not context.catalogue.rulebooks:
        return result
    query = _candidates(None, municipality, ladder_rungs(context.catalogue, now), now)
    with reading(context.engine) as reader:
        _planned_for_reading(reader)
        stream = reader.execution_options(stream_results=True, yield_per=batch_size).execute(query)
        for rows in stream.partitions():
            result += _evaluate(context, now, rows, _Notified(rows))
    return result


def _planned_for_reading(reader: Connection) -> None:
    """PostgreSQL plans the candidates' query for being read to the end, without JIT.

    A cursor is planned for its first rows (cursor_tuple_fraction 0.1): at a million cases that
    chose to walk every deadline in case order, ten times slower than reading the whole set.
    And its cost estimate there passes `jit_above_cost`; compiling the rungs' CASE costs a
    rerun more than the evaluation it would speed up (bench/README.md, "Issue 9")."""
    if reader.dialect.name == "postgresql":
        reader.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1.0")
        reader.exec_driver_sql("SET LOCAL jit = off")
