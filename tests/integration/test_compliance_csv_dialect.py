"""The compliance CSV in the Danish Excel dialect (issue 13, point 9), on SQLite and PostgreSQL.

A small caseload with dates chosen by hand: team Nord's two investigations fall due in Q2 2026,
one met and one late, so their share is 1/2 — written 0.5000 in the standard dialect and 0,5000
in `excel-da`, which Excel in a Danish locale splits at the semicolons and reads as a number.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sagsflow.organisation import Organisation, Person, Team
from sagsflow.present.csvfile import CsvDialect
from sagsflow.read.compliance import compliance_report
from sagsflow.usecases.compliance import write_csv
from statemachine.phases import Phase

CPH = ZoneInfo("Europe/Copenhagen")
ORGANISATION = Organisation(
    department_head=Person(name="dh", email="familiechef@kommune.test"),
    teams=[
        Team(
            id="t1",
            name="Team Nord",
            leader=Person(name="tl1", email="teamleder.nord@kommune.test"),
            caseworkers=[Person(name="rw1")],
        )
    ],
)
BOM = b"\xef\xbb\xbf"


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=CPH)


def rows_of(text: str, delimiter: str) -> list[dict[str, str]]:
    table = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header, rows = table[0], table[1:]
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_excel_da_compliance_csv_has_semicolons_decimal_commas_a_bom_and_crlf(
    cases, context, tmp_path
):
    # Given team Nord's two investigations, due 4 months after awareness (Barnets Lov §20
    # stk. 3): aware 5 January → due 5 May, concluded 20 April (on time); aware 12 January →
    # due 12 May, concluded 20 May (late). 1 of 2 on time: a share of 0.5.
    for aware, concluded in ((at(1, 5), at(4, 20)), (at(1, 12), at(5, 20))):
        case = cases.at_phase(Phase.INVESTIGATION, aware_at=aware, worker="rw1", team="t1")
        cases.fire(case, "conclude", {"measures_needed": True}, at=concluded)
    report = compliance_report(
        context,
        period_start=date(2026, 4, 1),
        period_end=date(2026, 6, 30),
        now=datetime(2026, 7, 15, 12, tzinfo=CPH),
        organisation=ORGANISATION,
    )

    # When it is written in both dialects
    standard = write_csv(report, tmp_path / "standard.csv").read_bytes()
    excel = write_csv(report, tmp_path / "excel.csv", dialect=CsvDialect.EXCEL_DA).read_bytes()

    # Then the Excel file begins with the UTF-8 byte-order mark and ends every line with CRLF;
    # the standard one has no mark
    assert excel.startswith(BOM) and not standard.startswith(BOM)
    assert excel.count(b"\n") == excel.count(b"\r\n") >= 3
    # and read back at its semicolons, team Nord's and the municipality's share is 0,5000
    # where the standard file writes 0.5000
    danish = rows_of(excel.removeprefix(BOM).decode("utf-8"), ";")
    plain = rows_of(standard.decode("utf-8"), ",")
    by_scope = {(r["scope"], r["team"]): r for r in danish}
    for key in (("team", "t1"), ("municipality", "")):
        row = by_scope[key]
        assert (row["investigation_on_time"], row["investigation_late"]) == ("1", "1")
        assert row["investigation_share"] == "0,5000"
    assert {r["investigation_share"] for r in plain if r["team"] in ("t1", "")} == {"0.5000"}
    assert by_scope[("team", "t1")]["label"] == "Team Nord"
    # and every other cell is the standard file's, a decimal point turned into a comma
    assert len(danish) == len(plain)
    for ours, theirs in zip(danish, plain, strict=True):
        assert ours.keys() == theirs.keys()
        for name, value in theirs.items():
            expected = value.replace(".", ",") if name.endswith(("_share", "_days")) else value
            assert ours[name] == expected, name
