"""When a case is stuck, and why: the supervisor's rule (ledelsestilsyn), pure.

A case is stuck when it has been in a phase longer than the phase's norm, when nothing has
happened on it for the rulebook's `inactivity` while in a phase where it is expected to move,
when one of its deadlines is breached, or when it has waited in clarification longer than the
rulebook's `consent_wait` for a consent it still needs. The norms and waits are the rulebook's
`stuck` rule (the municipality's service level). The read side finds stuck cases at scale with
SQL over the instants `stuck_clock` gives (kept on the case row by the one audit writer,
docs/decisions/009-stuck-clock.md), property-tested against `assess` (tests/integration/
test_stuck_clock.py).

Every time-driven reason holds from an instant on and never stops holding while the case's facts
stay as they are: the norm's due time, the inactivity's end, and the consent wait's end (or the
child's birthday on which the child's own consent becomes required, whichever is later). So a
case's facts give three instants, fixed until its next event, and "stuck at `now`" is a
comparison of each with `now` (`StuckClock.reasons`). A breached deadline is not time-driven
here: the sweep marks it (docs/decisions/002), and it is a fact read beside the instants.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from statemachine.calendar import Unit, birthday, due, local_date, shift, start_of_local_day
from statemachine.consent import ConsentParty, missing_consents
from statemachine.conversation import lapses_at
from statemachine.phases import Event, Phase
from statemachine.rulebook import Anchor, Rulebook, RuleId, Span


class StuckReason(StrEnum):
    """Why a case is stuck; the values are a contract (the API's and CLI's `reason` filter)."""

    OVER_PHASE_NORM = "over_phase_norm"
    INACTIVE = "inactive"
    BREACHED_DEADLINE = "breached_deadline"
    WAITING_FOR_CONSENT = "waiting_for_consent"
    # Issue 11: the duties beside the phases. A breached supervision visit (Barnets Lov §156
    # stk. 5) or complaint reassessment (retssikkerhedsloven §66) is named besides the breach; a
    # case in decision without the child conversation the decision needs (Barnets Lov §5 stk. 3)
    # once it has waited the rulebook's `child_conversation_wait` for it.
    SUPERVISION_OVERDUE = "supervision_overdue"
    COMPLAINT_REASSESSMENT_OVERDUE = "complaint_reassessment_overdue"
    CHILD_CONVERSATION_MISSING = "child_conversation_missing"


# The reasons a breached deadline of one rule adds to `breached_deadline`.
BREACH_REASONS: dict[str, StuckReason] = {
    RuleId.SUPERVISION_VISIT.value: StuckReason.SUPERVISION_OVERDUE,
    RuleId.REASSESSMENT.value: StuckReason.COMPLAINT_REASSESSMENT_OVERDUE,
}


@dataclass(frozen=True)
class ClockFacts:
    """What the time-driven part of the rule reads of one case (all but the breach flag)."""

    phase: Phase
    phase_entered_at: datetime
    last_event_at: datetime
    birth_date: date
    consents: Collection[str]
    without_consent_decided: bool
    # A child not yet born (`birth_date` is the expected date): its own consent is never asked.
    birth_expected: bool = field(default=False, kw_only=True)
    # Barnets Lov §5 stk. 3–4: the latest conversation with the child or exception from it, and
    # the case's previous grant or refusal (a conversation since then counts for the next).
    child_heard_at: datetime | None = field(default=None, kw_only=True)
    last_decision_at: datetime | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class StuckFacts(ClockFacts):
    """What the rule reads of one open case."""

    has_breached_deadline: bool
    # The rules of its breached deadlines (`BREACH_REASONS` names some of them).
    breached_rules: frozenset[str] = field(default=frozenset(), kw_only=True)


@dataclass(frozen=True)
class StuckVerdict:
    """Why a case is stuck at `now`, and the figures a supervisor reads beside the reasons."""

    reasons: tuple[StuckReason, ...]
    norm: Span | None
    days_in_phase: int
    days_over_norm: int  # 0 when not over the norm
    days_since_last_event: int


def over_norm_from(rulebook: Rulebook, facts: ClockFacts) -> datetime | None:
    """The instant after which the case is over its phase's norm; None: the phase has none."""
    norm = rulebook.stuck.phase_norms.get(facts.phase)
    if norm is None:
        return None
    return due(facts.phase_entered_at, norm.duration(), rulebook.working_calendar()).due_at


