"""A realistic demo: a few hundred cases across all phases, dated around today.

Every case is walked through the service layer with real events, so the demo data obeys the
same rules, deadlines and audit chain as production data. Deterministic for a given seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sagsflow.context import Context
from sagsflow.progress import Progress
from sagsflow.usecases.cases import fire_event, open_case
from statemachine.errors import EventRefused
from statemachine.phases import Notifier, Phase, Role, Source

TEAMS = {
    "t1": ["rw1", "rw2", "rw3"],
    "t2": ["rw4", "rw5", "rw6"],
    "t3": ["rw7", "rw8", "rw9"],
}

# How far along the demo walks each case, weighted roughly like a real caseload: most cases
# are in follow-up, many inquiries are closed early (DOMAIN.md: 152,700 notifications a year,
# 52,600 children with measures).
TARGETS: list[tuple[Phase, int]] = [
    (Phase.INQUIRY, 8),
    (Phase.CLARIFICATION, 10),
    (Phase.INVESTIGATION, 14),
    (Phase.ACTION_PLAN, 5),
    (Phase.DECISION, 5),
    (Phase.IMPLEMENTATION, 4),
    (Phase.FOLLOW_UP, 34),
    (Phase.CLOSURE, 20),
]
ORDER = [p for p, _ in TARGETS]
# How long ago the municipality became aware of a case that has reached each phase (days).
AGE_DAYS: dict[Phase, tuple[float, float]] = {
    Phase.INQUIRY: (0.5, 9),
    Phase.CLARIFICATION: (6, 40),
    Phase.INVESTIGATION: (20, 135),
    Phase.ACTION_PLAN: (100, 150),
    Phase.DECISION: (120, 165),
    Phase.IMPLEMENTATION: (130, 175),
    Phase.FOLLOW_UP: (160, 640),
    Phase.CLOSURE: (30, 700),
}

# After the cases that take every phase in turn, cases that keep or break each duty beside the
# phases (issue 11), so that any demo of 14 cases or more shows them all: (target, how the
# case goes, days since the municipality became aware).
SHOWCASE: list[tuple[Phase, frozenset[str], float]] = [
    # Barnets Lov §5 stk. 3: a decision waiting for the child conversation.
    (Phase.DECISION, frozenset({"no_talk"}), 230),
    # §156 stk. 5: a placement whose supervision visits stopped; one whose visits are kept.
    (Phase.FOLLOW_UP, frozenset({"place", "neglect_visits"}), 520),
    (Phase.FOLLOW_UP, frozenset({"place"}), 480),
    # Retssikkerhedsloven §66: a complaint not reassessed; one reassessed and forwarded.
    (Phase.FOLLOW_UP, frozenset({"refuse", "complain", "neglect_reassessment"}), 520),
    (Phase.FOLLOW_UP, frozenset({"refuse", "complain"}), 330),
    # Barnets Lov §137 stk. 1: a further notification not reassessed.
    (Phase.FOLLOW_UP, frozenset({"notify", "neglect_reassessment"}), 400),
]

SUPPORTIVE = [
    ("practical_support", "red"),
    ("practical_support", "orange"),
    ("practical_support", "yellow"),
    ("family_treatment", "yellow"),
    ("contact_person_family", "green"),
    ("safety_plan", None),
    ("day_care_support", None),
]


@dataclass
class Walk:
    """One case being walked: the clock advances by plausible, sometimes late, steps."""

    context: Context
    case_id: int
    at: datetime
    now: datetime
    rng: random.Random
    actor: str
    # The investigation was opened before the custody holder consented (Barnets Lov §22 stk. 2:
    # consent is no condition there); the consent then comes with the plan, before the grant.
    consent_pending: bool = False
    # An application's measure (and package): what the decision grants, so that it needs no
    # complaint guidance (forvaltningsloven §25 stk. 1).
    applied_for: tuple[str, str | None] | None = None
    # The child's reference, and the team's other caseworkers (a further notification is
    # reassessed by one not involved before, Barnets Lov §137 stk. 1).
    child_ref: str = ""
    colleagues: tuple[str, ...] = ()
    # A placement runs (supervision visits, Barnets Lov §156 stk. 5), granted without consent
    # by the committee (its renewal, §50).
    placed: bool = False
    placed_without_consent: bool = False
    # The audit sequence number of the last accepted event (a complaint names its decision).
    last_seq: int = 0
    # How a showcase case goes (`SHOWCASE`); empty for the others.
    show: frozenset[str] = frozenset()

    def fire(
        self,
        event: str,
        data: dict[str, Any] | None = None,
        *,
        days: float,
        role: Role = Role.CASEWORKER,
        actor: str | None = None,
    ) -> bool:
        at = self.at + timedelta(days=days, minutes=self.rng.randint(0, 90))
        if at >= self.now:
            return False
        try:
            accepted = fire_event(
                self.context,
                self.case_id,
                event,
                at=at,
                data=data,
                actor=actor or self.actor,
                role=role,
                now=self.now,
            )
        except EventRefused:
            return False
        self.at = at
        self.last_seq = accepted.audit_seq
        return True


def _delay(rng: random.Random, usual: float, late_share: float = 0.15) -> float:
    """Mostly on time, sometimes late: supervisors need something to supervise."""
    if rng.random() < late_share:
        return usual * rng.uniform(1.2, 2.2)
    return usual * rng.uniform(0.2, 0.9)


def load_demo(
    context: Context,
    *,
    cases: int,
    now: datetime,
    seed: int = 2026,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Open and walk `cases` demo cases; returns how many ended in each phase.
    `progress(done, cases)`: after each case (`sagsflow.progress`)."""
    rng = random.Random(seed)
    phases = [p for p, _ in TARGETS]
    weights = [w for _, w in TARGETS]
    for number in range(1, cases + 1):
        # The first cases take every phase in turn, so that even a small demo shows each; the
        # next ones keep and break the duties beside the phases.
        show: frozenset[str] = frozenset()
        age: float | None = None
        if number <= len(phases):
            # Straight through, on time, aware as long ago as the phase allows: it gets there.
            target, show = phases[number - 1], frozenset({"in_turn"})
            age = AGE_DAYS[target][1]
        elif number - len(phases) <= len(SHOWCASE):
            target, show, age = SHOWCASE[number - len(phases) - 1]
        else:
            target = rng.choices(phases, weights)[0]
        _walk_case(context, number, target, now, rng, show=show, age=age)
        if progress is not None:
            progress(number, cases)
    from sagsflow.read.cases import list_cases

    counts = {p.value: 0 for p in Phase}
    for row in list_cases(context):
        counts[row["phase"]] += 1
    return counts


