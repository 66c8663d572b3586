"""The rulebook schema: every deadline, cadence, package, age range, ladder and competence as data.

A municipality changes its service level by editing a rulebook file, never Python. Each rule
carries its `source` (law paragraph or seed), the role responsible and the role escalated to.
The schema is pure: reading files is `rulebooks.load`'s job.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import cache
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    model_validator,
)
from pydantic_core import PydanticCustomError

from statemachine.calendar import Duration, Unit, WorkingCalendar
from statemachine.phases import Event, Notifier, Phase, Role, Source


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Span(_Strict):
    """An amount of time as written in a rulebook: `{amount: 4, unit: months}`."""

    amount: Annotated[int, Field(ge=0)]
    unit: Unit

    def duration(self) -> Duration:
        return Duration(self.amount, self.unit)

    def describe(self) -> str:
        return self.duration().describe()


class Anchor(StrEnum):
    """What a deadline counts from."""

    AWARENESS = "awareness"  # the case's aware_at: SEL §50 stk. 7 counts from here
    EVENT = "event"  # the event that arms the deadline (phase entry, decision)
    MEASURE_START = "measure_start"
    FOLLOW_UP_HELD = "follow_up_held"  # "at most N months apart": from the follow-up held
    BIRTH = "birth"  # an age limit: from the child's birth date (or expected birth date)
    # A complaint's duties count from its receipt (retssikkerhedsloven §66 stk. 1).
    COMPLAINT_RECEIVED = "complaint_received"
    # A new notification on an open case: from when the municipality became aware of it.
    NOTIFICATION_RECEIVED = "notification_received"


class RuleId(StrEnum):
    """Deadline rule ids: a contract."""

    URGENT_ASSESSMENT = "urgent_assessment"
    ACKNOWLEDGEMENT = "acknowledgement"
    INVESTIGATION = "investigation"
    DECISION = "decision"
    ACTION_PLAN = "action_plan"
    PROVISIONAL_ASSESSMENT = "provisional_assessment"
    COMPULSORY_EXAMINATION = "compulsory_examination"
    DELAY_NOTICE = "delay_notice"
    FOLLOW_UP = "follow_up"
    PACKAGE_REVIEW = "package_review"
    AGE_LIMIT = "age_limit"
    YOUNG_PERSON_SUPPORT_DECISION = "young_person_support_decision"
    SUPERVISION_VISIT = "supervision_visit"
    COMMITTEE_RENEWAL = "committee_renewal"
    COMPLAINT_PERIOD = "complaint_period"
    REASSESSMENT = "reassessment"
    FORWARD_COMPLAINT = "forward_complaint"
    NOTIFICATION_REASSESSMENT = "notification_reassessment"
    # Barnets Lov §5 stk. 3: one row per guarded grant or refusal, closed as it is recorded —
    # met when a conversation with the child preceded it, cancelled (not counted) when the
    # exception of stk. 4 did: the share Ankestyrelsen's Børnesagsbarometer measures.
    CHILD_CONVERSATION = "child_conversation"


# The rules the sweep never marks breached: the parties' complaint period ends, it is no duty of
# the municipality (`usecases.complaints` ends it; docs/decisions/017). The sweep's UPDATE
# and the replay (`statemachine.replay`) read this one set.
NEVER_BREACHED: frozenset[str] = frozenset({RuleId.COMPLAINT_PERIOD.value})


# Case-level rules armed per complaint or per notification (several may run at once), not by
# `armed_on`: `statemachine.process` arms and meets them by their own key.
COMPLAINT_RULES = (RuleId.COMPLAINT_PERIOD, RuleId.REASSESSMENT, RuleId.FORWARD_COMPLAINT)
PER_ITEM_RULES = (*COMPLAINT_RULES, RuleId.NOTIFICATION_REASSESSMENT, RuleId.CHILD_CONVERSATION)

CASE_RULES = (
    RuleId.URGENT_ASSESSMENT,
    RuleId.ACKNOWLEDGEMENT,
    RuleId.INVESTIGATION,
    RuleId.DECISION,
    RuleId.ACTION_PLAN,
    RuleId.PROVISIONAL_ASSESSMENT,
    RuleId.COMPULSORY_EXAMINATION,
    RuleId.DELAY_NOTICE,
    *PER_ITEM_RULES,
)
MEASURE_RULES = (
    RuleId.FOLLOW_UP,
    RuleId.PACKAGE_REVIEW,
    RuleId.AGE_LIMIT,
    RuleId.YOUNG_PERSON_SUPPORT_DECISION,
    RuleId.SUPERVISION_VISIT,
    RuleId.COMMITTEE_RENEWAL,
)


class LadderStep(_Strict):
    """One rung of an escalation ladder: who is told, and when relative to the due time."""

    level: Literal["reminder", "breach", "escalation"]
    to: Role
    before: Span | None = None  # reminders: this long before due
    after: Span | None = None  # escalations: this long after due

    @model_validator(mode="after")
    def _timing_fits_level(self) -> Self:
        if self.level == "reminder" and (self.before is None or self.after is not None):
            raise ValueError("a reminder needs `before` (and no `after`)")
        if self.level == "escalation" and (self.after is None or self.before is not None):
            raise ValueError("an escalation needs `after` (and no `before`)")
        if self.level == "breach" and (self.before is not None or self.after is not None):
            raise ValueError("a breach is told at the due time: no `before` or `after`")
        return self


class Condition(_Strict):
    """When a case-level deadline applies; an omitted field does not restrict."""

    source: list[Source] | None = None
    notifier: list[Notifier] | None = None
    without_action_plan: bool | None = None  # Barnets Lov §91: plan may follow the decision
    # Only when the event moves the case into one of these phases: under Barnets Lov §91 a plan
    # submitted while measures run asks for no new decision, so it must not arm one.
    entering: list[Phase] | None = None


# A ladder's rungs are numbered 0, 1, … and the sweep keeps which of them are notified as a bit
# mask on the deadline row (a 32-bit integer: models/tables.py `Deadline.notified_rungs`).
MAX_RUNGS = 16
Ladder = Annotated[list[LadderStep], Field(max_length=MAX_RUNGS)]


class DeadlineRule(_Strict):
    """A case-level deadline: armed by an event, counted from an anchor, met by events."""

    title: str
    source: str
    duration: Span
    anchor: Anchor
    armed_on: list[Event]
    met_by: list[Event]
    # Events that make the duty moot while it is unresolved (Barnets Lov §20 stk. 3: an
    # investigation concluded needs no provisional assessment); a breach already recorded
    # keeps its time.
    cancelled_by: list[Event] = []
    # Sources whose receipt arms the deadline at once, counted from awareness (retssikkerhedsloven
    # §3 stk. 2: the municipality's published deadline runs from the application's receipt).
    # The duration is then the applied-for measure's `decision_deadline`, if it has one.
    from_receipt: list[Source] = []
    when: Condition = Condition()
    responsible: Role = Role.CASEWORKER
    escalated_to: Role = Role.TEAM_LEADER
    ladder: Ladder = []
    # Whether the law sets the deadline itself (mails call it "lovbestemt"); False for one the
    # municipality sets, such as its published decision deadlines (retssikkerhedsloven §3 stk. 2).
    statutory: bool = True


class FollowUpContent(_Strict):
    """What a follow-up must have covered to count (the `record_follow_up` fields that must be
    true), and where that comes from: seed 000's wording, a municipality's own, or the law's."""

    required: list[Literal["spoke_with_provider", "spoke_with_parents", "plan_revision_decided"]]
    source: str


