"""When each rung of an escalation ladder is due to be told, for one deadline (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from statemachine.calendar import Unit, WorkingCalendar, shift
from statemachine.rulebook import LadderStep, Rulebook, RuleId, Span


@dataclass(frozen=True)
class Rung:
    """One notification a deadline may give rise to."""

    rung: int  # position in the ladder: the escalation level, unique per deadline
    level: str
    to: str
    send_after: datetime


def ladder_for(rulebook: Rulebook, rule: str) -> list[LadderStep]:
    rule_id = RuleId(rule)
    if rule_id in rulebook.deadlines:
        return rulebook.deadlines[rule_id].ladder
    if rule_id in rulebook.measure_deadlines:
        return rulebook.measure_deadlines[rule_id].ladder
    return []


def rungs(steps: list[LadderStep], due_at: datetime, calendar: WorkingCalendar) -> list[Rung]:
    """Each ladder step with the instant from which it is due to be sent."""
    result = []
    for index, step in enumerate(steps):
        if step.before is not None:
            send_after = shift(due_at, step.before.duration(), backwards=True, calendar=calendar)
        elif step.after is not None:
            send_after = shift(due_at, step.after.duration(), calendar=calendar)
        else:
            send_after = due_at
        result.append(Rung(index, step.level, step.to.value, send_after))
    return result


def widest(span: Span | None) -> timedelta:
    """An upper bound of a span as elapsed time, for a database pre-filter (exact check follows)."""
    if span is None:
        return timedelta(0)
    per_unit = {
        Unit.HOURS: timedelta(hours=1),
        Unit.DAYS: timedelta(days=1, hours=1),
        Unit.WEEKS: timedelta(days=7, hours=1),
        Unit.MONTHS: timedelta(days=31, hours=1),
        # A run of holidays (Christmas to New Year) is at most a few days on top of weekends.
        Unit.WORKING_DAYS: timedelta(days=2),
    }[span.unit]
    return per_unit * span.amount + timedelta(days=7 if span.unit is Unit.WORKING_DAYS else 0)


def narrowest(span: Span) -> timedelta:
    """A lower bound of a span as elapsed time, minus the day a day-based deadline may add."""
    per_unit = {
        Unit.HOURS: timedelta(hours=1),
        Unit.DAYS: timedelta(hours=23),
        Unit.WEEKS: timedelta(days=7, hours=-1),
        Unit.MONTHS: timedelta(days=28),
        Unit.WORKING_DAYS: timedelta(days=1),
    }[span.unit]
    slack = timedelta(0) if span.unit is Unit.HOURS else timedelta(days=1)
    return max(per_unit * span.amount - slack, timedelta(0))