def _walk_case(
    context: Context,
    number: int,
    target: Phase,
    now: datetime,
    rng: random.Random,
    *,
    show: frozenset[str] = frozenset(),
    age: float | None = None,
) -> None:
    team = rng.choice(sorted(TEAMS))
    worker = rng.choice(TEAMS[team])
    # Later phases need older cases: a case in follow-up became known months ago.
    low, high = AGE_DAYS[target]
    age_days = age if age is not None else rng.uniform(low, high)
    aware_at = now - timedelta(days=age_days, hours=rng.randint(0, 10))
    source = rng.choices([Source.NOTIFICATION, Source.APPLICATION, Source.INQUIRY], [6, 2, 1])[0]
    notifier = None
    if source is Source.NOTIFICATION:
        notifier = rng.choices(
            [Notifier.PROFESSIONAL, Notifier.PRIVATE, Notifier.ANONYMOUS], [6, 2, 1]
        )[0]
    child_age = rng.randint(1, 17)
    birth = date(aware_at.year - child_age, rng.randint(1, 12), rng.randint(1, 28))
    # An application names the measure applied for: its decision deadline runs from receipt
    # (retssikkerhedsloven §3 stk. 2).
    applied = rng.choice(SUPPORTIVE) if source is Source.APPLICATION else None
    applied_for = applied[0] if applied else None
    accepted = open_case(
        context,
        child_ref=f"DEMO-{number:05d}",
        birth_date=birth,
        aware_at=aware_at,
        source=source,
        notifier=notifier,
        worker=worker,
        team=team,
        municipality="demo",
        actor=worker,
        now=now,
        applied_for=applied_for,
        # Each demo case is its own child, even when a demo is loaded twice into one database.
        new_case=True,
    )
    walk = Walk(
        context,
        accepted.case_id,
        aware_at,
        now,
        rng,
        worker,
        applied_for=applied,
        child_ref=f"DEMO-{number:05d}",
        colleagues=tuple(w for w in TEAMS[team] if w != worker),
        show=show,
    )
    steps: list[Callable[[Walk, random.Random], bool]] = [
        _inquiry,
        _clarification,
        _investigation,
        _plan,
        _decision,
        _implementation,
        _follow_up,
    ]
    for index, step in enumerate(steps):
        if ORDER[index] is target and target is not Phase.CLOSURE:
            _linger(walk, rng, target)
            return
        if target is Phase.CLOSURE and index >= 2 and rng.random() < 0.35:
            walk.fire(
                "close",
                {"reason": "Henlagt: behovet er dækket af almene tilbud"},
                days=_delay(rng, 10),
            )
            return
        if not step(walk, rng):
            return
    if target is Phase.CLOSURE:
        walk.fire("close", {"reason": "Indsatsen er afsluttet"}, days=_delay(rng, 20))


