"""The Jinja2 environment of the texts Sagsflow writes: mails, the digest, the compliance report.

HTML templates (`*.html`) are autoescaped, so every value is escaped once, here; text and
Markdown templates are not (Markdown cells go through the `cell` filter). Templates get the
translator as `t` and the values they lay out; the words themselves come from the catalogue.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sagsflow.present.i18n import Translator

TEMPLATES = Path(__file__).resolve().parent / "templates"


# What Markdown (and the HTML it may carry) reads as markup inside a line: links and images
# (brackets), tags (angle brackets), emphasis, code and table cells. A backslash before each
# makes it text, so a name such as "[klik](http://…)" or "<img …>" shows as written (issue 12,
# point 8).
_MARKUP = re.compile(r"([\\`*_\[\]<>|~])")


def markdown_text(value: object) -> str:
    """A value as literal Markdown text, on one line: every markup character escaped."""
    return _MARKUP.sub(r"\\\1", str(value)).replace("\r", " ").replace("\n", " ")


def markdown_cell(value: object) -> str:
    """A value fit for a Markdown table cell: literal text (`markdown_text`), pipes included."""
    return markdown_text(value)


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters["cell"] = markdown_cell
    return env


def render(template: str, t: Translator, **values: Any) -> str:
    """`template` (a path under templates/) rendered in `t`'s language."""
    return environment().get_template(template).render(t=t, **values)
