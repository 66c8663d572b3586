"""Names in the flows' Markdown artifacts are text, never markup (issue 12, point 8: a
municipality `=HYPERLINK(…)` reached the Prefect artifact as Markdown)."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.artifacts import figures, ran_at
from sagsflow.present.templating import markdown_cell


def test_a_name_with_markup_is_written_as_text_in_a_markdown_cell() -> None:
    name = "[klik](http://example.invalid) <img src=x> *fed* `kode` a|b"
    cell = markdown_cell(name)
    # a link, a tag, emphasis, code and a cell break are each escaped; the text stays readable
    assert cell == r"\[klik\](http://example.invalid) \<img src=x\> \*fed\* \`kode\` a\|b"
    # figures keep their punctuation as it is
    assert markdown_cell("66,7 % (2/3)") == "66,7 % (2/3)"


def test_the_flows_figures_and_their_note_escape_the_municipality() -> None:
    note = ran_at(datetime(2026, 11, 23, 13, 5, tzinfo=UTC), "[Kommune](http://evil.invalid)")
    text = figures("Titel", [("Sager", 3), ("<b>x</b>", "y|z")], note)
    assert "[Kommune](" not in text and r"\[Kommune\](http://evil.invalid)" in text
    assert r"| \<b\>x\</b\> | y\|z |" in text


def test_a_cell_a_spreadsheet_would_run_is_text_and_numbers_stay_numbers() -> None:
    from sagsflow.present.cells import spreadsheet_safe

    assert spreadsheet_safe('=HYPERLINK("http://x","klik")') == '\'=HYPERLINK("http://x","klik")'
    assert [spreadsheet_safe(v) for v in ("+45", "-1", "@SUM(A1)", "\t=1", "\r=1")] == [
        "'+45",
        "'-1",
        "'@SUM(A1)",
        "'\t=1",
        "'\r=1",
    ]
    assert [spreadsheet_safe(v) for v in (-1, 0.5, "Team Nord", "")] == [-1, 0.5, "Team Nord", ""]
