"""The audit export as CSV in the Danish Excel dialect (issue 13, point 9): `dialect=excel-da`
and the setting SAGSFLOW_CSV_DIALECT."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest

from sagsflow.settings import settings
from statemachine.phases import Phase, Role

BOM = b"\xef\xbb\xbf"


@pytest.fixture
def walked(staff, cases):
    """A case of the team with measures running (nine audit records)."""
    return cases.at_phase(Phase.FOLLOW_UP, worker=staff.name(Role.CASEWORKER), team=staff.team)


@pytest.fixture
def excel_da_by_setting(monkeypatch) -> Iterator[None]:
    """SAGSFLOW_CSV_DIALECT=excel-da, read afresh by the server (same process)."""
    monkeypatch.setenv("SAGSFLOW_CSV_DIALECT", "excel-da")
    settings.cache_clear()
    yield
    settings.cache_clear()


def export(staff, case_id: int, **params: str):
    response = staff.as_(Role.AUDITOR).get(
        "/api/v1/audit/export", params={"format": "csv", "case_id": case_id, **params}
    )
    assert response.status_code == 200, response.text
    return response


def read_back(body: bytes, delimiter: str) -> list[dict[str, str]]:
    text = body.removeprefix(BOM).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_the_excel_da_export_has_semicolons_a_bom_and_crlf(staff, walked, rows):
    # When the auditor exports one case with dialect=excel-da
    response = export(staff, walked.id, dialect="excel-da")

    # Then it is CSV beginning with the byte-order mark, every line ending in CRLF
    assert response.headers["content-type"].startswith("text/csv")
    body = response.content
    assert body.startswith(BOM)
    assert body.count(b"\n") == body.count(b"\r\n") == 10  # header and nine records
    # and read back at its semicolons it is the same trail as the standard export
    records = read_back(body, ";")
    assert [int(r["seq"]) for r in records] == list(range(1, 10))
    assert [r["hash"] for r in records] == [r.hash for r in rows.audit(walked.id)]
    standard = export(staff, walked.id).content
    assert not standard.startswith(BOM)
    assert records == read_back(standard, ",")
    # and each payload is whole: the canonical JSON that was hashed, commas and all
    assert all(isinstance(json.loads(r["payload"]), dict) for r in records)


def test_the_setting_chooses_the_dialect_and_the_parameter_overrides_it(
    staff, walked, excel_da_by_setting
):
    # Given SAGSFLOW_CSV_DIALECT=excel-da: an export without `dialect` is Excel's
    by_setting = export(staff, walked.id).content
    assert by_setting.startswith(BOM)
    assert len(read_back(by_setting, ";")) == 9

    # and dialect=standard still gives commas and no mark
    asked = export(staff, walked.id, dialect="standard").content
    assert not asked.startswith(BOM)
    assert len(read_back(asked, ",")) == 9


def test_an_unknown_dialect_is_a_422(staff, walked):
    response = staff.as_(Role.AUDITOR).get(
        "/api/v1/audit/export", params={"format": "csv", "case_id": walked.id, "dialect": "xls"}
    )
    assert response.status_code == 422
