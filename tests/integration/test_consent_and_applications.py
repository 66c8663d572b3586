"""Issue 10 through the service layer, on SQLite and PostgreSQL: consent where the law puts it,
the committee's compulsory examination, measures while the investigation runs, and an
application's decision deadline from receipt. Expected instants worked out by hand from the law
(Copenhagen is UTC+01:00 in winter, UTC+02:00 in summer)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from conversation import CHILD_CONVERSATION
from wording import english

from sagsflow.read.cases import show_case
from statemachine.errors import EventRefused, RefusalCode
from statemachine.phases import Phase, Role, Source

CPH = ZoneInfo("Europe/Copenhagen")
SUPPORT = {"measures": [{"type": "practical_support", "package": "red"}]}


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=CPH)  # type: ignore[misc]


def test_an_investigation_opens_without_consent_and_the_case_says_so(cases, rows, context):
    # Given a case in clarification with no consent recorded (the child is 9)
    case = cases.at_phase(Phase.CLARIFICATION)
    # When the caseworker opens the investigation (Barnets Lov §20; §22 stk. 2)
    cases.fire(case, "open_investigation")
    # Then it runs, the audit record says which consents existed and whose was missing
    assert rows.case(case.id).phase == "investigation"
    record = json.loads(rows.audit(case.id)[-1].payload)
    assert (record["consents"], record["without_consent_of"]) == ([], ["custody_holder"])
    # and the case, read back, says the investigation runs without the custody holder's consent
    shown = show_case(context, case.id)
    assert shown["investigation_without_consent_of"] == ["custody_holder"]


def test_the_committees_compulsory_examination_is_due_2_months_after_its_decision(cases, rows):
    case = cases.at_phase(Phase.INVESTIGATION, aware_at=at(2026, 1, 5, 9))
    # a caseworker may not decide it (Barnets Lov §23, §142: the committee's competence)
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "decide_compulsory_examination", at=at(2026, 1, 12, 10))
    assert refused.value.refusals[0].code is RefusalCode.NO_COMPETENCE
    # the committee decides it on Monday 12 Jan 2026: due Thursday 12 Mar 2026, end of day CET
    cases.fire(case, "decide_compulsory_examination", at=at(2026, 1, 12, 10), role=Role.COMMITTEE)
    due = rows.deadlines(case.id)["compulsory_examination"].due_at.astimezone(UTC)
    assert due == datetime(2026, 3, 12, 22, 59, 59, tzinfo=UTC)
    # and the investigation's conclusion meets it
    cases.fire(case, "conclude", {"measures_needed": True}, at=at(2026, 3, 2, 10))
    assert rows.deadlines(case.id)["compulsory_examination"].status == "met"


def test_a_grant_needs_the_consent_its_category_asks_for(cases, rows):
    # Given a case at the decision whose custody holder never consented: the walk records it
    # before the investigation, so this one is walked by hand
    case = cases.at_phase(Phase.CLARIFICATION)
    cases.fire(case, "open_investigation")
    cases.fire(case, "conclude", {"measures_needed": True})
    cases.fire(case, "submit_plan", {"purpose": "Trivsel", "goals": ["Fremmøde"]})
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION)
    before = rows.snapshot(case.id)
    # When practical support is granted, it is refused naming the consent and its paragraph
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "grant", SUPPORT)
    assert "needs the custody holder's consent (Barnets Lov §32 stk. 2" in english(refused.value)
    assert rows.snapshot(case.id) == before
    # and after the custody holder's consent it is granted
    cases.fire(case, "record_consent", {"by": "custody_holder"})
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", SUPPORT)
    assert rows.case(case.id).phase == "implementation"


def test_a_supportive_measure_runs_beside_the_investigation(cases, rows):
    # Given an investigation opened in January 2026, practical support granted on Monday 2 Feb
    # and started on Tuesday 3 Feb 2026 (Barnets Lov §32 stk. 4)
    case = cases.at_phase(Phase.INVESTIGATION, aware_at=at(2026, 1, 5, 9))
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", SUPPORT, at=at(2026, 2, 2, 10))
    cases.fire(case, "start_measures", at=at(2026, 2, 3, 10))
    assert rows.case(case.id).phase == "investigation"
    # Then the first follow-up is due 3 months after the start (§95 stk. 2 nr. 2): Sunday
    # 3 May 2026, end of day CEST
    first = rows.deadlines(case.id)["follow_up:m1:1"]
    assert first.due_at.astimezone(UTC) == datetime(2026, 5, 3, 21, 59, 59, tzinfo=UTC)
    # When the investigation concludes on Friday 13 March 2026, it is due that day (nr. 1)
    cases.fire(case, "conclude", {"measures_needed": True}, at=at(2026, 3, 13, 10))
    first = rows.deadlines(case.id)["follow_up:m1:1"]
    assert first.due_at.astimezone(UTC) == datetime(2026, 3, 13, 22, 59, 59, tzinfo=UTC)


def test_an_applications_decision_deadline_runs_from_receipt(cases, rows, context):
    # Given an application received Monday 6 Jan 2025 (the default's general deadline: 4 weeks)
    case = cases.open(aware_at=at(2025, 1, 6, 10), source=Source.APPLICATION)
    # Then the decision is due at once, Monday 3 Feb 2025 end of day CET, counted from receipt
    # (retssikkerhedsloven §3 stk. 2), and so is the notice to the applicant of a delay
    deadlines = rows.deadlines(case.id)
    expected = datetime(2025, 2, 3, 22, 59, 59, tzinfo=UTC)
    assert deadlines["decision"].due_at.astimezone(UTC) == expected
    assert deadlines["delay_notice"].due_at.astimezone(UTC) == expected
    # When the plan arrives on 3 March, the deadline does not move (the 31 Mar)
    cases.fire(case, "accept", at=at(2025, 1, 8, 10))
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=at(2025, 1, 9, 10))
    cases.fire(case, "open_investigation", at=at(2025, 1, 10, 10))
    cases.fire(
        case, "notify_applicant_of_delay", {"expected_by": "2025-03-31"}, at=at(2025, 1, 30, 10)
    )
    cases.fire(case, "conclude", {"measures_needed": True}, at=at(2025, 2, 24, 10))
    cases.fire(
        case, "submit_plan", {"purpose": "Trivsel", "goals": ["Fremmøde"]}, at=at(2025, 3, 3)
    )
    deadlines = rows.deadlines(case.id)
    assert deadlines["decision"].due_at.astimezone(UTC) == expected
    assert deadlines["delay_notice"].status == "met"
    assert show_case(context, case.id)["decision_expected_by"] == "2025-03-31"


def test_a_placed_young_persons_support_is_decided_6_months_before_18(cases, rows):
    # Given a young person born 10 Sep 2008, placed in a foster family in January 2026
    case = cases.at_phase(Phase.DECISION, birth_date=datetime(2008, 9, 10).date())
    grant = {"measures": [{"type": "foster_family_placement"}]}
    cases.fire(
        case,
        "record_child_conversation",
        {"without_parents": False, "support_person_offered": True},
    )
    cases.fire(case, "grant", grant, role=Role.TEAM_LEADER)
    cases.fire(case, "start_measures")
    # Then the decision on support after 18 is due Tuesday 10 Mar 2026, end of day CET
    # (Barnets Lov §111 stk. 1: at the latest 6 months before the placement ends at 18)
    duty = rows.deadlines(case.id)["young_person_support_decision:m1"]
    assert duty.due_at.astimezone(UTC) == datetime(2026, 3, 10, 22, 59, 59, tzinfo=UTC)
    # and the decision, naming the measure granted, meets it
    decision = {"outcome": "granted", "measures": ["contact_person_child"]}
    cases.fire(case, "decide_young_person_support", decision, at=at(2026, 2, 20, 10))
    assert rows.deadlines(case.id)["young_person_support_decision:m1"].status == "met"


def test_the_first_follow_up_sets_the_cases_own_plan(cases, rows):
    # Given practical support running since January 2026 (Barnets Lov: the first follow-up
    # decides how follow-up continues, §95 stk. 3)
    case = cases.at_phase(Phase.FOLLOW_UP)
    held = {
        "measure_id": "m1",
        "spoke_with_provider": True,
        "spoke_with_parents": True,
        "plan_revision_decided": True,
    }
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "record_follow_up", held, at=at(2026, 2, 2, 10))
    assert refused.value.refusals[0].code is RefusalCode.NEXT_FOLLOW_UP_MISSING
    # When it is held on Monday 2 Feb 2026 with the case's own plan, every 2 months
    plan = {"every": {"amount": 2, "unit": "months"}, "reason": "Tæt opfølgning i starten"}
    cases.fire(case, "record_follow_up", held | {"next_follow_up": plan}, at=at(2026, 2, 2, 10))
    # Then the next is due Thursday 2 Apr 2026, end of day CEST, citing §95 stk. 3
    second = rows.deadlines(case.id)["follow_up:m1:2"]
    assert second.due_at.astimezone(UTC) == datetime(2026, 4, 2, 21, 59, 59, tzinfo=UTC)
    assert second.source.startswith("Barnets Lov §95 stk. 3")
