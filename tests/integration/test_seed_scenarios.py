"""Cases walked through the seeds' rules (DOMAIN.md) via the service layer, on both databases.

Every expected date is worked out by hand from the law or the seed. Copenhagen is UTC+01:00 in
winter and UTC+02:00 in summer; in 2026 the clocks go forward on 29 March and back on 25 October.
Easter 2026: Maundy Thursday 2 April, Good Friday 3 April, Easter Sunday 5 April, Easter Monday
6 April.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conversation import CHILD_CONVERSATION
from wording import english

from sagsflow.read.cases import show_case
from statemachine.errors import EventRefused
from statemachine.phases import Notifier, Phase, Role, Source

CPH = ZoneInfo("Europe/Copenhagen")
PLAN = {
    "purpose": "Stabil hverdag i hjemmet",
    "goals": ["Barnet kommer i skole hver dag"],
    "expected_duration_months": 6,
}
FOLLOW_UP_HELD = {
    "spoke_with_provider": True,
    "spoke_with_parents": True,
    "child_heard": True,
    "plan_revision_decided": True,
    "next_follow_up": {"as_service_level": True, "reason": "Kommunens kadence passer til sagen"},
}


def cph(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    """Copenhagen wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=CPH)


def deadlines_of(context, case) -> dict[str, dict[str, Any]]:
    return {d["key"]: d for d in show_case(context, case.id)["deadlines"]}


def due_and_status(context, case) -> dict[str, tuple[str, str]]:
    return {key: (d["due_at"], d["status"]) for key, d in deadlines_of(context, case).items()}


def refused_without_a_trace(cases, rows, case, event: str, data=None, **kwargs) -> EventRefused:
    before = rows.snapshot(case.id)
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, event, data, **kwargs)
    assert rows.snapshot(case.id) == before
    return refused.value


def test_professional_notification_assessment_late_receipt_across_easter_investigation_late(
    cases, context, rows
):
    # Given a professional's notification on Tuesday 31 March 2026, 10:00 summer time
    case = cases.open(
        aware_at=cph(2026, 3, 31),
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
    )
    # Then Barnets Lov §136: assessed within 24 elapsed hours; the receipt within 6 working
    # days — 1 Apr, (2–6 Apr Easter), 7, 8, 9, 10, (11–12 weekend), 13 Apr
    assert due_and_status(context, case) == {
        "urgent_assessment": ("2026-04-01T10:00:00+02:00", "open"),
        "acknowledgement": ("2026-04-13T23:59:59+02:00", "open"),
    }

    # When the urgency is assessed 90 minutes late and the receipt is sent on the last day
    cases.fire(case, "assess_urgency", {"acute": False}, at=cph(2026, 4, 1, 11, 30))
    cases.fire(case, "acknowledge", at=cph(2026, 4, 13, 15))
    # … and the investigation, opened with consent, is concluded on 4 August
    cases.fire(case, "accept", at=cph(2026, 4, 14))
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=cph(2026, 4, 20))
    cases.fire(case, "open_investigation", at=cph(2026, 4, 21))
    cases.fire(case, "conclude", {"measures_needed": False}, at=cph(2026, 8, 4))

    # Then: the assessment met late, the receipt met, and the investigation — due 4 calendar
    # months after awareness, 31 Jul (SEL §50 stk. 7 / Barnets Lov §20) — met late
    assert due_and_status(context, case) == {
        "urgent_assessment": ("2026-04-01T10:00:00+02:00", "met_late"),
        "acknowledgement": ("2026-04-13T23:59:59+02:00", "met"),
        "investigation": ("2026-07-31T23:59:59+02:00", "met_late"),
        # the provisional assessment due with it (Barnets Lov §20 stk. 3, 2. pkt.) was never
        # made: the conclusion makes it moot, after its due date (the report counts it late)
        "provisional_assessment": ("2026-07-31T23:59:59+02:00", "cancelled"),
    }
    # … no measures needed: the case is closed, every step audited in order
    assert rows.case(case.id).phase == "closure"
    assert [r.event for r in rows.audit(case.id)] == [
        "open_case",
        "assess_urgency",
        "acknowledge",
        "accept",
        "record_consent",
        "open_investigation",
        "conclude",
    ]
    assert rows.chain_break(case.id) is None


