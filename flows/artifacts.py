"""What the flows publish as Prefect artifacts: keys, and small Markdown tables of figures."""

from __future__ import annotations

from collections.abc import Iterable


def artifact_key(*parts: str | None) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) from its parts."""
    key = "-".join(p for p in parts if p).lower()
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in key).strip("-")


def figures(title: str, rows: Iterable[tuple[str, object]], note: str = "") -> str:
    """A heading and a two-column table of labelled figures (user-facing: Danish labels)."""
    lines = [f"## {title}", "", "| | |", "|---|---:|"]
    lines += [f"| {label} | {value} |" for label, value in rows]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"
