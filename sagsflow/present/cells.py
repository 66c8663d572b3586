"""A text cell as a spreadsheet may read it, made safe (issue 12, point 8).

A cell that begins with `=`, `+`, `-` or `@` (or a tab or carriage return before one) is a
formula to Excel and LibreOffice: `=HYPERLINK(…)` in a municipality's or a reason's text would
run when a supervisor opens the compliance CSV or the audit export. Such a cell is written with a
leading apostrophe, which the spreadsheet shows as text (OWASP, "CSV Injection"). Numbers are not
text and pass as they are.
"""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """`value` for a CSV cell: text that a spreadsheet would read as a formula gets a leading
    apostrophe; anything else is returned unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
