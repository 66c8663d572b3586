"""When a case is stuck, and why: the supervisor's rule (ledelsestilsyn), pure.

A case is stuck when it has been in a phase longer than the phase's norm, when nothing has
happened on it for the rulebook's `inactivity` while in a phase where it is expected to move,
when one of its deadlines is breached, or when it has waited in clarification longer than the
rulebook's `consent_wait` for a consent it still needs. The norms and waits are the rulebook's
`stuck` rule (the municipality's service level). The read side finds stuck cases at scale with
SQL that is tested against `assess` (sagsflow/read/stuck.py).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from statemachine.calendar import due, local_date, shift
from statemachine.consent import missing_consents
from statemachine.phases import Phase
from statemachine.rulebook import Rulebook, Span


class StuckReason(StrEnum):
    """Why a case is stuck; the values are a contract (the API's and CLI's `reason` filter)."""

    OVER_PHASE_NORM = "over_phase_norm"
    INACTIVE = "inactive"
    BREACHED_DEADLINE = "breached_deadline"
    WAITING_FOR_CONSENT = "waiting_for_consent"


@dataclass(frozen=True)
class StuckFacts:
    """What the rule reads of one open case."""

    phase: Phase
    phase_entered_at: datetime
    last_event_at: datetime
    birth_date: date
    consents: Collection[str]
    without_consent_decided: bool
    has_breached_deadline: bool


@dataclass(frozen=True)
class StuckVerdict:
    """Why a case is stuck at `now`, and the figures a supervisor reads beside the reasons."""

    reasons: tuple[StuckReason, ...]
    norm: Span | None
    days_in_phase: int
    days_over_norm: int  # 0 when not over the norm
    days_since_last_event: int


def over_norm_from(rulebook: Rulebook, facts: StuckFacts) -> datetime | None:
    """The instant after which the case is over its phase's norm; None: the phase has none."""
    norm = rulebook.stuck.phase_norms.get(facts.phase)
    if norm is None:
        return None
    return due(facts.phase_entered_at, norm.duration(), rulebook.working_calendar()).due_at


def is_waiting_for_consent(rulebook: Rulebook, facts: StuckFacts, now: datetime) -> bool:
    """In clarification longer than the consent wait, no decision without consent, and a consent
    the case needs on today's date still missing."""
    if facts.phase is not Phase.CLARIFICATION or facts.without_consent_decided:
        return False
    wait = rulebook.stuck.consent_wait
    if wait is not None and now <= shift(facts.phase_entered_at, wait.duration()):
        return False
    return bool(
        missing_consents(facts.consents, facts.birth_date, local_date(now), rulebook.consent)
    )


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
    if is_waiting_for_consent(rulebook, facts, now):
        reasons.append(StuckReason.WAITING_FOR_CONSENT)
    if not reasons:
        return None
    return StuckVerdict(
        reasons=tuple(reasons),
        norm=rule.phase_norms.get(facts.phase),
        days_in_phase=(today - local_date(facts.phase_entered_at)).days,
        days_over_norm=days_over,
        days_since_last_event=(today - local_date(facts.last_event_at)).days,
    )
