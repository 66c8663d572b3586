"""The compliance report for management supervision (ledelsestilsyn), per team and municipality.

Over the deadlines due within a period: the share met on time of investigations (Barnets Lov §20
stk. 3 / SEL §50 stk. 7), follow-ups (§95 / §70), acknowledgements of professionals'
notifications (the receipt, SEL §155 b stk. 1) and 24-hour assessments (§136 / §155 stk. 2),
with the counts behind each share; and the median days a case spends in each phase, over the phase stays that
ended within the period (from the audit log's phase changes). Set-based: a few GROUP BY and
window-function statements over the read models (models/readmodels.py), whatever the number of cases.

How a deadline counts (a deadline's status says whether its act was done by the due time):
- on time: `met`;
- late: `met_late`, `breached`, still `open` after its due time (the sweep has not run yet), or
  `cancelled` after its due time had passed (closing a case must not hide a breach);
- not counted: still `open` and not yet due (`pending`), or `cancelled` before it fell due (the
  case closed, the measure ended, or a rulebook migration re-armed it).
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from models.database import reading
from models.readmodels import BREACHED, COUNTS, OPEN, SPAN, SPAN_OUTCOMES, STAY, TALLY
from models.repository import CASE, DEADLINE
from models.tables import COUNTED_BY_OUTCOME_AND_DAY
from sagsflow.context import Context
from sagsflow.organisation import Organisation
from sagsflow.read.visibility import on_table, restricts, tally_level, tally_level_of
from statemachine.calendar import local_date, local_iso, start_of_local_day
from statemachine.late import STAY_PHASES, SUPERVISED_RULES, Timeliness
from statemachine.periods import Span, cover
from statemachine.phases import DeadlineStatus

# What management supervision looks at, in the report's order (statemachine.late).
MEASURES = SUPERVISED_RULES
_MEASURED = tuple(rule.value for rule in MEASURES)


# --- the report's values ---------------------------------------------------------------------


@dataclass(frozen=True)
class Share:
    """How many deadlines of one rule, due within the period, were met on time."""

    rule: str
    on_time: int = 0
    late: int = 0
    pending: int = 0  # open, not yet due: not counted
    cancelled: int = 0  # cancelled before due: not counted

    @property
    def counted(self) -> int:
        return self.on_time + self.late

    @property
    def share(self) -> float | None:
        return self.on_time / self.counted if self.counted else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "on_time": self.on_time,
            "late": self.late,
            "counted": self.counted,
            "share": self.share,
            "pending": self.pending,
            "cancelled": self.cancelled,
        }

    def __add__(self, other: Share) -> Share:
        return Share(
            self.rule,
            self.on_time + other.on_time,
            self.late + other.late,
            self.pending + other.pending,
            self.cancelled + other.cancelled,
        )


@dataclass(frozen=True)
class PhaseDuration:
    """The median length of the stays in one phase that ended within the period."""

    phase: str
    stays: int
    median_days: float


@dataclass(frozen=True)
class ComplianceRow:
    scope: Literal["team", "municipality"]
    municipality: str
    team: str | None  # None on a municipality row, and for cases without a team
    # The team's name from the organisation file (else its id); the municipality's id on its
    # row; "" for cases without a team. `sagsflow.present.compliance.row_label` words it.
    label: str
    shares: tuple[Share, ...]  # in MEASURES order
    phases: tuple[PhaseDuration, ...] = ()  # in phase order, phases with stays only

    def share(self, rule: str) -> Share:
        return next(s for s in self.shares if s.rule == rule)

    def phase(self, phase: str) -> PhaseDuration | None:
        return next((p for p in self.phases if p.phase == phase), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "municipality": self.municipality,
            "team": self.team,
            "label": self.label,
            "shares": {s.rule: s.as_dict() for s in self.shares},
            "median_days": {
                p.phase: {"median_days": p.median_days, "stays": p.stays} for p in self.phases
            },
        }


@dataclass(frozen=True)
class ComplianceReport:
    period_start: date
    period_end: date
    generated_at: datetime
    # Per municipality: its teams (by id), then the municipality as a whole.
    rows: tuple[ComplianceRow, ...] = ()

    @property
    def teams(self) -> list[ComplianceRow]:
        return [r for r in self.rows if r.scope == "team"]

    @property
    def municipalities(self) -> list[ComplianceRow]:
        return [r for r in self.rows if r.scope == "municipality"]

    def row(self, municipality: str, team: str | None = None) -> ComplianceRow:
        scope = "municipality" if team is None else "team"
        return next(
            r for r in self.rows if (r.scope, r.municipality, r.team) == (scope, municipality, team)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "generated_at": local_iso(self.generated_at),
            "rows": [r.as_dict() for r in self.rows],
        }


# --- the queries -----------------------------------------------------------------------------


def compliance_report(
    context: Context,
    *,
    period_start: date,
    period_end: date,
    now: datetime,
    organisation: Organisation | None = None,
    municipality: str | None = None,
    teams: Collection[str] | None = None,
) -> ComplianceReport:
    """Shares on time and median days per phase, per team and per municipality, for a period.

    The period is Copenhagen calendar days, both ends included. `now` decides whether an open
    deadline already counts as late. Team names come from `organisation` when given. With
    `teams`, only those teams' rows are made (and every municipality's totals, read from the
    municipality's own roll-ups): a team leader's report reads a few hundred tally rows, not
    every team's.
    """
    start_at, end_at = (
        start_of_local_day(period_start),
        start_of_local_day(period_end + timedelta(days=1)),
    )
    with reading(context.engine) as connection:
        shares = _shares(connection, period_start, period_end, now, municipality, teams)
        totals = (
            None
            if teams is None
            else _totals(connection, period_start, period_end, now, municipality)
        )
        stays = _stays(start_at, end_at, municipality)
        team_medians = _medians(connection, stays, by_team=True)
        municipality_medians = _medians(connection, stays, by_team=False)
    names = {t.id: t.name for t in organisation.teams} if organisation else {}
    rows: list[ComplianceRow] = []
    shown = None if teams is None else set(teams)
    by_place: dict[str, set[str | None]] = {}
    for m, t in set(shares) | set(team_medians):
        if shown is None or t in shown:
            by_place.setdefault(m, set()).add(t)
    places = {m for m, _ in shares} | {m for m, _ in team_medians} | set(totals or {})
    for place in sorted(places):
        teams_here = sorted(by_place.get(place, ()), key=lambda t: (t is None, t or ""))
        for team in teams_here:
            rows.append(
                ComplianceRow(
                    "team",
                    place,
                    team,
                    _team_label(team, names),
                    _ordered_shares(shares.get((place, team), {})),
                    team_medians.get((place, team), ()),
                )
            )
        total: dict[str, list[int]] = {}
        if totals is not None:
            total = totals.get(place, {})
        else:
            for team in teams_here:
                for rule, counts in shares.get((place, team), {}).items():
                    summed = total.get(rule)
                    if summed is None:
                        total[rule] = list(counts)
                    else:
                        for i, n in enumerate(counts):
                            summed[i] += n
        rows.append(
            ComplianceRow(
                "municipality",
                place,
                None,
                place,
                _ordered_shares(total),
                municipality_medians.get((place, None), ()),
            )
        )
    return ComplianceReport(period_start, period_end, now, tuple(rows))


def _team_label(team: str | None, names: Mapping[str, str]) -> str:
    return "" if team is None else names.get(team, team)


def _ordered_shares(found: Mapping[str, Sequence[int]]) -> tuple[Share, ...]:
    """Each measured rule's four counts (`_KINDS` order) as a Share, in MEASURES order."""
    return tuple(
        Share(rule, *counts) if (counts := found.get(rule)) else Share(rule) for rule in _MEASURED
    )


