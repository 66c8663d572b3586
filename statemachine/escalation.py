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


def reach(span: Span, now: datetime, calendar: WorkingCalendar) -> datetime:
    """The latest due instant a rung sent `span` before its deadline's due time can already be
    due for at `now` (an upper bound, for the sweep's pre-filter in SQL; `rungs` decides).

    A rung is due when `shift(due_at, span, backwards=True) <= now`. Shifting that send time
    forward by the same span in the same calendar lands on or after the due day for hours,
    days, weeks and working days (backwards, a run of closed days is skipped; forwards, the
    first working day on or after the due day is reached), and at most three days before it
    for months (31 March less a month is 28 February, plus a month 28 March). So the bound is
    `now` shifted forward by the span in the rulebook's own calendar — its closed days
    included, however long a run they make — plus those three days for months and a day for a
    clock change on the way; hours are elapsed time and exact."""
    slack = {Unit.HOURS: timedelta(0), Unit.MONTHS: timedelta(days=4)}.get(
        span.unit, timedelta(days=1)
    )
    return shift(now, span.duration(), calendar=calendar) + slack