def test_investigation_from_31_october_is_due_at_the_end_of_february(cases, context, rows):
    # Given awareness on 31 October 2025 and an investigation opened in November
    case = cases.open(aware_at=cph(2025, 10, 31, 9))
    cases.fire(case, "accept", at=cph(2025, 11, 3))
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=cph(2025, 11, 5))
    cases.fire(case, "open_investigation", at=cph(2025, 11, 10))
    # Then 31 Oct + 4 calendar months = 28 Feb (month end), counted from awareness
    assert due_and_status(context, case)["investigation"] == ("2026-02-28T23:59:59+01:00", "open")

    # When a provisional assessment is recorded and the investigation concluded on 27 February
    cases.fire(case, "record_provisional_assessment", at=cph(2026, 2, 20))
    cases.fire(case, "conclude", {"measures_needed": True}, at=cph(2026, 2, 27))

    # Then the deadline is met and the case moves on to the action plan
    assert due_and_status(context, case)["investigation"] == ("2026-02-28T23:59:59+01:00", "met")
    assert rows.case(case.id).phase == "action_plan"


def test_red_practical_support_package_follow_ups_count_from_the_one_held(cases, context, rows):
    # Given a case aware on 5 January 2026 (investigation due 5 May, concluded on 9 January)
    # whose plan was submitted on Monday 9 February 2026
    case = cases.at_phase(Phase.ACTION_PLAN)
    cases.fire(case, "submit_plan", PLAN, at=cph(2026, 2, 9))
    # Then the published decision deadline (retssikkerhedsloven §3, seed 002): 4 weeks = 9 Mar
    assert due_and_status(context, case)["decision"] == ("2026-03-09T23:59:59+01:00", "open")

    # When practical-pedagogical support, package red, is granted and starts on 2 March
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(
        case,
        "grant",
        {"measures": [{"type": "practical_support", "package": "red"}]},
        at=cph(2026, 2, 20),
    )
    cases.fire(case, "start_measures", at=cph(2026, 3, 2))

    # Then seed 000: first follow-up 4 weeks after the start (30 Mar, already summer time), and
    # the package reviewed at the latest 6 months after the start (2 Sep)
    assert due_and_status(context, case) == {
        "investigation": ("2026-05-05T23:59:59+02:00", "met"),
        # concluded in time: no provisional assessment needed (Barnets Lov §20 stk. 3)
        "provisional_assessment": ("2026-05-05T23:59:59+02:00", "cancelled"),
        "decision": ("2026-03-09T23:59:59+01:00", "met"),
        # Barnets Lov §5 stk. 3: the grant of 20 February was preceded by the conversation
        "child_conversation:d8": ("2026-02-20T10:00:00+01:00", "met"),
        "follow_up:m1:1": ("2026-03-30T23:59:59+02:00", "open"),
        "package_review:m1": ("2026-09-02T23:59:59+02:00", "open"),
    }

    # When the first follow-up is held early, on 27 March
    cases.fire(
        case, "record_follow_up", {"measure_id": "m1", **FOLLOW_UP_HELD}, at=cph(2026, 3, 27)
    )
    # Then the next is due 3 months after the one held (27 Jun), not after the due date (30 Jun)
    assert due_and_status(context, case)["follow_up:m1:2"] == ("2026-06-27T23:59:59+02:00", "open")

    # When the second is held late, on 1 July
    cases.fire(case, "record_follow_up", {"measure_id": "m1", **FOLLOW_UP_HELD}, at=cph(2026, 7, 1))
    # … and the measure ends on 31 August, its goals met
    cases.fire(
        case,
        "end_measure",
        {"measure_id": "m1", "reason": "Målene er nået", "goals_met": True},
        at=cph(2026, 8, 31),
    )

    # Then the second follow-up was met late, the third (due 1 Oct) is moot, the package review
    # was met by ending the measure, and with no measure left the case is closed
    assert due_and_status(context, case) == {
        "investigation": ("2026-05-05T23:59:59+02:00", "met"),
        "provisional_assessment": ("2026-05-05T23:59:59+02:00", "cancelled"),
        "decision": ("2026-03-09T23:59:59+01:00", "met"),
        # Barnets Lov §5 stk. 3: the grant of 20 February was preceded by the conversation
        "child_conversation:d8": ("2026-02-20T10:00:00+01:00", "met"),
        "follow_up:m1:1": ("2026-03-30T23:59:59+02:00", "met"),
        "follow_up:m1:2": ("2026-06-27T23:59:59+02:00", "met_late"),
        "follow_up:m1:3": ("2026-10-01T23:59:59+02:00", "cancelled"),
        "package_review:m1": ("2026-09-02T23:59:59+02:00", "met"),
    }
    measure = rows.measures(case.id)["m1"]
    assert (measure.follow_ups_held, measure.goals_met) == (2, True)
    assert rows.case(case.id).phase == "closure"


