"""The compliance report as CSV, Markdown (a Prefect artifact) and a self-contained HTML page
with an inline SVG chart: nothing fetched, no script."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from sagsflow.present.digest import PHASE_LABELS, danish_date, danish_instant, markdown_table
from statemachine.late import STAY_PHASES
from statemachine.late import SUPERVISED_RULES as MEASURES
from statemachine.rulebook import RuleId

if TYPE_CHECKING:
    from sagsflow.read.compliance import ComplianceReport, ComplianceRow, Share

LABELS: Mapping[str, str] = {
    RuleId.INVESTIGATION: "Børnefaglige undersøgelser afsluttet inden for fristen",
    RuleId.FOLLOW_UP: "Opfølgninger holdt rettidigt",
    RuleId.ACKNOWLEDGEMENT: "Kvitteringer til fagpersoner sendt rettidigt",
    RuleId.URGENT_ASSESSMENT: "Underretninger vurderet inden for 24 timer",
}
SHORT_LABELS: Mapping[str, str] = {
    RuleId.INVESTIGATION: "Undersøgelser",
    RuleId.FOLLOW_UP: "Opfølgninger",
    RuleId.ACKNOWLEDGEMENT: "Kvitteringer",
    RuleId.URGENT_ASSESSMENT: "24-timersvurderinger",
}


# --- writers ---------------------------------------------------------------------------------


def _csv_share(share: float | None) -> str:
    return "" if share is None else f"{share:.4f}"


def csv_header() -> list[str]:
    header = ["period_start", "period_end", "scope", "municipality", "team", "label"]
    for rule in MEASURES:
        header += [f"{rule}_{c}" for c in ("on_time", "late", "share", "pending", "cancelled")]
    for phase in STAY_PHASES:
        header += [f"{phase}_median_days", f"{phase}_stays"]
    return header


def render_csv(report: ComplianceReport) -> str:
    """One row per team and per municipality; shares as fractions (0.6667), empty when none."""
    with io.StringIO(newline="") as file:
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
        return file.getvalue()


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
                ["Enhed", *(SHORT_LABELS[rule] for rule in MEASURES)],
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
    for rule in MEASURES:
        label = LABELS[rule]
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
    head = "".join(f"<th>{_e(SHORT_LABELS[r])}</th>" for r in MEASURES)
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
