"""The compliance report (ledelsestilsyn) compiled for a period and written as CSV and HTML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sagsflow.context import Context
from sagsflow.present.compliance import render_csv, render_html
from sagsflow.present.csvfile import CsvDialect
from sagsflow.present.i18n import Translator
from sagsflow.read.compliance import ComplianceReport, compliance_report
from statemachine.periods import parse_period


@dataclass(frozen=True)
class WrittenReport:
    report: ComplianceReport
    csv: Path
    html: Path


def write_csv(
    report: ComplianceReport,
    path: Path | str,
    t: Translator | None = None,
    dialect: CsvDialect = CsvDialect.STANDARD,
) -> Path:
    """The report as CSV in `dialect` (`sagsflow.present.csvfile`)."""
    path = Path(path)
    path.write_text(render_csv(report, t, dialect), encoding="utf-8", newline="")
    return path


def write_html(report: ComplianceReport, path: Path | str, t: Translator | None = None) -> Path:
    path = Path(path)
    path.write_text(render_html(report, t), encoding="utf-8")
    return path


def write_compliance_report(
    context: Context,
    period: str,
    *,
    now: datetime,
    directory: Path,
    stem: str,
    municipality: str | None = None,
    dialect: CsvDialect = CsvDialect.STANDARD,
) -> WrittenReport:
    """Compile the report for `period` (`statemachine.periods.parse_period`) and write
    `<stem>.csv` (in `dialect`) and `<stem>.html` under `directory`. Raises PeriodInvalid, OSError."""
    start, end = parse_period(period)
    report = compliance_report(
        context,
        period_start=start,
        period_end=end,
        now=now,
        organisation=context.organisation,
        municipality=municipality,
    )
    directory.mkdir(parents=True, exist_ok=True)
    return WrittenReport(
        report,
        write_csv(report, directory / f"{stem}.csv", dialect=dialect).resolve(),
        write_html(report, directory / f"{stem}.html").resolve(),
    )