class MeasureCategory(StrEnum):
    PREVENTIVE = "preventive"
    SUPPORTIVE = "supportive"
    PLACEMENT = "placement"


class BeforeBirthday(_Strict):
    """A duty due `months` calendar months before the birthday on which the child turns `age`
    (Barnets Lov §111 stk. 1: 6 months before a placement ends at 18)."""

    age: Annotated[int, Field(ge=1, le=30)]
    months: Annotated[int, Field(ge=0, le=60)]
    categories: list[MeasureCategory] = [MeasureCategory.PLACEMENT]


class NextFollowUpRule(_Strict):
    """Barnets Lov §95 stk. 3: at the first follow-up the municipality decides, with reasons,
    how follow-up continues in this case. `shortest`/`longest` may bound the interval chosen
    (none by default: the law sets none)."""

    required_at_first: bool = True
    source: str
    shortest: Span | None = None
    longest: Span | None = None


class MeasureRuleDefaults(_Strict):
    """Measure-level deadlines (follow-up, package review, age limit, supervision visit,
    committee renewal): titles, sources and ladders.

    The follow-up's and the package review's durations are per measure type
    (`MeasureType.follow_up`, `MeasureType.package_review`); an age limit's due day comes from
    the measure's `ages` and the child's birth date; a supervision visit's from `period`, a
    committee renewal's from `first` and `then`.
    """

    title: str
    source: str
    responsible: Role = Role.CASEWORKER
    escalated_to: Role = Role.TEAM_LEADER
    met_by: list[Event]
    ladder: Ladder = []
    # Whether the law sets it (a follow-up's date comes from its cadence's `statutory`).
    statutory: bool = True
    # Follow-ups only: what a follow-up must cover to be recorded (none: nothing is demanded).
    content: FollowUpContent | None = None
    # Follow-ups only: the first follow-up of a measure started while the investigation runs
    # (Barnets Lov §95 stk. 2: the earlier of the investigation's end and 3 months after start).
    first_during_investigation: Span | None = None
    first_during_investigation_source: str = ""
    # Young-person support decisions only: when the duty falls, before which birthday.
    before_birthday: BeforeBirthday | None = None
    # Follow-ups only: the case's own follow-up plan decided at the first follow-up.
    next_follow_up: NextFollowUpRule | None = None
    # Supervision visits only (Barnets Lov §156 stk. 5: at least two a year): the longest time
    # from a placement's start, or from the visit held, to the next visit.
    period: Span | None = None
    # Committee renewals only (Barnets Lov §50; SEL §62): a placement without consent is decided
    # again by the committee within `first` of the grant, then within `then` of each renewal.
    first: Span | None = None
    then: Span | None = None


