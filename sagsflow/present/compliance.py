"""The compliance report (ledelsestilsyn) as people read it: CSV, Markdown (a Prefect artifact)
and a self-contained HTML page with an inline SVG chart — nothing fetched, no script — in Danish
(or English on request).

`worded` turns the read model (`sagsflow.read.compliance.ComplianceReport`) into worded tables;
the templates under templates/compliance/ lay them out; the chart is `charts.share_chart`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from sagsflow.present import charts
from sagsflow.present.csvfile import CsvDialect, csv_text
from sagsflow.present.i18n import DEFAULT, Translator, translator
from sagsflow.present.templating import render
from statemachine.late import STAY_PHASES
from statemachine.late import SUPERVISED_RULES as MEASURES

if TYPE_CHECKING:
    from sagsflow.read.compliance import ComplianceReport, ComplianceRow, Share


def row_label(row: ComplianceRow, t: Translator) -> str:
    """A row's name: the team's name, "Uden team", or "Hele kommunen (<municipality>)"."""
    if row.scope == "municipality":
        return t("compliance.whole_municipality", municipality=row.municipality)
    return row.label or t("compliance.no_team")


def share_text(share: Share, t: Translator) -> str:
    """ "66,7 % (2/3)", or "ingen frister" when none was counted."""
    if share.share is None:
        return t("compliance.no_deadlines")
    return f"{t.percent(share.share)} ({share.on_time}/{share.counted})"


def period_text(report: ComplianceReport, t: Translator) -> str:
    return f"{t.date(report.period_start)}–{t.date(report.period_end)}"


def rows_by_municipality(report: ComplianceReport) -> Iterable[list[ComplianceRow]]:
    """Each municipality's rows: its teams, then the municipality itself (last)."""
    for place in report.municipalities:
        yield [r for r in report.rows if r.municipality == place.municipality]


@dataclass(frozen=True)
class WordedRow:
    label: str
    total: bool  # the municipality's own row
    shares: tuple[tuple[str, str], ...]  # (share text, "afventer 1 · bortfaldet 0")
    stays: tuple[str, ...]  # "12,5 (3)" or "–" per phase


@dataclass(frozen=True)
class WordedMunicipality:
    title: str
    chart: Markup
    rows: tuple[WordedRow, ...]


def _worded_row(row: ComplianceRow, t: Translator) -> WordedRow:
    return WordedRow(
        label=row_label(row, t),
        total=row.scope == "municipality",
        shares=tuple(
            (
                share_text(s, t),
                t("compliance.pending_cancelled", pending=s.pending, cancelled=s.cancelled),
            )
            for s in row.shares
        ),
        stays=tuple(
            f"{t.decimal(stay.median_days)} ({stay.stays})" if stay else "–"
            for stay in (row.phase(p.value) for p in STAY_PHASES)
        ),
    )


def _chart(rows: list[ComplianceRow], t: Translator) -> Markup:
    municipality = next((r for r in rows if r.scope == "municipality"), None)
    ordered = ([municipality] if municipality else []) + [r for r in rows if r.scope == "team"]
    groups = [
        charts.ShareGroup(
            title=t(f"compliance.measure.{rule.value}"),
            bars=[
                charts.ShareBar(
                    row_label(row, t),
                    row.share(rule.value).share,
                    share_text(row.share(rule.value), t),
                    total=row.scope == "municipality",
                )
                for row in ordered
            ],
        )
        for rule in MEASURES
    ]
    return charts.share_chart(groups, t("compliance.chart_title"))


def worded(report: ComplianceReport, t: Translator) -> list[WordedMunicipality]:
    return [
        WordedMunicipality(
            title=row_label(rows[-1], t),
            chart=_chart(rows, t),
            rows=tuple(_worded_row(r, t) for r in rows),
        )
        for rows in rows_by_municipality(report)
    ]


def _values(report: ComplianceReport, t: Translator) -> dict[str, Any]:
    return {
        "title": t("compliance.title", period=period_text(report, t)),
        "generated": t("compliance.generated", at=t.instant(report.generated_at)),
        "municipalities": worded(report, t),
        "measures": [t(f"compliance.short.{rule.value}") for rule in MEASURES],
        "phases": [t.phase(p.value) for p in STAY_PHASES],
    }


def render_html(report: ComplianceReport, t: Translator | None = None) -> str:
    """A self-contained HTML page: tables and an inline SVG chart per municipality."""
    t = t or translator(DEFAULT)
    return render("compliance/report.html", t, lang=t.lang, **_values(report, t))


def report_markdown(report: ComplianceReport, t: Translator | None = None) -> str:
    """The report as Markdown tables, for a Prefect markdown artifact."""
    t = t or translator(DEFAULT)
    return render("compliance/artifact.md", t, **_values(report, t))


def report_as_data(report: ComplianceReport, t: Translator) -> dict[str, Any]:
    """The report as JSON values (`ComplianceReport.as_dict`), each row's `label` worded."""
    data = report.as_dict()
    for row, value in zip(report.rows, data["rows"], strict=True):
        value["label"] = row_label(row, t)
    return data


def _csv_share(share: float | None) -> Decimal | None:
    """A share as a fraction of four places (0.6667); None when nothing was counted."""
    return None if share is None else Decimal(f"{share:.4f}")


def csv_header() -> list[str]:
    header = ["period_start", "period_end", "scope", "municipality", "team", "label"]
    for rule in MEASURES:
        header += [f"{rule}_{c}" for c in ("on_time", "late", "share", "pending", "cancelled")]
    for phase in STAY_PHASES:
        header += [f"{phase}_median_days", f"{phase}_stays"]
    return header


def render_csv(
    report: ComplianceReport,
    t: Translator | None = None,
    dialect: CsvDialect = CsvDialect.STANDARD,
) -> str:
    """One row per team and per municipality; shares as fractions (0.6667, or 0,6667 in the
    `excel-da` dialect), empty when none; median days with one place.

    The columns are machine names (a contract for spreadsheets and scripts); `label` is worded.
    """
    t = t or translator(DEFAULT)
    return csv_text(csv_header(), (_csv_row(report, row, t) for row in report.rows), dialect)


def _csv_row(report: ComplianceReport, row: ComplianceRow, t: Translator) -> list[object]:
    values: list[object] = [
        report.period_start.isoformat(),
        report.period_end.isoformat(),
        row.scope,
        row.municipality,
        row.team or "",
        row_label(row, t),
    ]
    for s in row.shares:
        values += [s.on_time, s.late, _csv_share(s.share), s.pending, s.cancelled]
    for phase in STAY_PHASES:
        stay = row.phase(phase.value)
        values += [Decimal(f"{stay.median_days:.1f}"), stay.stays] if stay else [None, 0]
    return values
