"""Why a deadline falls due when it does, as data: the rule, what it counts from, and the
calendar arithmetic (`statemachine.calendar.due`). `sagsflow.present.explanations` words it.

Stored with the deadline as canonical JSON (`to_json` / `from_json`), so a caseworker and an
auditor read, years later, the arithmetic that armed it, whatever the rulebook says by then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from statemachine.calendar import (
    AgeArithmetic,
    Arithmetic,
    ClosedDay,
    DaysArithmetic,
    HoursArithmetic,
    Unit,
)


@dataclass(frozen=True)
class Explanation:
    """One deadline's reason: the rule's title and legal source as the rulebook wrote them, what
    it counts from (`anchor`: awareness, event, measure_start, follow_up_held, birth), and how.

    Measure deadlines name the measure (`measure_key`, `measure_title`); a follow-up its number
    and whether it is the first or a later one (`every`: the interval, in `then_amount`/
    `then_unit`); a package review the package; an age limit's arithmetic holds the birth date,
    the highest age and the birthday on which the child leaves the range (`AgeArithmetic`).
    """

    rule: str
    title: str
    source: str
    anchor: str
    anchor_at: datetime
    arithmetic: Arithmetic
    event: str | None = None
    measure_key: str | None = None
    measure_title: str | None = None
    follow_up_number: int | None = None
    then_amount: int | None = None
    then_unit: str | None = None
    package: str | None = None

    def to_json(self) -> str:
        return json.dumps(_plain(self), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class LegacyExplanation:
    """An explanation stored as plain (English) text by a version before explanations were data."""

    text: str

    def to_json(self) -> str:
        return self.text


AnyExplanation = Explanation | LegacyExplanation


def _plain(explanation: Explanation) -> dict[str, Any]:
    value: dict[str, Any] = {
        "rule": explanation.rule,
        "title": explanation.title,
        "source": explanation.source,
        "anchor": explanation.anchor,
        "anchor_at": explanation.anchor_at.isoformat(),
        "arithmetic": _arithmetic(explanation.arithmetic),
    }
    for name in (
        "event",
        "measure_key",
        "measure_title",
        "follow_up_number",
        "then_amount",
        "then_unit",
        "package",
    ):
        if getattr(explanation, name) is not None:
            value[name] = getattr(explanation, name)
    return value


def _arithmetic(arithmetic: Arithmetic) -> dict[str, Any]:
    if isinstance(arithmetic, AgeArithmetic):
        age: dict[str, Any] = {
            "kind": "age",
            "birth_day": arithmetic.birth_day.isoformat(),
            "max_age": arithmetic.max_age,
            "birthday": arithmetic.birthday.isoformat(),
            "due_day": arithmetic.due_day.isoformat(),
        }
        if arithmetic.expected:
            age["expected"] = True
        if arithmetic.before_months:
            age["before_months"] = arithmetic.before_months
        return age
    if isinstance(arithmetic, HoursArithmetic):
        return {
            "kind": "hours",
            "start": arithmetic.start.isoformat(),
            "hours": arithmetic.hours,
            "due": arithmetic.due.isoformat(),
        }
    value: dict[str, Any] = {
        "kind": "days",
        "start_day": arithmetic.start_day.isoformat(),
        "amount": arithmetic.amount,
        "unit": arithmetic.unit.value,
        "due_day": arithmetic.due_day.isoformat(),
    }
    if arithmetic.clamped:
        value["clamped"] = True
    if arithmetic.skipped:
        value["skipped"] = [[c.day.isoformat(), c.kind] for c in arithmetic.skipped]
    if arithmetic.anchor is not None:
        value["anchor"] = arithmetic.anchor.isoformat()
    return value


def arithmetic_as_data(arithmetic: Arithmetic) -> dict[str, Any]:
    """The arithmetic as plain JSON values (for the API)."""
    return _arithmetic(arithmetic)


def explanation_as_data(explanation: AnyExplanation) -> dict[str, Any] | None:
    """The explanation as plain JSON values; None for a legacy text."""
    return _plain(explanation) if isinstance(explanation, Explanation) else None


def from_json(text: str) -> AnyExplanation:
    """An explanation as stored; text that is not one of ours is a legacy explanation."""
    if not text.startswith("{"):
        return LegacyExplanation(text)
    try:
        raw = json.loads(text)
        return Explanation(
            rule=raw["rule"],
            title=raw["title"],
            source=raw["source"],
            anchor=raw["anchor"],
            anchor_at=datetime.fromisoformat(raw["anchor_at"]),
            arithmetic=_arithmetic_of(raw["arithmetic"]),
            event=raw.get("event"),
            measure_key=raw.get("measure_key"),
            measure_title=raw.get("measure_title"),
            follow_up_number=raw.get("follow_up_number"),
            then_amount=raw.get("then_amount"),
            then_unit=raw.get("then_unit"),
            package=raw.get("package"),
        )
    except (ValueError, KeyError, TypeError):
        return LegacyExplanation(text)


def _arithmetic_of(raw: dict[str, Any]) -> Arithmetic:
    if raw["kind"] == "age":
        return AgeArithmetic(
            birth_day=date.fromisoformat(raw["birth_day"]),
            max_age=int(raw["max_age"]),
            birthday=date.fromisoformat(raw["birthday"]),
            due_day=date.fromisoformat(raw["due_day"]),
            expected=bool(raw.get("expected", False)),
            before_months=int(raw.get("before_months", 0)),
        )
    if raw["kind"] == "hours":
        return HoursArithmetic(
            datetime.fromisoformat(raw["start"]),
            int(raw["hours"]),
            datetime.fromisoformat(raw["due"]),
        )
    return DaysArithmetic(
        start_day=date.fromisoformat(raw["start_day"]),
        amount=int(raw["amount"]),
        unit=Unit(raw["unit"]),
        due_day=date.fromisoformat(raw["due_day"]),
        clamped=bool(raw.get("clamped", False)),
        skipped=tuple(ClosedDay(date.fromisoformat(d), k) for d, k in raw.get("skipped", [])),
        anchor=datetime.fromisoformat(raw["anchor"]) if raw.get("anchor") else None,
    )