def test_follow_up_counts_only_after_talking_with_provider_and_parents(cases, context, rows):
    # Given a started red package (first follow-up due 4 weeks after the start)
    case = cases.at_phase(Phase.FOLLOW_UP)

    # When a follow-up is recorded without a talk with the parents
    refused = refused_without_a_trace(
        cases,
        rows,
        case,
        "record_follow_up",
        {"measure_id": "m1", **FOLLOW_UP_HELD, "spoke_with_parents": False},
    )

    # Then seed 000: it does not meet the law; the follow-up deadline stays open
    assert "parents" in english(refused)
    assert deadlines_of(context, case)["follow_up:m1:1"]["status"] == "open"


def test_foster_family_placement_needs_the_team_leader_and_is_followed_monthly(
    cases, context, rows
):
    # Given a case at decision with an action plan (mandatory before a placement decision)
    case = cases.at_phase(Phase.DECISION)
    placement = {"measures": [{"type": "foster_family_placement"}]}

    # When the caseworker grants a foster-family placement, it is refused: placements need the
    # team leader (kompetenceplan, seed 002)
    refused = refused_without_a_trace(cases, rows, case, "grant", placement, at=cph(2026, 1, 14))
    assert "team_leader" in english(refused)

    # When the team leader grants it and it starts on 15 January 2026
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(
        case, "grant", placement, at=cph(2026, 1, 14), role=Role.TEAM_LEADER, actor="leder-eva"
    )
    cases.fire(case, "start_measures", at=cph(2026, 1, 15))

    # Then seed 003 (Kolding): first follow-up after 1 month …
    assert due_and_status(context, case)["follow_up:m1:1"] == ("2026-02-15T23:59:59+01:00", "open")
    grant = next(r for r in rows.audit(case.id) if r.event == "grant")
    assert (grant.actor, grant.role) == ("leder-eva", "team_leader")

    # … then monthly from each follow-up held until 6 months after the start (15 Jul), then
    # every 3 months
    held_and_next_due = [
        (cph(2026, 2, 13), "2026-03-13T23:59:59+01:00"),
        (cph(2026, 3, 13), "2026-04-13T23:59:59+02:00"),
        (cph(2026, 4, 10), "2026-05-10T23:59:59+02:00"),
        (cph(2026, 5, 8), "2026-06-08T23:59:59+02:00"),
        (cph(2026, 6, 5), "2026-07-05T23:59:59+02:00"),
        (cph(2026, 7, 3), "2026-08-03T23:59:59+02:00"),  # 3 Jul: still within the 6 months
        (cph(2026, 7, 31), "2026-10-31T23:59:59+01:00"),  # after 15 Jul: 3 months, winter time
    ]
    for number, (held_at, next_due) in enumerate(held_and_next_due, start=2):
        cases.fire(case, "record_follow_up", {"measure_id": "m1", **FOLLOW_UP_HELD}, at=held_at)
        deadlines = due_and_status(context, case)
        assert deadlines[f"follow_up:m1:{number - 1}"][1] == "met"
        assert deadlines[f"follow_up:m1:{number}"] == (next_due, "open")
    assert rows.measures(case.id)["m1"].follow_ups_held == 7