class CadenceStep(_Strict):
    """Follow up every `every`, as long as the follow-up is held on a Copenhagen date before the
    one `until` reaches from the start."""

    every: Span
    until: Span | None = None


class FollowUpCadence(_Strict):
    """SEL §70 / Barnets Lov §95 and the municipality's own, stricter cadence."""

    first: Span
    then: list[CadenceStep]
    source: str
    # Whether the cadence is the law's own (Barnets Lov §95's "at the latest"); a municipality's
    # stricter cadence is its service level, not "lovbestemt".
    statutory: bool = False

    @model_validator(mode="after")
    def _last_step_is_open_ended(self) -> Self:
        if not self.then:
            raise ValueError("`then` needs at least one step")
        if self.then[-1].until is not None:
            raise ValueError("the last step of `then` must have no `until`")
        return self


# An age range's `max` when the measure has no upper age bound: no age limit is armed.
NO_AGE_LIMIT = 99


class AgeRange(_Strict):
    """Completed years on the day of the decision, both ends included; while the measure runs,
    `max` below NO_AGE_LIMIT arms its age limit (`age_limit`: the child turns `max + 1`)."""

    min: Annotated[int, Field(ge=0)] = 0
    max: Annotated[int, Field(ge=0, le=NO_AGE_LIMIT)] = NO_AGE_LIMIT
    source: str = ""

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    @property
    def bounded(self) -> bool:
        """Whether the measure ends at an age (an upper bound below NO_AGE_LIMIT)."""
        return self.max < NO_AGE_LIMIT


PlanRequirement = Literal["before_decision", "after_decision", "none"]


class DecisionDeadline(Span):
    """A measure's published decision deadline (retssikkerhedsloven §3 stk. 2), with its source."""

    source: str = ""


class MeasureType(_Strict):
    """One entry of the catalogue of measures (indsatsvifte)."""

    title: str  # Danish, as the municipality calls it
    legal_basis: str
    source: str
    category: MeasureCategory
    packages: list[str] = []
    ages: AgeRange = AgeRange()
    needs_investigation: bool = True
    # SEL §140: a plan before every decision; Barnets Lov §91: a supportive measure's plan may
    # follow the decision (within 3 months); §11 talks need no plan at all (seed 000).
    action_plan: PlanRequirement = "before_decision"
    competence: Role = Role.CASEWORKER
    follow_up: FollowUpCadence | None = None
    package_review: Span | None = None  # seed 000: change the package at the latest after 6 months
    # Barnets Lov §32 stk. 4: a supportive measure may start while the investigation runs.
    may_start_during_investigation: bool = False
    # The municipality's published deadline for deciding an application for this measure
    # (retssikkerhedsloven §3 stk. 2); none: the rulebook's general decision deadline.
    decision_deadline: DecisionDeadline | None = None
    # May be granted while the child is expected, to the expectant parents (seed 000: "§ 52.4
    # (gravid)"); no other measure may be granted before the birth.
    for_expectant_parents: bool = False
    notes: str = ""


