"""Stuck cases: the whole report (`stuck_cases`), and a page at a time in SQL, both judged by
the domain's rule (`statemachine.stuck.assess`).

`reports.stuck_cases` reads every stuck case into Python, which a screenful cannot afford at a
million cases. Here each of the report's conditions becomes a WHERE clause over the case table:

- *over the phase norm*: `now > due(phase_entered_at, norm)`. `due` never decreases as the
  entry moves later, so it holds exactly when `phase_entered_at <= T` for one instant T per
  rulebook and phase, found by bisection (`latest_before`);
- *inactive*: `now > shift(last_event_at, inactivity)`, likewise `last_event_at <= T`;
- *waiting for consent*: in clarification longer than the rulebook's wait, no decision without
  consent, and a consent missing: the custody holder's, or the child's once the child is old
  enough (a birth date on or before a cut-off day);
- *breached deadline*: a breached deadline exists.

The order is the report's: days over the norm, most first. Within one phase (and threshold) that
order is the order of `phase_entered_at`, so a page is the merge of one `ORDER BY
phase_entered_at LIMIT offset+size` query per phase with a norm; then come the cases not over a
norm with a breach, oldest breach first; then the rest, by case number. Ties within the same
days over the norm go to the case that entered its phase first. Only the page's rows are judged
in Python (`reports.assess_stuck`), which gives the exact days, reasons and breaches shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    and_,
    cast,
    false,
    func,
    not_,
    or_,
    select,
    true,
)

from models.database import reading
from models.repository import CASE, DEADLINE
from rulebooks import Catalogue
from sagsflow.context import Context
from statemachine.calendar import (
    Unit,
    WorkingCalendar,
    due,
    local_date,
    local_iso,
    shift,
    start_of_local_day,
)
from statemachine.escalation import narrowest, widest
from statemachine.phases import DeadlineStatus, Phase
from statemachine.rulebook import Rulebook, Span
from statemachine.stuck import StuckFacts, assess

REASONS = ("over_phase_norm", "breached_deadline", "inactive", "waiting_for_consent")
BATCH = 500  # breached deadlines read at a time, in due order
SMALL = 2000  # at most this many stuck cases: read them whole and order them here
_MICROSECOND = timedelta(microseconds=1)


def latest_before(crosses: Callable[[datetime], bool], now: datetime, reach: timedelta) -> datetime:
    """The latest instant x (to the microsecond) with `crosses(x)`, for a `crosses` that holds
    for early instants and stops holding as x grows; `reach` bounds how far back it can be.

    Returns `now` when it holds even at `now`, and an instant before the reach when it never does.
    """
    if crosses(now):
        return now
    low = now - reach
    if not crosses(low):
        return low - _MICROSECOND
    # crosses(low) and not crosses(high): bisect on whole microseconds
    lo, hi = 0, int((now - low) / _MICROSECOND)
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if crosses(low + middle * _MICROSECOND):
            lo = middle
        else:
            hi = middle
    return low + lo * _MICROSECOND


def _reach(span: Span) -> timedelta:
    return widest(span) + timedelta(days=3)


def _past_due_by(span: Span, calendar: WorkingCalendar, now: datetime) -> datetime:
    """The latest start whose deadline of `span` (`calendar.due`) has passed at `now`."""
    duration = span.duration()
    if duration.unit is Unit.HOURS:  # elapsed hours: exact to the microsecond
        return latest_before(lambda x: now > due(x, duration, calendar).due_at, now, _reach(span))
    # Other units count from the start's Copenhagen date: bisect on dates, then take the end of
    # the latest such day.
    today = local_date(now)
    span_days = (_reach(span) // timedelta(days=1)) + 1
    if now > due(start_of_local_day(today), duration, calendar).due_at:
        return now
    lo, hi = -span_days, 0  # crosses at lo (checked below), not at hi
    if not now > due(start_of_local_day(today + timedelta(days=lo)), duration, calendar).due_at:
        return start_of_local_day(today + timedelta(days=lo)) - _MICROSECOND
    while hi - lo > 1:
        middle = (lo + hi) // 2
        start = start_of_local_day(today + timedelta(days=middle))
        if now > due(start, duration, calendar).due_at:
            lo = middle
        else:
            hi = middle
    return start_of_local_day(today + timedelta(days=lo + 1)) - _MICROSECOND


def _past_shift_by(span: Span, now: datetime) -> datetime:
    """The latest instant that lies more than `span` (`calendar.shift`) before `now`."""
    duration = span.duration()
    return latest_before(lambda x: now > shift(x, duration), now, _reach(span))


def _pinned(rulebooks: Sequence[Rulebook], every: int) -> ColumnElement[bool]:
    """Cases pinned to one of `rulebooks` (no condition when that is all `every` of them)."""
    if len(rulebooks) == every:
        return true()
    return or_(
        *(and_(CASE.c.rulebook_id == r.id, CASE.c.rulebook_version == r.version) for r in rulebooks)
    )


def _child_old_enough_from(today: date, age: int) -> date:
    """The latest birth date of a child who is `age` or older on `today` (statemachine's age_on)."""
    year = today.year - age
    try:
        return date(year, today.month, today.day)
    except ValueError:  # 29 February in a year without one
        return date(year, 2, 28)


def _json_text(key: str) -> ColumnElement[str]:
    return func.coalesce(cast(CASE.c.facts[key], Text), "")


@dataclass(frozen=True)
class NormGroup:
    """Cases in `phase` pinned to one of the rulebooks, over the norm when entered at or before
    `by` (`condition`)."""

    phase: Phase
    by: datetime
    condition: ColumnElement[bool]


class StuckRules:
    """The report's stuck conditions at `now` for every rulebook, as SQL over the case table.

    Rulebooks whose stuck rules, calendar and consent age agree share one condition (today's
    shipped rulebooks all do), so the SQL stays small.
    """

    def __init__(self, catalogue: Catalogue, now: datetime) -> None:
        self.catalogue = catalogue
        self.now = now
        every = len(catalogue.rulebooks)
        today = local_date(now)
        alike: dict[tuple[str, str, int], list[Rulebook]] = defaultdict(list)
        for rulebook in catalogue.rulebooks:
            key = (
                rulebook.stuck.model_dump_json(),
                rulebook.calendar.model_dump_json(),
                rulebook.consent.child_from_age,
            )
            alike[key].append(rulebook)
        norms: dict[tuple[Phase, datetime], list[Rulebook]] = defaultdict(list)
        inactive: list[ColumnElement[bool]] = []
        waiting: list[ColumnElement[bool]] = []
        for rulebooks in alike.values():
            first = rulebooks[0]
            rule, calendar = first.stuck, first.working_calendar()
            for phase, norm in rule.phase_norms.items():
                norms[(phase, _past_due_by(norm, calendar, now))] += rulebooks
            pinned = _pinned(rulebooks, every)
            if rule.inactivity_phases:
                inactive.append(
                    and_(
                        pinned,
                        CASE.c.phase.in_([p.value for p in rule.inactivity_phases]),
                        CASE.c.last_event_at <= _past_shift_by(rule.inactivity, now),
                    )
                )
            consents = _json_text("consents")
            missing = or_(
                not_(consents.like('%"custody_holder"%')),
                and_(
                    CASE.c.birth_date
                    <= _child_old_enough_from(today, first.consent.child_from_age),
                    not_(consents.like('%"child"%')),
                ),
            )
            waited: ColumnElement[bool] = true()
            if rule.consent_wait is not None:
                waited = CASE.c.phase_entered_at <= _past_shift_by(rule.consent_wait, now)
            waiting.append(
                and_(
                    pinned,
                    CASE.c.phase == Phase.CLARIFICATION.value,
                    waited,
                    _json_text("without_consent_decided") != "true",
                    missing,
                )
            )
        self.norm_groups = [
            NormGroup(
                phase,
                by,
                and_(
                    CASE.c.phase == phase.value,
                    _pinned(rulebooks, every),
                    CASE.c.phase_entered_at <= by,
                ),
            )
            for (phase, by), rulebooks in norms.items()
        ]
        self.over_norm = or_(false(), *(g.condition for g in self.norm_groups))
        self.inactive = or_(false(), *inactive)
        self.waiting = or_(false(), *waiting)
        # An alias: the condition must correlate with the case alone, also in queries that
        # read the deadline table themselves.
        other = DEADLINE.alias("any_deadline")
        self.breached: ColumnElement[bool] = CASE.c.id.in_(
            select(other.c.case_id).where(other.c.status == DeadlineStatus.BREACHED.value)
        )

    def reason(self, name: str) -> ColumnElement[bool]:
        return {
            "over_phase_norm": self.over_norm,
            "breached_deadline": self.breached,
            "inactive": self.inactive,
            "waiting_for_consent": self.waiting,
        }[name]

    @property
    def any(self) -> ColumnElement[bool]:
        return or_(self.over_norm, self.inactive, self.waiting, self.breached)


@dataclass(frozen=True)
class StuckFilter:
    team: str | None = None
    worker: str | None = None
    phase: str | None = None
    reason: str | None = None

    def where(self, rules: StuckRules) -> list[ColumnElement[bool]]:
        conditions = [CASE.c.phase != Phase.CLOSURE.value]
        if self.team:
            conditions.append(CASE.c.team == self.team)
        if self.worker:
            conditions.append(CASE.c.worker == self.worker)
        if self.phase:
            conditions.append(CASE.c.phase == self.phase)
        if self.reason in REASONS:
            conditions.append(rules.reason(self.reason))
        return conditions


@dataclass(frozen=True)
class StuckPage:
    rows: list[dict[str, Any]]  # as `reports.stuck_cases` gives them, plus child_ref
    offset: int
    has_more: bool


def count_stuck(
    connection: Connection, rules: StuckRules, scope: ColumnElement[bool], chosen: StuckFilter
) -> int:
    query = select(func.count()).select_from(CASE).where(scope, rules.any, *chosen.where(rules))
    return int(connection.execute(query).scalar_one())


def stuck_page(
    connection: Connection,
    rules: StuckRules,
    scope: ColumnElement[bool],
    chosen: StuckFilter,
    *,
    offset: int,
    size: int,
    total: int | None = None,
) -> StuckPage:
    """Rows offset … offset+size of the stuck list (and whether more follow).

    A few thousand stuck cases at most (`SMALL`) are read whole and ordered here; more are read
    in order with LIMITs, which stop early only when many cases qualify (under a narrow filter
    they would read on to the end). `total` (`count_stuck`), when known, says which; else a
    probe of SMALL + 1 keys does."""
    wanted = offset + size + 1  # one more tells whether a next page exists
    where = [scope, *chosen.where(rules)]
    if total == 0:
        return StuckPage([], offset, False)
    if total is None or total <= SMALL:
        # Unknown: find out, at the price of reading at most SMALL + 1 keys. (Known to be few:
        # no LIMIT, which would tempt the planner into reading in case order to the end.)
        query = select(*_KEYS).where(rules.any, *where)
        keys = connection.execute(query if total else query.limit(SMALL + 1)).all()
        if len(keys) <= SMALL:
            return _small_page(connection, rules, keys, offset=offset, size=size)

    # 1. Over the norm: the merge of each phase's earliest entries (exact up to `wanted`),
    # read as keys only; the page's rows are read whole afterwards.
    over: list[tuple[int, datetime, int]] = []
    days_over = _DaysOver(rules)
    for group in rules.norm_groups:
        if chosen.phase and chosen.phase != group.phase.value:
            continue
        query = (
            select(*_KEYS)
            .where(group.condition, *where)
            .order_by(CASE.c.phase_entered_at, CASE.c.id)
            .limit(wanted)
        )
        for row in connection.execute(query):
            over.append((-days_over(row), row.phase_entered_at, row.id))
    over.sort()
    first = [case_id for _, _, case_id in over[:wanted]]
    page = _cases_in_order(connection, first[offset:wanted])
    if len(first) < wanted:  # every case over a norm is in `first`: the page goes on below
        page += _after_the_norms(
            connection, rules, where, offset - len(first), size + 1 - len(page)
        )
    return StuckPage(_judged(connection, rules, page[:size]), offset, len(page) > size)


_KEYS = (
    CASE.c.id,
    CASE.c.phase,
    CASE.c.phase_entered_at,
    CASE.c.rulebook_id,
    CASE.c.rulebook_version,
)


def _small_page(
    connection: Connection,
    rules: StuckRules,
    keys: Sequence[Any],
    *,
    offset: int,
    size: int,
) -> StuckPage:
    """The page when few cases are stuck: `keys` are all of them (read at once, through
    whichever index the filter offers), ordered here exactly as the SQL way orders them."""
    ids = [k.id for k in keys]
    oldest: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        query = (
            select(DEADLINE.c.case_id, func.min(DEADLINE.c.due_at))
            .where(
                DEADLINE.c.case_id.in_(ids[start : start + 500]),
                DEADLINE.c.status == DeadlineStatus.BREACHED.value,
            )
            .group_by(DEADLINE.c.case_id)
        )
        oldest.update({case_id: due_at for case_id, due_at in connection.execute(query)})
    days_over = _DaysOver(rules)
    far = datetime.max.replace(tzinfo=rules.now.tzinfo)

    def order(key: Any) -> tuple[int, int, datetime, int]:
        days = days_over(key)
        if days:  # over the norm: most days first, then the earliest entry
            return (0, -days, key.phase_entered_at, key.id)
        if key.id in oldest:  # breached: the oldest breach first
            return (1, 0, oldest[key.id], key.id)
        return (2, 0, far, key.id)  # inactive or waiting for consent: by case number

    ordered = [k.id for k in sorted(keys, key=order)]
    page = _cases_in_order(connection, ordered[offset : offset + size])
    return StuckPage(_judged(connection, rules, page), offset, len(ordered) > offset + size)


def _after_the_norms(
    connection: Connection,
    rules: StuckRules,
    where: list[ColumnElement[bool]],
    offset: int,
    limit: int,
) -> list[Any]:
    """Rows `offset` … of the cases not over a norm: breached (oldest breach first), then
    inactive or waiting for consent (by case number). A negative offset counts as 0."""
    offset = max(offset, 0)
    breached, exhausted = _breached_in_order(
        connection, [not_(rules.over_norm), *where], offset + limit
    )
    rows = _cases_in_order(connection, breached[offset : offset + limit])
    if len(rows) == limit:
        return rows
    assert exhausted  # fewer than offset + limit breached cases: all of them were read
    rest = (
        select(CASE)
        .where(
            not_(rules.over_norm),
            not_(rules.breached),
            or_(rules.inactive, rules.waiting),
            *where,
        )
        .order_by(CASE.c.id)
        .offset(max(offset - len(breached), 0))
        .limit(limit - len(rows))
    )
    return rows + list(connection.execute(rest))


def _breached_in_order(
    connection: Connection, where: list[ColumnElement[bool]], wanted: int
) -> tuple[list[int], bool]:
    """The first `wanted` cases (meeting `where`) in the order of their oldest breached deadline,
    and whether that is all of them. Reads the breached deadlines in due order through the
    (status, due_at) index, in batches that grow fourfold: a case first seen has its oldest
    breach there. A wide filter stops after the first batch; a narrow one reads all breaches in
    a handful of queries."""
    batch = BATCH
    found: list[int] = []
    seen: set[int] = set()
    after: tuple[datetime, int, int] | None = None
    due_at, case_id, deadline_id = DEADLINE.c.due_at, DEADLINE.c.case_id, DEADLINE.c.id
    while len(found) < wanted:
        query = (
            select(case_id, due_at, deadline_id)
            .join(CASE, CASE.c.id == case_id)
            .where(DEADLINE.c.status == DeadlineStatus.BREACHED.value, *where)
            .order_by(due_at, case_id, deadline_id)
            .limit(batch)
        )
        if after is not None:
            query = query.where(
                or_(
                    due_at > after[0],
                    and_(due_at == after[0], case_id > after[1]),
                    and_(due_at == after[0], case_id == after[1], deadline_id > after[2]),
                )
            )
        rows = connection.execute(query).all()
        for row in rows:
            if row.case_id not in seen:
                seen.add(row.case_id)
                found.append(row.case_id)
        if len(rows) < batch:
            return found, True
        after = (rows[-1].due_at, rows[-1].case_id, rows[-1].id)
        batch *= 4  # few matches so far (a narrow filter): read on in bigger steps
    return found[:wanted], False


def _cases_in_order(connection: Connection, case_ids: Sequence[int]) -> list[Any]:
    if not case_ids:
        return []
    rows = {r.id: r for r in connection.execute(select(CASE).where(CASE.c.id.in_(case_ids)))}
    return [rows[i] for i in case_ids]


class _DaysOver:
    """Days over the phase norm of a case row (`reports.assess_stuck`'s arithmetic), computed
    once per rulebook, phase and Copenhagen day of entry: the due day depends on nothing else
    for norms counted in days, weeks, months or working days."""

    def __init__(self, rules: StuckRules) -> None:
        self.rules = rules
        self.known: dict[tuple[str, str, str, date], int] = {}

    def __call__(self, row: Any) -> int:
        rulebook = self.rules.catalogue.get(row.rulebook_id, row.rulebook_version)
        norm = rulebook.stuck.phase_norms.get(Phase(row.phase))
        if norm is None:
            return 0
        if norm.unit is Unit.HOURS:
            return self._compute(row.phase_entered_at, norm, rulebook)
        key = (row.rulebook_id, row.rulebook_version, row.phase, local_date(row.phase_entered_at))
        if key not in self.known:
            self.known[key] = self._compute(row.phase_entered_at, norm, rulebook)
        return self.known[key]

    def _compute(self, entered: datetime, norm: Span, rulebook: Rulebook) -> int:
        limit = due(entered, norm.duration(), rulebook.working_calendar()).due_at
        if self.rules.now <= limit:
            return 0
        return max((local_date(self.rules.now) - local_date(limit)).days, 1)


def _judged(connection: Connection, rules: StuckRules, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The report's verdict on each row, with its breached deadlines."""
    if not rows:
        return []
    breaches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    query = (
        select(DEADLINE)
        .where(
            DEADLINE.c.case_id.in_([r.id for r in rows]),
            DEADLINE.c.status == DeadlineStatus.BREACHED.value,
        )
        .order_by(DEADLINE.c.due_at)
    )
    today = local_date(rules.now)
    for d in connection.execute(query):
        breaches[d.case_id].append(
            {
                "id": d.id,
                "rule": d.rule,
                "measure_id": d.measure_key,
                "due_at": local_iso(d.due_at),
                "days_overdue": (today - local_date(d.due_at)).days,
            }
        )
    judged = []
    for row in rows:
        rulebook = rules.catalogue.get(row.rulebook_id, row.rulebook_version)
        entry = assess_stuck(rulebook, row, rules.now, breaches.get(row.id, []))
        if entry is not None:
            entry["child_ref"] = row.child_ref
            entry["norm_span"] = rulebook.stuck.phase_norms.get(Phase(row.phase))
            judged.append(entry)
    return judged


# --- the whole report, judged in Python (`sagsflow report stuck`, the digest) ---------------


def stuck_cases(
    context: Context,
    now: datetime,
    *,
    team: str | None = None,
    scope: ColumnElement[bool] | None = None,
) -> list[dict[str, Any]]:
    """Open cases over their phase norm, with breached deadlines, inactive, or waiting for consent.

    Sorted by days over the phase norm, then by the oldest breach. `scope`: a further WHERE
    clause over the case table (the signed-in user's visibility, sagsflow/access.py).
    """
    found: dict[int, dict[str, Any]] = {}
    breaches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with reading(context.engine) as connection:
        breached = (
            select(DEADLINE, CASE.c.team)
            .join(CASE, CASE.c.id == DEADLINE.c.case_id)
            .where(
                DEADLINE.c.status == DeadlineStatus.BREACHED.value,
                CASE.c.phase != Phase.CLOSURE.value,
            )
        )
        if team is not None:
            breached = breached.where(CASE.c.team == team)
        if scope is not None:
            breached = breached.where(scope)
        for d in connection.execute(breached):
            breaches[d.case_id].append(
                {
                    "id": d.id,
                    "rule": d.rule,
                    "measure_id": d.measure_key,
                    "due_at": local_iso(d.due_at),
                    "days_overdue": (local_date(now) - local_date(d.due_at)).days,
                }
            )
        for rulebook in context.catalogue.rulebooks:
            rule = rulebook.stuck
            conditions = [CASE.c.id.in_(list(breaches))] if breaches else []
            inactive_before = shift(now, rule.inactivity.duration(), backwards=True)
            for phase, norm in rule.phase_norms.items():
                conditions.append(
                    and_(
                        CASE.c.phase == phase.value,
                        or_(
                            CASE.c.phase_entered_at <= now - narrowest(norm),
                            and_(
                                CASE.c.phase.in_(rule.inactivity_phases),
                                CASE.c.last_event_at <= inactive_before,
                            ),
                        ),
                    )
                )
            conditions.append(CASE.c.phase == Phase.CLARIFICATION.value)
            query = select(CASE).where(
                CASE.c.rulebook_id == rulebook.id,
                CASE.c.rulebook_version == rulebook.version,
                CASE.c.phase != Phase.CLOSURE.value,
                or_(*conditions),
            )
            if team is not None:
                query = query.where(CASE.c.team == team)
            if scope is not None:
                query = query.where(scope)
            for row in connection.execute(query):
                entry = assess_stuck(rulebook, row, now, breaches.get(row.id, []))
                if entry is not None:
                    found[row.id] = entry
    return sorted(
        found.values(),
        key=lambda e: (
            -e["days_over_norm"],
            -max((b["days_overdue"] for b in e["breached_deadlines"]), default=0),
            e["case_id"],
        ),
    )


def stuck_facts(row: Any, has_breached_deadline: bool) -> StuckFacts:
    """What the domain's stuck rule reads of a case-table row."""
    facts = row.facts or {}
    return StuckFacts(
        phase=Phase(row.phase),
        phase_entered_at=row.phase_entered_at,
        last_event_at=row.last_event_at,
        birth_date=row.birth_date,
        consents=frozenset(facts.get("consents", [])),
        without_consent_decided=bool(facts.get("without_consent_decided")),
        has_breached_deadline=has_breached_deadline,
    )


def assess_stuck(
    rulebook: Rulebook, row: Any, now: datetime, breached: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The domain's verdict (`statemachine.stuck.assess`) on the open case `row` (a case-table
    row) at `now`, as the stuck list shows it; None when it is not stuck.

    `breached`: its breached deadlines, as `stuck_cases` lists them.
    """
    verdict = assess(rulebook, stuck_facts(row, bool(breached)), now)
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
    offset: int,
    size: int,
    total: int | None = None,
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
            total=total,
        )
