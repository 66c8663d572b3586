"""The words people read, in Danish (the default) and English: one message catalogue, one date
format per language, numbers as each language writes them.

The catalogue is gettext's, read with Babel: `locale/<lang>/LC_MESSAGES/messages.po`. Its msgids
are keys (`nav.overview`, `phase.inquiry`, `refusal.missing_consent`), so both languages hold
every text and a missing one is a test failure (tests/present/test_catalogue.py), never a blank.
Texts take named `{placeholders}` (python-brace-format). Danish terms follow DOMAIN.md's
glossary (fase, frist, opfølgning, indsats, børnefaglig undersøgelse, handleplan, …).

Dates and numbers are Babel's CLDR formats for Danish and English: "5. maj 2026 kl. 23.59",
"5 May 2026, 23:59"; "1.234" / "1,234"; "66,7 %" / "66.7%". Instants are shown in Copenhagen
time, whatever the process's locale or zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Literal

from babel import Locale
from babel.dates import format_date, format_datetime, get_month_names
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from statemachine.calendar import COPENHAGEN, to_local
from statemachine.rulebook import Span

Lang = Literal["da", "en"]
LANGUAGES: tuple[Lang, ...] = ("da", "en")
DEFAULT: Lang = "da"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# English as CLDR's root English ("Sep", not en_GB's "Sept"), in day-month-year order.
_LOCALES: Mapping[Lang, str] = {"da": "da_DK", "en": "en"}
# One date format, and one for an instant, per language (CLDR patterns).
_DATE: Mapping[Lang, str] = {"da": "d. MMM y", "en": "d MMM y"}
_TIME: Mapping[Lang, str] = {"da": "HH.mm", "en": "HH:mm"}
_INSTANT: Mapping[Lang, str] = {"da": "d. MMM y 'kl.' HH.mm", "en": "d MMM y, HH:mm"}


def language(value: str | None) -> Lang | None:
    """`value` ("da", "en", "da-DK", "en_US", any case) as a supported language, or None."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-")[0].lower()
    return "da" if primary == "da" else "en" if primary == "en" else None


def negotiate(accept_language: str | None, default: Lang = DEFAULT) -> Lang:
    """The language an `Accept-Language` header prefers most among those we speak (RFC 9110
    §12.5.4: by weight, then order); `default` when it names none of them."""
    best: tuple[float, int, Lang] | None = None
    for index, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        found = language(tag)
        if found is None:
            continue
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if weight <= 0:
            continue
        if best is None or (weight, -index) > (best[0], -best[1]):
            best = (weight, index, found)
    return best[2] if best else default