_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class StuckClock:
    """The instants after which each time-driven reason holds (None: it never does with these
    facts): a reason holds at `now` exactly when `now` is later than its instant."""

    over_norm_at: datetime | None = None
    inactive_at: datetime | None = None
    consent_wait_at: datetime | None = None
    conversation_missing_at: datetime | None = None

    @property
    def stuck_at(self) -> datetime | None:
        """The earliest of the four: after it the case is stuck whatever its deadlines."""
        found = [
            i
            for i in (
                self.over_norm_at,
                self.inactive_at,
                self.consent_wait_at,
                self.conversation_missing_at,
            )
            if i
        ]
        return min(found, default=None)

    def reasons(
        self, now: datetime, *, breached: bool, breached_rules: frozenset[str] = frozenset()
    ) -> tuple[StuckReason, ...]:
        """The reasons that hold at `now`, in `assess`'s order."""
        found: list[StuckReason] = []
        if self.over_norm_at is not None and now > self.over_norm_at:
            found.append(StuckReason.OVER_PHASE_NORM)
        if self.inactive_at is not None and now > self.inactive_at:
            found.append(StuckReason.INACTIVE)
        if breached:
            found.append(StuckReason.BREACHED_DEADLINE)
            found += _breach_reasons(breached_rules)
        if self.consent_wait_at is not None and now > self.consent_wait_at:
            found.append(StuckReason.WAITING_FOR_CONSENT)
        if self.conversation_missing_at is not None and now > self.conversation_missing_at:
            found.append(StuckReason.CHILD_CONVERSATION_MISSING)
        return tuple(found)


def _breach_reasons(rules: frozenset[str]) -> list[StuckReason]:
    return [reason for rule, reason in BREACH_REASONS.items() if rule in rules]


def conversation_missing_from(rulebook: Rulebook, facts: ClockFacts) -> datetime | None:
    """The instant after which the case waits in decision for the child conversation its
    grant or refusal needs (Barnets Lov §5 stk. 3; the rulebook's `child_conversation`): the
    rulebook's `stuck.child_conversation_wait` after entering decision, or after the last
    conversation (or exception) stopped counting (`conversation.lapses_at`), whichever is
    later. None: no such wait, or the case was heard since its previous decision."""
    rule, wait = rulebook.child_conversation, rulebook.stuck.child_conversation_wait
    if (
        rule is None
        or wait is None
        or facts.phase is not Phase.DECISION
        or facts.birth_expected
        or not {Event.GRANT, Event.REFUSE} & set(rule.events)
    ):
        return None
    waited = shift(facts.phase_entered_at, wait.duration())
    heard = facts.child_heard_at
    if heard is None:
        return waited
    since = facts.last_decision_at if rule.since_previous_decision else None
    if since is not None and heard > since:
        return None  # heard for the next decision, however long it takes
    return max(waited, lapses_at(rule, heard))


def consent_wait_from(rulebook: Rulebook, facts: ClockFacts) -> datetime | None:
    """The instant after which the case waits for consent (`is_waiting_for_consent`), for any
    `now` after its last event; None: it never does with these facts.

    The wait ends `consent_wait` after entering clarification. A missing custody holder's
    consent counts from then; a missing child's consent only from the Copenhagen day the child
    reaches the rulebook's consent age (Seed 004, `ConsentRule.child_from_age`; never for a child
    not yet born), so the instant is the later of the wait's end and that day's first
    microsecond (less one: the rule holds *on* that day, the comparison is strict)."""
    if facts.phase is not Phase.CLARIFICATION or facts.without_consent_decided:
        return None
    wait = rulebook.stuck.consent_wait
    # No wait: from the moment the case entered clarification (`now` is after its last event).
    waited = (
        shift(facts.phase_entered_at, wait.duration())
        if wait is not None
        else facts.phase_entered_at - _MICROSECOND
    )
    consent = rulebook.consent
    # From the age of majority the young person's consent alone counts (forældreansvarsloven §1 a).
    of_majority = start_of_local_day(birthday(facts.birth_date, consent.majority_age))
    if ConsentParty.CUSTODY_HOLDER not in facts.consents:
        # A young person who consented waits for the custody holder only if the wait began
        # before the 18th birthday (`is_waiting_for_consent`).
        if ConsentParty.CHILD in facts.consents and of_majority <= waited:
            return None
        return waited
    if ConsentParty.CHILD in facts.consents or facts.birth_expected:
        return None
    of_age = start_of_local_day(birthday(facts.birth_date, consent.child_from_age))
    return max(waited, of_age - _MICROSECOND)


def stuck_clock(rulebook: Rulebook, facts: ClockFacts) -> StuckClock:
    """The case's stuck instants (`StuckClock`): fixed by its facts, so the case row keeps them
    from one event to the next (models/repository.py `CaseRepository.record`). A closed case is
    never stuck (the rule is about open cases): no instants."""
    if facts.phase is Phase.CLOSURE:
        return StuckClock()
    rule = rulebook.stuck
    inactive_at = None
    if facts.phase in rule.inactivity_phases:
        inactive_at = shift(facts.last_event_at, rule.inactivity.duration())
    return StuckClock(
        over_norm_at=over_norm_from(rulebook, facts),
        inactive_at=inactive_at,
        consent_wait_at=consent_wait_from(rulebook, facts),
        conversation_missing_at=conversation_missing_from(rulebook, facts),
    )


