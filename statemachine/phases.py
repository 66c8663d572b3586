"""The vocabulary of the process: phases, events, roles and the facts a case is opened with."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    """The eight phases of good case practice (God sagsbehandlingspraksis, seed 004)."""

    INQUIRY = "inquiry"
    CLARIFICATION = "clarification"
    INVESTIGATION = "investigation"
    ACTION_PLAN = "action_plan"
    DECISION = "decision"
    IMPLEMENTATION = "implementation"
    FOLLOW_UP = "follow_up"
    CLOSURE = "closure"


class Event(StrEnum):
    """What a caseworker (or the committee) records on a case. The names are a contract."""

    OPEN_CASE = "open_case"
    ASSESS_URGENCY = "assess_urgency"
    ACKNOWLEDGE = "acknowledge"
    ACCEPT = "accept"
    SCREEN = "screen"
    RECORD_CONSENT = "record_consent"
    DECIDE_WITHOUT_CONSENT = "decide_without_consent"
    DECIDE_COMPULSORY_EXAMINATION = "decide_compulsory_examination"
    OPEN_INVESTIGATION = "open_investigation"
    PROPOSE_PREVENTIVE = "propose_preventive"
    RECORD_PROVISIONAL_ASSESSMENT = "record_provisional_assessment"
    CONCLUDE = "conclude"
    SUBMIT_PLAN = "submit_plan"
    DEFER_PLAN = "defer_plan"
    RECORD_PARTY_HEARING = "record_party_hearing"
    NOTIFY_APPLICANT_OF_DELAY = "notify_applicant_of_delay"
    GRANT = "grant"
    REFUSE = "refuse"
    START_MEASURES = "start_measures"
    RECORD_FOLLOW_UP = "record_follow_up"
    REVISE_PLAN = "revise_plan"
    END_MEASURE = "end_measure"
    DECIDE_YOUNG_PERSON_SUPPORT = "decide_young_person_support"
    RECORD_SUPERVISION_VISIT = "record_supervision_visit"
    RENEW_PLACEMENT_WITHOUT_CONSENT = "renew_placement_without_consent"
    RECORD_CHILD_CONVERSATION = "record_child_conversation"
    RECORD_CHILD_CONVERSATION_EXCEPTION = "record_child_conversation_exception"
    RECORD_BIRTH = "record_birth"
    # Complaints beside the phases (retssikkerhedsloven §§ 66–67; Barnets Lov §168).
    RECORD_COMPLAINT = "record_complaint"
    REASSESS = "reassess"
    FORWARD_COMPLAINT = "forward_complaint"
    RECORD_APPEAL_DECISION = "record_appeal_decision"
    END_COMPLAINT_PERIOD = "end_complaint_period"
    # A new notification on an open case (Barnets Lov §136; §137 stk. ?).
    RECEIVE_NOTIFICATION = "receive_notification"
    REASSESS_NOTIFICATION = "reassess_notification"
    CLOSE = "close"
    MIGRATE_RULEBOOK = "migrate_rulebook"


# Events a person fires through `fire`; open_case and migrate_rulebook have their own commands.
CASE_EVENTS: tuple[Event, ...] = tuple(
    e for e in Event if e not in (Event.OPEN_CASE, Event.MIGRATE_RULEBOOK)
)


class Role(StrEnum):
    """Who acts. The auditor only reads; the admin operates the system."""

    CASEWORKER = "caseworker"
    TEAM_LEADER = "team_leader"
    DEPARTMENT_HEAD = "department_head"
    COMMITTEE = "committee"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Source(StrEnum):
    """How the municipality became aware of the child (SEL §155/§155b; Barnets Lov §133)."""

    NOTIFICATION = "notification"
    APPLICATION = "application"
    INQUIRY = "inquiry"


class Notifier(StrEnum):
    """Who sent a notification; a professional with a duty to notify gets a receipt."""

    PROFESSIONAL = "professional"
    PRIVATE = "private"
    ANONYMOUS = "anonymous"


class DeadlineStatus(StrEnum):
    OPEN = "open"
    MET = "met"
    MET_LATE = "met_late"
    BREACHED = "breached"
    CANCELLED = "cancelled"


class NotificationStatus(StrEnum):
    """A notification's life in the outbox: pending → sending → sent, or parked (a person must
    act) or dropped (no longer relevant). See sagsflow/usecases/delivery.py."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    PARKED = "parked"
    DROPPED = "dropped"


# A breached deadline is still unresolved: the act it asks for can still be done, late.
UNRESOLVED: frozenset[DeadlineStatus] = frozenset({DeadlineStatus.OPEN, DeadlineStatus.BREACHED})