@cache
def messages(lang: Lang) -> Mapping[str, str]:
    """The catalogue of `lang`: key → text (read once per process)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as file:
        catalogue = read_po(file, locale=_LOCALES[lang])
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string}


class Translator:
    """The words and formats of one language, for templates, mails, reports and the CLI."""

    def __init__(self, lang: Lang) -> None:
        self.lang: Lang = lang
        self.locale = Locale.parse(_LOCALES[lang])
        self._messages = messages(lang)

    def __call__(self, key: str, **values: object) -> str:
        """The text of `key`, its `{placeholders}` filled; the key itself when it is missing
        (tests/present/test_catalogue.py keeps that from happening)."""
        text = self._messages.get(key, key)
        return text.format(**values) if values else text

    def has(self, key: str) -> bool:
        return key in self._messages

    def label(self, kind: str, value: str | None) -> str:
        """A domain value's name (`phase`, `event`, `rule`, `status`, `reason`, `role`,
        `source`, `notifier`, `party`, `package`, `level`): its catalogue entry `kind.value`."""
        if value is None:
            return "–"
        return self._messages.get(f"{kind}.{value}", value)

    def labels(self, kind: str, values: Iterable[str]) -> str:
        """Several values' names, joined as the language lists them ("A, B og C")."""
        names = [self.label(kind, v) for v in values]
        return self.join(names)

    def join(self, items: Iterable[str]) -> str:
        names = list(items)
        if len(names) <= 1:
            return "".join(names)
        return f"{', '.join(names[:-1])} {self('word.and')} {names[-1]}"

    def phase(self, value: str | None) -> str:
        return self.label("phase", value)

    def event(self, value: str | None) -> str:
        return self.label("event", value)

    def rule(self, value: str | None) -> str:
        return self.label("rule", value)

    def status(self, value: str | None) -> str:
        return self.label("status", value)

    def reason(self, value: str | None) -> str:
        return self.label("reason", value)

    def role(self, value: str | None) -> str:
        return self.label("role", value)

    def source(self, value: str | None) -> str:
        return self.label("source", value)

    def notifier(self, value: str | None) -> str:
        return self.label("notifier", value)

    def party(self, value: str | None) -> str:
        return self.label("party", value)

    def package(self, value: str | None) -> str:
        return self.label("package", value)

    def level(self, value: str | None) -> str:
        return self.label("level", value)

    def days(self, n: int) -> str:
        """ "1 dag", "3 dage"."""
        return self("day" if abs(n) == 1 else "days", n=n)

    def span(self, span: Span | None) -> str:
        """A rulebook span in words: "4 måneder", "6 hverdage", "1 calendar month"."""
        if span is None:
            return "–"
        return self.amount(span.amount, span.unit.value)

    def amount(self, n: int, unit: str) -> str:
        """`n` of a calendar unit (`hours`, `days`, `weeks`, `months`, `working_days`)."""
        return self(f"unit.{unit}.{'one' if n == 1 else 'other'}", n=n)

    def date(self, value: date | datetime | str | None) -> str:
        """A calendar date: "23. nov. 2026" / "23 Nov 2026"; an instant by its Copenhagen
        date."""
        if value is None:
            return "–"
        if isinstance(value, str):  # "2026-11-23" or an ISO instant with its offset
            value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
        if isinstance(value, datetime):
            value = to_local(value).date()
        return str(format_date(value, _DATE[self.lang], locale=self.locale))

    def instant(self, value: datetime | str | None) -> str:
        """An instant in Copenhagen time: "23. nov. 2026 kl. 14.05" / "23 Nov 2026, 14:05"."""
        if value is None:
            return "–"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return str(
            format_datetime(
                to_local(value), _INSTANT[self.lang], tzinfo=COPENHAGEN, locale=self.locale
            )
        )

    def clock(self, value: datetime, *, seconds: bool = False, zone: bool = False) -> str:
        """The Copenhagen time of day: "14.05" / "14:05", with seconds and the zone's
        abbreviation (CET, CEST) on request."""
        local = to_local(value)
        pattern = _TIME[self.lang] + (("." if self.lang == "da" else ":") + "ss" if seconds else "")
        text = str(format_datetime(local, pattern, tzinfo=COPENHAGEN, locale=self.locale))
        return f"{text} {local.tzname()}" if zone else text

    def month_abbreviations(self) -> list[str]:
        """January … December, abbreviated ("jan.", "Jan")."""
        names = get_month_names("abbreviated", locale=self.locale)
        return [str(names[m]) for m in range(1, 13)]

    def number(self, n: int) -> str:
        """Thousands grouped: 1.234 / 1,234."""
        return str(format_decimal(n, locale=self.locale))

    def decimal(self, value: float, digits: int = 1) -> str:
        """A fraction with `digits` decimals: 12,5 / 12.5."""
        return str(format_decimal(value, format=f"#,##0.{'0' * digits}", locale=self.locale))

    def percent(self, share: float | None) -> str:
        """A share as a percentage with one decimal: "66,7 %" / "66.7%"; "–" for none."""
        if share is None:
            return "–"
        number = self.decimal(share * 100)
        return f"{number} %" if self.lang == "da" else f"{number}%"


@cache
def translator(lang: Lang) -> Translator:
    """The (immutable) translator of `lang`, one per process."""
    return Translator(lang)
