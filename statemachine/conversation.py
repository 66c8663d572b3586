"""When a conversation with the child counts for a decision (Barnets Lov §5 stk. 3–4), pure.

One rule for the guard that refuses a decision without it (`statemachine.process`) and for the
stuck clock that flags a case waiting for it (`statemachine.stuck`): a conversation (or a
recorded exception) held at `heard_at` counts for an act at `at` while the Copenhagen date of
`heard_at` is on or after the date `window` before `at`'s, or, with the rule's
`since_previous_decision`, when it was held after the case's previous decision.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from statemachine.calendar import Unit, local_date, shift, start_of_local_day
from statemachine.rulebook import ChildConversationRule

_MICROSECOND = timedelta(microseconds=1)


def counts_at(rule: ChildConversationRule, heard_at: datetime, at: datetime) -> bool:
    """Whether what was held at `heard_at` lies in the window before `at` (dates: 3 months
    before 28 February is 28 November)."""
    earliest = local_date(shift(at, rule.window.duration(), backwards=True))
    return local_date(heard_at) >= earliest


def lapses_at(rule: ChildConversationRule, heard_at: datetime) -> datetime:
    """The last instant at which what was held at `heard_at` still counts by the window
    (`counts_at` holds up to and including it, and never after)."""
    heard_on = local_date(heard_at)
    window = rule.window.duration()
    if window.unit is Unit.HOURS:
        # The window's start moves with the instant: it passes the day after `heard_on` once
        # `at - hours` reaches that day.
        return (
            start_of_local_day(heard_on + timedelta(days=1))
            + timedelta(hours=window.amount)
            - _MICROSECOND
        )
    # Day-based windows move the Copenhagen date only (`calendar.shift`), monotonously: the
    # first day whose window starts after `heard_on` lies within a few days of `heard_on`
    # moved forward by the window (month ends clamp).
    guess = local_date(shift(start_of_local_day(heard_on), window))
    day = guess - timedelta(days=5)
    while not _window_starts_after(rule, day, heard_on):
        day += timedelta(days=1)
    return start_of_local_day(day) - _MICROSECOND


def _window_starts_after(rule: ChildConversationRule, day: date, heard_on: date) -> bool:
    start = start_of_local_day(day)
    return local_date(shift(start, rule.window.duration(), backwards=True)) > heard_on


def heard_for_decision(
    rule: ChildConversationRule,
    heard: list[datetime],
    at: datetime,
    last_decision_at: datetime | None,
) -> bool:
    """Whether any of `heard` (conversations and exceptions) counts for a decision at `at`."""
    since = last_decision_at if rule.since_previous_decision else None
    return any(counts_at(rule, h, at) or (since is not None and h > since) for h in heard)