def count_where(condition: ColumnElement[bool]) -> Any:
    """How many rows of a group meet `condition`."""
    return func.sum(case((condition, 1), else_=0))


def timeliness_is(kind: Timeliness, now: datetime) -> ColumnElement[bool]:
    """`statemachine.late.timeliness(...) == kind` over the deadline table, at `now` (tested
    against the domain's rule on random deadlines)."""
    status, due_at, closed_at = DEADLINE.c.status, DEADLINE.c.due_at, DEADLINE.c.closed_at
    cancelled = status == DeadlineStatus.CANCELLED.value
    if kind is Timeliness.ON_TIME:
        return and_(status == DeadlineStatus.MET.value)
    if kind is Timeliness.LATE:
        return or_(
            status.in_([DeadlineStatus.MET_LATE.value, DeadlineStatus.BREACHED.value]),
            and_(status == DeadlineStatus.OPEN.value, due_at < now),
            and_(cancelled, closed_at.is_not(None), closed_at > due_at),
        )
    if kind is Timeliness.PENDING:
        return and_(status == DeadlineStatus.OPEN.value, due_at >= now)
    return and_(cancelled, or_(closed_at.is_(None), closed_at <= due_at))


# The tally's outcomes (`statemachine.late.settled`), and `open`: late or pending by `now`.
_COUNTED = {
    Timeliness.ON_TIME.value: 0,
    Timeliness.LATE.value: 1,
    Timeliness.PENDING.value: 2,
    Timeliness.CANCELLED.value: 3,
}
ALL_STATUSES = [s.value for s in DeadlineStatus]


