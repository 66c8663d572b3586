"""Why a deadline falls when it does, in words: the rule, what it counts from, and the calendar
arithmetic step by step (holidays by name, the clamp at a month's end, clock changes).

The data is the domain's (`statemachine.explanation`, `statemachine.calendar`'s arithmetic); the
words are the catalogue's. Danish names measures by their titles; English keeps the case's
measure keys (`m1`) and event names, as the API's other fields do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sagsflow.present.i18n import Translator
from statemachine.calendar import (
    AgeArithmetic,
    Arithmetic,
    ClosedDay,
    DaysArithmetic,
    HoursArithmetic,
    holiday_name,
    local_date,
    to_local,
)
from statemachine.explanation import AnyExplanation, Explanation, LegacyExplanation
from statemachine.rulebook import RuleId, Span

_WEEKEND = frozenset({"saturday", "sunday"})
_HOLIDAY_LANGUAGE = {"da": "da", "en": "en_US"}


def explanation_text(explanation: AnyExplanation, t: Translator) -> str:
    """The whole explanation: "<title> (<source>). Counted from <anchor>, <date>: <arithmetic>"."""
    if isinstance(explanation, LegacyExplanation):
        return explanation.text  # stored as text by an earlier version: shown as it was
    return t(
        "explain.sentence",
        title=_title(explanation, t),
        source=explanation.source,
        anchor=_anchor(explanation, t),
        day=t.date(local_date(explanation.anchor_at)),
        arithmetic=arithmetic_text(explanation.arithmetic, t),
    )


def _measure(explanation: Explanation, t: Translator) -> str:
    key = explanation.measure_key or ""
    if t.lang == "en":
        return key
    number = key[1:] if key.startswith("m") else key
    return t("explain.measure", title=explanation.measure_title or key, number=number)


def _title(explanation: Explanation, t: Translator) -> str:
    if explanation.measure_key is None:
        return explanation.title
    if explanation.rule == RuleId.AGE_LIMIT:
        return t(
            "explain.age_limit_title",
            title=explanation.title,
            measure=_measure(explanation, t) if t.lang == "da" else explanation.measure_key,
            measure_title=explanation.measure_title or "",
        )
    if explanation.follow_up_number is not None:
        if explanation.then_amount is None or explanation.then_unit is None:
            step = t("explain.first_follow_up")
        else:
            step = t(
                "explain.then_every",
                span=_counted(explanation.then_amount, explanation.then_unit, t),
            )
        return t(
            "explain.follow_up_title",
            title=explanation.title,
            number=explanation.follow_up_number,
            measure=_measure(explanation, t) if t.lang == "da" else explanation.measure_key,
            measure_title=explanation.measure_title or "",
            step=step,
        )
    return t(
        "explain.package_title",
        title=explanation.title,
        measure=explanation.measure_key,
        measure_title=explanation.measure_title or "",
        package=t.package(explanation.package) if t.lang == "da" else explanation.package,
    )


def _anchor(explanation: Explanation, t: Translator) -> str:
    event = explanation.event or ""
    arithmetic = explanation.arithmetic
    if isinstance(arithmetic, AgeArithmetic) and arithmetic.expected:
        return t("explain.anchor.expected_birth")
    return t(
        f"explain.anchor.{explanation.anchor}",
        event=t.event(event) if t.lang == "da" else event,
        measure=_measure(explanation, t),
    )


def _counted(amount: int, unit: str, t: Translator) -> str:
    """How the arithmetic counts: "4 calendar months", "6 working days", "4 kalendermåneder"."""
    return t(f"count.{unit}.{'one' if amount == 1 else 'other'}", n=amount)


def span_counted(span: Span, t: Translator) -> str:
    return _counted(span.amount, span.unit.value, t)


def _instant(value: datetime, t: Translator) -> str:
    """An instant in its own zone: "5 Jan 2026 14:15 CET", "5 Jan 2026 23:30 UTC"."""
    return f"{_day(value.date(), t)} {_clock(value, t)} {value.tzname()}"


def _clock(value: datetime, t: Translator) -> str:
    separator = "." if t.lang == "da" else ":"
    text = f"{value:%H}{separator}{value:%M}"
    return f"{text}{separator}{value:%S}" if value.second else text


def _day(day: date, t: Translator) -> str:
    return t.date(day)


def _day_month(day: date, t: Translator, with_year: bool) -> str:
    text = t.date(day)
    if with_year:
        return text
    return text.rsplit(" ", 1)[0]


def arithmetic_text(arithmetic: Arithmetic, t: Translator) -> str:
    """The calendar arithmetic of one due date, step by step."""
    if isinstance(arithmetic, HoursArithmetic):
        return _hours(arithmetic, t)
    if isinstance(arithmetic, AgeArithmetic):
        return _age(arithmetic, t)
    return _days(arithmetic, t)


def _age(arithmetic: AgeArithmetic, t: Translator) -> str:
    """Why an age limit falls when it does: born, the birthday past the range, the day before."""
    turns = arithmetic.max_age + 1
    moved = (arithmetic.birthday.month, arithmetic.birthday.day) != (
        arithmetic.birth_day.month,
        arithmetic.birth_day.day,
    )
    if arithmetic.before_months:
        return t(
            "explain.age_before",
            birth=_day(arithmetic.birth_day, t),
            turns=turns,
            birthday=_day(arithmetic.birthday, t),
            note=t("explain.leap_birthday") if moved else "",
            before=_counted(arithmetic.before_months, "months", t),
            due=_day(arithmetic.due_day, t),
        )
    return t(
        "explain.age",
        birth=_day(arithmetic.birth_day, t),
        turns=turns,
        birthday=_day(arithmetic.birthday, t),
        note=t("explain.leap_birthday") if moved else "",
        max_age=arithmetic.max_age,
        due=_day(arithmetic.due_day, t),
    )


def _hours(arithmetic: HoursArithmetic, t: Translator) -> str:
    start, due = to_local(arithmetic.start), to_local(arithmetic.due)
    text = t(
        f"explain.hours.{'one' if arithmetic.hours == 1 else 'other'}",
        start=_instant(start, t),
        n=arithmetic.hours,
        due=_instant(due, t),
    )
    wall = arithmetic.wall_hours
    if wall is not None:
        text += t("explain.clock_change", hours=f"{wall:g}")
    return text


def _days(arithmetic: DaysArithmetic, t: Translator) -> str:
    counting = _counted(arithmetic.amount, arithmetic.unit.value, t)
    if arithmetic.unit.value == "weeks":
        counting = t("explain.weeks_in_days", counting=counting, days=7 * arithmetic.amount)
    note = ""
    if arithmetic.clamped:
        note = t("explain.clamped")
    elif arithmetic.skipped:
        note = t(
            "explain.skipping", runs=_skipped(arithmetic.skipped, arithmetic.start_day.year, t)
        )
    text = t(
        "explain.days",
        start=_day(arithmetic.start_day, t),
        counting=counting,
        due=_day(arithmetic.due_day, t),
        note=note,
    )
    if arithmetic.anchor is not None:
        text += t(
            "explain.local_date",
            instant=_instant(arithmetic.anchor, t),
            local=_instant(to_local(arithmetic.anchor), t),
        )
    return text


def _skipped(days: Sequence[ClosedDay], reference_year: int, t: Translator) -> str:
    runs: list[list[ClosedDay]] = []
    for closed in days:
        if runs and closed.day - runs[-1][-1].day == timedelta(days=1):
            runs[-1].append(closed)
        else:
            runs.append([closed])
    return ", ".join(
        f"{_range(run[0].day, run[-1].day, reference_year, t)} ({_reasons(run, t)})" for run in runs
    )


def _reasons(run: Sequence[ClosedDay], t: Translator) -> str:
    kinds = {c.kind for c in run}
    if kinds == _WEEKEND:
        return t("closed.weekend")
    names = []
    for closed in run:
        if closed.kind == "holiday":
            name = holiday_name(closed.day, _HOLIDAY_LANGUAGE[t.lang]) or t("closed.holiday")
        else:
            name = t(f"closed.{closed.kind}")
        names.append(name)
    return ", ".join(dict.fromkeys(names))


def _range(first: date, last: date, reference_year: int, t: Translator) -> str:
    with_year = first.year != reference_year or last.year != reference_year
    if first == last:
        return _day_month(first, t, with_year)
    if (first.year, first.month) == (last.year, last.month):
        day = f"{first.day}." if t.lang == "da" else str(first.day)
        return f"{day}–{_day_month(last, t, with_year)}"
    return f"{_day_month(first, t, with_year)}–{_day_month(last, t, with_year)}"
