"""The compliance report for management supervision (ledelsestilsyn), per team and municipality.

Over the deadlines due within a period: the share met on time of investigations (Barnets Lov §20
stk. 3 / SEL §50 stk. 7), follow-ups (§95 / §70), acknowledgements of professionals'
notifications (§137 / §155 stk. 4) and 24-hour assessments (§136 / §155 stk. 2), with the counts
behind each share; and the median days a case spends in each phase, over the phase stays that
ended within the period (from the audit log's phase changes). Set-based: a few GROUP BY and
window-function statements, whatever the number of cases.

How a deadline counts (a deadline's status says whether its act was done by the due time):
- on time: `met`;
- late: `met_late`, `breached`, still `open` after its due time (the sweep has not run yet), or
  `cancelled` after its due time had passed (closing a case must not hide a breach);
- not counted: still `open` and not yet due (`pending`), or `cancelled` before it fell due (the
  case closed, the measure ended, or a rulebook migration re-armed it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Float,
    Select,
    and_,
    case,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models.database import reading
from models.repository import AUDIT, CASE, DEADLINE
from models.types import UTCDateTime
from sagsflow.context import Context
from sagsflow.organisation import Organisation
from statemachine.calendar import local_iso, start_of_local_day
from statemachine.late import STAY_PHASES, SUPERVISED_RULES, Timeliness
from statemachine.phases import DeadlineStatus

# What management supervision looks at, in the report's order (statemachine.late).
MEASURES = SUPERVISED_RULES


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
            "shares": {
                s.rule: {
                    "on_time": s.on_time,
                    "late": s.late,
                    "counted": s.counted,
                    "share": s.share,
                    "pending": s.pending,
                    "cancelled": s.cancelled,
                }
                for s in self.shares
            },
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


def compliance_report(
    context: Context,
    *,
    period_start: date,
    period_end: date,
    now: datetime,
    organisation: Organisation | None = None,
    municipality: str | None = None,
) -> ComplianceReport:
    """Shares on time and median days per phase, per team and per municipality, for a period.

    The period is Copenhagen calendar days, both ends included. `now` decides whether an open
    deadline already counts as late. Team names come from `organisation` when given.
    """
    start_at, end_at = (
        start_of_local_day(period_start),
        start_of_local_day(period_end + timedelta(days=1)),
    )
    with reading(context.engine) as connection:
        shares = _shares(connection, start_at, end_at, now, municipality)
        stays = _stays(start_at, end_at, municipality)
        team_medians = _medians(connection, stays, by_team=True)
        municipality_medians = _medians(connection, stays, by_team=False)
    names = {t.id: t.name for t in organisation.teams} if organisation else {}
    rows: list[ComplianceRow] = []
    for place in sorted({m for m, _ in set(shares) | set(team_medians)}):
        teams = sorted(
            {t for m, t in set(shares) | set(team_medians) if m == place},
            key=lambda t: (t is None, t or ""),
        )
        for team in teams:
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
        total: dict[str, Share] = {}
        for team in teams:
            for rule, share in shares.get((place, team), {}).items():
                total[rule] = total[rule] + share if rule in total else share
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


def _ordered_shares(found: Mapping[str, Share]) -> tuple[Share, ...]:
    return tuple(found.get(rule.value, Share(rule.value)) for rule in MEASURES)


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


def _shares(
    connection: Connection,
    start_at: datetime,
    end_at: datetime,
    now: datetime,
    municipality: str | None,
) -> dict[tuple[str, str | None], dict[str, Share]]:
    due_at = DEADLINE.c.due_at
    query = (
        select(
            CASE.c.municipality,
            CASE.c.team,
            DEADLINE.c.rule,
            *(count_where(timeliness_is(kind, now)).label(kind.value) for kind in Timeliness),
        )
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(
            DEADLINE.c.rule.in_([rule.value for rule in MEASURES]),
            due_at >= start_at,
            due_at < end_at,
        )
        .group_by(CASE.c.municipality, CASE.c.team, DEADLINE.c.rule)
    )
    if municipality is not None:
        query = query.where(CASE.c.municipality == municipality)
    found: dict[tuple[str, str | None], dict[str, Share]] = {}
    for row in connection.execute(query):
        found.setdefault((row.municipality, row.team), {})[row.rule] = Share(
            row.rule, int(row.on_time), int(row.late), int(row.pending), int(row.cancelled)
        )
    return found


def _stays(start_at: datetime, end_at: datetime, municipality: str | None) -> Any:
    """Each phase stay that ended within the period: (municipality, team, phase, days)."""
    # A phase change is an audit record whose phase differs from the one before (open_case has
    # none before it); the stay it begins ends at the case's next phase change. Records after
    # the period cannot end a stay within it (event times never go backwards on a case).
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
        .where(
            or_(AUDIT.c.from_phase.is_(None), AUDIT.c.from_phase != AUDIT.c.to_phase),
            AUDIT.c.event_at < end_at,
        )
        .cte("phase_changes")
    )
    stays = (
        select(
            CASE.c.municipality,
            CASE.c.team,
            changes.c.phase,
            DaysBetween(changes.c.left_at, changes.c.entered_at).label("days"),
        )
        .join(CASE, CASE.c.id == changes.c.case_id)
        .where(changes.c.left_at >= start_at, changes.c.left_at < end_at)
    )
    if municipality is not None:
        stays = stays.where(CASE.c.municipality == municipality)
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