def counted(
    connection: Connection,
    scope: ColumnElement[bool],
    now: datetime,
    *,
    first: date,
    last: date,
    keys: Sequence[str],
    rules: Sequence[str] | None = None,
    due_by_now: bool = False,
) -> dict[tuple[Any, ...], dict[str, list[int]]]:
    """Per `keys` (tally columns: municipality, team, due_day) and rule, how the deadlines due
    on Copenhagen days `first`…`last` count at `now` (`statemachine.late.timeliness`).

    From the deadline tally (models/readmodels.py) for every day but the one `now` falls on:
    a day before it, an open deadline is late; a day after it, pending. That one day's open
    deadlines are read from the deadline table itself (through the status-and-due index), where
    `now` splits them exactly; with `due_by_now` (only deadlines due by `now`), all of that
    day's deadlines are. A team or worker of none is None in the keys, as on the case row.

    Figures of a team or a municipality over whole months and quarters (`periods.cover`) are
    read from the tally's spans (docs/decisions/012-tally-spans.md): one row per team, rule and
    outcome for a quarter, not one per day as well. A span holding today counts its open
    deadlines as pending but for those already due by `now`, which are late: the tally's open
    rows of its days before today (through the partial (outcome, due day) index) and today's
    open deadlines due by `now` (the deadline table) — both only what fell due since the
    enforcement flow last marked breaches.
    """
    today = local_date(now)
    add = _Found()
    by_team = "team" in keys
    by_span = (
        "due_day" not in keys
        and not due_by_now
        and tally_level_of(scope, by_team=by_team) != "worker"
    )
    spans, runs = cover(first, last) if by_span else ([], [(first, last)])
    if runs:
        _add_days(connection, add, scope, today, runs, keys, rules, due_by_now=due_by_now)
    if spans:
        _add_spans(connection, add, scope, now, spans, keys, rules)
    # Today's deadlines in a span were counted with it; in a run of days, they are here.
    if first <= today <= last and not any(s.first <= today <= s.last for s in spans):
        due_at = DEADLINE.c.due_at
        rows = _todays(
            connection,
            scope,
            now,
            keys,
            rules,
            statuses=ALL_STATUSES if due_by_now else [DeadlineStatus.OPEN.value],
            until=due_at <= now
            if due_by_now
            else due_at < start_of_local_day(today + timedelta(days=1)),
        )
        _add_rows(add, rows, keys, today=today)
    return add


class _Found(dict[tuple[Any, ...], dict[str, list[int]]]):
    """The four counts (in `_KINDS` order) per key and rule, as they are added up."""

    def __call__(self, key: tuple[Any, ...], rule: str, index: int, n: int) -> None:
        counts = self.setdefault(key, {}).setdefault(rule, [0, 0, 0, 0])
        counts[index] += n

    def add_counts(self, key: tuple[Any, ...], rule: str, values: Sequence[Any]) -> None:
        """All four counts of a row at once (tens of thousands of rows for a department head);
        a row counting nothing (a span or day every deadline has left) adds no key."""
        if not any(values):
            return
        rules = self.get(key)
        if rules is None:
            rules = self[key] = {}
        counts = rules.get(rule)
        if counts is None:
            rules[rule] = [int(v or 0) for v in values]
        else:
            for index, value in enumerate(values):
                if value:
                    counts[index] += int(value)


