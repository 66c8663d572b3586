"""Whether a deadline was met on time, late, or is not counted yet: the rule behind every share
on time (the compliance report, the dashboard's figures), pure.

A deadline's status says whether its act was done by the due time:
- on time: `met`;
- late: `met_late`, `breached`, still `open` after its due time (the sweep has not run yet), or
  `cancelled` after its due time had passed (closing a case must not hide a breach);
- pending (not counted): still `open` and not yet due;
- not counted: `cancelled` before it fell due (the case closed, the measure ended, or a
  rulebook migration re-armed it).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from statemachine.phases import DeadlineStatus, Phase
from statemachine.rulebook import RuleId

# What management supervision looks at (DOMAIN.md, "Why it matters": Ankestyrelsen measures
# these), in the report's order.
SUPERVISED_RULES: tuple[RuleId, ...] = (
    RuleId.INVESTIGATION,
    RuleId.FOLLOW_UP,
    RuleId.ACKNOWLEDGEMENT,
    RuleId.URGENT_ASSESSMENT,
    # Issue 11: what Ankestyrelsen's supervision also measures — the child conversation before
    # the decision (Barnets Lov §5 stk. 3), a placed child's supervision visits (§156 stk. 5)
    # and complaints reassessed in time (retssikkerhedsloven §66).
    RuleId.CHILD_CONVERSATION,
    RuleId.SUPERVISION_VISIT,
    RuleId.REASSESSMENT,
)
# A case never leaves closure: the phases whose stays can end.
STAY_PHASES: tuple[Phase, ...] = tuple(p for p in Phase if p is not Phase.CLOSURE)


class Timeliness(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    PENDING = "pending"  # open, not yet due
    CANCELLED = "cancelled"  # cancelled before it fell due


def settled(
    status: DeadlineStatus, due_at: datetime, closed_at: datetime | None
) -> Timeliness | None:
    """How one deadline counts whatever the time, or None while it is open (then `now` decides:
    late once due, pending before). The read models keep this per deadline (docs/decisions/
    010-read-models.md)."""
    if status is DeadlineStatus.OPEN:
        return None
    return timeliness(status, due_at, closed_at, due_at)


def timeliness(
    status: DeadlineStatus, due_at: datetime, closed_at: datetime | None, now: datetime
) -> Timeliness:
    """How one deadline counts at `now`."""
    if status is DeadlineStatus.MET:
        return Timeliness.ON_TIME
    if status in (DeadlineStatus.MET_LATE, DeadlineStatus.BREACHED):
        return Timeliness.LATE
    if status is DeadlineStatus.OPEN:
        return Timeliness.LATE if due_at < now else Timeliness.PENDING
    # cancelled
    if closed_at is not None and closed_at > due_at:
        return Timeliness.LATE
    return Timeliness.CANCELLED
