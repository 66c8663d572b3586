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
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

from pydantic import ValidationError
from transitions import Machine

from statemachine import payloads
from statemachine.calendar import Duration, Unit, due, local_date, shift
from statemachine.case import (
    CaseFile,
    ChildConversation,
    Complaint,
    ComplaintStatus,
    DeadlineState,
    Decision,
    MeasureState,
    ReceivedNotification,
)
from statemachine.consent import missing_consents, missing_for_measure
from statemachine.conversation import heard_for_decision
from statemachine.deadlines import (
    arm_age_limit,
    arm_case_deadline,
    arm_committee_renewal,
    arm_follow_up,
    arm_item_deadline,
    arm_package_review,
    arm_supervision_visit,
    arm_young_person_support,
    follow_up_explanation,
    own_cadence,
)
from statemachine.errors import EventRefused, Refusal, RefusalCode
from statemachine.phases import CASE_EVENTS, DeadlineStatus, Event, Notifier, Phase, Role, Source
from statemachine.rulebook import (
    PER_ITEM_RULES,
    Anchor,
    ChildConversationRule,
    MeasureCategory,
    Rulebook,
    RuleId,
)

P = Phase
_OPEN_PHASES = [p.value for p in Phase if p is not Phase.CLOSURE]
# Running measures keep their follow-ups while the plan is revised (issue #3).
_MEASURE_PHASES = [P.ACTION_PLAN, P.DECISION, P.IMPLEMENTATION, P.FOLLOW_UP]
# The open phases after the inquiry and its clarification.
_LATER_PHASES = [P.INVESTIGATION, *_MEASURE_PHASES]
# Where a decision may have been taken (a grant during the investigation, Barnets Lov §32
# stk. 4): complaints are recorded and handled beside the phases there.
_AFTER_DECISION = _LATER_PHASES
# Events whose only purpose is to meet a case-level deadline, and the phases where they are
# offered only while that deadline is unresolved (`fulfils_nothing`): the inquiry's duties
# fulfilled late past the clarification, and the applicant told of a delay (retssikkerhedsloven
# §3 stk. 2) while the decision is pending.
_DUTY_EVENTS: dict[Event, tuple[Phase, ...]] = {
    Event.ASSESS_URGENCY: tuple(_LATER_PHASES),
    Event.ACKNOWLEDGE: tuple(_LATER_PHASES),
    # Barnets Lov §137 stk. 1: only while a further notification awaits its reassessment.
    Event.REASSESS_NOTIFICATION: tuple(p for p in Phase if p is not Phase.CLOSURE),
    # Retssikkerhedsloven §67 stk. 1: only while a refused case waits out the period.
    Event.END_COMPLAINT_PERIOD: (Phase.FOLLOW_UP,),
    Event.NOTIFY_APPLICANT_OF_DELAY: tuple(p for p in Phase if p is not Phase.CLOSURE),
    # Barnets Lov §111 stk. 1: the young person's support, while a placement's duty awaits it.
    Event.DECIDE_YOUNG_PERSON_SUPPORT: tuple(_MEASURE_PHASES),
}
# The payload fields of a follow-up as the refusal names them (`FollowUpContent.required`).
_FOLLOW_UP_PARTS = {
    "spoke_with_provider": "provider",
    "spoke_with_parents": "parents",
    "plan_revision_decided": "plan_position",
}

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
        "conditions": ["is_screened_investigation", "may_open_investigation"],
    },
    # Consent often comes with the plan: recorded in any open phase up to the decision.
    {
        "trigger": "record_consent",
        "source": [P.INQUIRY, P.CLARIFICATION, P.INVESTIGATION, P.ACTION_PLAN, P.DECISION],
        "dest": None,
    },
    # Barnets Lov §23 (§142): the committee's compulsory examination without consent, decided
    # before or during the investigation; `decide_without_consent` is its older name.
    {
        "trigger": "decide_compulsory_examination",
        "source": [P.CLARIFICATION, P.INVESTIGATION],
        "dest": None,
        "conditions": ["has_competence_without_consent", "has_child_conversation"],
    },
    {
        "trigger": "decide_without_consent",
        "source": [P.CLARIFICATION, P.INVESTIGATION],
        "dest": None,
        "conditions": ["has_competence_without_consent", "has_child_conversation"],
    },
    # Barnets Lov §20: the investigation is the municipality's duty; consent is no condition
    # (§22 stk. 2: "so far as possible" in cooperation). Who may open one while consents are
    # missing is the competence plan's `open_investigation_without_consent`.
    {
        "trigger": "open_investigation",
        "source": P.CLARIFICATION,
        "dest": P.INVESTIGATION,
        "conditions": "may_open_investigation",
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
    # Retssikkerhedsloven §3 stk. 2: offered while the applicant's decision is pending
    # (`_DUTY_EVENTS`).
    {
        "trigger": "notify_applicant_of_delay",
        "source": _OPEN_PHASES,
        "dest": None,
        "conditions": "is_expected_by_ahead",
    },
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
            "has_consent_where_required",
            "has_competence_to_grant",
            "has_complaint_guidance",
            "has_child_conversation",
        ],
    },
    {
        "trigger": "refuse",
        "source": P.DECISION,
        "dest": P.FOLLOW_UP,
        "conditions": [
            "has_party_hearing",
            "has_complaint_guidance",
            "has_active_measures",
            "has_child_conversation",
        ],
    },
    # Retssikkerhedsloven §67 stk. 1: while a complaint can still come, a refusal leaves the
    # case open (in follow-up, with nothing running); the sweep ends the period
    # (`end_complaint_period`) and closes it.
    {
        "trigger": "refuse",
        "source": P.DECISION,
        "dest": P.FOLLOW_UP,
        "conditions": [
            "has_party_hearing",
            "has_complaint_guidance",
            "keeps_refused_case_open",
            "has_child_conversation",
        ],
    },
    {
        "trigger": "refuse",
        "source": P.DECISION,
        "dest": P.CLOSURE,
        "conditions": ["has_party_hearing", "has_complaint_guidance", "has_child_conversation"],
    },
    # Complaints beside the phases (retssikkerhedsloven §§ 66–67): offered only where the case
    # has a decision to complain of, or a complaint awaiting the act (`_inapplicable`).
    {
        "trigger": "record_complaint",
        "source": _AFTER_DECISION,
        "dest": None,
        "conditions": ["is_complained_decision", "is_received_plausible"],
    },
    {
        "trigger": "reassess",
        "source": _AFTER_DECISION,
        "dest": P.DECISION,
        "conditions": ["is_awaiting_reassessment", "is_changed_on_reassessment"],
    },
    {
        "trigger": "reassess",
        "source": _AFTER_DECISION,
        "dest": None,
        "conditions": "is_awaiting_reassessment",
    },
    {
        "trigger": "forward_complaint",
        "source": _AFTER_DECISION,
        "dest": None,
        "conditions": "is_awaiting_forwarding",
    },
    {
        "trigger": "record_appeal_decision",
        "source": _AFTER_DECISION,
        "dest": P.DECISION,
        "conditions": ["is_forwarded", "is_sent_back_on_appeal"],
    },
    {
        "trigger": "record_appeal_decision",
        "source": _AFTER_DECISION,
        "dest": P.CLOSURE,
        "conditions": ["is_forwarded", "is_upheld_on_appeal", "rests_after_complaint"],
    },
    {
        "trigger": "record_appeal_decision",
        "source": _AFTER_DECISION,
        "dest": None,
        "conditions": "is_forwarded",
    },
    {
        "trigger": "end_complaint_period",
        "source": P.FOLLOW_UP,
        "dest": P.CLOSURE,
        "conditions": ["is_complaint_period_over", "has_nothing_running"],
    },
    # Barnets Lov §136, §137 stk. 1: a further notification on the open case, and the
    # reassessment of a case with measures by a person not involved in it before.
    {
        "trigger": "receive_notification",
        "source": _OPEN_PHASES,
        "dest": None,
        "conditions": "is_notification_plausible",
    },
    {
        "trigger": "reassess_notification",
        "source": _OPEN_PHASES,
        "dest": None,
        "conditions": "is_uninvolved",
    },
    {"trigger": "start_measures", "source": P.IMPLEMENTATION, "dest": P.FOLLOW_UP},
    {
        "trigger": "record_follow_up",
        "source": _MEASURE_PHASES,
        "dest": None,
        "conditions": [
            "has_started_measure",
            "is_follow_up_complete",
            "has_next_follow_up_where_required",
        ],
    },
    {
        "trigger": "revise_plan",
        "source": P.FOLLOW_UP,
        "dest": P.ACTION_PLAN,
        "conditions": "has_child_conversation",
    },
    {
        "trigger": "end_measure",
        "source": P.FOLLOW_UP,
        "dest": P.CLOSURE,
        "conditions": ["has_active_measure", "is_last_active_measure", "has_child_conversation"],
    },
    {
        "trigger": "end_measure",
        "source": _MEASURE_PHASES,
        "dest": None,
        "conditions": ["has_active_measure", "has_child_conversation"],
    },
    # Barnets Lov §5 stk. 3–4: the child's conversation, or the exception from it, is recorded
    # in whatever open phase the case has reached; the decisions it precedes are guarded.
    {"trigger": "record_child_conversation", "source": _OPEN_PHASES, "dest": None},
    {
        "trigger": "record_child_conversation_exception",
        "source": _OPEN_PHASES,
        "dest": None,
        "conditions": "has_reason",
    },
    # Barnets Lov §156 stk. 5: supervision visits at the placement while it runs; offered only
    # while a placement runs (`has_no_running_placement`, checked by `fire` and `allowed_events`).
    {
        "trigger": "record_supervision_visit",
        "source": _MEASURE_PHASES,
        "dest": None,
        "conditions": ["has_started_measure", "is_placement", "has_visit_child_conversation"],
    },
    # Barnets Lov §50, §142 stk. 1: the committee decides again on a placement without consent;
    # offered only while one is active.
    {
        "trigger": "renew_placement_without_consent",
        "source": _MEASURE_PHASES,
        "dest": None,
        "conditions": [
            "has_active_measure",
            "is_placed_without_consent",
            "has_competence_to_renew",
            "has_child_conversation",
        ],
    },
    # A case opened before the birth (support to expectant parents) learns the birth date in
    # whatever open phase it has reached; only such a case, and only once (`expects_no_birth`,
    # checked by `fire` and `allowed_events`).
    # Barnets Lov §111 stk. 1: the decision on the young person's support after 18, while a
    # placement runs and the duty is unresolved (`expects_no_young_person_decision`).
    {
        "trigger": "decide_young_person_support",
        "source": _MEASURE_PHASES,
        "dest": None,
        "conditions": "has_known_young_person_measures",
    },
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


