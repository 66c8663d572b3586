"""Arming deadlines from rulebook rules: which instant, counted from what, and why."""

from __future__ import annotations

from datetime import datetime

from statemachine.calendar import Duration, due, format_date, local_date, shift
from statemachine.case import CaseFile, DeadlineState, MeasureState
from statemachine.phases import DeadlineStatus
from statemachine.rulebook import (
    Anchor,
    CadenceStep,
    DeadlineRule,
    FollowUpCadence,
    MeasureRuleDefaults,
    Rulebook,
    RuleId,
)

_ANCHOR_TEXT = {
    Anchor.AWARENESS: "awareness (the municipality became aware of the child)",
    Anchor.EVENT: "the event {event}",
    Anchor.MEASURE_START: "start of measure {measure}",
    Anchor.FOLLOW_UP_HELD: "follow-up held on measure {measure}",
}


def _explain(title: str, source: str, anchor: str, anchor_at: datetime, arithmetic: str) -> str:
    return (
        f"{title} ({source}). Counted from {anchor}, {format_date(local_date(anchor_at))}: "
        f"{arithmetic}"
    )


def arm_case_deadline(
    rulebook: Rulebook,
    rule_id: RuleId,
    rule: DeadlineRule,
    case: CaseFile,
    event: str,
    at: datetime,
) -> DeadlineState:
    """A case-level deadline armed by `event` at `at`."""
    anchor_at = case.aware_at if rule.anchor is Anchor.AWARENESS else at
    result = due(anchor_at, rule.duration.duration(), rulebook.working_calendar())
    anchor_text = _ANCHOR_TEXT[rule.anchor].format(event=event, measure="")
    return DeadlineState(
        key=rule_id.value,
        rule=rule_id.value,
        measure_key=None,
        anchor_at=anchor_at,
        due_at=result.due_at,
        status=DeadlineStatus.OPEN,
        source=rule.source,
        responsible=rule.responsible.value,
        escalated_to=rule.escalated_to.value,
        explanation=_explain(rule.title, rule.source, anchor_text, anchor_at, result.arithmetic),
        armed_at=at,
        changed=True,
    )


def cadence_interval(
    cadence: FollowUpCadence, started_at: datetime, held_at: datetime
) -> CadenceStep:
    """The cadence step in force for a follow-up held at `held_at` on a measure started at `started_at`.

    Kolding model (seed 003): "monthly for 6 months, then every 3 months" is two steps, the first
    with `until: 6 months` counted from the start.
    """
    for step in cadence.then:
        if step.until is None or held_at < shift(started_at, step.until.duration()):
            return step
    return cadence.then[-1]


def arm_follow_up(rulebook: Rulebook, measure: MeasureState, at: datetime) -> DeadlineState | None:
    """The measure's next follow-up: the first from its start, later ones from the one held."""
    measure_type = rulebook.measures[measure.type]
    cadence = measure_type.follow_up
    defaults = rulebook.measure_deadlines.get(RuleId.FOLLOW_UP)
    if cadence is None or defaults is None or measure.started_at is None:
        return None
    if measure.last_follow_up_at is None:
        anchor, anchor_at, span = Anchor.MEASURE_START, measure.started_at, cadence.first
        step_text = "first follow-up"
    else:
        anchor, anchor_at = Anchor.FOLLOW_UP_HELD, measure.last_follow_up_at
        step = cadence_interval(cadence, measure.started_at, anchor_at)
        span = step.every
        step_text = f"then every {span.describe()}"
    number = measure.follow_ups_held + 1
    title = f"{defaults.title} no. {number} on {measure.key} ({measure_type.title}, {step_text})"
    return _measure_deadline(
        rulebook,
        RuleId.FOLLOW_UP,
        defaults,
        measure,
        anchor,
        anchor_at,
        span.duration(),
        f"{RuleId.FOLLOW_UP.value}:{measure.key}:{number}",
        title,
        cadence.source,
        at,
    )


def arm_package_review(
    rulebook: Rulebook, measure: MeasureState, at: datetime
) -> DeadlineState | None:
    """Seed 000: a package is changed or ended at the latest 6 months after the start."""
    measure_type = rulebook.measures[measure.type]
    defaults = rulebook.measure_deadlines.get(RuleId.PACKAGE_REVIEW)
    review = measure_type.package_review
    if review is None or defaults is None or measure.started_at is None or not measure.package:
        return None
    title = f"{defaults.title} on {measure.key} ({measure_type.title}, package {measure.package})"
    return _measure_deadline(
        rulebook,
        RuleId.PACKAGE_REVIEW,
        defaults,
        measure,
        Anchor.MEASURE_START,
        measure.started_at,
        review.duration(),
        f"{RuleId.PACKAGE_REVIEW.value}:{measure.key}",
        title,
        defaults.source,
        at,
    )


def _measure_deadline(
    rulebook: Rulebook,
    rule_id: RuleId,
    defaults: MeasureRuleDefaults,
    measure: MeasureState,
    anchor: Anchor,
    anchor_at: datetime,
    duration: Duration,
    key: str,
    title: str,
    source: str,
    at: datetime,
) -> DeadlineState:
    result = due(anchor_at, duration, rulebook.working_calendar())
    anchor_text = _ANCHOR_TEXT[anchor].format(event="", measure=measure.key)
    return DeadlineState(
        key=key,
        rule=rule_id.value,
        measure_key=measure.key,
        anchor_at=anchor_at,
        due_at=result.due_at,
        status=DeadlineStatus.OPEN,
        source=source,
        responsible=defaults.responsible.value,
        escalated_to=defaults.escalated_to.value,
        explanation=_explain(title, source, anchor_text, anchor_at, result.arithmetic),
        armed_at=at,
        changed=True,
    )