class CompetencePlan(_Strict):
    """Kompetenceplan: who holds which decision competence (seed 000, 002)."""

    # A role holds every competence of the roles listed before it.
    hierarchy: list[Role]
    # The committee's compulsory examination without consent (Barnets Lov §23; §142).
    decide_without_consent: Role
    # Who may open an investigation while consents are missing (Barnets Lov §20, §22 stk. 2:
    # the investigation is the municipality's duty, carried out in cooperation "so far as
    # possible"; consent is not a condition).
    open_investigation_without_consent: Role = Role.CASEWORKER
    external_purchase: Role
    placement_without_consent: Role
    # Who may fire which event at all; events not listed use `default`.
    event_roles: dict[str, list[Role]]
    source: str

    @model_validator(mode="after")
    def _roles_in_hierarchy(self) -> Self:
        for name in (
            "decide_without_consent",
            "open_investigation_without_consent",
            "external_purchase",
            "placement_without_consent",
        ):
            role = getattr(self, name)
            if role not in self.hierarchy:
                raise ValueError(f"{name}: role {role} is not in the hierarchy")
        if "default" not in self.event_roles:
            raise ValueError("event_roles needs a `default` entry")
        unknown = set(self.event_roles) - {e.value for e in Event} - {"default"}
        if unknown:
            raise ValueError(f"event_roles names unknown events: {sorted(unknown)}")
        return self

    def holds(self, role: Role, needed: Role) -> bool:
        """Whether `role` holds the competence that `needed` holds."""
        if role not in self.hierarchy or needed not in self.hierarchy:
            return role == needed
        return self.hierarchy.index(role) >= self.hierarchy.index(needed)

    def may_fire(self, role: Role, event: Event) -> bool:
        return role in self.event_roles.get(event.value, self.event_roles["default"])


ConsentPartyName = Literal["custody_holder", "child"]


class ConsentRequirement(_Strict):
    """Whose consent a measure category needs at the grant, and who may decide without it."""

    parties: list[ConsentPartyName]
    # The child's own consent is asked from this age (Barnets Lov §46 stk. 1: from 15).
    child_from_age: Annotated[int, Field(ge=0)] = 0
    # The competence that may grant without consent (Barnets Lov §47: the committee); none: a
    # grant without consent is not possible for the category.
    without_consent: Role | None = None
    # Barnets Lov §91 stk. 2, 3. pkt.: a placement without consent needs its plan before the
    # decision, even where a plan may otherwise follow it.
    without_consent_needs_plan: bool = False
    without_consent_needs_plan_source: str = ""
    source: str


class ConsentRule(_Strict):
    """Whose consent the process asks for, from which ages, and when the young person decides.

    `child_from_age` and `source`: the parties the investigation is carried out with "so far as
    possible" (Barnets Lov §22 stk. 2) — consent there is not a condition, but a case waiting for
    it is flagged (`stuck.consent_wait`). `measures`: the consent a grant needs per category.
    From `majority_age` the young person consents alone and no custody holder is asked
    (forældreansvarsloven §1 a: a child under 18 is under custody).
    """

    child_from_age: Annotated[int, Field(ge=0)]
    source: str
    majority_age: Annotated[int, Field(ge=0)] = 18
    majority_source: str = ""
    measures: dict[MeasureCategory, ConsentRequirement] = {}


class PlanContent(_Strict):
    """What a plan must hold to be accepted (SEL §140; Barnets Lov §92 asks for other content)."""

    required: list[Literal["purpose", "goals", "expected_duration_months"]]
    source: str


class ComplaintGuidance(_Strict):
    """Which decisions must carry complaint guidance (forvaltningsloven §25: every decision that
    does not give a party all it applied for)."""

    events: list[Event]
    # A grant on an application that does not grant the measure applied for.
    grant_other_than_applied_for: bool = False
    source: str


