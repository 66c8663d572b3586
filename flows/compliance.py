"""`compliance_report`: the periodic compliance report (ledelsestilsyn) as CSV, HTML and artifacts.

Monthly and quarterly (deployments/prefect.yaml passes `previous-month` / `previous-quarter`,
resolved here against the run's `now`); any period `statemachine.periods.parse_period` reads can
be given by hand ("2026-Q1", "2026-04", "2026", "2026-01-01..2026-03-31").
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.artifacts import artifact_key, words
from flows.context import context, instant, settings
from statemachine.calendar import local_date
from statemachine.periods import resolve_period

if TYPE_CHECKING:
    from sagsflow.read.compliance import ComplianceReport


@task(name="compile-report", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10.0, 60.0])
def compile_report(period: str, now: datetime, municipality: str | None) -> ComplianceReport:
    from sagsflow.organisation import organisation
    from sagsflow.read.compliance import compliance_report as compile_
    from statemachine.periods import parse_period

    start, end = parse_period(period)
    return compile_(
        context(),
        period_start=start,
        period_end=end,
        now=now,
        organisation=organisation(settings().org_file),
        municipality=municipality,
    )


@task(name="write-report", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10.0, 60.0])
def write_report(report: ComplianceReport, stem: str, directory: str) -> list[Path]:
    from sagsflow.present.csvfile import csv_dialect
    from sagsflow.usecases.compliance import write_csv, write_html

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    # SAGSFLOW_CSV_DIALECT: standard, or excel-da (semicolons, decimal comma, UTF-8 with BOM).
    dialect = csv_dialect(settings().csv_dialect)
    return [
        write_csv(report, folder / f"{stem}.csv", dialect=dialect).resolve(),
        write_html(report, folder / f"{stem}.html").resolve(),
    ]


@task(name="publish-report", cache_policy=NO_CACHE)
def publish_report(report: ComplianceReport, key: str, files: list[Path]) -> None:
    from sagsflow.present.compliance import report_markdown

    where = "\n".join(f"- `{path}`" for path in files)
    create_markdown_artifact(
        f"{report_markdown(report)}\n{words()('flow.compliance.files')}:\n\n{where}\n",
        key=key,
        description=words()("flow.compliance.description"),
    )


@flow(name="compliance-report")
def compliance_report(
    period: str,
    municipality: str | None = None,
    now: str | None = None,
    directory: str = "state/reports",
) -> dict[str, str]:
    """Compile the report for `period`, write it as CSV and HTML under `directory`, publish it.

    `period`: `previous-month`, `previous-quarter`, or what `parse_period` reads.
    """
    at = instant(now)
    label = resolve_period(period, local_date(at))
    stem = artifact_key("compliance", label, municipality)
    report = compile_report(label, at, municipality)
    csv_file, html_file = write_report(report, stem, directory)
    publish_report(report, stem, [csv_file, html_file])
    return {"period": label, "csv": str(csv_file), "html": str(html_file)}
