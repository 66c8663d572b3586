"""A placed child's supervision visits (Barnets Lov §156 stk. 5) and the committee's renewal of a
placement without consent (§50, §142 stk. 1) (issue 11), through the service layer on SQLite and
PostgreSQL, read back raw.

Hand-computed: Copenhagen is UTC+01:00 until 29 March 2026 and UTC+02:00 from then until
25 October 2026, so the end of a day is 22:59:59 UTC in winter and 21:59:59 UTC in summer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from statemachine.errors import EventRefused, RefusalCode
from statemachine.phases import Role

CPH = ZoneInfo("Europe/Copenhagen")
PLAN = {
    "purpose": "Tryg opvækst",
    "goals": ["Trives i plejefamilien"],
    "expected_duration_months": 12,
}
VISIT = {"measure_id": "m1", "child_conversation": True, "without_staff": True}


def _to_decision(cases: Any, case: Any, *, consents: bool = True) -> None:
    cases.fire(case, "accept")
    if consents:
        cases.fire(case, "record_consent", {"by": "custody_holder"})
    cases.fire(case, "open_investigation")
    cases.fire(case, "conclude", {"measures_needed": True})
    cases.fire(case, "submit_plan", PLAN)


def test_a_foster_placement_is_visited_twice_a_year(cases, rows):
    # Given a foster placement started Sunday 1 March 2026
    case = cases.open(aware_at=datetime(2026, 2, 2, 10, tzinfo=CPH))
    _to_decision(cases, case)
    grant = {"measures": [{"type": "foster_family_placement"}]}
    cases.fire(
        case,
        "record_child_conversation",
        {"without_parents": False, "support_person_offered": True},
    )
    cases.fire(case, "grant", grant, role=Role.TEAM_LEADER)
    cases.fire(case, "start_measures", at=datetime(2026, 3, 1, 10, tzinfo=CPH))

    # Then the first visit is due at the end of 1 September 2026
    visit = rows.deadlines(case.id)["supervision_visit:m1"]
    assert (visit.rule, visit.measure_key, visit.status) == ("supervision_visit", "m1", "open")
    assert visit.due_at == datetime(2026, 9, 1, 21, 59, 59, tzinfo=UTC)

    # When a visit without a conversation with the child is recorded, it is refused
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "record_supervision_visit", VISIT | {"child_conversation": False})
    assert refused.value.refusals[0].code is RefusalCode.NO_CHILD_CONVERSATION
    assert "§156 stk. 5" in refused.value.refusals[0].params["source"]

    # When the visit is held on 20 July 2026, the next is due at the end of 20 January 2027
    cases.fire(case, "record_supervision_visit", VISIT, at=datetime(2026, 7, 20, 10, tzinfo=CPH))
    stored = rows.deadlines(case.id)
    assert stored["supervision_visit:m1"].status == "met"
    assert stored["supervision_visit:m1#2"].due_at == datetime(2027, 1, 20, 22, 59, 59, tzinfo=UTC)


def test_a_placement_without_consent_comes_back_to_the_committee(cases, rows):
    # Given a placement without consent granted by the committee on Monday 2 March 2026, 10:00
    case = cases.open(aware_at=datetime(2026, 2, 2, 10, tzinfo=CPH))
    _to_decision(cases, case, consents=False)
    grant = {"measures": [{"type": "foster_family_placement", "without_consent": True}]}
    cases.fire(
        case,
        "record_child_conversation",
        {"without_parents": False, "support_person_offered": True},
    )
    cases.fire(case, "grant", grant, at=datetime(2026, 3, 2, 10, tzinfo=CPH), role=Role.COMMITTEE)

    # Then the committee must decide again by the end of 2 March 2027
    renewal = rows.deadlines(case.id)["committee_renewal:m1"]
    assert (renewal.status, renewal.due_at) == (
        "open",
        datetime(2027, 3, 2, 22, 59, 59, tzinfo=UTC),
    )

    # A caseworker may not renew it
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "renew_placement_without_consent", {"measure_id": "m1"})
    assert refused.value.refusals[0].code is RefusalCode.NO_COMPETENCE

    # When the committee, having heard the child again (Barnets Lov §142 stk. 2), renews it on
    # 15 February 2027, the next falls 2 years on
    cases.fire(
        case,
        "record_child_conversation",
        {"without_parents": True, "support_person_offered": True},
        at=datetime(2027, 2, 15, 9, tzinfo=CPH),
    )
    cases.fire(
        case,
        "renew_placement_without_consent",
        {"measure_id": "m1"},
        at=datetime(2027, 2, 15, 10, tzinfo=CPH),
        role=Role.COMMITTEE,
    )
    stored = rows.deadlines(case.id)
    assert stored["committee_renewal:m1"].status == "met"
    assert stored["committee_renewal:m1#2"].due_at == datetime(2029, 2, 15, 22, 59, 59, tzinfo=UTC)
