"""Every CSV the product writes, in one of two dialects (issue 13, point 9).

`standard`: comma-separated, decimal point, UTF-8 without a byte-order mark — what scripts and
most tools read. `excel-da`: what Excel in a Danish locale splits and reads as numbers when the
file is opened with a double click — semicolon-separated, decimal comma, UTF-8 with a byte-order
mark (without it Excel reads the file as Windows-1252 and garbles æ, ø and å). Both end lines
with CRLF (RFC 4180).

Cells are values, not text: `int` is written as it is, `Decimal` and `float` with the dialect's
decimal sign (a `Decimal` keeps its places: `Decimal("0.5000")` is `0.5000` or `0,5000`), `None`
as an empty cell, and every text through `cells.spreadsheet_safe` (a formula is written as text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from enum import StrEnum

from sagsflow.present.cells import spreadsheet_safe

# Rows per chunk when a CSV is streamed (the audit export): it is never held whole.
CHUNK = 500
BOM = "\ufeff"


class CsvDialect(StrEnum):
    STANDARD = "standard"
    EXCEL_DA = "excel-da"


DIALECTS: tuple[str, ...] = tuple(d.value for d in CsvDialect)


def csv_dialect(name: str) -> CsvDialect:
    """The dialect called `name` (case and surrounding spaces ignored); ValueError otherwise."""
    return CsvDialect(name.strip().lower())


def _cell(value: object, decimal_sign: str) -> object:
    if value is None:
        return ""
    if isinstance(value, Decimal | float):
        return str(value).replace(".", decimal_sign)
    return spreadsheet_safe(value)


def csv_chunks(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    dialect: CsvDialect = CsvDialect.STANDARD,
    *,
    chunk: int = CHUNK,
) -> Iterator[str]:
    """The CSV text of `header` and `rows`, `chunk` rows at a time (the first chunk begins with
    the byte-order mark in `excel-da`): the one writer of both dialects."""
    excel = dialect is CsvDialect.EXCEL_DA
    decimal_sign = "," if excel else "."
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=";" if excel else ",", lineterminator="\r\n")
    if excel:
        buffer.write(BOM)
    writer.writerow([_cell(name, decimal_sign) for name in header])
    for n, row in enumerate(rows, start=1):
        writer.writerow([_cell(value, decimal_sign) for value in row])
        if n % chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_text(
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    dialect: CsvDialect = CsvDialect.STANDARD,
) -> str:
    """The whole CSV text (`csv_chunks` joined); write it with encoding UTF-8 and newline=""."""
    return "".join(csv_chunks(header, rows, dialect))