def _linger(walk: Walk, rng: random.Random, phase: Phase) -> None:
    """What happens in the phase a case has reached, short of leaving it."""
    if phase is Phase.INQUIRY:
        walk.fire("assess_urgency", {"acute": rng.random() < 0.1}, days=_delay(rng, 0.8, 0.08))
        walk.fire("acknowledge", days=_delay(rng, 6))
    elif phase is Phase.CLARIFICATION and rng.random() < 0.5:
        walk.fire("record_consent", {"by": "custody_holder"}, days=_delay(rng, 12, 0.25))
    elif phase is Phase.DECISION and "no_talk" not in walk.show and rng.random() < 0.7:
        # Most talk with the child while the decision is prepared, some weeks on; the others'
        # cases wait for it (the stuck list's `child_conversation_missing`, Barnets Lov §5
        # stk. 3).
        data = {"without_parents": rng.random() < 0.3, "support_person_offered": True}
        walk.fire("record_child_conversation", data, days=_delay(rng, 12, 0.3))
    elif phase is Phase.FOLLOW_UP:
        _follow_up(walk, rng)
        if "notify" in walk.show or rng.random() < 0.2:
            _further_notification(walk, rng)


def _further_notification(walk: Walk, rng: random.Random) -> None:
    """A school's further notification about the child, attached to the open case (Barnets Lov
    §136), and mostly reassessed by a colleague not involved before (§137 stk. 1)."""
    aware_at = walk.at + timedelta(days=rng.uniform(2, 30), hours=rng.randint(0, 6))
    if aware_at >= walk.now:
        return
    accepted = open_case(
        walk.context,
        child_ref=walk.child_ref,
        birth_date=date(2000, 1, 1),  # not read: the notification joins the child's case
        aware_at=aware_at,
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
        worker=walk.actor,
        team=None,
        municipality="demo",
        actor=walk.actor,
        now=walk.now,
    )
    if accepted.case_id != walk.case_id:
        return
    walk.at = max(walk.at, aware_at)
    walk.fire("assess_urgency", {"acute": False}, days=_delay(rng, 0.7, 0.1))
    walk.fire("acknowledge", days=_delay(rng, 5))
    neglected = "neglect_reassessment" in walk.show or rng.random() < 0.3
    if not neglected and walk.colleagues:
        walk.fire("reassess_notification", days=_delay(rng, 20), actor=walk.colleagues[0])


def _inquiry(walk: Walk, rng: random.Random) -> bool:
    walk.fire("assess_urgency", {"acute": rng.random() < 0.1}, days=_delay(rng, 0.8, 0.08))
    walk.fire("acknowledge", days=_delay(rng, 6))
    if rng.random() < 0.5:
        # Barnets Lov §18 stk. 1 nr. 2: the screening's afdækning (what `accept` records).
        return walk.fire("screen", {"outcome": "afdaekning"}, days=_delay(rng, 5))
    return walk.fire("accept", days=_delay(rng, 5))


