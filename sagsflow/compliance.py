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

import csv
import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
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
from sagsflow.digest import PHASE_LABELS, danish_date, danish_instant, markdown_table
from sagsflow.organisation import Organisation
from sagsflow.services import Context
from sagsflow.views import local_iso
from statemachine.calendar import COPENHAGEN, add_months
from statemachine.phases import DeadlineStatus, Phase
from statemachine.rulebook import RuleId

# What management supervision looks at (DOMAIN.md, "Why it matters": Ankestyrelsen measures
# these): the rule, and the Danish label of its share.
MEASURES: tuple[tuple[RuleId, str], ...] = (
    (RuleId.INVESTIGATION, "Børnefaglige undersøgelser afsluttet inden for fristen"),
    (RuleId.FOLLOW_UP, "Opfølgninger holdt rettidigt"),
    (RuleId.ACKNOWLEDGEMENT, "Kvitteringer til fagpersoner sendt rettidigt"),
    (RuleId.URGENT_ASSESSMENT, "Underretninger vurderet inden for 24 timer"),
)
SHORT_LABELS: Mapping[str, str] = {
    RuleId.INVESTIGATION: "Undersøgelser",
    RuleId.FOLLOW_UP: "Opfølgninger",
    RuleId.ACKNOWLEDGEMENT: "Kvitteringer",
    RuleId.URGENT_ASSESSMENT: "24-timersvurderinger",
}
# A case never leaves closure: the phases whose stays can end.
STAY_PHASES: tuple[Phase, ...] = tuple(p for p in Phase if p is not Phase.CLOSURE)


class PeriodInvalid(ValueError):
    pass


def parse_period(text: str) -> tuple[date, date]:
    """ "2026-Q3", "2026-10", "2026" or "2026-07-01..2026-09-30" → (first day, last day), inclusive."""
    value = text.strip()
    try:
        if match := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", value):
            start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
            if end < start:
                raise PeriodInvalid(f"period {text!r} ends before it starts")
            return start, end
        if match := re.fullmatch(r"(\d{4})-[Qq]([1-4])", value):
            start = date(int(match[1]), 3 * int(match[2]) - 2, 1)
            return start, add_months(start, 3) - timedelta(days=1)
        if match := re.fullmatch(r"(\d{4})-(\d{2})", value):
            start = date(int(match[1]), int(match[2]), 1)
            return start, add_months(start, 1) - timedelta(days=1)
        if match := re.fullmatch(r"(\d{4})", value):
            return date(int(match[1]), 1, 1), date(int(match[1]), 12, 31)
    except ValueError as error:
        if isinstance(error, PeriodInvalid):
            raise
        raise PeriodInvalid(f"period {text!r}: {error}") from None
    raise PeriodInvalid(
        f"period {text!r} is not one of 2026-Q3, 2026-10, 2026 or 2026-07-01..2026-09-30"
    )


def _start_of_local_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=COPENHAGEN).astimezone(UTC)


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
        _start_of_local_day(period_start),
        _start_of_local_day(period_end + timedelta(days=1)),
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
                f"Hele kommunen ({place})",
                _ordered_shares(total),
                municipality_medians.get((place, None), ()),
            )
        )
    return ComplianceReport(period_start, period_end, now, tuple(rows))


def _team_label(team: str | None, names: Mapping[str, str]) -> str:
    if team is None:
        return "Uden team"
    return f"{names[team]} ({team})" if team in names else team