# The four counts, in `_COUNTED`'s order (a Share's fields).
_KINDS = sorted(Timeliness, key=lambda kind: _COUNTED[kind.value])


def counted_as(outcome: str, ended: bool) -> Timeliness:
    """How a tally outcome (`readmodels.outcome_of`: `statemachine.late.settled`, `open`,
    `breached`) counts in a day or span that ended before today (`ended`) or not: an open
    deadline is late once its day has passed, else pending; a breached one is late. The one
    form of the late rule that both kinds of tally row are summed by."""
    if outcome == OPEN:
        return Timeliness.LATE if ended else Timeliness.PENDING
    if outcome == BREACHED:
        return Timeliness.LATE
    return Timeliness(outcome)


def _outcomes_of(kind: Timeliness, ended: bool) -> list[str]:
    return [o for o in SPAN_OUTCOMES if counted_as(o, ended) is kind]


def _tally_sums(past: ColumnElement[bool]) -> list[Any]:
    """The tally's day rows summed into the four counts (`_KINDS` order) by `counted_as`, a day
    having ended where `past`."""
    outcome = TALLY.c.outcome

    def kind_is(kind: Timeliness) -> ColumnElement[bool]:
        ended, not_ended = _outcomes_of(kind, True), _outcomes_of(kind, False)
        if ended == not_ended:
            return and_(outcome.in_(ended))
        return or_(and_(outcome.in_(ended), past), and_(outcome.in_(not_ended), not_(past)))

    return [func.sum(case((kind_is(k), TALLY.c.n), else_=0)).label(k.value) for k in _KINDS]


def _span_sums(past: Sequence[Span], spans: Sequence[Span]) -> list[Any]:
    """The spans' outcome columns (`readmodels.SPAN_OUTCOMES`) summed into the four counts
    (`_KINDS` order) by `counted_as`, the spans in `past` having ended. A CASE only where the
    spans read are of both kinds."""
    ended = or_(false(), *(and_(SPAN.c.span == s.kind, SPAN.c.first_day == s.first) for s in past))

    def columns(kind: Timeliness, has_ended: bool) -> Any:
        found = [SPAN.c[o] for o in _outcomes_of(kind, has_ended)]
        return reduce(operator.add, found) if found else literal(0)

    def sum_of(kind: Timeliness) -> Any:
        if len(past) == len(spans):
            return columns(kind, True)
        if not past:
            return columns(kind, False)
        return case((ended, columns(kind, True)), else_=columns(kind, False))

    return [func.sum(sum_of(kind)).label(kind.value) for kind in _KINDS]


def _add_rows(
    add: _Found, rows: Iterable[Sequence[Any]], keys: Sequence[str], *, today: date | None = None
) -> None:
    """Rows of (key columns…, rule, the four counts in `_KINDS` order) added up. With `today`,
    the rows (of the deadline table) have no due_day column: it is `today`."""
    day_at = keys.index("due_day") if today is not None and "due_day" in keys else None
    named = [k for i, k in enumerate(keys) if i != day_at]
    width = len(named)
    owners = [i for i, k in enumerate(named) if k in ("team", "worker")]
    for row in rows:
        # Tens of thousands of rows for a department head: plain lists, no per-column lookups.
        values = list(row[:width])
        for i in owners:
            values[i] = values[i] or None
        if day_at is not None:
            values.insert(day_at, today)
        add.add_counts(tuple(values), row[width], row[width + 1 :])


