"""Domain errors: each carries a code and its parameters; the presentation words them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class RefusalCode(StrEnum):
    """Why an event (or a new case) is refused: a contract (the API's `code`, the CLI's JSON).

    Each refusal carries its parameters; `sagsflow.present.refusals` turns code and parameters
    into the sentence a person reads, in Danish or English.
    """

    UNKNOWN_EVENT = "unknown_event"
    NOT_A_CASE_EVENT = "not_a_case_event"
    TIME_WITHOUT_OFFSET = "time_without_offset"  # field
    TIME_IN_FUTURE = "time_in_future"  # field, at
    TIME_BEFORE_LAST_EVENT = "time_before_last_event"  # at, last
    ROLE_MAY_NOT_RECORD = "role_may_not_record"  # role, event, source?
    NOT_POSSIBLE_IN_PHASE = "not_possible_in_phase"  # event, phase
    INVALID_DATA = "invalid_data"  # problems: [{field, type, message, ctx}]
    NO_COMPETENCE = "no_competence"  # act, measure?, needed, role, source
    MISSING_CONSENT = "missing_consent"  # parties, child_age, source, measure?
    UNKNOWN_MEASURES = "unknown_measures"  # measures, rulebook, known
    NEEDS_INVESTIGATION = "needs_investigation"  # measures, came_from
    INCOMPLETE_PLAN = "incomplete_plan"  # missing
    PACKAGE_REQUIRED = "package_required"  # measure, packages, given
    NO_PACKAGES = "no_packages"  # measure, given
    AGE_OUT_OF_RANGE = "age_out_of_range"  # measure, min, max, age, day, source
    PLAN_BEFORE_DECISION = "plan_before_decision"  # measures, rulebook, law
    NOT_A_PLACEMENT = "not_a_placement"  # measure
    PARTY_HEARING_MISSING = "party_hearing_missing"
    COMPLAINT_GUIDANCE_MISSING = "complaint_guidance_missing"
    NO_ACTIVE_MEASURE = "no_active_measure"  # measure_id, active
    MEASURE_NOT_STARTED = "measure_not_started"  # measure_id
    INCOMPLETE_FOLLOW_UP = "incomplete_follow_up"  # missing, source
    # Barnets Lov §156 stk. 5: a supervision visit counts only with a conversation with the child.
    NO_CHILD_CONVERSATION = "no_child_conversation"  # rule, source
    MEASURE_NOT_A_PLACEMENT = "measure_not_a_placement"  # measure_id, measure
    NOT_PLACED_WITHOUT_CONSENT = "not_placed_without_consent"  # measure_id, measure
    REASON_MISSING = "reason_missing"
    GUARD_REFUSED = "guard_refused"
    ROLE_MAY_NOT_OPEN = "role_may_not_open"  # role
    # Who and where a new case belongs, against the configuration and the organisation file.
    UNKNOWN_MUNICIPALITY = "unknown_municipality"  # municipality, known
    UNKNOWN_TEAM = "unknown_team"  # team
    UNKNOWN_WORKER = "unknown_worker"  # worker
    WORKER_NOT_IN_TEAM = "worker_not_in_team"  # worker, team
    CHILD_REF_NOT_PSEUDONYMOUS = "child_ref_not_pseudonymous"
    BIRTH_AFTER_AWARENESS = "birth_after_awareness"
    # A child not yet born: its expected birth date, and the record of the birth.
    EXPECTED_BIRTH_UNSUPPORTED = "expected_birth_unsupported"  # rulebook
    EXPECTED_BIRTH_BEFORE_AWARENESS = "expected_birth_before_awareness"  # expected, aware
    EXPECTED_BIRTH_TOO_FAR = "expected_birth_too_far"  # expected, latest, amount, unit, source
    NO_EXPECTED_BIRTH = "no_expected_birth"  # birth_date
    BIRTH_IN_FUTURE = "birth_in_future"  # birth_date, day
    BIRTH_BEFORE_AWARENESS = "birth_before_awareness"  # birth_date, aware
    NOT_FOR_EXPECTED_CHILD = "not_for_expected_child"  # measures, expected
    NOTIFIER_ONLY_FOR_NOTIFICATION = "notifier_only_for_notification"
    READ_ONLY = "read_only"  # role
    NOTHING_TO_FULFIL = "nothing_to_fulfil"  # event, phase, rules
    NOT_DURING_INVESTIGATION = "not_during_investigation"  # measures
    NOTHING_TO_START = "nothing_to_start"
    EXPECTED_BY_PASSED = "expected_by_passed"  # expected_by, day
    APPLIED_FOR_ONLY_FOR_APPLICATION = "applied_for_only_for_application"
    NEXT_FOLLOW_UP_MISSING = "next_follow_up_missing"  # source
    NEXT_FOLLOW_UP_OUT_OF_BOUNDS = "next_follow_up_out_of_bounds"  # amount, unit, source
    # Barnets Lov §5 stk. 3 (§142 stk. 2 for the committee): no child conversation, nor an
    # exception, in the rulebook's window before a guarded decision.
    CHILD_CONVERSATION_MISSING = "child_conversation_missing"  # event, source, amount, unit, since
    # Complaints (retssikkerhedsloven §§ 66–67) and the child as a party (Barnets Lov §3).
    COMPLAINT_GUIDANCE_CHILD_MISSING = "complaint_guidance_child_missing"  # age, from_age, source
    NOT_A_DECISION = "not_a_decision"  # decision_seq, decisions
    RECEIVED_BEFORE_DECISION = "received_before_decision"  # received_at, decided_at
    RECEIVED_IN_FUTURE = "received_in_future"  # received_at, at
    NO_SUCH_COMPLAINT = "no_such_complaint"  # complaint, complaints
    COMPLAINT_NOT_AWAITING = "complaint_not_awaiting"  # complaint, status, awaiting
    NO_DECISION_YET = "no_decision_yet"  # a complaint on a case without a grant or refusal
    NO_COMPLAINT_AWAITING = "no_complaint_awaiting"  # event, awaiting, complaints
    COMPLAINT_PERIOD_RUNNING = "complaint_period_running"  # until
    CASE_STILL_RUNNING = "case_still_running"  # measures, complaints
    # A new notification on an open case (Barnets Lov §137 stk. 1).
    NOTIFICATION_AFTER_EVENT = "notification_after_event"  # aware_at, at
    ACTOR_INVOLVED = "actor_involved"  # actor, source
    # A version that takes over open cases is in force on the event's date, and the case cannot
    # move to it (docs/decisions/015-law-in-force-on-the-event-date.md).
    MIGRATION_BLOCKED = "migration_blocked"  # rulebook, pinned, effective, law, measures


@dataclass(frozen=True)
class Refusal:
    """One reason for a refusal: a code and its parameters (JSON values: text, numbers, lists,
    dates as ISO 8601 text)."""

    code: RefusalCode
    params: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "params": dict(self.params)}


class EventRefused(DomainError):
    """An event that may not happen now; nothing was written.

    `refusals` holds every guard's reason, the first one first (`code`, `params`).
    """

    def __init__(
        self, event: str, phase: str, refusals: Refusal | Sequence[Refusal], allowed: Sequence[str]
    ) -> None:
        self.event = event
        self.phase = phase
        self.refusals = (refusals,) if isinstance(refusals, Refusal) else tuple(refusals)
        self.allowed = list(allowed)
        codes = ", ".join(r.code.value for r in self.refusals)
        allowed_text = ", ".join(self.allowed) or "none"
        # For logs and tracebacks; people read `sagsflow.present.refusals`' sentence instead.
        super().__init__(f"{event} refused in phase {phase}: {codes} (allowed now: {allowed_text})")

    @property
    def code(self) -> RefusalCode:
        return self.refusals[0].code

    @property
    def params(self) -> Mapping[str, Any]:
        return self.refusals[0].params


class RulebookInvalid(DomainError):
    """A rulebook file that does not validate: names the file, the path in it and the reason."""

    def __init__(self, file: str, problems: Sequence[tuple[str, str]]) -> None:
        self.file = file
        self.problems = list(problems)
        lines = "; ".join(f"{path}: {reason}" for path, reason in self.problems)
        super().__init__(f"rulebook {file} is invalid: {lines}")


class CaseNotFound(DomainError, LookupError):
    """No case with this id (or none the asker may see: the same answer)."""

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        super().__init__(f"no case {case_id}")


class ConcurrencyConflict(DomainError, RuntimeError):
    """Another writer changed the case first: reload and try again."""

    def __init__(self, case_id: int, expected_version: int) -> None:
        self.case_id = case_id
        self.expected_version = expected_version
        super().__init__(
            f"case {case_id} was changed by someone else (expected version {expected_version}); "
            "reload it and try again"
        )