def test_safety_plan_is_followed_after_2_weeks_then_every_6_weeks(cases, context):
    # Given a safety plan granted after a plan, started on Monday 2 March 2026
    case = cases.at_phase(Phase.DECISION)
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", {"measures": [{"type": "safety_plan"}]}, at=cph(2026, 2, 20))
    cases.fire(case, "start_measures", at=cph(2026, 3, 2))
    # Then seed 000: the first follow-up after 2 weeks, 16 March
    assert due_and_status(context, case)["follow_up:m1:1"] == ("2026-03-16T23:59:59+01:00", "open")

    # When it is held on 16 March
    cases.fire(
        case, "record_follow_up", {"measure_id": "m1", **FOLLOW_UP_HELD}, at=cph(2026, 3, 16)
    )

    # Then the next is 6 weeks (42 days) later: 27 April
    assert due_and_status(context, case)["follow_up:m1:2"] == ("2026-04-27T23:59:59+02:00", "open")


def test_preventive_talks_go_to_decision_without_investigation_or_plan(cases, context, rows):
    # Given a case in clarification
    case = cases.at_phase(Phase.CLARIFICATION)

    # When practical support is proposed without an investigation, it is refused
    refused = refused_without_a_trace(
        cases,
        rows,
        case,
        "propose_preventive",
        {"measures": [{"type": "practical_support", "package": "green"}]},
    )
    assert "investigation" in english(refused)

    # When §11 stk. 3 talks (seed 000: no investigation, no action plan) are proposed on 12 Jan
    cases.fire(
        case,
        "propose_preventive",
        {"measures": [{"type": "preventive_talks"}]},
        at=cph(2026, 1, 12),
    )
    # Then the case is at decision with the 4-week decision deadline (9 Feb) running
    assert rows.case(case.id).phase == "decision"
    assert due_and_status(context, case) == {"decision": ("2026-02-09T23:59:59+01:00", "open")}

    # When the talks are granted and start
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", {"measures": [{"type": "preventive_talks"}]}, at=cph(2026, 1, 19))
    cases.fire(case, "start_measures", at=cph(2026, 1, 26))

    # Then no plan and no follow-up deadline runs: only the decision, met
    assert due_and_status(context, case) == {
        "decision": ("2026-02-09T23:59:59+01:00", "met"),
        # Barnets Lov §5 stk. 3: the grant was preceded by the conversation with the child
        "child_conversation:d5": ("2026-01-19T10:00:00+01:00", "met"),
    }
    assert rows.case(case.id).phase == "follow_up"


def test_refusal_needs_a_party_hearing_and_complaint_guidance(cases, context, rows):
    # Given a case at decision
    case = cases.at_phase(Phase.DECISION)

    # When a refusal is recorded before the parties were heard, it is refused
    refused = refused_without_a_trace(cases, rows, case, "refuse", {"complaint_guidance": True})
    assert "record_party_hearing" in english(refused)

    # When the parties are heard, a refusal without complaint guidance is still refused
    cases.fire(case, "record_party_hearing")
    refused_without_a_trace(cases, rows, case, "refuse", {"complaint_guidance": False})

    # When it gives complaint guidance (forvaltningsloven §19, §25)
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "refuse", {"complaint_guidance": True})

    # Then the decision deadline is met, and the case waits out the 4-week complaint period
    # (retssikkerhedsloven §67 stk. 1) before the sweep closes it
    assert rows.case(case.id).phase == "follow_up"
    deadlines = deadlines_of(context, case)
    assert deadlines["decision"]["status"] == "met"
    [period] = [d for key, d in deadlines.items() if key.startswith("complaint_period:")]
    assert period["status"] == "open"
    assert rows.audit(case.id)[-1].legal_basis.startswith("forvaltningsloven §19")