def _todays(
    connection: Connection,
    scope: ColumnElement[bool],
    now: datetime,
    keys: Sequence[str],
    rules: Sequence[str] | None,
    *,
    statuses: Sequence[str],
    until: ColumnElement[bool],
) -> Iterable[Sequence[Any]]:
    """Today's deadlines of `statuses` due from today's start and `until`, from the deadline
    table (its status-and-due index), counted at `now` by the late rule (`timeliness_is`): per
    `keys` but due_day, and rule, the four counts in `_KINDS` order."""
    base = {"municipality": CASE.c.municipality, "team": CASE.c.team}
    columns = [base[k] for k in keys if k != "due_day"]
    query = (
        select(
            *columns,
            DEADLINE.c.rule,
            *(count_where(timeliness_is(kind, now)).label(kind.value) for kind in _KINDS),
        )
        # The case only where its columns or the scope need it: joined for nothing, SQLite
        # first built a Bloom filter over every case (46 ms for the whole municipality at a
        # million cases; 0.8 s with the case table not in memory).
        .select_from(
            DEADLINE
            if not columns and not restricts(scope)
            else DEADLINE.join(CASE, CASE.c.id == DEADLINE.c.case_id)
        )
        .where(
            DEADLINE.c.status.in_(statuses),
            DEADLINE.c.due_at >= start_of_local_day(local_date(now)),
            until,
            scope,
        )
        .group_by(*columns, DEADLINE.c.rule)
    )
    if rules is not None:
        query = query.where(DEADLINE.c.rule.in_(rules))
    return connection.execute(query).tuples()


def _add_days(
    connection: Connection,
    add: _Found,
    scope: ColumnElement[bool],
    today: date,
    runs: Sequence[tuple[date, date]],
    keys: Sequence[str],
    rules: Sequence[str] | None,
    *,
    due_by_now: bool,
) -> None:
    """The tally's day rows of `runs` (but today's open ones, or all of today's with
    `due_by_now`: the deadline table answers for them)."""
    columns = [TALLY.c[k] for k in keys]
    query = (
        select(*columns, TALLY.c.rule, *_tally_sums(TALLY.c.due_day < today))
        .where(
            or_(*(and_(TALLY.c.due_day >= a, TALLY.c.due_day <= b) for a, b in runs)),
            # That day's settled deadlines count the same at any instant of it, unless only
            # those due by `now` are asked for.
            TALLY.c.due_day != today
            if due_by_now
            else or_(TALLY.c.due_day != today, TALLY.c.outcome != OPEN),
            on_table(scope, TALLY),
            tally_level(scope, TALLY, by_team="team" in keys),
        )
        .group_by(*columns, TALLY.c.rule)
    )
    if rules is not None:
        query = query.where(TALLY.c.rule.in_(rules))
    _add_rows(add, connection.execute(query).all(), keys)


def _add_spans(
    connection: Connection,
    add: _Found,
    scope: ColumnElement[bool],
    now: datetime,
    spans: Sequence[Span],
    keys: Sequence[str],
    rules: Sequence[str] | None,
) -> None:
    """The tally's month and quarter rows of `spans`, summed in SQL into the four counts (a
    quarter of 4,000 teams: one row per team and rule); in a span holding today, its open
    deadlines already due by `now` moved from pending to late."""
    today = local_date(now)
    by_team = "team" in keys

    def spans_where(kept: Iterable[Span]) -> ColumnElement[bool]:
        return or_(
            false(), *(and_(SPAN.c.span == s.kind, SPAN.c.first_day == s.first) for s in kept)
        )

    columns = [SPAN.c[k] for k in keys]
    query = (
        select(*columns, SPAN.c.rule, *_span_sums([s for s in spans if s.last < today], spans))
        .where(
            spans_where(spans),
            on_table(scope, SPAN),
            tally_level(scope, SPAN, by_team=by_team),
        )
        .group_by(*columns, SPAN.c.rule)
    )
    if rules is not None:
        query = query.where(SPAN.c.rule.in_(rules))
    _add_rows(add, connection.execute(query).all(), keys)
    holding = [s for s in spans if s.first <= today <= s.last]
    if not holding:
        return
    [span] = holding
    pending, late = _COUNTED[Timeliness.PENDING.value], _COUNTED[Timeliness.LATE.value]

    def due_already(key: tuple[Any, ...], rule: str, value: int) -> None:
        add(key, rule, pending, -value)
        add(key, rule, late, value)

    tally_columns = [TALLY.c[k] for k in keys]
    before_today = (
        select(*tally_columns, TALLY.c.rule, func.sum(TALLY.c.n).label("n"))
        .where(
            TALLY.c.outcome == OPEN,
            COUNTS,  # through the partial (outcome, due day) index: only rows that count
            TALLY.c.due_day >= span.first,
            TALLY.c.due_day < today,
            on_table(scope, TALLY),
            tally_level(scope, TALLY, by_team=by_team),
        )
        .group_by(*tally_columns, TALLY.c.rule)
        # SQLite's planner cannot tell how few rows the partial index holds and took the
        # (worker, due_day) index instead: every team's roll-up rows of the span's days, 1.2 s
        # for a department head's quarter at a million cases instead of a few milliseconds.
        .with_hint(TALLY, f"INDEXED BY {COUNTED_BY_OUTCOME_AND_DAY}", dialect_name="sqlite")
    )
    if rules is not None:
        before_today = before_today.where(TALLY.c.rule.in_(rules))
    for row in connection.execute(before_today):
        due_already(tuple(_none_if_empty(k, row._mapping[k]) for k in keys), row.rule, row.n)
    # Today's open deadlines due by `now` (all late, by the late rule).
    due_today = _todays(
        connection,
        scope,
        now,
        keys,
        rules,
        statuses=[DeadlineStatus.OPEN.value],
        until=DEADLINE.c.due_at < now,
    )
    for counted in due_today:
        *key, rule = counted[: len(keys) + 1]
        due_already(tuple(key), rule, int(counted[len(keys) + 1 + late]))


