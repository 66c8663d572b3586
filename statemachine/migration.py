"""Moving an open case to another rulebook version: which deadlines move, and by how much (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from statemachine.calendar import local_date, local_iso
from statemachine.case import CaseFile, DeadlineState
from statemachine.deadlines import (
    arm_age_limit,
    arm_case_deadline,
    arm_committee_renewal,
    arm_follow_up,
    arm_package_review,
    arm_supervision_visit,
    arm_young_person_support,
    own_cadence,
)
from statemachine.errors import Refusal, RefusalCode
from statemachine.explanation import AnyExplanation
from statemachine.phases import DeadlineStatus, Event, Phase
from statemachine.rulebook import Anchor, Rulebook, RuleId


@dataclass(frozen=True)
class DeadlineMove:
    """One unresolved deadline under the new version: moved, unchanged, or dropped."""

    key: str
    rule: str
    measure_key: str | None
    old_due_at: datetime
    new_due_at: datetime | None  # None: the new version has no such rule; it is cancelled
    explanation: AnyExplanation | None
    source: str | None

    @property
    def days(self) -> int | None:
        """Calendar days the due day moves (negative: earlier)."""
        if self.new_due_at is None:
            return None
        return (local_date(self.new_due_at) - local_date(self.old_due_at)).days


@dataclass(frozen=True)
class MigrationPlan:
    case_id: int
    old: str
    new: str
    moves: list[DeadlineMove]
    blocked: str | None  # why the case cannot move, if it cannot (`rulebook migrate --json`)
    refusal: Refusal | None = None  # `blocked` as a code and parameters, for people to read


def _rearmed(case: CaseFile, new: Rulebook, deadline: DeadlineState) -> DeadlineState | None:
    rule = RuleId(deadline.rule)
    if deadline.measure_key is None:
        case_rule = new.deadlines.get(rule)
        if case_rule is None:
            return None
        if case.source in case_rule.from_receipt and deadline.armed_at == case.aware_at:
            # Armed at the application's receipt (retssikkerhedsloven §3 stk. 2): counted from
            # awareness again, for the new version's published deadline of the measure.
            applied = new.measures.get(case.applied_for or "")
            return arm_case_deadline(
                new,
                rule,
                case_rule,
                case,
                "open_case",
                case.aware_at,
                anchor=Anchor.AWARENESS,
                duration=applied.decision_deadline if applied else None,
            )
        return arm_case_deadline(
            new, rule, case_rule, case, deadline.closed_by or "", deadline.anchor_at
        )
    measure = case.measure(deadline.measure_key)
    if measure is None:
        return None
    if rule is RuleId.FOLLOW_UP:
        return arm_follow_up(new, measure, deadline.armed_at, every=own_cadence(case, measure.key))
    if rule is RuleId.AGE_LIMIT:
        # The new version's age range (and its source) for the measure; none there: cancelled.
        return arm_age_limit(new, case, measure, deadline.armed_at)
    if rule is RuleId.YOUNG_PERSON_SUPPORT_DECISION:
        return arm_young_person_support(new, case, measure, deadline.armed_at)
    if rule is RuleId.SUPERVISION_VISIT:
        # Counted again from what it counted from (the start, or the visit held), for the new
        # version's period.
        held = deadline.anchor_at if deadline.anchor_at != measure.started_at else None
        return arm_supervision_visit(new, measure, deadline.armed_at, held_at=held)
    if rule is RuleId.COMMITTEE_RENEWAL:
        # From the grant (the first period) or from the renewal held (the later one).
        renewed = deadline.anchor_at if deadline.anchor_at != measure.granted_at else None
        return arm_committee_renewal(new, measure, deadline.armed_at, renewed_at=renewed)
    return arm_package_review(new, measure, deadline.armed_at)


def plan_migration(case: CaseFile, old: Rulebook, new: Rulebook) -> MigrationPlan:
    """What moving `case` from `old` to `new` does to its unresolved deadlines."""
    unknown = sorted({m.type for m in case.active_measures() if m.type not in new.measures})
    refusal: Refusal | None = None
    if case.phase is Phase.CLOSURE:
        blocked: str | None = "the case is closed"
        refusal = Refusal(
            RefusalCode.NOT_POSSIBLE_IN_PHASE,
            {"event": Event.MIGRATE_RULEBOOK.value, "phase": case.phase.value},
        )
    elif unknown:
        blocked = f"measure type(s) {', '.join(unknown)} do not exist in {new.key}"
        refusal = Refusal(
            RefusalCode.MIGRATION_BLOCKED,
            {
                "rulebook": new.key,
                "pinned": old.key,
                "effective": new.effective_from.isoformat(),
                "law": new.law,
                "measures": unknown,
            },
        )
    else:
        blocked = None
    moves = []
    if blocked is None:
        for deadline in case.unresolved_deadlines():
            fresh = _rearmed(case, new, deadline)
            moves.append(
                DeadlineMove(
                    key=deadline.key,
                    rule=deadline.rule,
                    measure_key=deadline.measure_key,
                    old_due_at=deadline.due_at,
                    new_due_at=fresh.due_at if fresh else None,
                    explanation=fresh.explanation if fresh else None,
                    source=fresh.source if fresh else None,
                )
            )
    return MigrationPlan(case.id, old.key, new.key, moves, blocked, refusal)


def apply_migration(
    case: CaseFile, plan: MigrationPlan, new: Rulebook, at: datetime, now: datetime
) -> list[DeadlineState]:
    """Re-pin `case` to `new` and re-arm its deadlines as planned; returns the touched ones."""
    case.rulebook_id, case.rulebook_version = new.id, new.version
    touched = []
    for move in plan.moves:
        deadline = case.deadline(move.key)
        assert deadline is not None
        if move.new_due_at is None:
            deadline.close(DeadlineStatus.CANCELLED, at, "migrate_rulebook")
        else:
            deadline.due_at = move.new_due_at
            deadline.explanation = move.explanation or deadline.explanation
            deadline.source = move.source or deadline.source
            # A deadline moved into the future is open again; one still past stays breached.
            if deadline.status is DeadlineStatus.BREACHED and move.new_due_at > now:
                deadline.status = DeadlineStatus.OPEN
            deadline.changed = True
        touched.append(deadline)
    return touched


def plan_view(plan: MigrationPlan) -> dict[str, Any]:
    """The plan as a `migrate_rulebook` audit record holds it (and `rulebook migrate --json`
    shows it): the versions, whether it is blocked, and each unresolved deadline's move."""
    return {
        "case_id": plan.case_id,
        "from": plan.old,
        "to": plan.new,
        "blocked": plan.blocked,
        "deadlines": [
            {
                "key": m.key,
                "rule": m.rule,
                "measure_id": m.measure_key,
                "old_due_at": local_iso(m.old_due_at),
                "new_due_at": local_iso(m.new_due_at),
                "days": m.days,
                "cancelled": m.new_due_at is None,
            }
            for m in plan.moves
        ],
    }


def migration_legal_basis(target: Rulebook) -> str:
    """The legal basis a `migrate_rulebook` record gives: the version moved to, its law and
    when it took effect."""
    return f"rulebook {target.key} ({target.law}, effective {target.effective_from})"