def test_investigation_of_a_15_year_old_runs_without_the_young_persons_consent(cases, rows):
    # Given a child who turns 15 on 6 January 2026, in clarification with the custody holder's
    # consent
    case = cases.at_phase(Phase.CLARIFICATION, birth_date=date(2011, 1, 6))
    cases.fire(case, "record_consent", {"by": "custody_holder"})

    # When the investigation is opened without the young person's consent (Barnets Lov §22
    # stk. 2: "so far as possible" in cooperation with the young person of 15; no condition)
    cases.fire(case, "open_investigation")

    # Then it opens, and its audit record says whose consent was missing
    assert rows.case(case.id).phase == "investigation"
    record = json.loads(rows.audit(case.id)[-1].payload)
    assert (record["consents"], record["without_consent_of"]) == (["custody_holder"], ["child"])


def test_external_purchase_needs_the_department_head(cases, rows):
    # Given a case at decision
    case = cases.at_phase(Phase.DECISION)
    bought = {"measures": [{"type": "family_treatment", "package": "yellow", "external": True}]}

    # When the team leader grants an externally bought family treatment, it is refused (seed 000)
    refused = refused_without_a_trace(cases, rows, case, "grant", bought, role=Role.TEAM_LEADER)
    assert "department_head" in english(refused)

    # When the department head grants it, the measure is stored as an external purchase
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", bought, role=Role.DEPARTMENT_HEAD, actor="chef-ole")
    measure = rows.measures(case.id)["m1"]
    assert (measure.type, measure.package, measure.external) == ("family_treatment", "yellow", True)


def test_contact_person_for_the_child_is_for_ages_14_to_22(cases, rows):
    # Given a 10-year-old's case at decision (born 1 May 2016)
    case = cases.at_phase(Phase.DECISION, birth_date=date(2016, 5, 1))

    # When a contact person for the child is granted, it is refused: seed 000, ages 14–22
    refused = refused_without_a_trace(
        cases,
        rows,
        case,
        "grant",
        {"measures": [{"type": "contact_person_child", "package": "green"}]},
    )
    assert "14" in english(refused) and "22" in english(refused)


def test_under_barnets_lov_a_support_plan_may_follow_the_decision_within_3_months(
    cases, context, rows
):
    # Given a case under Barnets Lov (aware 2026) that concluded its investigation
    case = cases.at_phase(Phase.ACTION_PLAN)

    # When the plan is deferred and practical support is granted on 16 February 2026
    cases.fire(case, "defer_plan", at=cph(2026, 2, 2))
    grant = {"measures": [{"type": "practical_support", "package": "yellow"}]}
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", grant, at=cph(2026, 2, 16))

    # Then Barnets Lov §91 stk. 1, 2. pkt.: the plan is due 3 months after the decision, 16 May
    assert due_and_status(context, case)["action_plan"] == ("2026-05-16T23:59:59+02:00", "open")

    # When the plan is submitted while the measure runs
    cases.fire(case, "start_measures", at=cph(2026, 2, 23))
    cases.fire(case, "submit_plan", PLAN, at=cph(2026, 4, 1))

    # Then the deadline is met and the case stays in follow-up
    assert due_and_status(context, case)["action_plan"] == ("2026-05-16T23:59:59+02:00", "met")
    assert rows.case(case.id).phase == "follow_up"


def test_under_sel_a_plan_must_exist_before_the_decision(cases, context, rows):
    # Given a case under SEL (aware 2023) at the action plan
    case = cases.at_phase(Phase.ACTION_PLAN, aware_at=cph(2023, 11, 1))
    assert show_case(context, case.id)["rulebook"] == "default@2014.1"

    # When the plan is deferred, it is refused: SEL §140 wants the plan before the decision
    refused_without_a_trace(cases, rows, case, "defer_plan")

    # When the plan is submitted and the measure granted, no action_plan deadline runs
    cases.fire(case, "submit_plan", PLAN)
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", {"measures": [{"type": "practical_support", "package": "yellow"}]})
    assert "action_plan" not in deadlines_of(context, case)
    assert rows.case(case.id).phase == "implementation"
