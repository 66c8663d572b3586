"""Arming deadlines from rulebook rules: which instant, counted from what, and why."""

from __future__ import annotations

from datetime import datetime

from statemachine.calendar import (
    DueDate,
    Duration,
    age_limit_due,
    before_birthday_due,
    due,
    local_date,
    shift,
    start_of_local_day,
)
from statemachine.case import CaseFile, DeadlineState, MeasureState
from statemachine.explanation import Explanation
from statemachine.phases import DeadlineStatus, Event
from statemachine.rulebook import (
    Anchor,
    CadenceStep,
    DeadlineRule,
    DecisionDeadline,
    FollowUpCadence,
    MeasureCategory,
    MeasureRuleDefaults,
    Rulebook,
    RuleId,
    Span,
)


def arm_case_deadline(
    rulebook: Rulebook,
    rule_id: RuleId,
    rule: DeadlineRule,
    case: CaseFile,
    event: str,
    at: datetime,
    *,
    anchor: Anchor | None = None,
    duration: DecisionDeadline | None = None,
) -> DeadlineState:
    """A case-level deadline armed by `event` at `at`: counted from the rule's anchor, or from
    `anchor` (an application's receipt); for the rule's duration, or a measure's published one."""
    anchor = anchor or rule.anchor
    anchor_at = case.aware_at if anchor is Anchor.AWARENESS else at
    span = duration or rule.duration
    result = due(anchor_at, span.duration(), rulebook.working_calendar())
    source = rule.source
    if duration is not None and duration.source:
        source = f"{rule.source}; {duration.source}"
    explanation = Explanation(
        rule=rule_id.value,
        title=rule.title,
        source=source,
        anchor=anchor.value,
        anchor_at=anchor_at,
        arithmetic=result.arithmetic,
        event=event if anchor is Anchor.EVENT else None,
    )
    return DeadlineState(
        key=rule_id.value,
        rule=rule_id.value,
        measure_key=None,
        anchor_at=anchor_at,
        due_at=result.due_at,
        status=DeadlineStatus.OPEN,
        source=source,
        responsible=rule.responsible.value,
        escalated_to=rule.escalated_to.value,
        explanation=explanation,
        armed_at=at,
        changed=True,
    )


def arm_item_deadline(
    rulebook: Rulebook,
    rule_id: RuleId,
    rule: DeadlineRule,
    item: str,
    anchor: Anchor,
    anchor_at: datetime,
    event: str,
    at: datetime,
) -> DeadlineState:
    """A case-level deadline of one item of the case — a complaint (`c12`), a decision's
    complaint period (`d9`), a further notification (`n15`) — counted from `anchor_at` (its
    receipt, or the event), keyed `rule:item` so that several run side by side."""
    result = due(anchor_at, rule.duration.duration(), rulebook.working_calendar())
    explanation = Explanation(
        rule=rule_id.value,
        title=rule.title,
        source=rule.source,
        anchor=anchor.value,
        anchor_at=anchor_at,
        arithmetic=result.arithmetic,
        event=event if anchor is Anchor.EVENT else None,
    )
    return DeadlineState(
        key=f"{rule_id.value}:{item}",
        rule=rule_id.value,
        measure_key=None,
        anchor_at=anchor_at,
        due_at=result.due_at,
        status=DeadlineStatus.OPEN,
        source=rule.source,
        responsible=rule.responsible.value,
        escalated_to=rule.escalated_to.value,
        explanation=explanation,
        armed_at=at,
        changed=True,
    )


def cadence_interval(
    cadence: FollowUpCadence, started_at: datetime, held_at: datetime
) -> CadenceStep:
    """The cadence step in force for a follow-up held at `held_at` on a measure started at `started_at`.

    Kolding model (seed 003): "monthly for 6 months, then every 3 months" is two steps, the first
    with `until: 6 months` counted from the start. The question is one of days (DOMAIN.md:
    Copenhagen local dates decide day questions): a follow-up held on a Copenhagen date before the
    one `until` reaches from the start takes the step, whatever the clock times of the two.
    """
    held_on = local_date(held_at)
    for step in cadence.then:
        if step.until is None or held_on < local_date(shift(started_at, step.until.duration())):
            return step
    return cadence.then[-1]


def own_cadence(case: CaseFile, measure_key: str) -> Span | None:
    """The interval a case's own follow-up plan sets for a measure (Barnets Lov §95 stk. 3);
    None: the service level's cadence."""
    plan = case.follow_up_plans.get(measure_key)
    return None if plan is None else Span(amount=plan["amount"], unit=plan["unit"])