def _ordered_shares(found: Mapping[str, Share]) -> tuple[Share, ...]:
    return tuple(found.get(rule.value, Share(rule.value)) for rule, _ in MEASURES)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _shares(
    connection: Connection,
    start_at: datetime,
    end_at: datetime,
    now: datetime,
    municipality: str | None,
) -> dict[tuple[str, str | None], dict[str, Share]]:
    status, due_at = DEADLINE.c.status, DEADLINE.c.due_at
    late = or_(
        status.in_([DeadlineStatus.MET_LATE.value, DeadlineStatus.BREACHED.value]),
        and_(status == DeadlineStatus.OPEN.value, due_at < now),
        and_(status == DeadlineStatus.CANCELLED.value, DEADLINE.c.closed_at > due_at),
    )
    query = (
        select(
            CASE.c.municipality,
            CASE.c.team,
            DEADLINE.c.rule,
            _count(status == DeadlineStatus.MET.value).label("on_time"),
            _count(late).label("late"),
            _count(and_(status == DeadlineStatus.OPEN.value, due_at >= now)).label("pending"),
            _count(
                and_(status == DeadlineStatus.CANCELLED.value, DEADLINE.c.closed_at <= due_at)
            ).label("cancelled"),
        )
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(
            DEADLINE.c.rule.in_([rule.value for rule, _ in MEASURES]),
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


# --- writers ---------------------------------------------------------------------------------


def _csv_share(share: float | None) -> str:
    return "" if share is None else f"{share:.4f}"


def csv_header() -> list[str]:
    header = ["period_start", "period_end", "scope", "municipality", "team", "label"]
    for rule, _ in MEASURES:
        header += [f"{rule}_{c}" for c in ("on_time", "late", "share", "pending", "cancelled")]
    for phase in STAY_PHASES:
        header += [f"{phase}_median_days", f"{phase}_stays"]
    return header


def write_csv(report: ComplianceReport, path: Path | str) -> Path:
    """One row per team and per municipality; shares as fractions (0.6667), empty when none."""
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(csv_header())
        for row in report.rows:
            values: list[object] = [
                report.period_start.isoformat(),
                report.period_end.isoformat(),
                row.scope,
                row.municipality,
                row.team or "",
                row.label,
            ]
            for s in row.shares:
                values += [s.on_time, s.late, _csv_share(s.share), s.pending, s.cancelled]
            for phase in STAY_PHASES:
                stay = row.phase(phase.value)
                values += [f"{stay.median_days:.1f}", stay.stays] if stay else ["", 0]
            writer.writerow(values)
    return path


def danish_percent(share: float | None) -> str:
    if share is None:
        return "–"
    return f"{share * 100:.1f} %".replace(".", ",")


def danish_days(days: float) -> str:
    return f"{days:.1f}".replace(".", ",")


def _share_text(share: Share) -> str:
    if share.share is None:
        return "ingen frister"
    return f"{danish_percent(share.share)} ({share.on_time}/{share.counted})"


def _period_text(report: ComplianceReport) -> str:
    return f"{danish_date(report.period_start)}–{danish_date(report.period_end)}"


def rows_by_municipality(report: ComplianceReport) -> Iterable[list[ComplianceRow]]:
    """Each municipality's rows: its teams, then the municipality itself (last)."""
    for place in report.municipalities:
        yield [r for r in report.rows if r.municipality == place.municipality]


def report_markdown(report: ComplianceReport) -> str:
    """The report as Markdown tables, for a Prefect markdown artifact."""
    parts = [f"# Ledelsestilsyn {_period_text(report)}"]
    if not report.rows:
        parts.append("Ingen frister og ingen faseskift i perioden.")
    for rows in rows_by_municipality(report):
        parts += [
            f"## {rows[-1].label}",
            "Andel rettidige frister (rettidige/talte):",
            markdown_table(
                ["Enhed", *(SHORT_LABELS[rule] for rule, _ in MEASURES)],
                ([r.label, *(_share_text(s) for s in r.shares)] for r in rows),
            ),
            "Mediandage pr. fase (antal afsluttede ophold):",
            markdown_table(
                ["Enhed", *(PHASE_LABELS[p] for p in STAY_PHASES)],
                (
                    [
                        r.label,
                        *(
                            f"{danish_days(s.median_days)} ({s.stays})" if s else "–"
                            for s in (r.phase(p.value) for p in STAY_PHASES)
                        ),
                    ]
                    for r in rows
                ),
            ),
        ]
    return "\n\n".join(parts) + "\n"


# --- HTML with an SVG chart drawn here: nothing fetched, no script ----------------------------

_LABEL_W, _BAR_W, _VALUE_W = 220, 400, 130
_ROW_H, _GAP, _GROUP_GAP, _TOP = 18, 4, 18, 28
_MUNICIPALITY_FILL, _TEAM_FILL, _EMPTY_FILL = "#1f4e79", "#6fa8dc", "#eaeef2"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def share_chart(rows: Sequence[ComplianceRow]) -> str:
    """A horizontal bar chart: for each measure, the municipality's share and each team's, with
    the municipality's share marked as a dashed line across the team bars. Inline SVG."""
    municipality = next((r for r in rows if r.scope == "municipality"), None)
    ordered = ([municipality] if municipality else []) + [r for r in rows if r.scope == "team"]
    width = _LABEL_W + _BAR_W + _VALUE_W
    out: list[str] = []
    y = _TOP
    for rule, label in MEASURES:
        out.append(f'<text x="0" y="{y + 12}" font-weight="bold" font-size="13">{_e(label)}</text>')
        y += _ROW_H + _GAP
        group_top = y
        for row in ordered:
            share = row.share(rule.value)
            fill = _MUNICIPALITY_FILL if row.scope == "municipality" else _TEAM_FILL
            out.append(
                f'<text x="{_LABEL_W - 8}" y="{y + 13}" text-anchor="end" font-size="12">'
                f"{_e(row.label)}</text>"
            )
            out.append(
                f'<rect x="{_LABEL_W}" y="{y}" width="{_BAR_W}" height="{_ROW_H}" '
                f'fill="{_EMPTY_FILL}"/>'
            )
            if share.share is not None:
                out.append(
                    f'<rect x="{_LABEL_W}" y="{y}" width="{share.share * _BAR_W:.1f}" '
                    f'height="{_ROW_H}" fill="{fill}"><title>{_e(row.label)}: '
                    f"{_e(_share_text(share))}</title></rect>"
                )
            out.append(
                f'<text x="{_LABEL_W + _BAR_W + 6}" y="{y + 13}" font-size="12">'
                f"{_e(_share_text(share))}</text>"
            )
            y += _ROW_H + _GAP
        overall = municipality.share(rule.value).share if municipality else None
        if overall is not None:
            x = _LABEL_W + overall * _BAR_W
            out.append(
                f'<line x1="{x:.1f}" y1="{group_top - 2}" x2="{x:.1f}" y2="{y - _GAP + 2}" '
                f'stroke="#c62828" stroke-width="2" stroke-dasharray="4 3"/>'
            )
        y += _GROUP_GAP
    axis = []
    for tick in (0, 25, 50, 75, 100):
        x = _LABEL_W + tick * _BAR_W / 100
        axis.append(
            f'<line x1="{x:.1f}" y1="{_TOP - 6}" x2="{x:.1f}" y2="{y - _GROUP_GAP}" '
            f'stroke="#8c959f" stroke-width="0.5"/>'
            f'<text x="{x:.1f}" y="{_TOP - 10}" text-anchor="middle" font-size="11">'
            f"{tick} %</text>"
        )
    title = "Andel rettidige frister pr. team og for hele kommunen"
    return (
        f'<svg width="{width}" height="{y}" viewBox="0 0 {width} {y}" role="img" '
        f'aria-label="{_e(title)}" font-family="Arial, Helvetica, sans-serif">'
        f"<title>{_e(title)}</title>{''.join(axis)}{''.join(out)}</svg>"
    )


_STYLE = """
body { font-family: Arial, Helvetica, sans-serif; color: #1f2328; margin: 24px; font-size: 14px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0 16px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; }
th { background: #f6f8fa; } td.n { text-align: right; }
tr.total td { font-weight: bold; background: #f6f8fa; }
p.note { color: #57606a; font-size: 12px; max-width: 760px; }
span.small { color: #57606a; font-size: 11px; font-weight: normal; }
"""


def _html_tables(rows: Sequence[ComplianceRow]) -> str:
    head = "".join(f"<th>{_e(SHORT_LABELS[r])}</th>" for r, _ in MEASURES)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{_e(_share_text(s))}<br><span class="small">'
            f"afventer {s.pending} · bortfaldet {s.cancelled}</span></td>"
            for s in row.shares
        )
        css = ' class="total"' if row.scope == "municipality" else ""
        body.append(f"<tr{css}><td>{_e(row.label)}</td>{cells}</tr>")
    shares = f"<table><tr><th>Enhed</th>{head}</tr>{''.join(body)}</table>"
    head = "".join(f"<th>{_e(PHASE_LABELS[p])}</th>" for p in STAY_PHASES)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{_e(danish_days(s.median_days))} ({s.stays})</td>'
            if s
            else '<td class="n">–</td>'
            for s in (row.phase(p.value) for p in STAY_PHASES)
        )
        css = ' class="total"' if row.scope == "municipality" else ""
        body.append(f"<tr{css}><td>{_e(row.label)}</td>{cells}</tr>")
    phases = f"<table><tr><th>Enhed</th>{head}</tr>{''.join(body)}</table>"
    return (
        f"<h3>Andel rettidige frister (rettidige/talte)</h3>{shares}"
        f"<h3>Mediandage pr. fase (antal afsluttede ophold i perioden)</h3>{phases}"
    )


