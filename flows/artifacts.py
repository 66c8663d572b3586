"""What the flows publish as Prefect artifacts: keys, and small Markdown tables of figures."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sagsflow.present.i18n import DEFAULT, Translator, translator
from sagsflow.present.templating import markdown_text


def words() -> Translator:
    """The language of what the flows publish (the municipality's: Danish)."""
    return translator(DEFAULT)


def ran_at(at: datetime, municipality: str | None = None) -> str:
    """ "Kørt 23. nov. 2026 kl. 14.05 (dansk tid), kommune: alle." """
    t = words()
    # The municipality is configuration, shown as literal text (never as Markdown).
    name = markdown_text(municipality) if municipality else t("flow.all")
    where = t("flow.municipality", municipality=name)
    return t("flow.ran_at", at=t.instant(at), where=where)


def artifact_key(*parts: str | None) -> str:
    """A Prefect artifact key (lowercase letters, digits and dashes) from its parts."""
    key = "-".join(p for p in parts if p).lower()
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in key).strip("-")


def figures(title: str, rows: Iterable[tuple[str, object]], note: str = "") -> str:
    """A heading and a two-column table of labelled figures (user-facing: Danish labels)."""
    lines = [f"## {title}", "", "| | |", "|---|---:|"]
    lines += [f"| {markdown_text(label)} | {markdown_text(value)} |" for label, value in rows]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"