def arm_follow_up(
    rulebook: Rulebook,
    measure: MeasureState,
    at: datetime,
    *,
    during_investigation: bool = False,
    every: Span | None = None,
) -> DeadlineState | None:
    """The measure's next follow-up: the first from its start, later ones from the one held.

    A measure started while the investigation runs is first followed up at the rulebook's
    `first_during_investigation` (Barnets Lov §95 stk. 2 nr. 2: 3 months after start), or when
    the investigation concludes if that is earlier (`process` moves it then).
    """
    measure_type = rulebook.measures[measure.type]
    cadence = measure_type.follow_up
    defaults = rulebook.measure_deadlines.get(RuleId.FOLLOW_UP)
    if cadence is None or defaults is None or measure.started_at is None:
        return None
    then: Span | None = None
    source = cadence.source
    if measure.last_follow_up_at is None:
        anchor, anchor_at, span = Anchor.MEASURE_START, measure.started_at, cadence.first
        if during_investigation and defaults.first_during_investigation is not None:
            span = defaults.first_during_investigation
            source = defaults.first_during_investigation_source
    else:
        anchor, anchor_at = Anchor.FOLLOW_UP_HELD, measure.last_follow_up_at
        if every is not None and defaults.next_follow_up is not None:
            # Barnets Lov §95 stk. 3: the case's own plan, counted from the follow-up held.
            span = then = every
            source = defaults.next_follow_up.source
        elif every is not None:
            span = then = every
        else:
            step = cadence_interval(cadence, measure.started_at, anchor_at)
            span = then = step.every
    number = measure.follow_ups_held + 1
    return _measure_deadline(
        rulebook,
        RuleId.FOLLOW_UP,
        defaults,
        measure,
        anchor,
        anchor_at,
        span.duration(),
        f"{RuleId.FOLLOW_UP.value}:{measure.key}:{number}",
        source,
        at,
        follow_up_number=number,
        then=then,
    )


