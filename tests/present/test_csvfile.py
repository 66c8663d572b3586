"""The one CSV writer (`sagsflow.present.csvfile`) in both dialects: pure, no database."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from sagsflow.present.csvfile import CsvDialect, csv_chunks, csv_dialect, csv_text

FORMULA = '=HYPERLINK("http://example.invalid")'
HEADER = ["name", "share", "median", "count", "none", "note"]
ROWS = [
    ["Team Nord", Decimal("0.5000"), 12.5, 3, None, "a;b, c"],
    [FORMULA, Decimal("0.6667"), 0.25, 0, None, "-1"],
]


def test_the_standard_dialect_is_comma_decimal_point_crlf_without_bom():
    text = csv_text(HEADER, ROWS)

    assert not text.startswith("\ufeff")
    assert text.count("\r\n") == text.count("\n") == 3
    table = list(csv.reader(io.StringIO(text, newline="")))
    assert table[0] == HEADER
    assert table[1] == ["Team Nord", "0.5000", "12.5", "3", "", "a;b, c"]
    # a formula is written as text, numbers as they are
    assert table[2] == ["'" + FORMULA, "0.6667", "0.25", "0", "", "'-1"]


def test_excel_da_is_semicolon_decimal_comma_crlf_with_bom():
    text = csv_text(HEADER, ROWS, CsvDialect.EXCEL_DA)

    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    assert text.count("\r\n") == text.count("\n") == 3
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=";"))
    assert table[0] == HEADER
    assert table[1] == ["Team Nord", "0,5000", "12,5", "3", "", "a;b, c"]
    assert table[2] == ["'" + FORMULA, "0,6667", "0,25", "0", "", "'-1"]
    # a cell holding the separator is quoted
    assert '"a;b, c"' in text


def test_chunks_join_to_the_whole_text_and_the_bom_comes_once():
    rows = [[f"r{n}", Decimal(n) / 4] for n in range(7)]

    chunks = list(csv_chunks(["r", "v"], rows, CsvDialect.EXCEL_DA, chunk=3))

    assert len(chunks) == 3
    assert "".join(chunks) == csv_text(["r", "v"], rows, CsvDialect.EXCEL_DA)
    assert "".join(chunks).count("\ufeff") == 1 and chunks[0].startswith("\ufeff")


@pytest.mark.parametrize(
    ("name", "expected"),
    [("standard", CsvDialect.STANDARD), (" Excel-DA ", CsvDialect.EXCEL_DA)],
)
def test_a_dialect_is_named(name, expected):
    assert csv_dialect(name) is expected


def test_an_unknown_dialect_is_refused():
    with pytest.raises(ValueError):
        csv_dialect("excel-de")
