"""Inline SVG charts drawn here: nothing fetched, no script, presentation attributes only (the
dashboard's Content-Security-Policy allows no inline style).

Each chart scales to its container (viewBox, width 100 %); text uses the page's font.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from sagsflow.present.i18n import Translator
from statemachine.calendar import add_months, local_date, start_of_local_day
from statemachine.phases import Phase

if TYPE_CHECKING:
    from sagsflow.read.caseload import Load
    from sagsflow.read.overview import Week

INK, MUTED, GRID = "#1f2933", "#5f6b7a", "#e3e8ee"
BLUE, NAVY = "#2f6fab", "#1f4e79"
STATUS_FILL: Mapping[str, str] = {
    "met": "#2e7d32",
    "met_late": "#d98b00",
    "open": BLUE,
    "breached": "#c62828",
    "cancelled": "#9aa5b1",
}
ON_TIME, LATE = "#2e7d32", "#c62828"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _svg(width: float, height: float, label: str, body: Sequence[str], css: str = "") -> Markup:
    return Markup(
        f'<svg class="chart {css}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{_e(label)}" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{_e(label)}</title>{"".join(body)}</svg>'
    )


def _text(
    x: float,
    y: float,
    text: object,
    *,
    size: float = 12,
    anchor: str = "start",
    fill: str = INK,
    weight: str = "normal",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}" '
        f'fill="{fill}" font-weight="{weight}">{_e(text)}</text>'
    )


def _axis(peak: float, most_ticks: int = 5) -> tuple[int, int]:
    """(step, top) of a value axis from 0: a round step (1, 2, 5 × 10^k) and at most
    `most_ticks` steps up to the first multiple at or above `peak`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if -(-max(peak, 1) // (step * factor)) <= most_ticks:
                top = int(-(-max(peak, 1) // (step * factor)) * step * factor)
                return step * factor, top
        step *= 10


# --- the overview's trend ------------------------------------------------------------------------


def trend_chart(weeks: Sequence[Week], t: Translator) -> Markup:
    """Stacked bars per week: deadlines met on time (green) and late or breached (red)."""
    width, height = 1160.0, 250.0
    left, right, top, bottom = 44.0, 10.0, 16.0, 38.0
    plot_w, plot_h = width - left - right, height - top - bottom
    step, peak = _axis(max((w.total for w in weeks), default=0))
    body: list[str] = []
    for value in range(0, peak + 1, step):
        y = top + plot_h - plot_h * value / peak
        body.append(
            f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{width - right:.1f}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        body.append(_text(left - 6, y + 4, value, size=11, anchor="end", fill=MUTED))
    slot = plot_w / max(len(weeks), 1)
    bar_w = min(slot * 0.62, 56.0)
    for i, week in enumerate(weeks):
        x = left + i * slot + (slot - bar_w) / 2
        base = top + plot_h
        on_h = plot_h * week.on_time / peak
        late_h = plot_h * week.late / peak
        share = f"{week.on_time}/{week.total}" if week.total else t("chart.no_deadlines")
        tip = f"{t('chart.week')} {week.monday.isocalendar().week}: {share}"
        if on_h:
            body.append(
                f'<rect x="{x:.1f}" y="{base - on_h:.1f}" width="{bar_w:.1f}" height="{on_h:.1f}" '
                f'fill="{ON_TIME}"><title>{_e(t("chart.on_time"))} · {_e(tip)}</title></rect>'
            )
        if late_h:
            body.append(
                f'<rect x="{x:.1f}" y="{base - on_h - late_h:.1f}" width="{bar_w:.1f}" '
                f'height="{late_h:.1f}" fill="{LATE}"><title>{_e(t("chart.late"))}: '
                f"{week.late} · {_e(tip)}</title></rect>"
            )
        if week.total:
            body.append(
                _text(
                    x + bar_w / 2,
                    base - on_h - late_h - 4,
                    week.total,
                    size=10,
                    anchor="middle",
                    fill=MUTED,
                )
            )
        body.append(
            _text(
                x + bar_w / 2,
                height - bottom + 15,
                week.monday.isocalendar().week,
                size=11,
                anchor="middle",
                fill=MUTED,
            )
        )
    body.append(
        _text(left + plot_w / 2, height - 4, t("chart.week"), size=11, anchor="middle", fill=MUTED)
    )
    label = t("overview.trend", weeks=len(weeks))
    return _svg(width, height, label, body, "trend")


# --- caseload --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseloadBar:
    label: str
    team: str
    load: Load
    in_organisation: bool


def caseload_chart(bars: Sequence[CaseloadBar], target: int, t: Translator) -> Markup:
    """Horizontal bars of open cases per caseworker, grouped by team, with the target marked."""
    label_w, value_w, row_h, gap, header_h = 190.0, 70.0, 22.0, 6.0, 26.0
    plot_w = 520.0
    width = label_w + plot_w + value_w
    peak = max([b.load.open_cases for b in bars] + [target]) * 1.1
    scale = plot_w / peak if peak else 1.0
    body: list[str] = []
    y = 24.0
    team = None
    top = y
    for bar in bars:
        if bar.team != team:
            team = bar.team
            y += 6 if team is not None and y > top else 0
            body.append(_text(0, y + 16, bar.team, size=13, weight="bold"))
            y += header_h
        n = bar.load.open_cases
        over = n > target
        fill = "#c0392b" if over else BLUE
        body.append(_text(label_w - 10, y + 15, bar.label, size=12, anchor="end"))
        body.append(
            f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{plot_w:.1f}" height="{row_h:.1f}" '
            f'fill="#f1f4f8"/>'
        )
        body.append(
            f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{max(n * scale, 1):.1f}" '
            f'height="{row_h:.1f}" fill="{fill}" rx="2"><title>{_e(bar.label)}: {n}</title></rect>'
        )
        note = f"{n}"
        if over:
            note += f" (+{n - target})"
        body.append(_bar_note(label_w + plot_w + 8, y + 15, note, over))
        y += row_h + gap
    body.extend(_target_line(label_w + target * scale, y, target, t))
    return _svg(width, y + 4, t("caseload.title"), body, "caseload")


def team_caseload_chart(teams: Sequence[Any], target: int, t: Translator) -> Markup:
    """One bar per team: its caseworkers' average open cases, a tick at the most any one of
    them holds, and the target marked. `teams` are pages.TeamLoad rows."""
    label_w, value_w, row_h, gap = 190.0, 110.0, 18.0, 5.0
    plot_w = 480.0
    width = label_w + plot_w + value_w
    peak = max([x.maximum for x in teams] + [target]) * 1.1
    scale = plot_w / peak if peak else 1.0
    body: list[str] = []
    y = 24.0
    for team in teams:
        over = team.average > target
        fill = "#c0392b" if over else BLUE
        body.append(_text(label_w - 10, y + 13, team.name, size=12, anchor="end"))
        body.append(
            f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{plot_w:.1f}" height="{row_h:.1f}" '
            f'fill="#f1f4f8"/>'
        )
        body.append(
            f'<rect x="{label_w:.1f}" y="{y:.1f}" width="{max(team.average * scale, 1):.1f}" '
            f'height="{row_h:.1f}" fill="{fill}" rx="2"><title>{_e(team.name)}: '
            f"{team.average:.1f} / {team.maximum}</title></rect>"
        )
        tick = label_w + team.maximum * scale
        body.append(
            f'<line x1="{tick:.1f}" y1="{y:.1f}" x2="{tick:.1f}" y2="{y + row_h:.1f}" '
            f'stroke="{INK}" stroke-width="2"/>'
        )
        note = t("caseload.bar_note", avg=f"{team.average:.1f}", max=team.maximum)
        body.append(_bar_note(label_w + plot_w + 8, y + 13, note, over))
        y += row_h + gap
    body.extend(_target_line(label_w + target * scale, y, target, t))
    return _svg(width, y + 4, t("caseload.teams_title"), body, "caseload")


def _bar_note(x: float, y: float, note: str, over: bool) -> str:
    """The figure beside a caseload bar: red and bold when over the target."""
    return _text(
        x,
        y,
        note,
        size=12,
        fill="#c0392b" if over else INK,
        weight="bold" if over else "normal",
    )


def _target_line(x: float, bottom: float, target: int, t: Translator) -> list[str]:
    """The rulebook's caseload target as a dashed line across the bars, labelled on top."""
    return [
        f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="{bottom:.1f}" stroke="#c62828" '
        f'stroke-width="2" stroke-dasharray="5 4"/>',
        _text(x, 12, t("chart.target", n=target), size=12, anchor="middle", fill="#c62828"),
    ]


# --- a case's timeline -------------------------------------------------------------------------


@dataclass(frozen=True)
class Stay:
    phase: str
    start: datetime
    end: datetime | None  # None: the current phase


def phase_stays(history: Sequence[Mapping[str, Any]]) -> list[Stay]:
    """The case's stays in each phase, from its audit trail (a phase can come back)."""
    starts: list[tuple[str, datetime]] = []
    for record in history:
        if record["from_phase"] is None or record["from_phase"] != record["to_phase"]:
            starts.append((record["to_phase"], datetime.fromisoformat(record["at"])))
    stays = []
    for i, (phase, start) in enumerate(starts):
        end = starts[i + 1][1] if i + 1 < len(starts) else None
        stays.append(Stay(phase, start, end))
    return stays


def _months_between(first: date, last: date) -> list[date]:
    month = date(first.year, first.month, 1)
    found = []
    while month <= last:
        if month >= first:
            found.append(month)
        month = add_months(month, 1)
    return found


def timeline_chart(view: Mapping[str, Any], now: datetime, t: Translator) -> Markup:
    """The case's phases (bars) and deadlines (a marker at each due time, coloured by status,
    a thin line back to what it counts from) on one time axis, with today marked."""
    stays = phase_stays(view["history"])
    deadlines = view["deadlines"]
    instants = [s.start for s in stays] + [now]
    for d in deadlines:
        instants += [datetime.fromisoformat(d["due_at"]), datetime.fromisoformat(d["anchor_at"])]
    first, last = min(instants), max(instants)
    span = max((last - first).total_seconds(), 86400.0)
    first_t = first.timestamp() - span * 0.02
    last_t = last.timestamp() + span * 0.04

    label_w, plot_w, row_h = 210.0, 760.0, 22.0
    width = label_w + plot_w + 20

    def x_of(instant: datetime) -> float:
        return label_w + plot_w * (instant.timestamp() - first_t) / (last_t - first_t)

    groups: dict[tuple[str, str | None], list[Mapping[str, Any]]] = {}
    for d in deadlines:
        groups.setdefault((d["rule"], d["measure_id"]), []).append(d)
    # Drawn in layers: row stripes, the month grid, then bars, markers and labels.
    stripes: list[str] = []
    marks: list[str] = []

    def row(y: float, index: int, label: str, weight: str = "normal") -> None:
        if index % 2 == 0:
            stripes.append(
                f'<rect x="0" y="{y:.1f}" width="{width:.1f}" height="{row_h:.1f}" fill="#f4f7fa"/>'
            )
        marks.append(_text(label_w - 10, y + 15, label, size=12, anchor="end", weight=weight))

    y = 30.0
    marks.append(_text(0, y - 12, t("case.timeline_phases"), size=12, weight="bold", fill=MUTED))
    row_y: dict[str, float] = {}
    for i, phase in enumerate(p.value for p in Phase):
        row_y[phase] = y
        row(y, i, t.phase(phase), "bold" if phase == view["phase"] else "normal")
        y += row_h
    for stay in stays:
        x1, x2 = x_of(stay.start), x_of(stay.end or now)
        fill = NAVY if stay.end is None else "#8fb3d9"
        if stay.phase == Phase.CLOSURE.value:
            fill = "#6b7785"
        until = t.date(stay.end) if stay.end else t("case.today")
        tip = f"{t.phase(stay.phase)}: {t.date(stay.start)} – {until}"
        marks.append(
            f'<rect x="{x1:.1f}" y="{row_y[stay.phase] + 4:.1f}" width="{max(x2 - x1, 3):.1f}" '
            f'height="{row_h - 8:.1f}" rx="3" fill="{fill}"><title>{_e(tip)}</title></rect>'
        )
    if groups:
        y += 28
        marks.append(
            _text(0, y - 10, t("case.timeline_deadlines"), size=12, weight="bold", fill=MUTED)
        )
    for i, ((rule, measure), items) in enumerate(groups.items()):
        label = t.rule(rule) + (f" ({t('measure.ref', number=measure[1:])})" if measure else "")
        row(y, i, label)
        mid = y + row_h / 2
        for d in items:
            due_at = datetime.fromisoformat(d["due_at"])
            fill = STATUS_FILL.get(d["status"], MUTED)
            x_due = x_of(due_at)
            x_anchor = x_of(datetime.fromisoformat(d["anchor_at"]))
            marks.append(
                f'<line x1="{x_anchor:.1f}" y1="{mid:.1f}" x2="{x_due:.1f}" y2="{mid:.1f}" '
                f'stroke="{fill}" stroke-opacity="0.35" stroke-width="2"/>'
            )
            if d["closed_at"] and d["status"] in ("met", "met_late"):
                x_closed = x_of(datetime.fromisoformat(d["closed_at"]))
                marks.append(
                    f'<line x1="{x_closed:.1f}" y1="{mid - 6:.1f}" x2="{x_closed:.1f}" '
                    f'y2="{mid + 6:.1f}" stroke="{fill}" stroke-width="2"/>'
                )
            tip = f"{label}: {t('col.due')} {t.instant(due_at)} · {t.status(d['status'])}"
            hollow = d["status"] == "cancelled"
            marks.append(
                f'<circle cx="{x_due:.1f}" cy="{mid:.1f}" r="5.5" '
                f'fill="{"#ffffff" if hollow else fill}" stroke="{fill}" stroke-width="2">'
                f"<title>{_e(tip)}</title></circle>"
            )
        y += row_h

    axis_y = y + 8
    grid = [
        f'<line x1="{label_w:.1f}" y1="{axis_y:.1f}" x2="{label_w + plot_w:.1f}" '
        f'y2="{axis_y:.1f}" stroke="{MUTED}" stroke-width="1"/>'
    ]
    zone = now.tzinfo
    months = _months_between(
        local_date(datetime.fromtimestamp(first_t, zone)),
        local_date(datetime.fromtimestamp(last_t, zone)),
    )
    step = -(-len(months) // 12) or 1  # at most about 12 month labels
    names = t.month_abbreviations()
    for k, month in enumerate(months):
        x = x_of(start_of_local_day(month))
        grid.append(
            f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{axis_y + 4:.1f}" stroke="#d5dde6" '
            f'stroke-width="1"/>'
        )
        if k % step == 0 and x + 40 < label_w + plot_w + 20:
            grid.append(
                _text(
                    x + 3,
                    axis_y + 17,
                    f"{names[month.month - 1]} {month.year % 100:02d}",
                    size=11,
                    fill=MUTED,
                )
            )
    x_now = x_of(now)
    marks.append(
        f'<line x1="{x_now:.1f}" y1="18" x2="{x_now:.1f}" y2="{axis_y:.1f}" stroke="#c62828" '
        f'stroke-width="1.5" stroke-dasharray="4 3"/>'
    )
    marks.append(_text(x_now, 14, t("case.today"), size=11, anchor="middle", fill="#c62828"))
    return _svg(width, axis_y + 26, t("case.timeline"), [*stripes, *grid, *marks], "timeline")


# --- the compliance report's chart ---------------------------------------------------------------

_SHARE_LABEL_W, _SHARE_BAR_W, _SHARE_VALUE_W = 220, 400, 130
_SHARE_ROW_H, _SHARE_GAP, _SHARE_GROUP_GAP, _SHARE_TOP = 18, 4, 18, 28
_MUNICIPALITY_FILL, _TEAM_FILL, _EMPTY_FILL = "#1f4e79", "#6fa8dc", "#eaeef2"


@dataclass(frozen=True)
class ShareBar:
    """One unit's share on time: its name, the share (None: nothing counted), the words."""

    label: str
    share: float | None
    text: str
    total: bool = False  # the municipality's own bar


@dataclass(frozen=True)
class ShareGroup:
    """One measure: its title, and a bar per unit (the municipality's first)."""

    title: str
    bars: Sequence[ShareBar]


def share_chart(groups: Sequence[ShareGroup], title: str) -> Markup:
    """A horizontal bar chart: for each measure, the municipality's share and each team's, with
    the municipality's share marked as a dashed line across the team bars. Inline SVG."""
    width = _SHARE_LABEL_W + _SHARE_BAR_W + _SHARE_VALUE_W
    out: list[str] = []
    y = _SHARE_TOP
    for group in groups:
        out.append(
            f'<text x="0" y="{y + 12}" font-weight="bold" font-size="13">{_e(group.title)}</text>'
        )
        y += _SHARE_ROW_H + _SHARE_GAP
        group_top = y
        for bar in group.bars:
            fill = _MUNICIPALITY_FILL if bar.total else _TEAM_FILL
            out.append(
                f'<text x="{_SHARE_LABEL_W - 8}" y="{y + 13}" text-anchor="end" font-size="12">'
                f"{_e(bar.label)}</text>"
            )
            out.append(
                f'<rect x="{_SHARE_LABEL_W}" y="{y}" width="{_SHARE_BAR_W}" '
                f'height="{_SHARE_ROW_H}" fill="{_EMPTY_FILL}"/>'
            )
            if bar.share is not None:
                out.append(
                    f'<rect x="{_SHARE_LABEL_W}" y="{y}" width="{bar.share * _SHARE_BAR_W:.1f}" '
                    f'height="{_SHARE_ROW_H}" fill="{fill}"><title>{_e(bar.label)}: '
                    f"{_e(bar.text)}</title></rect>"
                )
            out.append(
                f'<text x="{_SHARE_LABEL_W + _SHARE_BAR_W + 6}" y="{y + 13}" font-size="12">'
                f"{_e(bar.text)}</text>"
            )
            y += _SHARE_ROW_H + _SHARE_GAP
        overall = next((b.share for b in group.bars if b.total), None)
        if overall is not None:
            x = _SHARE_LABEL_W + overall * _SHARE_BAR_W
            out.append(
                f'<line x1="{x:.1f}" y1="{group_top - 2}" x2="{x:.1f}" '
                f'y2="{y - _SHARE_GAP + 2}" stroke="#c62828" stroke-width="2" '
                'stroke-dasharray="4 3"/>'
            )
        y += _SHARE_GROUP_GAP
    axis = []
    for tick in (0, 25, 50, 75, 100):
        x = _SHARE_LABEL_W + tick * _SHARE_BAR_W / 100
        axis.append(
            f'<line x1="{x:.1f}" y1="{_SHARE_TOP - 6}" x2="{x:.1f}" y2="{y - _SHARE_GROUP_GAP}" '
            f'stroke="#8c959f" stroke-width="0.5"/>'
            f'<text x="{x:.1f}" y="{_SHARE_TOP - 10}" text-anchor="middle" font-size="11">'
            f"{tick} %</text>"
        )
    return Markup(
        f'<svg width="{width}" height="{y}" viewBox="0 0 {width} {y}" role="img" '
        f'aria-label="{_e(title)}" font-family="Arial, Helvetica, sans-serif">'
        f"<title>{_e(title)}</title>{''.join(axis)}{''.join(out)}</svg>"
    )


def bar(fraction: float, fill: str, width: float = 160.0) -> Markup:
    """A small inline SVG bar (the dashboard's CSP allows no inline style widths)."""
    filled = max(min(fraction, 1.0), 0.0) * width
    return Markup(
        f'<svg class="bar" viewBox="0 0 {width:.0f} 10" width="{width:.0f}" height="10" '
        f'aria-hidden="true"><rect width="{width:.0f}" height="10" rx="2" fill="#e8edf2"/>'
        f'<rect width="{filled:.1f}" height="10" rx="2" fill="{fill}"/></svg>'
    )