class ComplaintRule(_Strict):
    """Complaints about the case's decisions (retssikkerhedsloven §§ 66–67; Barnets Lov §168).

    A party complains within `period` of the decision (§67 stk. 1 counts from the party's
    receipt of it; the engine counts from the decision's date, the day it is sent). The
    municipality reassesses within the `reassessment` deadline and, upholding its decision,
    forwards the complaint (the `forward_complaint` deadline); decisions taken by a role of
    `direct_from` (the committee) are forwarded at once, without reassessment. A refusal keeps
    the case open until the period has passed (`keep_refused_case_open`): the sweep closes it
    then, audited. From `child_party_from_age` the child is a party, and the complaint guidance
    of a decision must say so (`complaint_guidance_child` in the event's data).
    """

    decisions: list[Event] = [Event.GRANT, Event.REFUSE]
    period: Span
    source: str
    direct_from: list[Role] = [Role.COMMITTEE]
    direct_source: str = ""
    keep_refused_case_open: bool = True
    child_party_from_age: Annotated[int, Field(ge=0, le=30)] | None = None
    child_party_source: str = ""

    @model_validator(mode="after")
    def _decisions_only(self) -> Self:
        others = [e.value for e in self.decisions if e not in (Event.GRANT, Event.REFUSE)]
        if others:
            raise ValueError(f"only grant and refuse are complained of here, not {others}")
        if self.child_party_from_age is not None and not self.child_party_source:
            raise ValueError("child_party_from_age needs child_party_source")
        return self


class NotificationReassessmentRule(_Strict):
    """A new notification on a case with measures: who reassesses it (a person not previously
    involved in the case, the rule's source), and by when (`deadlines.notification_reassessment`)."""

    uninvolved: StrictBool = True
    source: str


class ExpectedBirthRule(_Strict):
    """A case opened for a child not yet born (support to expectant parents): its expected birth
    date lies on or after the awareness date and at most `within` after it."""

    within: Span
    source: str


# The events whose transitions carry the child-conversation guard (statemachine.process).
CHILD_CONVERSATION_GUARDABLE = (
    Event.GRANT,
    Event.REFUSE,
    Event.REVISE_PLAN,
    Event.END_MEASURE,
    # The committee's own decisions (Barnets Lov §142 stk. 1–2): the compulsory examination and
    # keeping a placement without consent.
    Event.DECIDE_COMPULSORY_EXAMINATION,
    Event.DECIDE_WITHOUT_CONSENT,
    Event.RENEW_PLACEMENT_WITHOUT_CONSENT,
)


class ChildConversationRule(_Strict):
    """Barnets Lov §5 stk. 3: the child's views are obtained by conversation before a decision
    about the child; stk. 4: in very special cases an exception, recorded with its ground.

    A conversation (or a recorded exception) counts for a guarded event when it was held within
    `window` before the event (Copenhagen dates) or, with `since_previous_decision`, after the
    case's previous grant or refusal. `end_measure` is guarded only for measures of
    `end_measure_categories` (empty: every measure). Barnets Lov §142 stk. 2: before the
    committee decides, a child of `committee_from_age` is heard; `committee_events` fired by the
    committee on such a child are guarded, citing `committee_source`.
    """

    events: list[Event]
    end_measure_categories: list[MeasureCategory] = []
    window: Span
    since_previous_decision: bool = True
    committee_events: list[Event] = []
    committee_from_age: Annotated[int, Field(ge=0, le=30)] | None = None
    committee_source: str | None = None
    source: str

    @model_validator(mode="after")
    def _guardable(self) -> Self:
        unguarded = [
            e.value
            for e in [*self.events, *self.committee_events]
            if e not in CHILD_CONVERSATION_GUARDABLE
        ]
        if unguarded:
            raise ValueError(
                f"events {unguarded} carry no child-conversation guard; guardable: "
                f"{[e.value for e in CHILD_CONVERSATION_GUARDABLE]}"
            )
        if self.committee_events and (self.committee_from_age is None or not self.committee_source):
            raise ValueError("committee_events need committee_from_age and committee_source")
        return self


class StuckRule(_Strict):
    """What makes a case stuck for the supervisor's view.

    A case is stuck when it has been in a phase longer than the phase's norm, or when nothing has
    happened on it for `inactivity` while in a phase that has a norm (follow-up has none: its
    cadence is watched by the follow-up deadlines).
    """

    phase_norms: dict[Phase, Span]
    inactivity: Span
    # Where a case is expected to move (an investigation may rightly be quiet for weeks).
    inactivity_phases: list[Phase] = []
    # A case in clarification without the consent it needs is flagged once it has waited this long.
    consent_wait: Span | None = None
    # A case in decision without the child conversation its decision needs (Barnets Lov §5
    # stk. 3; the rulebook's `child_conversation`) is flagged once it has waited this long.
    child_conversation_wait: Span | None = None
    source: str