def _none_if_empty(key: str, value: Any) -> Any:
    return (value or None) if key in ("team", "worker") else value


def _shares(
    connection: Connection,
    start_at: date,
    end_at: date,
    now: datetime,
    municipality: str | None,
    teams: Collection[str] | None = None,
) -> dict[tuple[str, str | None], dict[str, list[int]]]:
    scope: ColumnElement[bool] = (
        true() if municipality is None else and_(CASE.c.municipality == municipality)
    )
    if teams is not None:
        scope = and_(scope, CASE.c.team.in_(sorted(teams)))
    found = counted(
        connection,
        scope,
        now,
        first=start_at,
        last=end_at,
        keys=("municipality", "team"),
        rules=[rule.value for rule in MEASURES],
    )
    return {(key[0], key[1]): shares for key, shares in found.items()}


def _totals(
    connection: Connection, first: date, last: date, now: datetime, municipality: str | None
) -> dict[str, dict[str, list[int]]]:
    """Each municipality's shares, from its own roll-ups of the tally."""
    scope: ColumnElement[bool] = (
        true() if municipality is None else and_(CASE.c.municipality == municipality)
    )
    found = counted(
        connection,
        scope,
        now,
        first=first,
        last=last,
        keys=("municipality",),
        rules=[rule.value for rule in MEASURES],
    )
    return {key[0]: shares for key, shares in found.items()}


def _stays(start_at: datetime, end_at: datetime, municipality: str | None) -> Any:
    """Each phase stay that ended within the period: (municipality, team, phase, days), from
    the phase stay read model (models/readmodels.py), by its end."""
    stays = select(STAY.c.municipality, STAY.c.team, STAY.c.phase, STAY.c.days).where(
        STAY.c.left_at >= start_at, STAY.c.left_at < end_at
    )
    if municipality is not None:
        stays = stays.where(STAY.c.municipality == municipality)
    return stays.cte("phase_stays")


def _medians(
    connection: Connection, stays: Any, *, by_team: bool
) -> dict[tuple[str, str | None], tuple[PhaseDuration, ...]]:
    """The median of each group's stays, in SQL: the middle row, or the mean of the two middle
    rows, of the group ordered by length (no percentile function on SQLite)."""
    group = [stays.c.municipality, *([stays.c.team] if by_team else []), stays.c.phase]
    ranked = select(
        *group,
        stays.c.days,
        func.row_number().over(partition_by=group, order_by=stays.c.days).label("rn"),
        func.count().over(partition_by=group).label("n"),
    ).subquery("ranked")
    keys = [ranked.c[c.name] for c in group]
    query: Select[Any] = (
        select(*keys, func.avg(ranked.c.days).label("median"), func.max(ranked.c.n).label("n"))
        .where(or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2))
        .group_by(*keys)
    )
    found: dict[tuple[str, str | None], dict[str, PhaseDuration]] = {}
    for row in connection.execute(query):
        key = (row.municipality, row.team if by_team else None)
        found.setdefault(key, {})[row.phase] = PhaseDuration(
            row.phase, int(row.n), float(row.median)
        )
    return {
        key: tuple(phases[p.value] for p in STAY_PHASES if p.value in phases)
        for key, phases in found.items()
    }