def _clarification(walk: Walk, rng: random.Random) -> bool:
    if not walk.show and rng.random() < 0.08:
        return walk.fire(
            "propose_preventive", {"measures": [{"type": "preventive_talks"}]}, days=_delay(rng, 10)
        ) and _grant_preventive(walk, rng)
    if rng.random() < 0.25:
        # Opened without consent (Barnets Lov §20, §22 stk. 2); the consent comes later.
        walk.consent_pending = True
        return walk.fire("open_investigation", days=_delay(rng, 5))
    walk.fire("record_consent", {"by": "custody_holder"}, days=_delay(rng, 12, 0.25))
    walk.fire("record_consent", {"by": "child"}, days=_delay(rng, 2))
    return walk.fire("open_investigation", days=_delay(rng, 3))


def _consent(walk: Walk, rng: random.Random) -> None:
    if walk.consent_pending:
        walk.fire("record_consent", {"by": "custody_holder"}, days=_delay(rng, 5))
        walk.fire("record_consent", {"by": "child"}, days=_delay(rng, 1))
        walk.consent_pending = False


def _talk_with_child(walk: Walk, rng: random.Random) -> None:
    """Barnets Lov §5 stk. 3: the caseworker talks with the child before each decision (facts
    only: whether the parents were there, whether a support person was offered, §6)."""
    data = {"without_parents": rng.random() < 0.3, "support_person_offered": True}
    walk.fire("record_child_conversation", data, days=_delay(rng, 5))


def _grant_preventive(walk: Walk, rng: random.Random) -> bool:
    _talk_with_child(walk, rng)
    walk.fire("grant", {"measures": [{"type": "preventive_talks"}]}, days=_delay(rng, 7))
    return walk.fire("start_measures", days=_delay(rng, 7))


def _investigation(walk: Walk, rng: random.Random) -> bool:
    if not walk.show and rng.random() < 0.15:
        # Barnets Lov §32 stk. 4: a supportive measure started while the investigation runs
        # (refused, and so left out, on a case under the old law).
        _consent(walk, rng)
        measure_type, package = rng.choice(SUPPORTIVE)
        request = {"type": measure_type, "package": package} if package else {"type": measure_type}
        _talk_with_child(walk, rng)
        if walk.fire("grant", {"measures": [request]}, days=_delay(rng, 20)):
            walk.fire("start_measures", days=_delay(rng, 7))
    # Ankestyrelsen 2024: only about half of the investigations finish within 4 months.
    return walk.fire(
        "conclude",
        {"measures_needed": bool(walk.show) or rng.random() < 0.85},
        days=_delay(rng, 115, 0.0 if walk.show else 0.45),
    )


def _plan(walk: Walk, rng: random.Random) -> bool:
    plan = {
        "purpose": "Barnet trives i hjemmet og i skolen",
        "goals": ["Stabilt fremmøde i skolen", "Faste rammer i hverdagen"],
        "expected_duration_months": rng.choice([3, 6, 9]),
    }
    return walk.fire("submit_plan", plan, days=_delay(rng, 20))


def _decision(walk: Walk, rng: random.Random) -> bool:
    _consent(walk, rng)
    _talk_with_child(walk, rng)
    if "refuse" in walk.show or ("place" not in walk.show and rng.random() < 0.12):
        walk.fire("record_party_hearing", days=_delay(rng, 10))
        # Barnets Lov §3: the guidance addresses a child of 10 or more too.
        guidance = {"complaint_guidance": True, "complaint_guidance_child": True}
        if walk.fire("refuse", guidance, days=_delay(rng, 10)):
            _complaint(walk, rng)
        return False
    if "place" in walk.show or rng.random() < 0.15:
        # A third of the placements are decided by the committee without consent (Barnets Lov
        # §47), and come back to it (§50).
        without_consent = rng.random() < 0.33
        placed = walk.fire(
            "grant",
            {
                "measures": [
                    {"type": "foster_family_placement", "without_consent": without_consent}
                ],
                # Not what an application asked for: complaint guidance goes with it.
                "complaint_guidance": walk.applied_for is not None,
                "complaint_guidance_child": walk.applied_for is not None,
            },
            days=_delay(rng, 20),
            role=Role.COMMITTEE if without_consent else Role.TEAM_LEADER,
        )
        walk.placed, walk.placed_without_consent = placed, placed and without_consent
        return placed
    measure_type, package = walk.applied_for or rng.choice(SUPPORTIVE)
    measures = [{"type": measure_type, "package": package} if package else {"type": measure_type}]
    return walk.fire("grant", {"measures": measures}, days=_delay(rng, 20))