class Rulebook(_Strict):
    """One version of one municipality's rulebook."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    version: Annotated[str, Field(pattern=r"^[0-9A-Za-z._-]+$")]
    effective_from: date
    title: str
    law: str  # the law the citations follow ("SEL", "Barnets Lov")
    # Whether this version takes over the cases already open when it comes into force. A change
    # of law does: an act is judged under the law in force on its date, so from `effective_from`
    # every event on an older version's open case is judged under this one (the case is moved
    # first, audited: docs/decisions/015-law-in-force-on-the-event-date.md). A municipality's
    # new service level need not: its open cases keep the version they were opened under.
    # Strict: `"yes"` or `1` in a file is refused, not read as true.
    applies_to_open_cases: StrictBool = False
    calendar: WorkingCalendarSpec = Field(default_factory=lambda: WorkingCalendarSpec())
    consent: ConsentRule
    # None: the rulebook takes no case for a child not yet born.
    expected_birth: ExpectedBirthRule | None = None
    # None: no child-conversation duty is guarded (a rulebook without the section guards nothing).
    child_conversation: ChildConversationRule | None = None
    # None: no complaint is recorded beside the phases, and a refusal closes the case at once.
    complaints: ComplaintRule | None = None
    # None: a new notification on a case with measures arms no reassessment.
    notification_reassessment: NotificationReassessmentRule | None = None
    deadlines: dict[RuleId, DeadlineRule]
    measure_deadlines: dict[RuleId, MeasureRuleDefaults]
    measures: dict[str, MeasureType]
    competence: CompetencePlan
    stuck: StuckRule
    # Shared definitions that the file refers to with YAML anchors; validated, not used directly.
    ladders: dict[str, list[LadderStep]] = {}
    cadences: dict[str, FollowUpCadence] = {}
    # The legal basis of each event, written into its audit record (a change of law is a new
    # rulebook version, DOMAIN.md).
    legal_basis: dict[Event, str]
    plan_content: PlanContent = PlanContent(
        required=["purpose", "goals", "expected_duration_months"], source="SEL §140"
    )
    complaint_guidance: ComplaintGuidance = ComplaintGuidance(
        events=[Event.REFUSE], source="forvaltningsloven §25"
    )
    caseload_target: Annotated[int, Field(gt=0)] = 22

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # (path in the file, reason): carried in the error's context so that the loader can
        # name the path rather than the top of the file.
        problems: list[tuple[str, str]] = []
        for rule in self.deadlines:
            if rule not in CASE_RULES:
                problems.append(
                    (f"deadlines.{rule}", "a measure-level rule belongs in measure_deadlines")
                )
        if self.complaints is not None:
            for rule in COMPLAINT_RULES:
                if rule not in self.deadlines:
                    problems.append((f"deadlines.{rule}", "the complaints section needs it"))
        if (
            self.notification_reassessment is not None
            and RuleId.NOTIFICATION_REASSESSMENT not in self.deadlines
        ):
            problems.append(
                ("deadlines.notification_reassessment", "notification_reassessment needs it")
            )
        for rule in self.measure_deadlines:
            if rule not in MEASURE_RULES:
                problems.append((f"measure_deadlines.{rule}", "not a measure-level rule"))
        for measure_id, measure in self.measures.items():
            path = f"measures.{measure_id}"
            if measure.package_review is not None and not measure.packages:
                problems.append((f"{path}.package_review", "the measure has no packages"))
            if measure.follow_up is not None and RuleId.FOLLOW_UP not in self.measure_deadlines:
                problems.append((f"{path}.follow_up", "measure_deadlines.follow_up missing"))
            if measure.package_review is not None and (
                RuleId.PACKAGE_REVIEW not in self.measure_deadlines
            ):
                problems.append(
                    (f"{path}.package_review", "measure_deadlines.package_review missing")
                )
            if measure.competence not in self.competence.hierarchy:
                problems.append((f"{path}.competence", "not in competence.hierarchy"))
            if measure.for_expectant_parents and measure.ages.min > 0:
                # An expected child is 0 years old to the age checks.
                problems.append(
                    (f"{path}.ages.min", "a measure for expectant parents admits age 0")
                )
        for category, requirement in self.consent.measures.items():
            role = requirement.without_consent
            if role is not None and role not in self.competence.hierarchy:
                problems.append(
                    (f"consent.measures.{category}.without_consent", "not in competence.hierarchy")
                )
        if problems:
            raise PydanticCustomError(
                "rulebook_inconsistent",
                "{summary}",
                {
                    "summary": "; ".join(f"{where}: {why}" for where, why in problems),
                    "problems": problems,
                },
            )
        return self

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def plan_may_follow_decision(self) -> bool:
        """Barnets Lov §91: some measures may be granted before the plan exists."""
        return any(m.action_plan == "after_decision" for m in self.measures.values())

    @property
    def measures_during_investigation(self) -> bool:
        """Barnets Lov §32 stk. 4: some measures may start while the investigation runs."""
        return any(m.may_start_during_investigation for m in self.measures.values())

    def is_statutory(self, rule: str, measure_type: str | None = None) -> bool:
        """Whether the law sets a deadline of `rule` ("lovbestemt") or the municipality does
        (its service level): a case rule's `statutory`, a follow-up's its measure type's
        cadence's, a measure rule's its default's."""
        rule_id = RuleId(rule)
        if rule_id in self.deadlines:
            return self.deadlines[rule_id].statutory
        if rule_id is RuleId.FOLLOW_UP and measure_type in self.measures:
            cadence = self.measures[measure_type].follow_up
            return cadence.statutory if cadence else False
        defaults = self.measure_deadlines.get(rule_id)
        return defaults.statutory if defaults else False

    def working_calendar(self) -> WorkingCalendar:
        spec = self.calendar
        fixed = [*spec.extra_closed_days]
        dates: list[str] = []
        easter_days: list[int] = []
        for closed in spec.closed_days:
            if isinstance(closed, EasterDay):
                easter_days.append(closed.easter)
            elif len(closed) == len("12-24"):
                fixed.append(closed)
            else:
                dates.append(closed)
        return _working_calendar(spec.country, tuple(fixed), tuple(dates), tuple(easter_days))


