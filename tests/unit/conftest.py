"""Shared factories for the domain tests: shipped rulebooks, and a driver that walks a case.

They are fixtures (`new_case`, `walk`, `held`, `plan`) rather than imports: every test folder has a
conftest.py, so importing from one by name is ambiguous.

Times: Copenhagen is UTC+01:00 (CET) until 29 March 2026 and UTC+02:00 (CEST) from then until
25 October 2026, so "end of day" is 22:59:59 UTC in winter and 21:59:59 UTC in summer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from conversation import CHILD_CONVERSATION

from rulebooks import Catalogue, shipped_catalogue
from statemachine.case import CaseFile
from statemachine.errors import EventRefused
from statemachine.phases import Notifier, Phase, Role, Source
from statemachine.process import Outcome, fire, open_case
from statemachine.rulebook import Rulebook

# Friday 31 October 2025, 10:00 in Copenhagen: default@2024.1 (Barnets Lov) is in force.
AWARE = datetime(2025, 10, 31, 9, tzinfo=UTC)
# Tuesday 31 October 2023: default@2014.1 (SEL) is in force.
AWARE_SEL = datetime(2023, 10, 31, 9, tzinfo=UTC)
# The clock on the wall for every test: far after any event time used.
NOW = datetime(2030, 1, 1, tzinfo=UTC)
# A child of 13 in autumn 2025: no consent of their own needed, in every default age range.
BORN = date(2012, 3, 15)

PLAN: dict[str, Any] = {
    "purpose": "Barnet trives i skolen",
    "goals": ["Fremmøde over 90 %"],
    "expected_duration_months": 6,
}
SUPPORT = [{"type": "practical_support", "package": "red"}]


def _held(measure_id: str = "m1", **overrides: Any) -> dict[str, Any]:
    """A follow-up that meets seed 000: provider and parents talked with, plan position taken."""
    return {
        "measure_id": measure_id,
        "spoke_with_provider": True,
        "spoke_with_parents": True,
        "child_heard": True,
        "plan_revision_decided": True,
        # Barnets Lov §95 stk. 3: how follow-up continues, decided with a reason.
        "next_follow_up": {
            "as_service_level": True,
            "reason": "Kommunens kadence passer til sagen",
        },
    } | overrides


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return shipped_catalogue()


@pytest.fixture(scope="session")
def sel(catalogue: Catalogue) -> Rulebook:
    """The default rulebook under SEL: an action plan before every decision (SEL §140)."""
    return catalogue.get("default", "2014.1")


@pytest.fixture(scope="session")
def barnets_lov(catalogue: Catalogue) -> Rulebook:
    """The default rulebook under Barnets Lov: a supportive plan may follow the decision (§91)."""
    return catalogue.get("default", "2024.1")


@pytest.fixture(scope="session")
def national(catalogue: Catalogue) -> Rulebook:
    return catalogue.get("dk-national", "2024.1")


@dataclass
class CaseDriver:
    """One case and its rulebook; fires events one hour apart unless told the time."""

    case: CaseFile
    rulebook: Rulebook
    at: datetime

    def fire(
        self,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        at: datetime | None = None,
        role: Role = Role.CASEWORKER,
    ) -> Outcome:
        when = at if at is not None else self.at + timedelta(hours=1)
        outcome = fire(self.case, self.rulebook, event, data, at=when, now=NOW, role=role)
        self.at = when
        return outcome

    def refused(
        self,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        at: datetime | None = None,
        role: Role = Role.CASEWORKER,
        now: datetime = NOW,
    ) -> EventRefused:
        """Fire an event that must be refused; assert it left the case exactly as it was."""
        before = copy.deepcopy(self.case)
        when = at if at is not None else self.at + timedelta(hours=1)
        with pytest.raises(EventRefused) as refusal:
            fire(self.case, self.rulebook, event, data, at=when, now=now, role=role)
        assert self.case == before
        return refusal.value

    def deadline(self, key: str) -> Any:
        found = self.case.deadline(key)
        assert found is not None, f"no deadline {key}; have {[d.key for d in self.case.deadlines]}"
        return found


def open_driver(
    rulebook: Rulebook,
    *,
    aware_at: datetime | None = None,
    birth_date: date = BORN,
    source: Source = Source.NOTIFICATION,
    notifier: Notifier | None = Notifier.PROFESSIONAL,
    applied_for: str | None = None,
    birth_expected: bool = False,
) -> CaseDriver:
    """A new case in inquiry, aware on a date the rulebook is in force (unless told otherwise);
    with `birth_expected`, for a child not yet born, `birth_date` the expected date."""
    if aware_at is None:
        aware_at = AWARE if rulebook.effective_from >= date(2024, 1, 1) else AWARE_SEL
    case, _ = open_case(
        municipality="demo",
        rulebook=rulebook,
        child_ref="C-1",
        birth_date=birth_date,
        aware_at=aware_at,
        source=source,
        notifier=notifier,
        now=NOW,
        applied_for=applied_for,
        birth_expected=birth_expected,
    )
    return CaseDriver(case, rulebook, aware_at)


_ROUTE = [
    Phase.INQUIRY,
    Phase.CLARIFICATION,
    Phase.INVESTIGATION,
    Phase.ACTION_PLAN,
    Phase.DECISION,
    Phase.IMPLEMENTATION,
    Phase.FOLLOW_UP,
]


def walk_to(
    rulebook: Rulebook,
    phase: Phase,
    *,
    measures: Sequence[Mapping[str, Any]] = SUPPORT,
    grant_role: Role = Role.CASEWORKER,
    inquiry_duties: bool = True,
    consents: Sequence[str] = ("custody_holder", "child"),
    **opening: Any,
) -> CaseDriver:
    """A case taken the ordinary way (urgency assessed and receipt sent at once where the
    notification asks for them — unless `inquiry_duties=False` — consent, investigation, plan,
    grant, start) to `phase`."""
    driver = open_driver(rulebook, **opening)
    if phase is not Phase.INQUIRY and inquiry_duties:
        # At the opening instant: the events that follow keep their times.
        for rule, event, data in (
            ("urgent_assessment", "assess_urgency", {"acute": False}),
            ("acknowledgement", "acknowledge", None),
        ):
            if any(d.rule == rule for d in driver.case.deadlines):
                driver.fire(event, data, at=driver.at)
    if phase is Phase.CLOSURE:
        driver.fire("close", {"reason": "henvendelsen gav ikke anledning til handling"})
        return driver
    steps: list[tuple[str, Mapping[str, Any] | None, Role]] = [
        ("accept", None, Role.CASEWORKER),
        ("open_investigation", None, Role.CASEWORKER),
        ("conclude", {"measures_needed": True}, Role.CASEWORKER),
        ("submit_plan", PLAN, Role.CASEWORKER),
        ("grant", {"measures": list(measures)}, grant_role),
        ("start_measures", None, Role.CASEWORKER),
    ]
    for event, data, role in steps[: _ROUTE.index(phase)]:
        if event == "open_investigation":
            # Both consents unless told (they are asked for at the grant: Barnets Lov §32
            # stk. 2, §46 stk. 1); the child's is harmless when the child is under 15.
            for party in consents:
                driver.fire("record_consent", {"by": party})
        if event == "grant":
            # Barnets Lov §5 stk. 3: the caseworker talks with the child before the decision.
            driver.fire("record_child_conversation", CHILD_CONVERSATION)
        driver.fire(event, data, role=role)
    assert driver.case.phase is phase
    return driver


@pytest.fixture
def new_case() -> Callable[..., CaseDriver]:
    """`new_case(rulebook, aware_at=…, birth_date=…, source=…, notifier=…, birth_expected=…)`: a
    case in inquiry."""
    return open_driver


@pytest.fixture
def walk() -> Callable[..., CaseDriver]:
    """`walk(rulebook, phase, measures=…, grant_role=…, **opening)`: a case taken to `phase`."""
    return walk_to


@pytest.fixture
def held() -> Callable[..., dict[str, Any]]:
    """`held("m1", spoke_with_parents=False)`: the data of a follow-up, complete unless told."""
    return _held


@pytest.fixture
def plan() -> dict[str, Any]:
    """An action plan with purpose, goals and expected duration (SEL §140 / Barnets Lov §91)."""
    return dict(PLAN)
