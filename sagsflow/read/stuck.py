"""Stuck cases, a page at a time, from the stuck clock kept on the case row.

The rule is the domain's (`statemachine.stuck`). Its time-driven reasons hold after instants the
domain computes from a case's facts (`stuck_clock`), which the one audit writer stores on the case
row with every event (`over_norm_at`, `inactive_at`, `consent_wait_at`, and `stuck_at`, the
earliest; docs/decisions/009-stuck-clock.md). So "stuck at `now`" is SQL that only compares
stored instants with `now`, plus the breached-deadline fact (a deadline the sweep marked
`breached`, kept on the case row as `breached_since`, the oldest breach's due time):

- *over the phase norm*: `over_norm_at < now`;
- *inactive*: `inactive_at < now`;
- *waiting for consent*: `consent_wait_at < now`;
- *breached deadline*: a breached deadline exists.

The order, worst first, in three runs, each read through an index in its own order:

1. over the norm: most days over the norm first, i.e. the earliest `over_norm_at` first (the
   days over are a falling function of it), then by case number;
2. not over the norm, with a breach: the oldest breach first (`breached_since`), then by case
   number;
3. the rest (inactive or waiting for consent): by case number.

A page is the next `size` keys in that order, from an offset (shallow pages) or after a cursor
(`after`: keyset paging, as deep as the list goes). Only the page's rows are judged by the domain
(`assess`), which gives the exact days, reasons and breaches shown. The total is two indexed
counts: the cases with `stuck_at < now`, and the breached ones not among them.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    func,
    not_,
    or_,
    select,
    true,
)

from models.database import reading
from models.repository import CASE, DEADLINE, MAX_CASE_ID, MEASURE
from models.stuck_clock import clock_facts_of_row
from rulebooks import Catalogue
from sagsflow.context import Context
from statemachine.calendar import local_date, local_iso
from statemachine.phases import DeadlineStatus, Phase
from statemachine.rulebook import Rulebook
from statemachine.stuck import (
    BREACH_REASONS,
    StuckFacts,
    StuckReason,
    assess,
    counts_hours,
    hours_over,
    projected_investigation,
)

# The reason filter's choices, in the order the forms list them.
REASONS = tuple(
    r.value
    for r in (
        StuckReason.OVER_PHASE_NORM,
        StuckReason.BREACHED_DEADLINE,
        StuckReason.INACTIVE,
        StuckReason.WAITING_FOR_CONSENT,
        StuckReason.CHILD_CONVERSATION_MISSING,
        StuckReason.SUPERVISION_OVERDUE,
        StuckReason.COMPLAINT_REASSESSMENT_OVERDUE,
    )
)
# The reasons that hold for a case with a breached deadline of one rule (`BREACH_REASONS`).
_BREACH_RULES = {reason.value: rule for rule, reason in BREACH_REASONS.items()}
WHOLE_PAGE = 500  # rows per read when a caller wants the whole list (the CLI, the digest)

_BREACHED = DeadlineStatus.BREACHED.value
NEVER = datetime(9999, 12, 31, tzinfo=UTC)  # a NULL instant: the reason never holds


class StuckRules:
    """The stuck conditions at `now`, as SQL over the case table (the stored stuck clock)."""

    def __init__(self, catalogue: Catalogue, now: datetime) -> None:
        self.catalogue = catalogue  # the rulebooks the page's rows are judged by
        self.now = now
        self.over_norm: ColumnElement[bool] = CASE.c.over_norm_at < now
        self.inactive: ColumnElement[bool] = CASE.c.inactive_at < now
        self.waiting: ColumnElement[bool] = CASE.c.consent_wait_at < now
        self.unheard: ColumnElement[bool] = CASE.c.conversation_missing_at < now
        # Any time-driven reason: `stuck_at` is the earliest of the four instants.
        self.timed: ColumnElement[bool] = CASE.c.stuck_at < now
        self.not_over_norm: ColumnElement[bool] = or_(
            CASE.c.over_norm_at.is_(None), CASE.c.over_norm_at >= now
        )
        # Not stuck_at's own index: spelt so that a planner counts the breached cases through
        # the breach indexes (which cover stuck_at) instead of reading the many never-stuck ones.
        self.not_timed: ColumnElement[bool] = func.coalesce(CASE.c.stuck_at, NEVER) >= now
        # The breach fact the sweep and the audit writer keep on the case row: the due time of
        # its oldest breached deadline (NULL: none; always NULL for a closed case).
        self.breached: ColumnElement[bool] = CASE.c.breached_since.is_not(None)

    def reason(self, name: str) -> ColumnElement[bool]:
        if name in _BREACH_RULES:
            # A breach of the reason's rule: the breach fact narrows, the deadline decides.
            breach = select(DEADLINE.c.id).where(
                DEADLINE.c.case_id == CASE.c.id,
                DEADLINE.c.rule == _BREACH_RULES[name],
                DEADLINE.c.status == _BREACHED,
            )
            return and_(self.breached, breach.exists())
        return {
            StuckReason.OVER_PHASE_NORM.value: self.over_norm,
            StuckReason.BREACHED_DEADLINE.value: self.breached,
            StuckReason.INACTIVE.value: self.inactive,
            StuckReason.WAITING_FOR_CONSENT.value: self.waiting,
            StuckReason.CHILD_CONVERSATION_MISSING.value: self.unheard,
        }[name]


@dataclass(frozen=True)
class StuckFilter:
    team: str | None = None
    worker: str | None = None
    phase: str | None = None
    reason: str | None = None

    def where(self) -> list[ColumnElement[bool]]:
        """The team, caseworker and phase filters; the reason is the caller's, as it decides
        which runs of the list can hold a case. A closed case has no stuck clock and no breach
        fact (NULL), so the conditions on them keep to open cases by themselves, and the
        indexes stay covering."""
        conditions: list[ColumnElement[bool]] = []
        if self.team:
            conditions.append(CASE.c.team == self.team)
        if self.worker:
            conditions.append(CASE.c.worker == self.worker)
        if self.phase:
            conditions.append(CASE.c.phase == self.phase)
        return conditions


class CursorInvalid(ValueError):
    """An `after` cursor this list did not hand out."""

    def __init__(self, cursor: str) -> None:
        self.cursor = cursor
        super().__init__(f"after {cursor[:80]!r}: not a cursor of the stuck list")


@dataclass(frozen=True, order=True)
class _Key:
    """A case's place in the list: its run (1 over the norm, 2 breached, 3 the rest), the run's
    instant (over_norm_at, the oldest breach's due time; none in run 3) and its number."""

    run: int
    at: datetime | None
    case_id: int

    def cursor(self) -> str:
        text = f"{self.run}|{self.at.isoformat() if self.at else ''}|{self.case_id}"
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @staticmethod
    def parse(cursor: str) -> _Key:
        try:
            text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            run, at, case_id = text.split("|")
            key = _Key(int(run), datetime.fromisoformat(at) if at else None, int(case_id))
        except (ValueError, binascii.Error, UnicodeDecodeError) as error:
            raise CursorInvalid(cursor) from error
        if key.run not in (1, 2, 3) or (key.at is None) != (key.run == 3):
            raise CursorInvalid(cursor)
        if not 1 <= key.case_id <= MAX_CASE_ID:  # a number the database's key cannot hold
            raise CursorInvalid(cursor)
        if key.at is not None and key.at.tzinfo is None:
            raise CursorInvalid(cursor)
        return key


@dataclass(frozen=True)
class StuckPage:
    rows: list[dict[str, Any]]  # as `assess_stuck` gives them, plus child_ref and norm_span
    offset: int
    has_more: bool
    # The cursor of the page's last row when more follow (`after` for the next page).
    next_after: str | None = None


# The reasons after an instant of their own besides the norm (`StuckClock`).
_TIMED_REASONS = (
    StuckReason.INACTIVE.value,
    StuckReason.WAITING_FOR_CONSENT.value,
    StuckReason.CHILD_CONVERSATION_MISSING.value,
)
# The phase a time-driven reason holds in (`stuck_clock`): naming it lets the
# (phase, over_norm_at) index serve the list's first run.
_REASON_PHASES = {
    StuckReason.WAITING_FOR_CONSENT.value: Phase.CLARIFICATION,
    StuckReason.CHILD_CONVERSATION_MISSING.value: Phase.DECISION,
}


def count_stuck(
    connection: Connection, rules: StuckRules, scope: ColumnElement[bool], chosen: StuckFilter
) -> int:
    """How many open cases in `scope` and the filter are stuck: indexed counts of the stored
    instants (`stuck_at`, or the reason's own instant), plus the breached cases among the rest,
    counted from the breached deadlines."""
    where = [scope, *chosen.where()]
    reason = chosen.reason if chosen.reason in REASONS else None

    def cases(*conditions: ColumnElement[bool]) -> int:
        query = select(func.count()).select_from(CASE).where(*where, *conditions)
        return int(connection.execute(query).scalar_one())

    if reason == StuckReason.OVER_PHASE_NORM.value:
        return cases(rules.over_norm)
    if reason in _TIMED_REASONS:
        # `stuck_at` is at or before the reason's instant: the index narrows, the reason decides.
        return cases(rules.timed, rules.reason(reason))
    if reason == StuckReason.BREACHED_DEADLINE.value or reason in _BREACH_RULES:
        return cases(rules.reason(reason))
    # The breached cases not stuck otherwise: the (…, breached_since, id, stuck_at) indexes
    # answer it alone.
    return cases(rules.timed) + cases(rules.breached, rules.not_timed)


def stuck_page(
    connection: Connection,
    rules: StuckRules,
    scope: ColumnElement[bool],
    chosen: StuckFilter,
    *,
    offset: int = 0,
    size: int,
    after: str | None = None,
) -> StuckPage:
    """Rows offset … offset+size of the stuck list, or the `size` rows after the cursor `after`
    (then `offset` is not read), and whether more follow."""
    start = _Key.parse(after) if after else None
    skip = 0 if start else offset
    keys = _keys(connection, rules, [scope, *chosen.where()], chosen.reason, start, skip + size + 1)
    keys = keys[skip:]
    page = _cases_in_order(connection, [k.case_id for k in keys[:size]])
    has_more = len(keys) > size
    return StuckPage(
        _judged(connection, rules, page),
        offset,
        has_more,
        keys[size - 1].cursor() if has_more else None,
    )


def _keys(
    connection: Connection,
    rules: StuckRules,
    where: list[ColumnElement[bool]],
    reason: str | None,
    start: _Key | None,
    wanted: int,
) -> list[_Key]:
    """The first `wanted` keys of the list after `start` (None: from its beginning), reading
    the runs in turn, each in its index's order and no further than needed."""
    reason = reason if reason in REASONS else None
    extra = [rules.reason(reason)] if reason else []
    if reason in _REASON_PHASES:
        # Only a case in clarification has a consent wait, only one in decision waits for the
        # child conversation (`stuck_clock`).
        extra.append(CASE.c.phase == _REASON_PHASES[reason].value)
    found: list[_Key] = []
    run = start.run if start else 1
    if run == 1:
        query = select(CASE.c.id, CASE.c.over_norm_at).where(rules.over_norm, *where, *extra)
        if start is not None:
            query = query.where(_after(CASE.c.over_norm_at, CASE.c.id, start))
        query = query.order_by(CASE.c.over_norm_at, CASE.c.id).limit(wanted)
        found += [_Key(1, row.over_norm_at, row.id) for row in connection.execute(query)]
        run, start = 2, None
    if len(found) >= wanted or reason == StuckReason.OVER_PHASE_NORM.value:
        return found
    if run == 2:
        found += _breached_keys(connection, rules, [*where, *extra], start, wanted - len(found))
        run, start = 3, None
    if len(found) >= wanted or reason == StuckReason.BREACHED_DEADLINE.value:
        return found
    if reason in _BREACH_RULES:
        return found  # a breach reason holds only where a breach does: runs 1 and 2
    query = select(CASE.c.id).where(
        rules.timed, rules.not_over_norm, not_(rules.breached), *where, *extra
    )
    if start is not None:
        query = query.where(CASE.c.id > start.case_id)
    query = query.order_by(CASE.c.id).limit(wanted - len(found))
    return found + [_Key(3, None, row.id) for row in connection.execute(query)]


def _after(at: Any, case_id: Any, start: _Key) -> ColumnElement[bool]:
    """(at, case_id) > (start.at, start.case_id), spelt out for every database; the redundant
    `at >= start.at` lets the planner start the index range there instead of at the start."""
    return and_(at >= start.at, or_(at > start.at, and_(at == start.at, case_id > start.case_id)))


def _breached_keys(
    connection: Connection,
    rules: StuckRules,
    where: list[ColumnElement[bool]],
    start: _Key | None,
    wanted: int,
) -> list[_Key]:
    """Run 2: cases not over the norm with a breach, oldest breach first (`breached_since`,
    through its index)."""
    since = CASE.c.breached_since
    query = select(CASE.c.id, since).where(rules.breached, rules.not_over_norm, *where)
    if start is not None:
        query = query.where(_after(since, CASE.c.id, start))
    query = query.order_by(since, CASE.c.id).limit(wanted)
    return [_Key(2, row.breached_since, row.id) for row in connection.execute(query)]


def _cases_in_order(connection: Connection, case_ids: Sequence[int]) -> list[Any]:
    if not case_ids:
        return []
    rows = {r.id: r for r in connection.execute(select(CASE).where(CASE.c.id.in_(case_ids)))}
    return [rows[i] for i in case_ids]


def _judged(connection: Connection, rules: StuckRules, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The domain's verdict on each row, with its breached deadlines."""
    if not rows:
        return []
    breaches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    query = (
        select(DEADLINE)
        .where(DEADLINE.c.case_id.in_([r.id for r in rows]), DEADLINE.c.status == _BREACHED)
        .order_by(DEADLINE.c.due_at)
    )
    today, now = local_date(rules.now), rules.now
    pinned = {r.id: rules.catalogue.get(r.rulebook_id, r.rulebook_version) for r in rows}
    found = list(connection.execute(query))
    # A follow-up is the law's or the municipality's by its measure type's cadence.
    types: dict[tuple[int, str], str] = {}
    if any(d.measure_key for d in found):
        measures = select(MEASURE.c.case_id, MEASURE.c.key, MEASURE.c.type).where(
            MEASURE.c.case_id.in_(pinned)
        )
        types = {(m.case_id, m.key): m.type for m in connection.execute(measures)}
    for d in found:
        rulebook = pinned[d.case_id]
        measure_type = types.get((d.case_id, d.measure_key)) if d.measure_key else None
        breaches[d.case_id].append(
            {
                "id": d.id,
                "rule": d.rule,
                "measure_id": d.measure_key,
                "due_at": local_iso(d.due_at),
                "days_overdue": (today - local_date(d.due_at)).days,
                # An hour-based deadline (the 24-hour assessment) is told in hours.
                "hours_overdue": hours_over(d.due_at, now)
                if counts_hours(rulebook, d.rule)
                else None,
                "statutory": rulebook.is_statutory(d.rule, measure_type),
            }
        )
    judged = []
    for row in rows:
        rulebook = pinned[row.id]
        # The law's breaches first, each kind the longest over first (already by due time).
        shown = sorted(breaches.get(row.id, []), key=lambda b: not b["statutory"])
        entry = assess_stuck(rulebook, row, now, shown)
        if entry is not None:
            entry["child_ref"] = row.child_ref
            entry["norm_span"] = rulebook.stuck.phase_norms.get(Phase(row.phase))
            entry["projected_investigation"] = _projected(rulebook, row, today)
            judged.append(entry)
    return judged


def _projected(rulebook: Rulebook, row: Any, today: date) -> dict[str, Any] | None:
    """The investigation clock a case in inquiry or clarification would have
    (`statemachine.stuck.projected_investigation`), as the list shows it."""
    clock = projected_investigation(rulebook, Phase(row.phase), row.aware_at)
    if clock is None:
        return None
    return {
        "rule": clock.rule,
        "due_at": local_iso(clock.due_at),
        "days_left": (local_date(clock.due_at) - today).days,
        "source": clock.source,
        "projected": True,
    }


def stuck_facts(
    row: Any, has_breached_deadline: bool, breached_rules: frozenset[str] = frozenset()
) -> StuckFacts:
    """What the domain's stuck rule reads of a case-table row: the clock's facts
    (`models.stuck_clock.clock_facts_of_row`, the one reader of them) and the breaches."""
    return StuckFacts(
        **vars(clock_facts_of_row(row)),
        has_breached_deadline=has_breached_deadline,
        breached_rules=breached_rules,
    )


def assess_stuck(
    rulebook: Rulebook, row: Any, now: datetime, breached: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The domain's verdict (`statemachine.stuck.assess`) on the open case `row` (a case-table
    row) at `now`, as the stuck list shows it; None when it is not stuck.

    `breached`: its breached deadlines, as the list shows them.
    """
    rules = frozenset(str(b["rule"]) for b in breached)
    verdict = assess(rulebook, stuck_facts(row, bool(breached), rules), now)
    if verdict is None:
        return None
    return {
        "case_id": row.id,
        "phase": row.phase,
        "worker": row.worker,
        "team": row.team,
        "municipality": row.municipality,
        "rulebook": f"{rulebook.key}",
        "days_in_phase": verdict.days_in_phase,
        "phase_norm": verdict.norm.describe() if verdict.norm else None,
        "days_over_norm": verdict.days_over_norm,
        "days_since_last_event": verdict.days_since_last_event,
        "reasons": [r.value for r in verdict.reasons],
        "breached_deadlines": breached,
    }


def count_stuck_cases(
    context: Context, scope: ColumnElement[bool], chosen: StuckFilter, now: datetime
) -> int:
    """How many open cases in `scope` and the filter are stuck at `now`."""
    with reading(context.engine) as connection:
        return count_stuck(connection, StuckRules(context.catalogue, now), scope, chosen)


def stuck_list(
    context: Context,
    scope: ColumnElement[bool],
    chosen: StuckFilter,
    now: datetime,
    *,
    offset: int = 0,
    size: int,
    after: str | None = None,
) -> StuckPage:
    """One page of the stuck list (`stuck_page`) in its own read transaction."""
    with reading(context.engine) as connection:
        return stuck_page(
            connection,
            StuckRules(context.catalogue, now),
            scope,
            chosen,
            offset=offset,
            size=size,
            after=after,
        )


def stuck_cases(
    context: Context,
    now: datetime,
    *,
    team: str | None = None,
    scope: ColumnElement[bool] | None = None,
) -> list[dict[str, Any]]:
    """The whole stuck list (`sagsflow report stuck`, the digest), worst first: the pages of
    `stuck_page` read one after another in one read transaction. `scope`: a further WHERE
    clause over the case table (the signed-in user's visibility)."""
    rules = StuckRules(context.catalogue, now)
    chosen = StuckFilter(team=team)
    rows: list[dict[str, Any]] = []
    after: str | None = None
    with reading(context.engine) as connection:
        while True:
            page = stuck_page(
                connection,
                rules,
                scope if scope is not None else true(),
                chosen,
                size=WHOLE_PAGE,
                after=after,
            )
            rows += page.rows
            if page.next_after is None:
                return rows
            after = page.next_after
