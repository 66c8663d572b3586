"""Why a notification left the outbox unsent, as a person reads it.

Delivery (`sagsflow.usecases.delivery`) records the reason on the row in the operator's English
(`notify list` shows it as recorded, and the record never changes). The digest reads it in the
team leader's language: each form delivery writes is matched here and worded from the
catalogue; the text of a mail server's own error stays as the server wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sagsflow.present.i18n import Translator


def _role(role: str, t: Translator) -> str:
    """A recipient role in a sentence: named in Danish, as recorded in English."""
    return t(f"as_role.{role}") if t.lang == "da" else role


# (the match, the language, a person's name for their id) → the words
_Words = Callable[[re.Match[str], Translator, Callable[[str], str]], str]

_FORMS: tuple[tuple[re.Pattern[str], _Words], ...] = (
    (
        re.compile(r"no longer relevant: deadline met/case closed"),
        lambda m, t, n: t("parked.no_longer_relevant"),
    ),
    (
        re.compile(r"no e-mail address for (\w+) (\S+)"),
        lambda m, t, n: t("parked.no_address", role=_role(m[1], t), person=n(m[2])),
    ),
    (
        re.compile(r"no recipient: the case has no caseworker"),
        lambda m, t, n: t("parked.no_caseworker"),
    ),
    (
        re.compile(r"no recipient: caseworker (\S+) is not in the organisation file"),
        lambda m, t, n: t("parked.unknown_caseworker", person=n(m[1])),
    ),
    (re.compile(r"no recipient: the case has no team"), lambda m, t, n: t("parked.no_team")),
    (
        re.compile(r"no recipient: team (\S+) is not in the organisation file"),
        lambda m, t, n: t("parked.unknown_team", team=m[1]),
    ),
    (
        re.compile(r"no recipient: the organisation file names no (\w+)"),
        lambda m, t, n: t("parked.nobody", role=_role(m[1], t)),
    ),
    (
        re.compile(r"gave up after (\d+) attempts(?:: (.*))?", re.S),
        lambda m, t, n: t("parked.gave_up", n=m[1]) + (f": {m[2]}" if m[2] else ""),
    ),
    (
        re.compile(r"cannot be delivered: (.*)", re.S),
        lambda m, t, n: t("parked.refused", error=m[1]),
    ),
)


def parked_reason_text(
    recorded: str, t: Translator, name_of: Callable[[str], str] | None = None
) -> str:
    """The recorded reason in `t`'s language (as recorded when it is not one of delivery's);
    a person named by `name_of` (their name from the organisation file) rather than their id."""
    named = name_of or (lambda person: person)
    for pattern, words in _FORMS:
        found = pattern.fullmatch(recorded)
        if found:
            return words(found, t, named)
    return recorded