def render_html(report: ComplianceReport) -> str:
    """A self-contained Danish HTML page: tables and an inline SVG chart per municipality."""
    title = f"Ledelsestilsyn {_period_text(report)}"
    sections = []
    for rows in rows_by_municipality(report):
        sections.append(f"<h2>{_e(rows[-1].label)}</h2>{share_chart(rows)}{_html_tables(rows)}")
    if not sections:
        sections.append("<p>Ingen frister og ingen faseskift i perioden.</p>")
    note = (
        "Frister med forfald i perioden. Rettidig: opfyldt inden fristen. For sent: opfyldt "
        "efter fristen, overskredet og endnu ikke opfyldt, eller bortfaldet efter fristen. "
        "Afventer (ikke talt med): åben og endnu ikke forfalden. Bortfaldet (ikke talt med): "
        "bortfaldet før fristen, fx fordi sagen blev afsluttet. Den stiplede linje er hele "
        "kommunens andel. Mediandage pr. fase: tiden fra en sag kom ind i fasen til den forlod "
        "den, for ophold der sluttede i perioden."
    )
    return (
        '<!DOCTYPE html><html lang="da"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{_e(title)}</h1>"
        f'<p class="note">Dannet {_e(danish_instant(report.generated_at))}. {_e(note)}</p>'
        f"{''.join(sections)}</body></html>\n"
    )


def write_html(report: ComplianceReport, path: Path | str) -> Path:
    path = Path(path)
    path.write_text(render_html(report), encoding="utf-8")
    return path
