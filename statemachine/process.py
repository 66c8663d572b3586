"""The process itself: the phase graph as data, its guards, and what each event does.

One `transitions.Machine` is shared per rulebook version. A case is never registered with it as a
model: each event calls the machine's `Event.trigger` with a plain per-event object, so models
never pile up in the machine, no per-event binding of trigger methods is paid (`add_model` binds
~40 callables and `remove_model` scans the model list), and no machine is ever attached to an ORM
row (pytransitions' own advice).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from pydantic import ValidationError
from transitions import Machine

from statemachine import payloads
from statemachine.calendar import local_date, shift
from statemachine.case import CaseFile, DeadlineState, MeasureState
from statemachine.consent import missing_consents
from statemachine.deadlines import (
    arm_age_limit,
    arm_case_deadline,
    arm_follow_up,
    arm_package_review,
)
from statemachine.errors import EventRefused, Refusal, RefusalCode
from statemachine.phases import CASE_EVENTS, DeadlineStatus, Event, Notifier, Phase, Role, Source
from statemachine.rulebook import MeasureCategory, Rulebook, RuleId

P = Phase
_OPEN_PHASES = [p.value for p in Phase if p is not Phase.CLOSURE]
# Running measures keep their follow-ups while the plan is revised (issue #3).
_MEASURE_PHASES = [P.ACTION_PLAN, P.DECISION, P.IMPLEMENTATION, P.FOLLOW_UP]
# The open phases after the inquiry and its clarification, and the inquiry's duties that may
# still be fulfilled (late) there.
_LATER_PHASES = [P.INVESTIGATION, *_MEASURE_PHASES]
_LATE_DUTIES = (Event.ASSESS_URGENCY, Event.ACKNOWLEDGE)

# The phase graph (seed 004's eight phases). `dest: None` is an event that keeps the phase.
TRANSITIONS: list[dict[str, Any]] = [
    # A duty of the inquiry fulfilled late is recorded late (met_late), whatever open phase the
    # case has reached: the 24-hour assessment (Barnets Lov §136) and the receipt to a
    # professional notifier. Past the clarification only while the deadline it meets is
    # unresolved (`fulfils_nothing`, checked by `fire` and `allowed_events`).
    {"trigger": "assess_urgency", "source": _OPEN_PHASES, "dest": None},
    {"trigger": "acknowledge", "source": _OPEN_PHASES, "dest": None},
    {"trigger": "accept", "source": P.INQUIRY, "dest": P.CLARIFICATION},
    # Barnets Lov §18 stk. 1: the screening's three outcomes (`accept` is the afdækning's).
    {
        "trigger": "screen",
        "source": P.INQUIRY,
        "dest": P.CLOSURE,
        "conditions": ["is_screened_no_action", "has_reason"],
    },
    {
        "trigger": "screen",
        "source": P.INQUIRY,
        "dest": P.CLARIFICATION,
        "conditions": "is_screened_afdaekning",
    },
    {
        "trigger": "screen",
        "source": P.INQUIRY,
        "dest": P.INVESTIGATION,
        "conditions": "is_screened_investigation",
    },
    # Consent often comes with the plan: recorded in any open phase up to the decision.
    {
        "trigger": "record_consent",
        "source": [P.CLARIFICATION, P.INVESTIGATION, P.ACTION_PLAN, P.DECISION],
        "dest": None,
    },
    {
        "trigger": "decide_without_consent",
        "source": P.CLARIFICATION,
        "dest": None,
        "conditions": "has_competence_without_consent",
    },
    {
        "trigger": "open_investigation",
        "source": P.CLARIFICATION,
        "dest": P.INVESTIGATION,
        "conditions": "has_consent_or_decision",
    },
    {
        "trigger": "propose_preventive",
        "source": P.CLARIFICATION,
        "dest": P.DECISION,
        "conditions": ["has_known_measures", "is_allowed_before_birth", "is_without_investigation"],
    },
    {"trigger": "record_provisional_assessment", "source": P.INVESTIGATION, "dest": None},
    {
        "trigger": "conclude",
        "source": P.INVESTIGATION,
        "dest": P.ACTION_PLAN,
        "conditions": "is_measures_needed",
    },
    {
        "trigger": "conclude",
        "source": P.INVESTIGATION,
        "dest": P.CLOSURE,
        "unless": "is_measures_needed",
    },
    {
        "trigger": "submit_plan",
        "source": P.ACTION_PLAN,
        "dest": P.DECISION,
        "conditions": "has_complete_plan",
    },
    {"trigger": "record_party_hearing", "source": P.DECISION, "dest": None},
    {
        "trigger": "grant",
        "source": P.DECISION,
        "dest": P.IMPLEMENTATION,
        "conditions": [
            "has_known_measures",
            "is_allowed_before_birth",
            "is_investigated_where_needed",
            "has_valid_packages",
            "is_child_in_age_range",
            "has_plan_where_required",
            "has_competence_to_grant",
        ],
    },
    {
        "trigger": "refuse",
        "source": P.DECISION,
        "dest": P.FOLLOW_UP,
        "conditions": ["has_party_hearing", "has_complaint_guidance", "has_active_measures"],
    },
    {
        "trigger": "refuse",
        "source": P.DECISION,
        "dest": P.CLOSURE,
        "conditions": ["has_party_hearing", "has_complaint_guidance"],
    },
    {"trigger": "start_measures", "source": P.IMPLEMENTATION, "dest": P.FOLLOW_UP},
    {
        "trigger": "record_follow_up",
        "source": _MEASURE_PHASES,
        "dest": None,
        "conditions": ["has_started_measure", "is_follow_up_complete"],
    },
    {"trigger": "revise_plan", "source": P.FOLLOW_UP, "dest": P.ACTION_PLAN},
    {
        "trigger": "end_measure",
        "source": P.FOLLOW_UP,
        "dest": P.CLOSURE,
        "conditions": ["has_active_measure", "is_last_active_measure"],
    },
    {
        "trigger": "end_measure",
        "source": _MEASURE_PHASES,
        "dest": None,
        "conditions": "has_active_measure",
    },
    # A case opened before the birth (support to expectant parents) learns the birth date in
    # whatever open phase it has reached; only such a case, and only once (`expects_no_birth`,
    # checked by `fire` and `allowed_events`).
    {
        "trigger": "record_birth",
        "source": _OPEN_PHASES,
        "dest": None,
        "conditions": "is_birth_plausible",
    },
    {"trigger": "close", "source": _OPEN_PHASES, "dest": P.CLOSURE, "conditions": "has_reason"},
]

# Barnets Lov §91: where a supportive measure's plan may follow the decision, the case may go to
# decision without a plan, and the plan is accepted once measures run.
PLAN_AFTER_DECISION: list[dict[str, Any]] = [
    {"trigger": "defer_plan", "source": P.ACTION_PLAN, "dest": P.DECISION},
    {
        "trigger": "submit_plan",
        "source": [P.IMPLEMENTATION, P.FOLLOW_UP],
        "dest": None,
        "conditions": "has_complete_plan",
    },
]


@cache
def _machine(plan_may_follow_decision: bool) -> Machine:
    graph = TRANSITIONS + (PLAN_AFTER_DECISION if plan_may_follow_decision else [])
    return Machine(
        model=None,
        states=[p.value for p in Phase],
        transitions=[_plain(t) for t in graph],
        initial=Phase.INQUIRY.value,
        auto_transitions=False,
        after_state_change="apply_deadline_rules",
    )


def _plain(transition: dict[str, Any]) -> dict[str, Any]:
    """Phases as plain strings (transitions would treat an Enum state by its name) plus the effect."""

    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [str(v) for v in value]
        return None if value is None else str(value)

    return dict(
        transition,
        source=plain(transition["source"]),
        dest=plain(transition["dest"]),
        after="apply_event",
    )


def machine_for(rulebook: Rulebook) -> Machine:
    """The shared machine for a rulebook version.

    Rulebook versions differ in their graph only by the plan-after-decision edges, so one
    machine serves every version with the same graph; guards read the rulebook per event.
    """
    return _machine(rulebook.plan_may_follow_decision)


def allowed_events(rulebook: Rulebook, phase: Phase, case: CaseFile | None = None) -> list[str]:
    """Events the graph has out of `phase`, in the contract's order (guards not evaluated).
    With `case`, without what does not apply to it: the late duties it has nothing left to
    fulfil (`fulfils_nothing`), the birth of a child it does not expect (`expects_no_birth`)."""
    events = _events_out_of(machine_for(rulebook), phase)
    if case is None:
        return list(events)
    return [e for e in events if _inapplicable(rulebook, case, Event(e)) is None]


def _inapplicable(rulebook: Rulebook, case: CaseFile, event: Event) -> Refusal | None:
    """Why `event`, which the graph has out of the case's phase, does not apply to this case;
    None: it does."""
    if fulfils_nothing(rulebook, case, event):
        return Refusal(
            RefusalCode.NOTHING_TO_FULFIL,
            {
                "event": event.value,
                "phase": case.phase.value,
                "rules": _rules_met_by(rulebook, event),
            },
        )
    if expects_no_birth(case, event):
        return Refusal(RefusalCode.NO_EXPECTED_BIRTH, {"birth_date": case.birth_date.isoformat()})
    return None


def expects_no_birth(case: CaseFile, event: Event) -> bool:
    """Whether `event` records the birth of a child the open case does not expect: one opened
    with its birth date, or whose birth is recorded already."""
    return (
        event is Event.RECORD_BIRTH and case.phase is not Phase.CLOSURE and not case.birth_expected
    )


def fulfils_nothing(rulebook: Rulebook, case: CaseFile, event: Event) -> bool:
    """Whether `event` is a duty of the inquiry (the 24-hour assessment, the receipt) that the
    case, past its inquiry, holds no unresolved deadline for: then there is nothing to record."""
    if event not in _LATE_DUTIES or case.phase not in _LATER_PHASES:
        return False
    rules = _rules_met_by(rulebook, event)
    return not any(d.rule in rules and d.measure_key is None for d in case.unresolved_deadlines())


def _rules_met_by(rulebook: Rulebook, event: Event) -> list[str]:
    """The case-level rules `event` meets (the rulebook's `met_by`), by id."""
    return sorted(r.value for r, rule in rulebook.deadlines.items() if event in rule.met_by)


@cache
def _events_out_of(machine: Machine, phase: Phase) -> tuple[str, ...]:
    # The machines are built once and never change: read each phase's triggers once.
    triggers = set(machine.get_triggers(phase.value))
    return tuple(e.value for e in CASE_EVENTS if e.value in triggers)


@dataclass(frozen=True)
class Outcome:
    """What one accepted event did, for persistence and the audit record."""

    event: Event
    from_phase: Phase
    to_phase: Phase
    at: datetime
    payload: dict[str, Any]
    legal_basis: str
    touched_deadlines: list[DeadlineState] = field(default_factory=list)
    touched_measures: list[MeasureState] = field(default_factory=list)


class CaseProcess:
    """The plain object the shared machine drives for one event of one case."""

    state: str

    def __init__(
        self,
        case: CaseFile,
        rulebook: Rulebook,
        event: Event,
        payload: payloads.Payload,
        at: datetime,
        role: Role,
    ) -> None:
        self.case = case
        self.rulebook = rulebook
        self.event = event
        self.payload = payload
        self.at = at
        self.role = role
        self.refusals: list[Refusal] = []
        self.touched_deadlines: dict[str, DeadlineState] = {}
        self.touched_measures: dict[str, MeasureState] = {}
        self.legal_basis: list[str] = []

    def _refuse(self, code: RefusalCode, **params: Any) -> bool:
        refusal = Refusal(code, params)
        if refusal not in self.refusals:
            self.refusals.append(refusal)
        return False

    @property
    def _day(self) -> date:
        return local_date(self.at)

    def _requested(self) -> list[payloads.MeasureRequest]:
        assert isinstance(self.payload, payloads.MeasureList)
        return list(self.payload.measures)

    # --- guards -------------------------------------------------------------------------

    def has_competence_without_consent(self) -> bool:
        plan = self.rulebook.competence
        if plan.holds(self.role, plan.decide_without_consent):
            return True
        return self._refuse(
            RefusalCode.NO_COMPETENCE,
            act="decide_without_consent",
            needed=plan.decide_without_consent.value,
            role=self.role.value,
            source=plan.source,
        )

    def has_consent_or_decision(self) -> bool:
        if self.case.without_consent_decided:
            return True
        rule, case = self.rulebook.consent, self.case
        missing = missing_consents(
            case.consents, case.birth_date, self._day, rule, expected=case.birth_expected
        )
        if not missing:
            return True
        return self._refuse(
            RefusalCode.MISSING_CONSENT,
            parties=[party.value for party in missing],
            child_age=case.child_age(self._day),
            source=rule.source,
        )

    def has_known_measures(self) -> bool:
        unknown = [m.type for m in self._requested() if m.type not in self.rulebook.measures]
        if not unknown:
            return True
        return self._refuse(
            RefusalCode.UNKNOWN_MEASURES,
            measures=unknown,
            rulebook=self.rulebook.key,
            known=sorted(self.rulebook.measures),
        )

    def is_allowed_before_birth(self) -> bool:
        # Seed 000 ("§ 52.4 (gravid)"): before the birth, only the catalogue's measures for
        # expectant parents (`MeasureType.for_expectant_parents`).
        if not self.case.birth_expected:
            return True
        others = [
            m.type
            for m in self._requested()
            if not self.rulebook.measures[m.type].for_expectant_parents
        ]
        if not others:
            return True
        return self._refuse(
            RefusalCode.NOT_FOR_EXPECTED_CHILD,
            measures=others,
            expected=self.case.birth_date.isoformat(),
        )

    def is_without_investigation(self) -> bool:
        needing = [
            m.type for m in self._requested() if self.rulebook.measures[m.type].needs_investigation
        ]
        if not needing:
            return True
        return self._refuse(
            RefusalCode.NEEDS_INVESTIGATION, measures=needing, came_from="clarification"
        )

    def is_investigated_where_needed(self) -> bool:
        # SEL §50 / Barnets Lov §20: a case that reached the decision on a preventive proposal
        # (no investigation) may be granted only measures that need none.
        # Only propose_preventive reaches a decision without a concluded investigation.
        if self.case.investigated_at is not None:
            return True
        needing = [
            m.type for m in self._requested() if self.rulebook.measures[m.type].needs_investigation
        ]
        if not needing:
            return True
        return self._refuse(
            RefusalCode.NEEDS_INVESTIGATION, measures=needing, came_from="propose_preventive"
        )

    def is_measures_needed(self) -> bool:
        assert isinstance(self.payload, payloads.Conclude)
        return self.payload.measures_needed

    def has_complete_plan(self) -> bool:
        # SEL §140 stk. 5–6 / Barnets Lov §91: purpose, goals and the expected duration.
        assert isinstance(self.payload, payloads.SubmitPlan)
        plan = self.payload
        missing = []
        if not (plan.purpose and plan.purpose.strip()):
            missing.append("purpose")
        if not plan.goals:
            missing.append("goals")
        if plan.expected_duration_months is None:
            missing.append("expected_duration_months")
        if not missing:
            return True
        return self._refuse(RefusalCode.INCOMPLETE_PLAN, missing=missing)

    def has_valid_packages(self) -> bool:
        for request in self._requested():
            packages = self.rulebook.measures[request.type].packages
            if packages and request.package not in packages:
                return self._refuse(
                    RefusalCode.PACKAGE_REQUIRED,
                    measure=request.type,
                    packages=list(packages),
                    given=request.package,
                )
            if not packages and request.package is not None:
                return self._refuse(
                    RefusalCode.NO_PACKAGES, measure=request.type, given=request.package
                )
        return True

    def is_child_in_age_range(self) -> bool:
        child_age = self.case.child_age(self._day)
        for request in self._requested():
            ages = self.rulebook.measures[request.type].ages
            if not ages.min <= child_age <= ages.max:
                return self._refuse(
                    RefusalCode.AGE_OUT_OF_RANGE,
                    measure=request.type,
                    min=ages.min,
                    max=ages.max,
                    age=child_age,
                    day=self._day.isoformat(),
                    source=ages.source,
                )
        return True

    def has_plan_where_required(self) -> bool:
        if self.case.action_plan is not None:
            return True
        needing = [
            r.type
            for r in self._requested()
            if self.rulebook.measures[r.type].action_plan == "before_decision"
        ]
        if not needing:
            return True
        return self._refuse(
            RefusalCode.PLAN_BEFORE_DECISION,
            measures=needing,
            rulebook=self.rulebook.key,
            law=self.rulebook.law,
        )

    def has_competence_to_grant(self) -> bool:
        plan = self.rulebook.competence
        for request in self._requested():
            measure_type = self.rulebook.measures[request.type]
            needed = [(measure_type.competence, "grant")]
            if request.external:
                needed.append((plan.external_purchase, "external_purchase"))
            if request.without_consent:
                if measure_type.category is not MeasureCategory.PLACEMENT:
                    return self._refuse(RefusalCode.NOT_A_PLACEMENT, measure=request.type)
                needed.append((plan.placement_without_consent, "placement_without_consent"))
            for role, act in needed:
                if not plan.holds(self.role, role):
                    return self._refuse(
                        RefusalCode.NO_COMPETENCE,
                        act=act,
                        measure=request.type,
                        needed=role.value,
                        role=self.role.value,
                        source=plan.source,
                    )
        return True

    def has_party_hearing(self) -> bool:
        if self.case.party_hearing_at is not None:
            return True
        return self._refuse(RefusalCode.PARTY_HEARING_MISSING)

    def has_complaint_guidance(self) -> bool:
        assert isinstance(self.payload, payloads.Refuse)
        if self.payload.complaint_guidance:
            return True
        return self._refuse(RefusalCode.COMPLAINT_GUIDANCE_MISSING)

    def has_active_measures(self) -> bool:
        return bool(self.case.active_measures())

    def _measure_id(self) -> str:
        assert isinstance(self.payload, payloads.RecordFollowUp | payloads.EndMeasure)
        return self.payload.measure_id

    def has_active_measure(self) -> bool:
        measure = self.case.measure(self._measure_id())
        if measure is not None and measure.active:
            return True
        return self._refuse(
            RefusalCode.NO_ACTIVE_MEASURE,
            measure_id=self._measure_id(),
            active=[m.key for m in self.case.active_measures()],
        )

    def has_started_measure(self) -> bool:
        if not self.has_active_measure():
            return False
        measure = self.case.measure(self._measure_id())
        if measure is not None and measure.started_at is not None:
            return True
        return self._refuse(RefusalCode.MEASURE_NOT_STARTED, measure_id=self._measure_id())

    def is_last_active_measure(self) -> bool:
        return [m.key for m in self.case.active_measures()] == [self._measure_id()]

    def is_follow_up_complete(self) -> bool:
        # Seed 000: a follow-up meets the law only when the caseworker has talked with the
        # provider and the parents and has taken a position on revising the action plan.
        assert isinstance(self.payload, payloads.RecordFollowUp)
        p = self.payload
        missing = []
        if not p.spoke_with_provider:
            missing.append("provider")
        if not p.spoke_with_parents:
            missing.append("parents")
        if not p.plan_revision_decided:
            missing.append("plan_position")
        if not missing:
            return True
        defaults = self.rulebook.measure_deadlines.get(RuleId.FOLLOW_UP)
        return self._refuse(
            RefusalCode.INCOMPLETE_FOLLOW_UP,
            missing=missing,
            source=defaults.source if defaults else self.rulebook.law,
        )

    def is_birth_plausible(self) -> bool:
        # A birth cannot be recorded before it happened, nor before the municipality became
        # aware of the expected child (the case was opened for a child not yet born).
        assert isinstance(self.payload, payloads.RecordBirth)
        born = self.payload.birth_date
        if born > self._day:
            return self._refuse(
                RefusalCode.BIRTH_IN_FUTURE, birth_date=born.isoformat(), day=self._day.isoformat()
            )
        aware = local_date(self.case.aware_at)
        if born < aware:
            return self._refuse(
                RefusalCode.BIRTH_BEFORE_AWARENESS,
                birth_date=born.isoformat(),
                aware=aware.isoformat(),
            )
        return True

    def has_reason(self) -> bool:
        assert isinstance(self.payload, payloads.Close | payloads.Screen)
        if self.payload.reason and self.payload.reason.strip():
            return True
        return self._refuse(RefusalCode.REASON_MISSING)

    def _screened(self, outcome: str) -> bool:
        assert isinstance(self.payload, payloads.Screen)
        return self.payload.outcome == outcome

    def is_screened_no_action(self) -> bool:
        return self._screened("no_action")

    def is_screened_afdaekning(self) -> bool:
        return self._screened("afdaekning")

    def is_screened_investigation(self) -> bool:
        return self._screened("investigation")

    # --- effects ------------------------------------------------------------------------

    def apply_event(self) -> None:
        handler = getattr(self, f"_on_{self.event.value}", None)
        if handler is not None:
            handler()

    def _on_assess_urgency(self) -> None:
        assert isinstance(self.payload, payloads.AssessUrgency)
        self.case.acute = self.payload.acute

    def _on_record_consent(self) -> None:
        assert isinstance(self.payload, payloads.RecordConsent)
        self.case.consents.add(self.payload.by)

    def _on_decide_without_consent(self) -> None:
        self.case.without_consent_decided = True

    def _on_record_provisional_assessment(self) -> None:
        self.case.provisional_assessment_at = self.at

    def _on_propose_preventive(self) -> None:
        self.case.proposed_measures = [m.model_dump() for m in self._requested()]

    def _on_conclude(self) -> None:
        self.case.investigated_at = self.at

    def _on_revise_plan(self) -> None:
        # The plan under revision no longer counts as "a plan before the decision" (SEL §140):
        # the next decision needs the revised one.
        self.case.action_plan = None

    def _on_submit_plan(self) -> None:
        assert isinstance(self.payload, payloads.SubmitPlan)
        self.case.action_plan = self.payload.model_dump(mode="json") | {"at": self.at.isoformat()}

    def _on_record_party_hearing(self) -> None:
        self.case.party_hearing_at = self.at

    def _on_grant(self) -> None:
        case = self.case
        for request in self._requested():
            measure = MeasureState(
                key=f"m{len(case.measures) + 1}",
                type=request.type,
                package=request.package,
                granted_at=self.at,
                external=request.external,
                without_consent=request.without_consent,
                changed=True,
            )
            case.measures.append(measure)
            self.touched_measures[measure.key] = measure
            self.legal_basis.append(self.rulebook.measures[request.type].legal_basis)
        case.proposed_measures = []
        case.party_hearing_at = None

    def _on_refuse(self) -> None:
        self.case.proposed_measures = []
        self.case.party_hearing_at = None

    def _on_start_measures(self) -> None:
        for measure in self.case.measures:
            if measure.active and measure.started_at is None:
                measure.started_at = self.at
                measure.changed = True
                self.touched_measures[measure.key] = measure
                self._arm(arm_follow_up(self.rulebook, measure, self.at))
                self._arm(arm_package_review(self.rulebook, measure, self.at))
                self._arm(arm_age_limit(self.rulebook, self.case, measure, self.at))

    def _on_record_follow_up(self) -> None:
        assert isinstance(self.payload, payloads.RecordFollowUp)
        measure = self.case.measure(self.payload.measure_id)
        assert measure is not None
        self._meet_measure_rules(measure)
        if self.payload.package_reviewed:
            self._meet(lambda d: d.rule == RuleId.PACKAGE_REVIEW and d.measure_key == measure.key)
        measure.last_follow_up_at = self.at
        measure.follow_ups_held += 1
        measure.changed = True
        self.touched_measures[measure.key] = measure
        self._arm(arm_follow_up(self.rulebook, measure, self.at))

    def _on_end_measure(self) -> None:
        assert isinstance(self.payload, payloads.EndMeasure)
        measure = self.case.measure(self.payload.measure_id)
        assert measure is not None
        self._end(measure, self.payload.reason, self.payload.goals_met)

    def _on_record_birth(self) -> None:
        assert isinstance(self.payload, payloads.RecordBirth)
        case = self.case
        case.birth_date = self.payload.birth_date
        case.birth_expected = False
        # An age limit counted from the expected date is counted again from the birth.
        for deadline in case.unresolved_deadlines():
            if deadline.rule != RuleId.AGE_LIMIT or deadline.measure_key is None:
                continue
            measure = case.measure(deadline.measure_key)
            fresh = (
                None if measure is None else arm_age_limit(self.rulebook, case, measure, self.at)
            )
            if fresh is None:
                continue
            deadline.anchor_at, deadline.due_at = fresh.anchor_at, fresh.due_at
            deadline.explanation, deadline.source = fresh.explanation, fresh.source
            if deadline.status is DeadlineStatus.BREACHED and fresh.due_at > self.at:
                deadline.status = DeadlineStatus.OPEN
            deadline.changed = True
            self.touched_deadlines[deadline.key] = deadline

    def _on_close(self) -> None:
        assert isinstance(self.payload, payloads.Close)
        self.case.close_reason = self.payload.reason

    def _on_screen(self) -> None:
        assert isinstance(self.payload, payloads.Screen)
        if self.payload.outcome == "no_action":
            self.case.close_reason = self.payload.reason

    def _end(self, measure: MeasureState, reason: str, goals_met: bool | None) -> None:
        measure.ended_at = self.at
        measure.end_reason = reason
        measure.goals_met = goals_met
        measure.changed = True
        self.touched_measures[measure.key] = measure
        # What the rulebook says ending a measure meets (seed 000: the package review) is met;
        # the measure's other deadlines are moot. A breached one keeps its breach time in storage.
        self._meet_measure_rules(measure, Event.END_MEASURE)
        for deadline in self.case.unresolved_deadlines():
            if deadline.measure_key == measure.key:
                self._close_deadline(deadline, DeadlineStatus.CANCELLED)

    def _meet_measure_rules(self, measure: MeasureState, event: Event | None = None) -> None:
        """Meet the measure's deadlines whose rule lists `event` (default: this one) in `met_by`.

        A measure ended by closing the case has ended all the same: that counts as end_measure.
        """
        for rule_id, rule in self.rulebook.measure_deadlines.items():
            if (event or self.event) in rule.met_by:
                self._meet(lambda d, r=rule_id: d.rule == r and d.measure_key == measure.key)

    # --- deadlines ----------------------------------------------------------------------

    def apply_deadline_rules(self) -> None:
        """Meet and arm case-level deadlines as the rulebook says, then handle phase entry."""
        case, event = self.case, self.event
        for rule_id, rule in self.rulebook.deadlines.items():
            if event in rule.met_by:
                self._meet(lambda d, r=rule_id: d.rule == r and d.measure_key is None)
            elif event in rule.cancelled_by:
                for deadline in case.unresolved_deadlines():
                    if deadline.rule == rule_id and deadline.measure_key is None:
                        self._close_deadline(deadline, DeadlineStatus.CANCELLED)
        for rule_id, rule in self.rulebook.deadlines.items():
            if event in rule.armed_on and self._applies(rule_id):
                self._arm(
                    arm_case_deadline(self.rulebook, rule_id, rule, case, event.value, self.at)
                )
        new_phase = Phase(self.state)
        if new_phase is not case.phase:
            case.phase = new_phase
            case.phase_entered_at = self.at
        if new_phase is Phase.CLOSURE:
            self._on_closure()

    def _on_closure(self) -> None:
        reason = self.case.close_reason or f"case closed by {self.event.value}"
        for measure in self.case.active_measures():
            self._end(measure, reason, None)
        for deadline in self.case.unresolved_deadlines():
            self._close_deadline(deadline, DeadlineStatus.CANCELLED)

    def _applies(self, rule_id: RuleId) -> bool:
        when = self.rulebook.deadlines[rule_id].when
        case = self.case
        if when.source is not None and case.source not in when.source:
            return False
        if when.notifier is not None and case.notifier not in when.notifier:
            return False
        if when.entering is not None:
            new_phase = Phase(self.state)
            if new_phase is case.phase or new_phase not in when.entering:
                return False
        if when.without_action_plan is not None:
            # Barnets Lov §91: the plan deadline runs only for a granted measure that needs a plan.
            needs_plan = any(
                self.rulebook.measures[m.type].action_plan != "none"
                for m in self.touched_measures.values()
            )
            return needs_plan and (case.action_plan is None) == when.without_action_plan
        return True

    def _arm(self, deadline: DeadlineState | None) -> None:
        if deadline is None:
            return
        earlier = [
            d
            for d in self.case.deadlines
            if d.key == deadline.key or d.key.startswith(f"{deadline.key}#")
        ]
        if any(d.unresolved for d in earlier):
            return  # already running: arming it again would move a legal clock
        if earlier:
            deadline.key = f"{deadline.key}#{len(earlier) + 1}"
        self.case.deadlines.append(deadline)
        self.touched_deadlines[deadline.key] = deadline

    def _meet(self, matches: Any) -> None:
        for deadline in self.case.unresolved_deadlines():
            if matches(deadline):
                late = self.at > deadline.due_at or deadline.status is DeadlineStatus.BREACHED
                self._close_deadline(
                    deadline, DeadlineStatus.MET_LATE if late else DeadlineStatus.MET
                )

    def _close_deadline(self, deadline: DeadlineState, status: DeadlineStatus) -> None:
        deadline.close(status, self.at, self.event.value)
        self.touched_deadlines[deadline.key] = deadline


def parse_payload(event: Event, data: Mapping[str, Any] | None) -> payloads.Payload:
    """Validate an event's data; raises pydantic's ValidationError for the edges to report."""
    return payloads.PAYLOADS[event].model_validate(dict(data or {}))


def fire(
    case: CaseFile,
    rulebook: Rulebook,
    event_name: str,
    data: Mapping[str, Any] | None,
    *,
    at: datetime,
    now: datetime,
    role: Role,
) -> Outcome:
    """Apply one event to `case` in place, or raise EventRefused and leave it untouched.

    The caller owns the unit of work: on EventRefused it must write nothing.
    """
    phase = case.phase
    allowed = allowed_events(rulebook, phase, case)

    def refuse(code: RefusalCode, **params: Any) -> EventRefused:
        return EventRefused(event_name, phase, Refusal(code, params), allowed)

    try:
        event = Event(event_name)
    except ValueError:
        raise refuse(RefusalCode.UNKNOWN_EVENT, event=event_name) from None
    if event not in CASE_EVENTS:
        raise refuse(RefusalCode.NOT_A_CASE_EVENT, event=event.value)
    if at.tzinfo is None:
        raise refuse(RefusalCode.TIME_WITHOUT_OFFSET, field="at")
    at = at.astimezone(UTC)  # UTC between layers (STYLE.md); the audit hashes this instant
    if at > now:
        raise refuse(RefusalCode.TIME_IN_FUTURE, field="at", at=at.isoformat())
    if at < case.last_event_at:
        raise refuse(
            RefusalCode.TIME_BEFORE_LAST_EVENT,
            at=at.isoformat(),
            last=case.last_event_at.isoformat(),
        )
    if not rulebook.competence.may_fire(role, event):
        raise refuse(RefusalCode.ROLE_MAY_NOT_RECORD, role=role.value, event=event.value)
    if event.value not in allowed:
        inapplicable = _inapplicable(rulebook, case, event)
        if inapplicable is not None:
            raise EventRefused(event_name, phase, inapplicable, allowed)
        raise refuse(RefusalCode.NOT_POSSIBLE_IN_PHASE, event=event.value, phase=phase.value)
    try:
        payload = parse_payload(event, data)
    except ValidationError as error:
        raise refuse(RefusalCode.INVALID_DATA, problems=_problems(error)) from None

    # Guards only read; effects run only once every guard has passed, so a refusal leaves
    # `case` exactly as it was.
    process = CaseProcess(case, rulebook, event, payload, at, role)
    process.state = phase.value
    # The shared machine drives `process` for this one event without registering it as a model
    # (see the module docstring): the event resolves guards and effects on `process` by name.
    accepted = machine_for(rulebook).events[event.value].trigger(process)
    if not accepted:
        raise EventRefused(
            event, phase, process.refusals or [Refusal(RefusalCode.GUARD_REFUSED)], allowed
        )

    case.last_event_at = at
    return Outcome(
        event=event,
        from_phase=phase,
        to_phase=case.phase,
        at=at,
        payload=payload.model_dump(mode="json", exclude_defaults=False),
        legal_basis=_legal_basis(rulebook, event, process.legal_basis),
        touched_deadlines=list(process.touched_deadlines.values()),
        touched_measures=list(process.touched_measures.values()),
    )


@dataclass(frozen=True)
class EventOption:
    """One event of the case's phase as a given role sees it now (the dashboard's buttons).

    `possible`: the graph and the rulebook's competence plan allow it, and no guard refuses it
    with what is known now. `needs_data`: the event carries data (a form), so its guards also
    judge what is entered. `reason`: for an impossible event, why (the guard's refusal); for a
    possible event with data, what a guard says about it with no data (a hint for the form).
    """

    event: str
    possible: bool
    needs_data: bool
    reason: Refusal | None = None


def event_options(
    case: CaseFile, rulebook: Rulebook, role: Role, *, at: datetime
) -> list[EventOption]:
    """Every event out of the case's phase for `role` at `at`, each tried on a copy of the case.

    Pure: `case` is never touched, nothing is recorded.
    """
    at = max(at, case.last_event_at)
    options = []
    for name in allowed_events(rulebook, case.phase, case):
        event = Event(name)
        needs_data = bool(payloads.PAYLOADS[event].model_fields)
        if not rulebook.competence.may_fire(role, event):
            reason = Refusal(
                RefusalCode.ROLE_MAY_NOT_RECORD,
                {"role": role.value, "event": name, "source": rulebook.competence.source},
            )
            options.append(EventOption(name, False, needs_data, reason))
            continue
        try:
            fire(copy.deepcopy(case), rulebook, name, None, at=at, now=at, role=role)
        except EventRefused as refused:
            first = refused.refusals[0]
            if needs_data:
                hint = None if first.code is RefusalCode.INVALID_DATA else first
                options.append(EventOption(name, True, True, hint))
            else:
                options.append(EventOption(name, False, False, first))
            continue
        options.append(EventOption(name, True, needs_data))
    return options


def _problems(error: ValidationError) -> list[dict[str, Any]]:
    """Each invalid field: where, pydantic's error type and message, and the type's context
    (what the presentation needs to say it in Danish)."""
    found = []
    for problem in error.errors():
        context = {
            k: v if isinstance(v, int | float | str) else str(v)
            for k, v in problem.get("ctx", {}).items()
        }
        found.append(
            {
                "field": ".".join(str(p) for p in problem["loc"]) or "data",
                "type": problem["type"],
                "message": problem["msg"],
                "ctx": context,
            }
        )
    return found


def _legal_basis(rulebook: Rulebook, event: Event, measures: list[str]) -> str:
    """The legal basis the rulebook gives for this event, plus that of each measure granted."""
    sources = [rulebook.legal_basis.get(event, rulebook.key), *measures]
    return "; ".join(dict.fromkeys(sources))


_CPR_LIKE = re.compile(r"^\s*\d{6}-?\d{4}\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def open_case(
    *,
    municipality: str,
    rulebook: Rulebook,
    child_ref: str,
    birth_date: date,
    aware_at: datetime,
    source: Source,
    notifier: Notifier | None,
    now: datetime,
    birth_expected: bool = False,
) -> tuple[CaseFile, Outcome]:
    """A new case in `inquiry`, with the deadlines its rulebook arms on opening.

    The case is pinned to `rulebook`, which the caller chose as the version in force on the
    awareness date. With `birth_expected`, the child is not yet born and `birth_date` is the
    expected date (support to expectant parents). Raises EventRefused for facts that cannot be
    true.
    """
    phase, allowed = Phase.INQUIRY, [Event.OPEN_CASE.value]

    def refuse(code: RefusalCode, **params: Any) -> EventRefused:
        return EventRefused(Event.OPEN_CASE, phase, Refusal(code, params), allowed)

    # Privacy: a case holds a pseudonymous reference, never a CPR number.
    if not child_ref.strip() or _CPR_LIKE.match(child_ref) or _CONTROL.search(child_ref):
        raise refuse(RefusalCode.CHILD_REF_NOT_PSEUDONYMOUS)
    if aware_at.tzinfo is None:
        raise refuse(RefusalCode.TIME_WITHOUT_OFFSET, field="aware_at")
    aware_at = aware_at.astimezone(UTC)
    if aware_at > now:
        raise refuse(RefusalCode.TIME_IN_FUTURE, field="aware_at", at=aware_at.isoformat())
    if birth_expected:
        _check_expected_birth(rulebook, birth_date, aware_at, refuse)
    elif birth_date > local_date(aware_at):
        raise refuse(RefusalCode.BIRTH_AFTER_AWARENESS)
    if notifier is not None and source is not Source.NOTIFICATION:
        raise refuse(RefusalCode.NOTIFIER_ONLY_FOR_NOTIFICATION)
    case = CaseFile(
        id=0,
        municipality=municipality,
        rulebook_id=rulebook.id,
        rulebook_version=rulebook.version,
        child_ref=child_ref.strip(),
        birth_date=birth_date,
        birth_expected=birth_expected,
        aware_at=aware_at,
        source=source,
        notifier=notifier,
        phase=phase,
        phase_entered_at=aware_at,
        last_event_at=aware_at,
    )
    process = CaseProcess(
        case, rulebook, Event.OPEN_CASE, payloads.Empty(), aware_at, Role.CASEWORKER
    )
    process.state = phase.value
    process.apply_deadline_rules()
    birth = "expected_birth_date" if birth_expected else "birth_date"
    facts = {
        "municipality": municipality,
        "rulebook": rulebook.key,
        birth: birth_date.isoformat(),
        "aware_at": aware_at.isoformat(),
        "source": source.value,
        "notifier": notifier.value if notifier else None,
    }
    outcome = Outcome(
        event=Event.OPEN_CASE,
        from_phase=phase,
        to_phase=phase,
        at=aware_at,
        payload=facts,
        legal_basis=_legal_basis(rulebook, Event.OPEN_CASE, []),
        touched_deadlines=list(process.touched_deadlines.values()),
    )
    return case, outcome


def _check_expected_birth(
    rulebook: Rulebook,
    expected: date,
    aware_at: datetime,
    refuse: Callable[..., EventRefused],
) -> None:
    """An expected birth date on or after the awareness date and within the rulebook's
    `expected_birth.within` of it (a pregnancy the municipality knows of); raises otherwise."""
    rule = rulebook.expected_birth
    if rule is None:
        raise refuse(RefusalCode.EXPECTED_BIRTH_UNSUPPORTED, rulebook=rulebook.key)
    aware = local_date(aware_at)
    if expected < aware:
        raise refuse(
            RefusalCode.EXPECTED_BIRTH_BEFORE_AWARENESS,
            expected=expected.isoformat(),
            aware=aware.isoformat(),
        )
    latest = local_date(shift(aware_at, rule.within.duration()))
    if expected > latest:
        raise refuse(
            RefusalCode.EXPECTED_BIRTH_TOO_FAR,
            expected=expected.isoformat(),
            latest=latest.isoformat(),
            amount=rule.within.amount,
            unit=rule.within.unit.value,
            source=rule.source,
        )