def follow_up_explanation(
    rulebook: Rulebook,
    measure: MeasureState,
    defaults: MeasureRuleDefaults,
    at: datetime,
    result: DueDate,
    *,
    event: str,
) -> Explanation:
    """Why a first follow-up falls due when `event` (the investigation's conclusion) happens:
    Barnets Lov §95 stk. 2 nr. 1, the end of that day."""
    return Explanation(
        rule=RuleId.FOLLOW_UP.value,
        title=defaults.title,
        source=defaults.first_during_investigation_source,
        anchor=Anchor.EVENT.value,
        anchor_at=at,
        arithmetic=result.arithmetic,
        event=event,
        measure_key=measure.key,
        measure_title=rulebook.measures[measure.type].title,
        follow_up_number=measure.follow_ups_held + 1,
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
    return _measure_deadline(
        rulebook,
        RuleId.PACKAGE_REVIEW,
        defaults,
        measure,
        Anchor.MEASURE_START,
        measure.started_at,
        review.duration(),
        f"{RuleId.PACKAGE_REVIEW.value}:{measure.key}",
        defaults.source,
        at,
        package=measure.package,
    )


def arm_age_limit(
    rulebook: Rulebook, case: CaseFile, measure: MeasureState, at: datetime
) -> DeadlineState | None:
    """The day a running measure with an upper age bound ends for this child: the end of the
    day before the birthday on which the child turns `ages.max + 1` (the range is in completed
    years, `AgeRange`; checked at the grant only, the child grows older while it runs). None
    for a measure without an upper bound, or a rulebook without the rule.

    Counted from the birth date, or from the expected date while the child is not yet born
    (`record_birth` counts it again from the real one)."""
    ages = rulebook.measures[measure.type].ages
    defaults = rulebook.measure_deadlines.get(RuleId.AGE_LIMIT)
    if not ages.bounded or defaults is None or measure.started_at is None:
        return None
    result = age_limit_due(case.birth_date, ages.max, expected=case.birth_expected)
    # The range's own source (the catalogue's "14-22 år") says why the limit falls there.
    source = ages.source or defaults.source
    return _birthday_deadline(
        rulebook, RuleId.AGE_LIMIT, defaults, case, measure, result, source, at
    )


def _birthday_deadline(
    rulebook: Rulebook,
    rule_id: RuleId,
    defaults: MeasureRuleDefaults,
    case: CaseFile,
    measure: MeasureState,
    result: DueDate,
    source: str,
    at: datetime,
) -> DeadlineState:
    """A measure deadline counted from the child's birth date (an age limit, a duty before a
    birthday), explained by its age arithmetic."""
    anchor_at = start_of_local_day(case.birth_date)
    explanation = Explanation(
        rule=rule_id.value,
        title=defaults.title,
        source=source,
        anchor=Anchor.BIRTH.value,
        anchor_at=anchor_at,
        arithmetic=result.arithmetic,
        measure_key=measure.key,
        measure_title=rulebook.measures[measure.type].title,
    )
    return DeadlineState(
        key=f"{rule_id.value}:{measure.key}",
        rule=rule_id.value,
        measure_key=measure.key,
        anchor_at=anchor_at,
        due_at=result.due_at,
        status=DeadlineStatus.OPEN,
        source=source,
        responsible=defaults.responsible.value,
        escalated_to=defaults.escalated_to.value,
        explanation=explanation,
        armed_at=at,
        changed=True,
    )


def arm_young_person_support(
    rulebook: Rulebook, case: CaseFile, measure: MeasureState, at: datetime
) -> DeadlineState | None:
    """Barnets Lov §111 stk. 1: the decision on support for the young person (§§ 114–116, 120)
    is due at the latest 6 months before a placement ends at the 18th birthday — the rule's
    `before_birthday`. Armed when a measure of its categories starts for a child younger than
    that age; None otherwise, for a child not yet born, or a rulebook without the rule. A
    placement started later than the duty's day is due at once: the law's day has passed."""
    defaults = rulebook.measure_deadlines.get(RuleId.YOUNG_PERSON_SUPPORT_DECISION)
    if defaults is None or defaults.before_birthday is None or measure.started_at is None:
        return None
    rule = defaults.before_birthday
    if case.birth_expected or rulebook.measures[measure.type].category not in rule.categories:
        return None
    if case.child_age(local_date(at)) >= rule.age:
        return None
    result = before_birthday_due(case.birth_date, rule.age, rule.months)
    return _birthday_deadline(
        rulebook,
        RuleId.YOUNG_PERSON_SUPPORT_DECISION,
        defaults,
        case,
        measure,
        result,
        defaults.source,
        at,
    )


def arm_supervision_visit(
    rulebook: Rulebook, measure: MeasureState, at: datetime, *, held_at: datetime | None = None
) -> DeadlineState | None:
    """The next supervision visit of a running placement: the rulebook's `period` after its
    start, or after the visit held at `held_at` (Barnets Lov §156 stk. 5: at least two visits
    a year at the placement, with a conversation with the child). None for a measure that is
    not a placement, one not started, or a rulebook without the rule."""
    defaults = rulebook.measure_deadlines.get(RuleId.SUPERVISION_VISIT)
    category = rulebook.measures[measure.type].category
    if (
        defaults is None
        or defaults.period is None
        or category is not MeasureCategory.PLACEMENT
        or measure.started_at is None
    ):
        return None
    anchor, anchor_at = Anchor.MEASURE_START, measure.started_at
    if held_at is not None:
        anchor, anchor_at = Anchor.EVENT, held_at
    return _measure_deadline(
        rulebook,
        RuleId.SUPERVISION_VISIT,
        defaults,
        measure,
        anchor,
        anchor_at,
        defaults.period.duration(),
        f"{RuleId.SUPERVISION_VISIT.value}:{measure.key}",
        defaults.source,
        at,
        event=Event.RECORD_SUPERVISION_VISIT.value if held_at is not None else None,
    )


def arm_committee_renewal(
    rulebook: Rulebook, measure: MeasureState, at: datetime, *, renewed_at: datetime | None = None
) -> DeadlineState | None:
    """When the committee must decide again on a placement without consent: the rulebook's
    `first` after the grant, then `then` after each renewal at `renewed_at` (Barnets Lov §50;
    SEL §62 stk. 1–2). None for a measure granted with consent, or a rulebook without the rule."""
    defaults = rulebook.measure_deadlines.get(RuleId.COMMITTEE_RENEWAL)
    category = rulebook.measures[measure.type].category
    if (
        defaults is None
        or defaults.first is None
        or defaults.then is None
        or category is not MeasureCategory.PLACEMENT
        or not measure.without_consent
    ):
        return None
    event, anchor_at, span = Event.GRANT, measure.granted_at, defaults.first
    if renewed_at is not None:
        event, anchor_at, span = Event.RENEW_PLACEMENT_WITHOUT_CONSENT, renewed_at, defaults.then
    return _measure_deadline(
        rulebook,
        RuleId.COMMITTEE_RENEWAL,
        defaults,
        measure,
        Anchor.EVENT,
        anchor_at,
        span.duration(),
        f"{RuleId.COMMITTEE_RENEWAL.value}:{measure.key}",
        defaults.source,
        at,
        event=event.value,
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
    source: str,
    at: datetime,
    *,
    follow_up_number: int | None = None,
    then: Span | None = None,
    package: str | None = None,
    event: str | None = None,
) -> DeadlineState:
    result = due(anchor_at, duration, rulebook.working_calendar())
    explanation = Explanation(
        rule=rule_id.value,
        title=defaults.title,
        source=source,
        anchor=anchor.value,
        anchor_at=anchor_at,
        arithmetic=result.arithmetic,
        event=event,
        measure_key=measure.key,
        measure_title=rulebook.measures[measure.type].title,
        follow_up_number=follow_up_number,
        then_amount=then.amount if then else None,
        then_unit=then.unit.value if then else None,
        package=package,
    )
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
        explanation=explanation,
        armed_at=at,
        changed=True,
    )