@cache
def _working_calendar(
    country: str, fixed: tuple[str, ...], dates: tuple[str, ...], easter_days: tuple[int, ...]
) -> WorkingCalendar:
    # Frozen and immutable: one per distinct calendar, not one per deadline armed.
    return WorkingCalendar(country, fixed, dates, easter_days)


def _closed_day(text: str) -> str:
    """A closed day as a rulebook writes it: "MM-DD" every year (checked against a leap year,
    so "02-29" is a day and "02-30" is not) or one date "YYYY-MM-DD"."""
    try:
        if len(text) == len("12-24"):
            date.fromisoformat(f"2000-{text}")
            return text
        if len(text) == len("2026-05-15"):
            date.fromisoformat(text)
            return text
    except ValueError:
        pass
    raise PydanticCustomError(
        "closed_day",
        "a closed day is a day of every year written MM-DD (e.g. '12-24') or one date written "
        "YYYY-MM-DD (e.g. '2026-05-15'); '{value}' is neither",
        {"value": text},
    )


class EasterDay(_Strict):
    """A day closed every year, counted in days from Easter Sunday (e.g. 40: the Friday after
    Ascension Day; -3: Maundy Thursday, a public holiday already)."""

    easter: Annotated[int, Field(ge=-70, le=70)]
    name: str = ""


def _closed_day_kind(value: object) -> str:
    return "day" if isinstance(value, str) else "easter"


# A string is a day or a date, anything else a day counted from Easter: an error names the one.
ClosedDay = Annotated[
    Annotated[Annotated[str, AfterValidator(_closed_day)], Tag("day")]
    | Annotated[EasterDay, Tag("easter")],
    Discriminator(_closed_day_kind),
]


class WorkingCalendarSpec(_Strict):
    """Which days are working days (hverdage); public holidays come from the `holidays` package,
    the municipality's own closed days from `closed_days` (a service level: name its source)."""

    country: Literal["DK"] = "DK"
    # Kept for rulebooks written before `closed_days`: days of every year, "MM-DD".
    extra_closed_days: list[Annotated[str, AfterValidator(_closed_day), Field(max_length=5)]] = []
    closed_days: list[ClosedDay] = []
    source: str | None = None


Rulebook.model_rebuild()
