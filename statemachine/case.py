"""The case aggregate as the domain sees it: plain objects, no ORM, no machine attached."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from statemachine.consent import child_age
from statemachine.explanation import AnyExplanation
from statemachine.phases import UNRESOLVED, DeadlineStatus, Notifier, Phase, Source


@dataclass
class MeasureState:
    """One granted measure: its own type, package, start, follow-ups and end."""

    key: str  # "m1", "m2", … unique within the case
    type: str
    package: str | None
    granted_at: datetime
    external: bool = False
    without_consent: bool = False
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_reason: str | None = None
    goals_met: bool | None = None
    last_follow_up_at: datetime | None = None
    follow_ups_held: int = 0
    changed: bool = False

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class ChildConversation:
    """One conversation with the child (Barnets Lov §5 stk. 3): when, and two facts about it."""

    at: datetime
    without_parents: bool
    support_person_offered: bool


@dataclass(frozen=True)
class Decision:
    """A grant or refusal of the case, by its audit record's number: what a complaint names."""

    seq: int
    event: str
    at: datetime
    role: str


class ComplaintStatus:
    """Where a complaint stands (the values are a contract: `case show --json`)."""

    AWAITING_REASSESSMENT = "awaiting_reassessment"
    AWAITING_FORWARDING = "awaiting_forwarding"
    FORWARDED = "forwarded"
    CHANGED = "changed"  # the municipality changed its decision on reassessment
    DECIDED = "decided"  # Ankestyrelsen decided (`appeal_outcome`)
    OPEN = (AWAITING_REASSESSMENT, AWAITING_FORWARDING, FORWARDED)


@dataclass
class Complaint:
    """One complaint about one decision (retssikkerhedsloven §§ 66–67). `number` is the audit
    sequence number of its `record_complaint` record; facts only, never the complaint's text."""

    number: int
    decision_seq: int
    received_at: datetime
    late: bool
    direct: bool  # a committee decision: to Ankestyrelsen without reassessment
    status: str
    reassessment_outcome: str | None = None
    appeal_outcome: str | None = None

    @property
    def open(self) -> bool:
        return self.status in ComplaintStatus.OPEN


@dataclass(frozen=True)
class ReceivedNotification:
    """A further notification received on the open case (Barnets Lov §133, §136): its number
    is the audit sequence number of its `receive_notification` record."""

    number: int
    aware_at: datetime
    notifier: str


@dataclass
class DeadlineState:
    """One deadline of one case, with the explanation of why it falls when it does."""

    key: str  # unique within the case: "investigation", "follow_up:m1:2", …
    rule: str
    measure_key: str | None
    anchor_at: datetime
    due_at: datetime
    status: DeadlineStatus
    source: str
    responsible: str
    escalated_to: str
    explanation: AnyExplanation
    armed_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    changed: bool = False

    @property
    def unresolved(self) -> bool:
        return self.status in UNRESOLVED

    def close(self, status: DeadlineStatus, at: datetime, by: str) -> None:
        self.status = status
        self.closed_at = at
        self.closed_by = by
        self.changed = True


@dataclass
class CaseFile:
    """Everything the process needs to decide the next event of one case."""

    id: int
    municipality: str
    rulebook_id: str
    rulebook_version: str
    child_ref: str
    birth_date: date  # while `birth_expected`, the expected date of birth
    aware_at: datetime
    source: Source
    notifier: Notifier | None
    phase: Phase
    phase_entered_at: datetime
    last_event_at: datetime
    version: int = 1
    # A child not yet born (support to expectant parents) until `record_birth` gives the date.
    birth_expected: bool = False
    consents: set[str] = field(default_factory=set)
    without_consent_decided: bool = False
    # Barnets Lov §23: when the committee decided the compulsory examination.
    compulsory_examination_at: datetime | None = None
    # Whose consent was missing when the investigation was opened (none: it ran with consent).
    investigation_without_consent_of: list[str] | None = None
    # Retssikkerhedsloven §3 stk. 2: the measure applied for, and the date the applicant was
    # told to expect the decision by when the published deadline could not be met.
    applied_for: str | None = None
    decision_expected_by: date | None = None
    # Barnets Lov §95 stk. 3: the case's own follow-up interval per measure key
    # ({"amount": n, "unit": "weeks"|"months"}), decided at a follow-up; absent: service level.
    follow_up_plans: dict[str, dict[str, Any]] = field(default_factory=dict)
    acute: bool | None = None
    provisional_assessment_at: datetime | None = None
    investigated_at: datetime | None = None  # when an investigation was concluded
    party_hearing_at: datetime | None = None
    action_plan: dict[str, Any] | None = None
    proposed_measures: list[dict[str, Any]] = field(default_factory=list)
    close_reason: str | None = None
    # The last grant or refusal: a child conversation held since then counts for the next
    # decision (the rulebook's `child_conversation.since_previous_decision`).
    last_decision_at: datetime | None = None
    # Barnets Lov §5 stk. 3–4: the conversations held and the exceptions recorded (instants only).
    child_conversations: list[ChildConversation] = field(default_factory=list)
    child_conversation_exceptions: list[datetime] = field(default_factory=list)
    # The decisions (grant, refuse) by audit number, the complaints about them, and the further
    # notifications received while the case is open.
    decisions: list[Decision] = field(default_factory=list)
    complaints: list[Complaint] = field(default_factory=list)
    notifications: list[ReceivedNotification] = field(default_factory=list)
    measures: list[MeasureState] = field(default_factory=list)
    deadlines: list[DeadlineState] = field(default_factory=list)
    # Who has acted on the case so far (its audit trail's actors), when an event's rule asks
    # (Barnets Lov §137 stk. 1); loaded by the use case for such an event only.
    involved: frozenset[str] = frozenset()
    # The number of the case's last audit record: the next event's record is `audit_seq + 1`
    # (a complaint names a decision by it). Kept by persistence, never by the domain.
    audit_seq: int = 0

    def child_age(self, day: date) -> int:
        """Completed years on `day`; 0 for a child not yet born (`consent.child_age`)."""
        return child_age(self.birth_date, day, expected=self.birth_expected)

    def measure(self, key: str) -> MeasureState | None:
        return next((m for m in self.measures if m.key == key), None)

    def active_measures(self) -> list[MeasureState]:
        return [m for m in self.measures if m.active]

    def unresolved_deadlines(self) -> list[DeadlineState]:
        return [d for d in self.deadlines if d.unresolved]

    def complaint(self, number: int) -> Complaint | None:
        return next((c for c in self.complaints if c.number == number), None)

    def decision(self, seq: int) -> Decision | None:
        return next((d for d in self.decisions if d.seq == seq), None)

    def open_complaints(self) -> list[Complaint]:
        return [c for c in self.complaints if c.open]

    def deadline(self, key: str) -> DeadlineState | None:
        return next((d for d in self.deadlines if d.key == key), None)