def _complaint(walk: Walk, rng: random.Random) -> None:
    """Most refused families complain within the 4 weeks (retssikkerhedsloven §67 stk. 1); the
    municipality reassesses, mostly in time (§66), and forwards what it upholds."""
    if "complain" not in walk.show and rng.random() < 0.4:
        return  # no complaint: the sweep closes the case when the period has passed
    decision = walk.last_seq
    received = walk.at + timedelta(days=rng.uniform(2, 20 if walk.show else 32))
    if received >= walk.now:
        return
    data = {"decision_seq": decision, "received_at": received.isoformat()}
    if not walk.fire("record_complaint", data, days=(received - walk.at).days + 1):
        return
    complaint = walk.last_seq
    if "neglect_reassessment" in walk.show:
        return  # left lying: the reassessment breaches (`complaint_reassessment_overdue`)
    upheld = "complain" in walk.show or rng.random() < 0.8
    reassessed = walk.fire(
        "reassess",
        {
            "complaint": complaint,
            "outcome": "upheld" if upheld else "changed",
            "reason": "Afgørelsen fastholdes" if upheld else "Nye oplysninger i sagen",
        },
        days=_delay(rng, 24, 0.25),
    )
    if (
        reassessed
        and upheld
        and walk.fire("forward_complaint", {"complaint": complaint}, days=_delay(rng, 3))
    ):
        outcome = rng.choices(["upheld", "changed", "remitted"], [6, 1, 1])[0]
        walk.fire(
            "record_appeal_decision",
            {"complaint": complaint, "outcome": outcome},
            days=_delay(rng, 90),
        )


def _placement_duties(walk: Walk, rng: random.Random, since_visit: float) -> float:
    """A placement's supervision visit every 5 months or so (Barnets Lov §156 stk. 5: at
    least two a year), some late; the committee's renewal within the year (§50). Returns the
    days since the last visit."""
    if not walk.placed or "neglect_visits" in walk.show:
        return since_visit
    if since_visit > rng.uniform(130, 200):
        visit = {"measure_id": "m1", "child_conversation": True, "without_staff": True}
        if walk.fire("record_supervision_visit", visit, days=0.2):
            return 0.0
    if walk.placed_without_consent and rng.random() < 0.1:
        walk.fire(
            "renew_placement_without_consent",
            {"measure_id": "m1"},
            days=0.2,
            role=Role.COMMITTEE,
        )
    return since_visit


def _implementation(walk: Walk, rng: random.Random) -> bool:
    return walk.fire("start_measures", days=_delay(rng, 14))


def _follow_up(walk: Walk, rng: random.Random) -> bool:
    held = {
        "spoke_with_provider": True,
        "spoke_with_parents": True,
        "child_heard": True,
        "plan_revision_decided": True,
        "next_follow_up": {
            "as_service_level": True,
            "reason": "Kommunens kadence passer til sagen",
        },
    }
    # Most caseworkers keep the cadence; a few cases are left to drift (the supervisor's job).
    neglected = rng.random() < 0.12
    since_visit = 0.0
    for number in range(1, 40):
        if neglected and rng.random() < 0.4:
            break
        data = {"measure_id": "m1", **held, "package_reviewed": number == 2}
        before = walk.at
        if not walk.fire("record_follow_up", data, days=_delay(rng, 28, 0.08)):
            break
        since_visit += (walk.at - before).total_seconds() / 86400
        since_visit = _placement_duties(walk, rng, since_visit)
    # Barnets Lov §111 stk. 1: a placed young person's support after 18, where the duty runs
    # (refused, and so left out, where it does not).
    if walk.placed and rng.random() < 0.5:
        support = {"outcome": "granted", "measures": ["contact_person_child"]}
        walk.fire("decide_young_person_support", support, days=_delay(rng, 10))
    return True