# Barnets Lov §32 stk. 4: a supportive measure may be decided and started while the
# investigation runs; the case stays in investigation, and the measure is followed up there.
MEASURES_DURING_INVESTIGATION: list[dict[str, Any]] = [
    {
        "trigger": "grant",
        "source": P.INVESTIGATION,
        "dest": None,
        "conditions": [
            "has_known_measures",
            "is_allowed_before_birth",
            "may_start_during_investigation",
            "has_valid_packages",
            "is_child_in_age_range",
            "has_consent_where_required",
            "has_competence_to_grant",
            "has_complaint_guidance",
            "has_child_conversation",
        ],
    },
    {
        "trigger": "start_measures",
        "source": P.INVESTIGATION,
        "dest": None,
        "conditions": "has_measures_to_start",
    },
    {
        "trigger": "record_follow_up",
        "source": P.INVESTIGATION,
        "dest": None,
        "conditions": [
            "has_started_measure",
            "is_follow_up_complete",
            "has_next_follow_up_where_required",
        ],
    },
    {
        "trigger": "end_measure",
        "source": P.INVESTIGATION,
        "dest": None,
        "conditions": ["has_active_measure", "has_child_conversation"],
    },
    {
        "trigger": "record_supervision_visit",
        "source": P.INVESTIGATION,
        "dest": None,
        "conditions": ["has_started_measure", "is_placement", "has_visit_child_conversation"],
    },
    {
        "trigger": "renew_placement_without_consent",
        "source": P.INVESTIGATION,
        "dest": None,
        "conditions": [
            "has_active_measure",
            "is_placed_without_consent",
            "has_competence_to_renew",
            "has_child_conversation",
        ],
    },
]