# Before an investigation is opened, the phases whose cases would have its clock (below).
_BEFORE_INVESTIGATION = (Phase.INQUIRY, Phase.CLARIFICATION)


@dataclass(frozen=True)
class ProjectedClock:
    """A deadline the case does not have yet but would have, counted from a fact it has: the
    investigation's, were one opened now (shown as projected, never stored as a deadline)."""

    rule: str
    due_at: datetime
    source: str


def projected_investigation(
    rulebook: Rulebook, phase: Phase, aware_at: datetime
) -> ProjectedClock | None:
    """The investigation deadline a case in inquiry or clarification would have if its
    investigation were opened: the rulebook's `investigation` rule counted from awareness
    (Barnets Lov §20 stk. 3, SEL §50 stk. 7: 4 months from when the municipality became aware),
    as `deadlines.arm_case_deadline` would arm it. None in other phases, or when the rulebook's
    rule counts from anything but awareness (then opening it would start the clock)."""
    if phase not in _BEFORE_INVESTIGATION:
        return None
    rule = rulebook.deadlines.get(RuleId.INVESTIGATION)
    if rule is None or rule.anchor is not Anchor.AWARENESS:
        return None
    result = due(aware_at, rule.duration.duration(), rulebook.working_calendar())
    return ProjectedClock(RuleId.INVESTIGATION.value, result.due_at, rule.source)


def counts_hours(rulebook: Rulebook, rule: str) -> bool:
    """Whether the case rule `rule` counts elapsed hours (Barnets Lov §136: the 24-hour
    assessment), so that how far over it is is told in hours, not days."""
    found = rulebook.deadlines.get(RuleId(rule)) if rule in _CASE_RULE_IDS else None
    return found is not None and found.duration.unit is Unit.HOURS


_CASE_RULE_IDS = frozenset(r.value for r in RuleId)


def hours_over(due_at: datetime, now: datetime) -> int:
    """Whole hours from `due_at` to `now` (0 when not yet over)."""
    return max(int((now - due_at).total_seconds() // 3600), 0)


def is_waiting_for_consent(rulebook: Rulebook, facts: StuckFacts, now: datetime) -> bool:
    """In clarification longer than the consent wait, no decision without consent, and a consent
    the case needs on today's date still missing."""
    if facts.phase is not Phase.CLARIFICATION or facts.without_consent_decided:
        return False
    wait = rulebook.stuck.consent_wait
    waited = shift(facts.phase_entered_at, wait.duration()) if wait is not None else None
    if waited is not None and now <= waited:
        return False
    consent = rulebook.consent
    if facts.birth_expected:
        # A child not yet born is never asked; only the custody holder's consent counts.
        return ConsentParty.CUSTODY_HOLDER not in facts.consents
    if ConsentParty.CHILD in facts.consents and ConsentParty.CUSTODY_HOLDER not in facts.consents:
        # The young person consented, the custody holder did not: the wait is for the custody
        # holder's consent, asked for as long as the wait began before the 18th birthday (the
        # flag is a supervisor's prompt, and the stuck clock keeps one instant, not an end).
        began = waited if waited is not None else facts.phase_entered_at - _MICROSECOND
        of_majority = start_of_local_day(birthday(facts.birth_date, consent.majority_age))
        return began < of_majority
    return bool(missing_consents(facts.consents, facts.birth_date, local_date(now), consent))


def assess(rulebook: Rulebook, facts: StuckFacts, now: datetime) -> StuckVerdict | None:
    """Whether the open case is stuck at `now`, and why; None when it is not."""
    rule = rulebook.stuck
    today = local_date(now)
    reasons: list[StuckReason] = []
    days_over = 0
    limit = over_norm_from(rulebook, facts)
    if limit is not None and now > limit:
        days_over = max((today - local_date(limit)).days, 1)
        reasons.append(StuckReason.OVER_PHASE_NORM)
    if facts.phase in rule.inactivity_phases and now > shift(
        facts.last_event_at, rule.inactivity.duration()
    ):
        reasons.append(StuckReason.INACTIVE)
    if facts.has_breached_deadline:
        reasons.append(StuckReason.BREACHED_DEADLINE)
        reasons += _breach_reasons(facts.breached_rules)
    if is_waiting_for_consent(rulebook, facts, now):
        reasons.append(StuckReason.WAITING_FOR_CONSENT)
    missing = conversation_missing_from(rulebook, facts)
    if missing is not None and now > missing:
        reasons.append(StuckReason.CHILD_CONVERSATION_MISSING)
    if not reasons:
        return None
    return StuckVerdict(
        reasons=tuple(reasons),
        norm=rule.phase_norms.get(facts.phase),
        days_in_phase=(today - local_date(facts.phase_entered_at)).days,
        days_over_norm=days_over,
        days_since_last_event=(today - local_date(facts.last_event_at)).days,
    )