@cache
def _machine(
    plan_may_follow_decision: bool, measures_during_investigation: bool = False
) -> Machine:
    graph = (
        TRANSITIONS
        + (PLAN_AFTER_DECISION if plan_may_follow_decision else [])
        + (MEASURES_DURING_INVESTIGATION if measures_during_investigation else [])
    )
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

    Rulebook versions differ in their graph only by the plan-after-decision edges and the
    measures-during-investigation edges, so one machine serves every version with the same
    graph; guards read the rulebook per event.
    """
    return _machine(rulebook.plan_may_follow_decision, rulebook.measures_during_investigation)


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
    complaint = _complaint_inapplicable(case, event)
    if complaint is not None:
        return complaint
    if has_no_running_placement(rulebook, case, event):
        return Refusal(
            RefusalCode.NOTHING_TO_FULFIL,
            {
                "event": event.value,
                "phase": case.phase.value,
                "rules": [_PLACEMENT_EVENTS[event].value],
            },
        )
    return None


# The complaint events and the status of the complaint each acts on.
_COMPLAINT_EVENTS: dict[Event, str] = {
    Event.REASSESS: ComplaintStatus.AWAITING_REASSESSMENT,
    Event.FORWARD_COMPLAINT: ComplaintStatus.AWAITING_FORWARDING,
    Event.RECORD_APPEAL_DECISION: ComplaintStatus.FORWARDED,
}


def _complaint_inapplicable(case: CaseFile, event: Event) -> Refusal | None:
    """A complaint event on a case with nothing for it: no decision to complain of, or no
    complaint awaiting the act."""
    if case.phase is Phase.CLOSURE:
        return None
    if event is Event.RECORD_COMPLAINT and not case.decisions:
        return Refusal(RefusalCode.NO_DECISION_YET, {})
    status = _COMPLAINT_EVENTS.get(event)
    if status is not None and not any(c.status == status for c in case.complaints):
        return Refusal(
            RefusalCode.NO_COMPLAINT_AWAITING,
            {
                "event": event.value,
                "awaiting": status,
                "complaints": [c.number for c in case.complaints],
            },
        )
    return None


# The placement duties, and the rule each meets: offered only while a placement they concern
# runs (`has_no_running_placement`).
_PLACEMENT_EVENTS: dict[Event, RuleId] = {
    Event.RECORD_SUPERVISION_VISIT: RuleId.SUPERVISION_VISIT,
    Event.RENEW_PLACEMENT_WITHOUT_CONSENT: RuleId.COMMITTEE_RENEWAL,
}


def has_no_running_placement(rulebook: Rulebook, case: CaseFile, event: Event) -> bool:
    """Whether `event` concerns a placement the open case does not have: a supervision visit
    (Barnets Lov §156 stk. 5) without a started placement, a committee renewal (§50) without an
    active placement without consent."""
    if event not in _PLACEMENT_EVENTS or case.phase is Phase.CLOSURE:
        return False
    placements = [
        m
        for m in case.active_measures()
        if m.type in rulebook.measures
        and rulebook.measures[m.type].category is MeasureCategory.PLACEMENT
    ]
    if event is Event.RECORD_SUPERVISION_VISIT:
        return not any(m.started_at is not None for m in placements)
    return not any(m.without_consent for m in placements)


def expects_no_birth(case: CaseFile, event: Event) -> bool:
    """Whether `event` records the birth of a child the open case does not expect: one opened
    with its birth date, or whose birth is recorded already."""
    return (
        event is Event.RECORD_BIRTH and case.phase is not Phase.CLOSURE and not case.birth_expected
    )


def fulfils_nothing(rulebook: Rulebook, case: CaseFile, event: Event) -> bool:
    """Whether `event` only meets a deadline (`_DUTY_EVENTS`: the 24-hour assessment and the
    receipt past the inquiry, the applicant's delay notice) that the case holds no unresolved
    deadline for: then there is nothing to record."""
    if case.phase not in _DUTY_EVENTS.get(event, ()):
        return False
    rules = _rules_met_by(rulebook, event)
    return not any(d.rule in rules for d in case.unresolved_deadlines())


def _rules_met_by(rulebook: Rulebook, event: Event) -> list[str]:
    """The rules, case- and measure-level, `event` meets (the rulebook's `met_by`), by id."""
    case_rules = [r for r, rule in rulebook.deadlines.items() if event in rule.met_by]
    measure_rules = [r for r, rule in rulebook.measure_deadlines.items() if event in rule.met_by]
    return sorted(r.value for r in [*case_rules, *measure_rules])


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


# Events whose rules ask who has acted on the case before (Barnets Lov §137 stk. 1): whoever
# fires one (the use case, the replay) gives the case file the actors of its audit trail.
ACTOR_EVENTS = frozenset({Event.REASSESS_NOTIFICATION.value})


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
        actor: str | None = None,
    ) -> None:
        self.case = case
        self.actor = actor
        self.rulebook = rulebook
        self.event = event
        self.payload = payload
        self.at = at
        self.role = role
        self.refusals: list[Refusal] = []
        self.touched_deadlines: dict[str, DeadlineState] = {}
        self.touched_measures: dict[str, MeasureState] = {}
        self.legal_basis: list[str] = []
        # Facts the event establishes besides its data, written into its audit record.
        self.recorded: dict[str, Any] = {}

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

    def _missing_for_investigation(self) -> list[str]:
        """The parties the investigation is to cooperate with whose consent is not recorded
        (none once the committee has decided the compulsory examination)."""
        if self.case.without_consent_decided:
            return []
        rule, case = self.rulebook.consent, self.case
        missing = missing_consents(
            case.consents, case.birth_date, self._day, rule, expected=case.birth_expected
        )
        return [party.value for party in missing]

    def may_open_investigation(self) -> bool:
        if not self._missing_for_investigation():
            return True
        plan = self.rulebook.competence
        if plan.holds(self.role, plan.open_investigation_without_consent):
            return True
        return self._refuse(
            RefusalCode.NO_COMPETENCE,
            act="open_investigation_without_consent",
            needed=plan.open_investigation_without_consent.value,
            role=self.role.value,
            source=plan.source,
        )

    def has_consent_where_required(self) -> bool:
        """Barnets Lov §32 stk. 2, §46 stk. 1: the consents a measure's category needs at the
        grant (`consent.measures`); a grant `without_consent` is judged by the competence guard."""
        rule = self.rulebook.consent
        for request in self._requested():
            category = self.rulebook.measures[request.type].category
            requirement = rule.measures.get(category)
            if requirement is None or request.without_consent:
                continue
            missing = missing_for_measure(
                self.case.consents,
                self.case.birth_date,
                self._day,
                rule,
                requirement,
                expected=self.case.birth_expected,
            )
            if missing:
                return self._refuse(
                    RefusalCode.MISSING_CONSENT,
                    parties=[party.value for party in missing],
                    child_age=self.case.child_age(self._day),
                    measure=request.type,
                    source=requirement.source,
                )
        return True

    def may_start_during_investigation(self) -> bool:
        not_allowed = [
            m.type
            for m in self._requested()
            if not self.rulebook.measures[m.type].may_start_during_investigation
        ]
        if not not_allowed:
            return True
        return self._refuse(RefusalCode.NOT_DURING_INVESTIGATION, measures=not_allowed)

    def has_measures_to_start(self) -> bool:
        if any(m.active and m.started_at is None for m in self.case.measures):
            return True
        return self._refuse(RefusalCode.NOTHING_TO_START)

    def is_expected_by_ahead(self) -> bool:
        assert isinstance(self.payload, payloads.NotifyApplicantOfDelay)
        if self.payload.expected_by >= self._day:
            return True
        return self._refuse(
            RefusalCode.EXPECTED_BY_PASSED,
            expected_by=self.payload.expected_by.isoformat(),
            day=self._day.isoformat(),
        )

    def has_known_measures(self) -> bool:
        return self._are_known([m.type for m in self._requested()])

    def _are_known(self, types: list[str]) -> bool:
        """The measure types the rulebook's catalogue knows; refused naming the others."""
        unknown = [t for t in types if t not in self.rulebook.measures]
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
        # The plan's required content is the rulebook's (`plan_content`): SEL §140 asked for
        # purpose, goals and the expected duration; Barnets Lov §92 stk. 1 for concrete goals in
        # line with the measure's overall purpose.
        assert isinstance(self.payload, payloads.SubmitPlan)
        plan = self.payload
        given = {
            "purpose": bool(plan.purpose and plan.purpose.strip()),
            "goals": bool(plan.goals),
            "expected_duration_months": plan.expected_duration_months is not None,
        }
        content = self.rulebook.plan_content
        missing = [part for part in content.required if not given[part]]
        if not missing:
            return True
        return self._refuse(RefusalCode.INCOMPLETE_PLAN, missing=missing, source=content.source)

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
            or (r.without_consent and self._plan_needed_without_consent(r.type))
        ]
        if not needing:
            return True
        return self._refuse(
            RefusalCode.PLAN_BEFORE_DECISION,
            measures=needing,
            rulebook=self.rulebook.key,
            law=self.rulebook.law,
        )

    def _plan_needed_without_consent(self, measure_type: str) -> bool:
        category = self.rulebook.measures[measure_type].category
        requirement = self.rulebook.consent.measures.get(category)
        return requirement is not None and requirement.without_consent_needs_plan

    def has_competence_to_grant(self) -> bool:
        plan = self.rulebook.competence
        for request in self._requested():
            measure_type = self.rulebook.measures[request.type]
            needed = [(measure_type.competence, "grant")]
            if request.external:
                needed.append((plan.external_purchase, "external_purchase"))
            if request.without_consent:
                # Barnets Lov §47: without consent only the competence the rulebook names
                # (the committee) decides, and only where the category allows it.
                requirement = self.rulebook.consent.measures.get(measure_type.category)
                if requirement is not None:
                    without = requirement.without_consent
                elif measure_type.category is MeasureCategory.PLACEMENT:
                    without = plan.placement_without_consent
                else:
                    without = None
                if without is None:
                    return self._refuse(RefusalCode.NOT_A_PLACEMENT, measure=request.type)
                needed.append((without, "placement_without_consent"))
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
        """forvaltningsloven §25: a decision that does not give the party all it applied for
        carries complaint guidance; which decisions do is the rulebook's `complaint_guidance`."""
        assert isinstance(self.payload, payloads.Refuse | payloads.MeasureList)
        rule = self.rulebook.complaint_guidance
        needed = self.event in rule.events
        if (
            not needed
            and self.event is Event.GRANT
            and rule.grant_other_than_applied_for
            and self.case.applied_for is not None
        ):
            needed = self.case.applied_for not in {m.type for m in self._requested()}
        if not needed:
            return True
        if not self.payload.complaint_guidance:
            return self._refuse(RefusalCode.COMPLAINT_GUIDANCE_MISSING, source=rule.source)
        return self._child_party_guidance()

    def has_active_measures(self) -> bool:
        return bool(self.case.active_measures())

    def _measure_id(self) -> str:
        assert isinstance(
            self.payload,
            payloads.RecordFollowUp
            | payloads.EndMeasure
            | payloads.RecordSupervisionVisit
            | payloads.RenewPlacementWithoutConsent,
        )
        return self.payload.measure_id

    def _the_measure(self) -> MeasureState:
        measure = self.case.measure(self._measure_id())
        assert measure is not None
        return measure

    def is_placement(self) -> bool:
        measure = self._the_measure()
        if self.rulebook.measures[measure.type].category is MeasureCategory.PLACEMENT:
            return True
        return self._refuse(
            RefusalCode.MEASURE_NOT_A_PLACEMENT, measure_id=measure.key, measure=measure.type
        )

    def has_visit_child_conversation(self) -> bool:
        # Barnets Lov §156 stk. 5: the visit is one "where the municipality talks with the child";
        # a visit without that conversation is not the visit the law asks for. Without the
        # placement's staff only "so far as possible": recorded, not required.
        assert isinstance(self.payload, payloads.RecordSupervisionVisit)
        if self.payload.child_conversation:
            return True
        defaults = self.rulebook.measure_deadlines.get(RuleId.SUPERVISION_VISIT)
        return self._refuse(
            RefusalCode.NO_CHILD_CONVERSATION,
            rule=RuleId.SUPERVISION_VISIT.value,
            source=defaults.source if defaults else "",
        )

    def is_placed_without_consent(self) -> bool:
        measure = self._the_measure()
        category = self.rulebook.measures[measure.type].category
        if category is MeasureCategory.PLACEMENT and measure.without_consent:
            return True
        return self._refuse(
            RefusalCode.NOT_PLACED_WITHOUT_CONSENT, measure_id=measure.key, measure=measure.type
        )

    def has_competence_to_renew(self) -> bool:
        # Barnets Lov §142 stk. 1: the committee decides on keeping a placement (§50) in a meeting.
        plan = self.rulebook.competence
        needed = plan.placement_without_consent
        if plan.holds(self.role, needed):
            return True
        return self._refuse(
            RefusalCode.NO_COMPETENCE,
            act="renew_placement_without_consent",
            measure=self._the_measure().type,
            needed=needed.value,
            role=self.role.value,
            source=plan.source,
        )

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

    def has_next_follow_up_where_required(self) -> bool:
        """Barnets Lov §95 stk. 3: the first follow-up of a measure decides, with reasons, how
        follow-up continues (`measure_deadlines.follow_up.next_follow_up`); an interval chosen
        must lie within the rulebook's bounds, if it sets any."""
        assert isinstance(self.payload, payloads.RecordFollowUp)
        defaults = self.rulebook.measure_deadlines.get(RuleId.FOLLOW_UP)
        rule = defaults.next_follow_up if defaults else None
        measure = self.case.measure(self.payload.measure_id)
        plan = self.payload.next_follow_up
        if rule is None or measure is None:
            return True
        if plan is None:
            if rule.required_at_first and measure.follow_ups_held == 0:
                return self._refuse(RefusalCode.NEXT_FOLLOW_UP_MISSING, source=rule.source)
            return True
        if plan.every is not None:
            days = _approximate_days(plan.every.amount, plan.every.unit)
            too_short = rule.shortest is not None and days < _approximate_days(
                rule.shortest.amount, rule.shortest.unit.value
            )
            too_long = rule.longest is not None and days > _approximate_days(
                rule.longest.amount, rule.longest.unit.value
            )
            if too_short or too_long:
                return self._refuse(
                    RefusalCode.NEXT_FOLLOW_UP_OUT_OF_BOUNDS,
                    amount=plan.every.amount,
                    unit=plan.every.unit,
                    source=rule.source,
                )
        return True

    def is_follow_up_complete(self) -> bool:
        # What a follow-up must cover is the rulebook's (`measure_deadlines.follow_up.content`):
        # seed 000 asks that the caseworker has talked with the provider and the parents and
        # has taken a position on revising the plan.
        assert isinstance(self.payload, payloads.RecordFollowUp)
        defaults = self.rulebook.measure_deadlines.get(RuleId.FOLLOW_UP)
        content = defaults.content if defaults else None
        if content is None:
            return True
        given = self.payload.model_dump()
        missing = [_FOLLOW_UP_PARTS[part] for part in content.required if not given[part]]
        if not missing:
            return True
        return self._refuse(
            RefusalCode.INCOMPLETE_FOLLOW_UP, missing=missing, source=content.source
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

    def has_child_conversation(self) -> bool:
        """Barnets Lov §5 stk. 3: a guarded decision (the rulebook's `child_conversation`) needs
        a conversation with the child, or a recorded exception (stk. 4), in the rule's window.
        An expected child is never asked: there is no child yet."""
        rule = self.rulebook.child_conversation
        if rule is None or self.case.birth_expected:
            return True
        source = self._child_conversation_duty(rule)
        if source is None or self._child_heard_in_window(rule):
            return True
        since = self.case.last_decision_at if rule.since_previous_decision else None
        return self._refuse(
            RefusalCode.CHILD_CONVERSATION_MISSING,
            event=self.event.value,
            source=source,
            amount=rule.window.amount,
            unit=rule.window.unit.value,
            since=local_date(since).isoformat() if since else None,
        )

    def _child_conversation_duty(self, rule: ChildConversationRule) -> str | None:
        """The source of the duty this event is under; None: it is under none."""
        if (
            self.role is Role.COMMITTEE
            and self.event in rule.committee_events
            and rule.committee_from_age is not None
            and self.case.child_age(self._day) >= rule.committee_from_age
        ):
            return rule.committee_source
        if self.event not in rule.events:
            return None
        if self.event is Event.END_MEASURE and rule.end_measure_categories:
            measure = self.case.measure(self._measure_id())
            measure_type = self.rulebook.measures.get(measure.type) if measure else None
            if measure_type is None or measure_type.category not in rule.end_measure_categories:
                return None
        return rule.source

    def _child_heard_in_window(self, rule: ChildConversationRule) -> bool:
        # The window counts Copenhagen dates: 3 months before 28 Feb is 28 Nov
        # (`statemachine.conversation`, the stuck clock's rule too).
        held = [c.at for c in self.case.child_conversations]
        heard = [*held, *self.case.child_conversation_exceptions]
        return heard_for_decision(rule, heard, self.at, self.case.last_decision_at)

    # --- complaints (retssikkerhedsloven §§ 66–67) -----------------------------------------

    def keeps_refused_case_open(self) -> bool:
        rule = self.rulebook.complaints
        return rule is not None and rule.keep_refused_case_open

    def _complaint_of(self) -> Complaint | None:
        assert isinstance(
            self.payload,
            payloads.Reassess | payloads.ForwardComplaint | payloads.RecordAppealDecision,
        )
        return self.case.complaint(self.payload.complaint)

    def _complaint_in(self, status: str) -> bool:
        assert isinstance(
            self.payload,
            payloads.Reassess | payloads.ForwardComplaint | payloads.RecordAppealDecision,
        )
        complaint = self._complaint_of()
        if complaint is None:
            return self._refuse(
                RefusalCode.NO_SUCH_COMPLAINT,
                complaint=self.payload.complaint,
                complaints=[c.number for c in self.case.complaints],
            )
        if complaint.status == status:
            return True
        return self._refuse(
            RefusalCode.COMPLAINT_NOT_AWAITING,
            complaint=complaint.number,
            status=complaint.status,
            awaiting=status,
        )

    def is_complained_decision(self) -> bool:
        assert isinstance(self.payload, payloads.RecordComplaint)
        rule = self.rulebook.complaints
        decision = self.case.decision(self.payload.decision_seq)
        if rule is not None and decision is not None and Event(decision.event) in rule.decisions:
            return True
        return self._refuse(
            RefusalCode.NOT_A_DECISION,
            decision_seq=self.payload.decision_seq,
            decisions=[d.seq for d in self.case.decisions],
        )

    def is_received_plausible(self) -> bool:
        assert isinstance(self.payload, payloads.RecordComplaint)
        received = self.payload.received_at
        if not self._by_the_event("received_at", received, RefusalCode.RECEIVED_IN_FUTURE):
            return False
        decision = self.case.decision(self.payload.decision_seq)
        assert decision is not None
        if received < decision.at:
            return self._refuse(
                RefusalCode.RECEIVED_BEFORE_DECISION,
                received_at=received.astimezone(UTC).isoformat(),
                decided_at=decision.at.isoformat(),
            )
        return True

    def is_awaiting_reassessment(self) -> bool:
        return self._complaint_in(ComplaintStatus.AWAITING_REASSESSMENT)

    def is_changed_on_reassessment(self) -> bool:
        assert isinstance(self.payload, payloads.Reassess)
        return self.payload.outcome == "changed"

    def is_awaiting_forwarding(self) -> bool:
        return self._complaint_in(ComplaintStatus.AWAITING_FORWARDING)

    def is_forwarded(self) -> bool:
        return self._complaint_in(ComplaintStatus.FORWARDED)

    def is_sent_back_on_appeal(self) -> bool:
        assert isinstance(self.payload, payloads.RecordAppealDecision)
        return self.payload.outcome in ("remitted", "annulled")

    def is_upheld_on_appeal(self) -> bool:
        assert isinstance(self.payload, payloads.RecordAppealDecision)
        return self.payload.outcome == "upheld"

    def rests_after_complaint(self) -> bool:
        """A refused case kept open for its complaints: once the last one ends with the refusal
        upheld and its period has passed, nothing is left to do (silent: no refusal)."""
        complaint = self._complaint_of()
        decision = self.case.decision(complaint.decision_seq) if complaint else None
        return (
            self.case.phase is Phase.FOLLOW_UP
            and decision is not None
            and decision.event == Event.REFUSE.value
            and not self.case.active_measures()
            and not [c for c in self.case.open_complaints() if c is not complaint]
            and not any(d.rule == RuleId.COMPLAINT_PERIOD for d in self.case.unresolved_deadlines())
        )

    def is_complaint_period_over(self) -> bool:
        running = [d for d in self.case.unresolved_deadlines() if d.rule == RuleId.COMPLAINT_PERIOD]
        if running and all(self.at >= d.due_at for d in running):
            return True
        until = max((d.due_at for d in running), default=self.at)
        return self._refuse(RefusalCode.COMPLAINT_PERIOD_RUNNING, until=until.isoformat())

    def has_nothing_running(self) -> bool:
        measures = [m.key for m in self.case.active_measures()]
        complaints = [c.number for c in self.case.open_complaints()]
        if not measures and not complaints:
            return True
        return self._refuse(
            RefusalCode.CASE_STILL_RUNNING, measures=measures, complaints=complaints
        )

    def _child_party_guidance(self) -> bool:
        """Barnets Lov §3: a child of the rulebook's age is a party; a decision's complaint
        guidance tells the child so (`complaint_guidance_child`)."""
        assert isinstance(self.payload, payloads.Refuse | payloads.MeasureList)
        rule = self.rulebook.complaints
        if rule is None or rule.child_party_from_age is None or self.case.birth_expected:
            return True
        age = self.case.child_age(self._day)
        if age < rule.child_party_from_age or self.payload.complaint_guidance_child:
            return True
        return self._refuse(
            RefusalCode.COMPLAINT_GUIDANCE_CHILD_MISSING,
            age=age,
            from_age=rule.child_party_from_age,
            source=rule.child_party_source,
        )

    # --- a further notification (Barnets Lov §136, §137 stk. 1) ---------------------------

    def is_notification_plausible(self) -> bool:
        assert isinstance(self.payload, payloads.ReceiveNotification)
        return self._by_the_event(
            "aware_at", self.payload.aware_at, RefusalCode.NOTIFICATION_AFTER_EVENT
        )

    def _by_the_event(self, name: str, value: datetime, later: RefusalCode) -> bool:
        """An instant in the event's data (a receipt) with an offset and not after the event
        itself; refused naming the field otherwise."""
        if value.tzinfo is None:
            return self._refuse(RefusalCode.TIME_WITHOUT_OFFSET, field=name)
        if value > self.at:
            return self._refuse(
                later, **{name: value.astimezone(UTC).isoformat(), "at": self.at.isoformat()}
            )
        return True

    def is_uninvolved(self) -> bool:
        rule = self.rulebook.notification_reassessment
        if rule is None or not rule.uninvolved or self.actor is None:
            return True
        if self.actor not in self.case.involved:
            return True
        return self._refuse(RefusalCode.ACTOR_INVOLVED, actor=self.actor, source=rule.source)

    def has_reason(self) -> bool:
        assert isinstance(
            self.payload,
            payloads.Close | payloads.Screen | payloads.RecordChildConversationException,
        )
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
        self.case.compulsory_examination_at = self.at
        # A decision about the child (§142 stk. 1 nr. 1): the next one hears the child again.
        self.case.last_decision_at = self.at

    def _on_decide_compulsory_examination(self) -> None:
        self._on_decide_without_consent()

    def _on_open_investigation(self) -> None:
        # The audit records which consents existed when the investigation was opened, and whose
        # were missing: an investigation without consent is lawful (Barnets Lov §20, §22 stk. 2)
        # but a supervisor must see it.
        missing = self._missing_for_investigation()
        self.case.investigation_without_consent_of = missing
        self.recorded = {"consents": sorted(self.case.consents), "without_consent_of": missing}

    def _on_notify_applicant_of_delay(self) -> None:
        assert isinstance(self.payload, payloads.NotifyApplicantOfDelay)
        self.case.decision_expected_by = self.payload.expected_by

    def _on_record_provisional_assessment(self) -> None:
        self.case.provisional_assessment_at = self.at

    def _on_propose_preventive(self) -> None:
        self.case.proposed_measures = [m.model_dump() for m in self._requested()]

    def _on_conclude(self) -> None:
        self.case.investigated_at = self.at
        # Barnets Lov §95 stk. 2 nr. 1: a measure started while the investigation ran is first
        # followed up when the investigation concludes, if that is earlier than its due time.
        defaults = self.rulebook.measure_deadlines.get(RuleId.FOLLOW_UP)
        if defaults is None or defaults.first_during_investigation is None:
            return
        result = due(self.at, Duration(0, Unit.DAYS), self.rulebook.working_calendar())
        for deadline in self.case.unresolved_deadlines():
            measure = self.case.measure(deadline.measure_key or "")
            if (
                deadline.rule != RuleId.FOLLOW_UP
                or measure is None
                or measure.follow_ups_held
                or result.due_at >= deadline.due_at
            ):
                continue
            deadline.due_at = result.due_at
            deadline.explanation = follow_up_explanation(
                self.rulebook, measure, defaults, self.at, result, event=Event.CONCLUDE.value
            )
            deadline.source = defaults.first_during_investigation_source
            deadline.changed = True
            self.touched_deadlines[deadline.key] = deadline

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
            # Barnets Lov §50 (SEL §62): a placement without consent comes back to the committee,
            # counted from the grant.
            self._arm(arm_committee_renewal(self.rulebook, measure, self.at))
        case.proposed_measures = []
        case.party_hearing_at = None
        self._decided()

    def _on_refuse(self) -> None:
        self.case.proposed_measures = []
        self.case.party_hearing_at = None
        self._decided()

    def _decided(self) -> None:
        """A grant or refusal: the case's decision by its audit number, the complaint period
        (retssikkerhedsloven §67 stk. 1) of a refusal that leaves nothing running."""
        case = self.case
        seq = case.audit_seq + 1
        self._record_child_heard(f"d{seq}")
        case.decisions.append(Decision(seq, self.event.value, self.at, self.role.value))
        case.last_decision_at = self.at
        rule = self.rulebook.complaints
        if (
            rule is not None
            and self.event is Event.REFUSE
            and Phase(self.state) is not Phase.CLOSURE
            and not case.active_measures()
        ):
            self._arm_item(RuleId.COMPLAINT_PERIOD, f"d{seq}", Anchor.EVENT, self.at)

    def _record_child_heard(self, item: str) -> None:
        """Barnets Lov §5 stk. 3: whether a conversation with the child preceded this guarded
        decision, as a row closed at once (`RuleId.CHILD_CONVERSATION`): met after a
        conversation, cancelled after the exception of stk. 4 alone."""
        rule = self.rulebook.child_conversation
        row_rule = self.rulebook.deadlines.get(RuleId.CHILD_CONVERSATION)
        if rule is None or row_rule is None or self.case.birth_expected:
            return
        if self._child_conversation_duty(rule) is None:
            return
        held = [c.at for c in self.case.child_conversations]
        talked = heard_for_decision(rule, held, self.at, self.case.last_decision_at)
        row = arm_item_deadline(
            self.rulebook,
            RuleId.CHILD_CONVERSATION,
            row_rule,
            item,
            Anchor.EVENT,
            self.at,
            self.event.value,
            self.at,
        )
        row.close(
            DeadlineStatus.MET if talked else DeadlineStatus.CANCELLED, self.at, self.event.value
        )
        self.case.deadlines.append(row)
        self.touched_deadlines[row.key] = row

    def _arm_item(self, rule_id: RuleId, item: str, anchor: Anchor, anchor_at: datetime) -> None:
        rule = self.rulebook.deadlines.get(rule_id)
        if rule is not None:
            self._arm(
                arm_item_deadline(
                    self.rulebook, rule_id, rule, item, anchor, anchor_at, self.event.value, self.at
                )
            )

    def _meet_item(self, rule_id: RuleId, item: str) -> None:
        key = f"{rule_id.value}:{item}"
        self._meet(lambda d: d.rule == rule_id and (d.key == key or d.key.startswith(f"{key}#")))

    def _on_record_complaint(self) -> None:
        assert isinstance(self.payload, payloads.RecordComplaint)
        rule = self.rulebook.complaints
        assert rule is not None
        case = self.case
        decision = case.decision(self.payload.decision_seq)
        assert decision is not None
        received = self.payload.received_at.astimezone(UTC)
        # §67 stk. 1: received after the period, the complaint is late (Ankestyrelsen may
        # still admit it); counted in Copenhagen days like every period.
        period_end = due(decision.at, rule.period.duration(), self.rulebook.working_calendar())
        late = received > period_end.due_at
        direct = Role(decision.role) in rule.direct_from
        number = case.audit_seq + 1
        complaint = Complaint(
            number=number,
            decision_seq=decision.seq,
            received_at=received,
            late=late,
            direct=direct,
            status=(
                ComplaintStatus.AWAITING_FORWARDING
                if direct
                else ComplaintStatus.AWAITING_REASSESSMENT
            ),
        )
        case.complaints.append(complaint)
        self.recorded = {"complaint": number, "late": late, "direct": direct}
        # The complaint came: the refused case no longer waits for the period to pass.
        for deadline in case.unresolved_deadlines():
            if deadline.rule == RuleId.COMPLAINT_PERIOD:
                self._close_deadline(deadline, DeadlineStatus.CANCELLED)
        rule_id = RuleId.FORWARD_COMPLAINT if direct else RuleId.REASSESSMENT
        self._arm_item(rule_id, f"c{number}", Anchor.COMPLAINT_RECEIVED, received)

    def _on_reassess(self) -> None:
        assert isinstance(self.payload, payloads.Reassess)
        complaint = self._complaint_of()
        assert complaint is not None
        complaint.reassessment_outcome = self.payload.outcome
        self._meet_item(RuleId.REASSESSMENT, f"c{complaint.number}")
        if self.payload.outcome == "changed":
            complaint.status = ComplaintStatus.CHANGED
            return
        complaint.status = ComplaintStatus.AWAITING_FORWARDING
        self._arm_item(
            RuleId.FORWARD_COMPLAINT,
            f"c{complaint.number}",
            Anchor.COMPLAINT_RECEIVED,
            complaint.received_at,
        )

    def _on_forward_complaint(self) -> None:
        complaint = self._complaint_of()
        assert complaint is not None
        complaint.status = ComplaintStatus.FORWARDED
        self._meet_item(RuleId.FORWARD_COMPLAINT, f"c{complaint.number}")

    def _on_record_appeal_decision(self) -> None:
        assert isinstance(self.payload, payloads.RecordAppealDecision)
        complaint = self._complaint_of()
        assert complaint is not None
        complaint.status = ComplaintStatus.DECIDED
        complaint.appeal_outcome = self.payload.outcome

    def _on_reassess_notification(self) -> None:
        self._meet(lambda d: d.rule == RuleId.NOTIFICATION_REASSESSMENT)

    def _on_end_complaint_period(self) -> None:
        self._meet(lambda d: d.rule == RuleId.COMPLAINT_PERIOD)
        self.case.close_reason = "complaint_period_passed"

    def _on_receive_notification(self) -> None:
        # Barnets Lov §136: its own 24-hour assessment and, from a professional, its receipt,
        # counted from when the municipality became aware of it; §137 stk. 1: a case with
        # measures is reassessed.
        assert isinstance(self.payload, payloads.ReceiveNotification)
        case = self.case
        number = case.audit_seq + 1
        aware = self.payload.aware_at.astimezone(UTC)
        case.notifications.append(ReceivedNotification(number, aware, self.payload.notifier))
        item = f"n{number}"
        self._arm_item(RuleId.URGENT_ASSESSMENT, item, Anchor.NOTIFICATION_RECEIVED, aware)
        # Whom a receipt is owed is the rule's `when.notifier` (a professional, SEL §155 b).
        receipt = self.rulebook.deadlines.get(RuleId.ACKNOWLEDGEMENT)
        notifiers = receipt.when.notifier if receipt is not None else None
        if notifiers is None or Notifier(self.payload.notifier) in notifiers:
            self._arm_item(RuleId.ACKNOWLEDGEMENT, item, Anchor.NOTIFICATION_RECEIVED, aware)
        if self.rulebook.notification_reassessment is not None and case.active_measures():
            self._arm_item(
                RuleId.NOTIFICATION_REASSESSMENT, item, Anchor.NOTIFICATION_RECEIVED, aware
            )
        self.recorded = {"notification": number}

    def _on_record_child_conversation(self) -> None:
        assert isinstance(self.payload, payloads.RecordChildConversation)
        self.case.child_conversations.append(
            ChildConversation(
                at=self.at,
                without_parents=self.payload.without_parents,
                support_person_offered=self.payload.support_person_offered,
            )
        )

    def _on_record_child_conversation_exception(self) -> None:
        self.case.child_conversation_exceptions.append(self.at)

    def _on_start_measures(self) -> None:
        during = self.case.phase is Phase.INVESTIGATION
        for measure in self.case.measures:
            if measure.active and measure.started_at is None:
                measure.started_at = self.at
                measure.changed = True
                self.touched_measures[measure.key] = measure
                self._arm(
                    arm_follow_up(self.rulebook, measure, self.at, during_investigation=during)
                )
                self._arm(arm_package_review(self.rulebook, measure, self.at))
                self._arm(arm_age_limit(self.rulebook, self.case, measure, self.at))
                self._arm(arm_young_person_support(self.rulebook, self.case, measure, self.at))
                self._arm(arm_supervision_visit(self.rulebook, measure, self.at))

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
        plan = self.payload.next_follow_up
        if plan is not None:
            # Barnets Lov §95 stk. 3: the case's own follow-up plan, from this follow-up on (the
            # reason is in the event's audit record); the service level's cadence otherwise.
            if plan.every is not None:
                self.case.follow_up_plans[measure.key] = plan.every.model_dump()
            else:
                self.case.follow_up_plans.pop(measure.key, None)
        self._arm(
            arm_follow_up(
                self.rulebook, measure, self.at, every=own_cadence(self.case, measure.key)
            )
        )

    def _on_record_supervision_visit(self) -> None:
        assert isinstance(self.payload, payloads.RecordSupervisionVisit)
        measure = self._the_measure()
        # Staff present is allowed (§156 stk. 5: "so far as possible" without them); the event's
        # data, `without_staff` included, is in its audit record.
        self._meet_measure_rules(measure)
        self._arm(arm_supervision_visit(self.rulebook, measure, self.at, held_at=self.at))

    def _on_renew_placement_without_consent(self) -> None:
        measure = self._the_measure()
        self._meet_measure_rules(measure)
        # A decision about the child (§142 stk. 1): the next one hears the child again.
        self.case.last_decision_at = self.at
        self._arm(arm_committee_renewal(self.rulebook, measure, self.at, renewed_at=self.at))

    def _on_end_measure(self) -> None:
        assert isinstance(self.payload, payloads.EndMeasure)
        measure = self.case.measure(self.payload.measure_id)
        assert measure is not None
        self._end(measure, self.payload.reason, self.payload.goals_met)

    def has_known_young_person_measures(self) -> bool:
        assert isinstance(self.payload, payloads.DecideYoungPersonSupport)
        return self._are_known(list(self.payload.measures))

    def _on_decide_young_person_support(self) -> None:
        # The decision meets the duty of every placement that awaits it (one decision for the
        # young person, Barnets Lov §111 stk. 1).
        self._meet(lambda d: d.rule == RuleId.YOUNG_PERSON_SUPPORT_DECISION)

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
        elif self.payload.outcome == "investigation":
            self._on_open_investigation()

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
            if rule_id in PER_ITEM_RULES:
                continue  # armed and met by their own key (complaints, notifications)
            if event in rule.met_by:
                self._meet(lambda d, r=rule_id: d.rule == r and d.measure_key is None)
            elif event in rule.cancelled_by:
                for deadline in case.unresolved_deadlines():
                    if deadline.rule == rule_id and deadline.measure_key is None:
                        self._close_deadline(deadline, DeadlineStatus.CANCELLED)
        for rule_id, rule in self.rulebook.deadlines.items():
            if rule_id in PER_ITEM_RULES:
                continue
            if event is Event.OPEN_CASE and case.source in rule.from_receipt:
                # Retssikkerhedsloven §3 stk. 2: an application's decision deadline runs from
                # receipt, at the applied-for measure's published deadline if it has one.
                applied = self.rulebook.measures.get(case.applied_for or "")
                published = applied.decision_deadline if applied else None
                self._arm(
                    arm_case_deadline(
                        self.rulebook,
                        rule_id,
                        rule,
                        case,
                        event.value,
                        self.at,
                        anchor=Anchor.AWARENESS,
                        duration=published,
                    )
                )
            elif event in rule.armed_on and self._applies(rule_id):
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


def _approximate_days(amount: int, unit: str) -> float:
    """An interval's length in days, to compare it with a rulebook's bounds (a month as the
    calendar's average: bounds are coarse, the due date itself is counted exactly)."""
    per_unit = {"days": 1.0, "weeks": 7.0, "months": 30.44, "working_days": 1.4, "hours": 1 / 24}
    return amount * per_unit[unit]


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
    actor: str | None = None,
) -> Outcome:
    """Apply one event to `case` in place, or raise EventRefused and leave it untouched.

    The caller owns the unit of work: on EventRefused it must write nothing. `actor`: who
    records it, for the rules about persons (Barnets Lov §137 stk. 1: one not involved before;
    `case.involved` names those who are).
    """
    phase = case.phase

    def allowed() -> list[str]:
        # Only a refusal lists them: every event of the phase is judged for it (`_inapplicable`),
        # which would otherwise be most of an accepted event's cost (and of a replay's).
        return allowed_events(rulebook, phase, case)

    def refuse(code: RefusalCode, **params: Any) -> EventRefused:
        return EventRefused(event_name, phase, Refusal(code, params), allowed())

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
    inapplicable = _inapplicable(rulebook, case, event)
    if inapplicable is not None:
        raise EventRefused(event_name, phase, inapplicable, allowed())
    if event.value not in _events_out_of(machine_for(rulebook), phase):
        raise refuse(RefusalCode.NOT_POSSIBLE_IN_PHASE, event=event.value, phase=phase.value)
    try:
        payload = parse_payload(event, data)
    except ValidationError as error:
        raise refuse(RefusalCode.INVALID_DATA, problems=_problems(error)) from None

    # Guards only read; effects run only once every guard has passed, so a refusal leaves
    # `case` exactly as it was.
    process = CaseProcess(case, rulebook, event, payload, at, role, actor)
    process.state = phase.value
    # The shared machine drives `process` for this one event without registering it as a model
    # (see the module docstring): the event resolves guards and effects on `process` by name.
    accepted = machine_for(rulebook).events[event.value].trigger(process)
    if not accepted:
        raise EventRefused(
            event, phase, process.refusals or [Refusal(RefusalCode.GUARD_REFUSED)], allowed()
        )

    case.last_event_at = at
    return Outcome(
        event=event,
        from_phase=phase,
        to_phase=case.phase,
        at=at,
        payload=payload.model_dump(mode="json", exclude_defaults=False) | process.recorded,
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
    case: CaseFile, rulebook: Rulebook, role: Role, *, at: datetime, actor: str | None = None
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
            fire(copy.deepcopy(case), rulebook, name, None, at=at, now=at, role=role, actor=actor)
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


# A CPR number is ten digits, written with or without a separator: any ten digits in a row once
# spaces, dots, dashes and slashes are taken out ("010114 1234", "010114.1234", "BARN-0101141234").
_SEPARATORS = re.compile(r"[\s./\-]")
_TEN_DIGITS = re.compile(r"\d{10}")
# Control, format (zero-width, bidi), surrogate, private-use and unassigned characters, and line
# or paragraph separators: a reference must look like what it is ("DEMO-00\u200b002" is not
# "DEMO-00002").
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def pseudonymous_child_ref(child_ref: str) -> str | None:
    """The child reference as stored (Unicode NFC, outer spaces off), or None when it is no
    pseudonymous reference: empty, with an invisible character, or holding a possible CPR
    number (privacy: a case holds a pseudonymous reference and a birth date, nothing more)."""
    ref = unicodedata.normalize("NFC", child_ref).strip()
    if not ref or any(unicodedata.category(ch) in _INVISIBLE for ch in ref):
        return None
    if _TEN_DIGITS.search(_SEPARATORS.sub("", ref)):
        return None
    return ref


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
    applied_for: str | None = None,
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
    ref = pseudonymous_child_ref(child_ref)
    if ref is None:
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
    if applied_for is not None:
        if source is not Source.APPLICATION:
            raise refuse(RefusalCode.APPLIED_FOR_ONLY_FOR_APPLICATION)
        if applied_for not in rulebook.measures:
            raise refuse(
                RefusalCode.UNKNOWN_MEASURES,
                measures=[applied_for],
                rulebook=rulebook.key,
                known=sorted(rulebook.measures),
            )
    case = CaseFile(
        id=0,
        municipality=municipality,
        rulebook_id=rulebook.id,
        rulebook_version=rulebook.version,
        child_ref=ref,
        birth_date=birth_date,
        birth_expected=birth_expected,
        aware_at=aware_at,
        source=source,
        notifier=notifier,
        phase=phase,
        phase_entered_at=aware_at,
        last_event_at=aware_at,
        applied_for=applied_for,
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
    if applied_for is not None:
        facts["applied_for"] = applied_for
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
