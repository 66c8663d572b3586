"""Complaints beside the phases (retssikkerhedsloven §§ 66–67; Barnets Lov §3) and a
further notification on an open case (Barnets Lov §136, §137 stk. 1) (issue 11), through the
service layer on SQLite and PostgreSQL, read back raw.

Hand-computed: Copenhagen is UTC+01:00 until 29 March 2026 and UTC+02:00 from then until
25 October 2026, so the end of a day is 22:59:59 UTC in winter and 21:59:59 UTC in summer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conversation import CHILD_CONVERSATION

from sagsflow.read.cases import show_case
from statemachine.errors import EventRefused, RefusalCode
from statemachine.phases import Notifier, Role, Source

CPH = ZoneInfo("Europe/Copenhagen")
# A child of 10 on the dates below: a party from 10 (Barnets Lov §3).
TEN = date(2015, 6, 1)
# A child of 8 on the dates below.
EIGHT = date(2017, 6, 1)
REFUSE = {"complaint_guidance": True, "complaint_guidance_child": True}


def _to_decision(cases: Any, case: Any) -> None:
    cases.fire(case, "accept")
    cases.fire(case, "record_consent", {"by": "custody_holder"})
    cases.fire(case, "open_investigation")
    cases.fire(case, "conclude", {"measures_needed": True})
    cases.fire(case, "submit_plan", {"purpose": "Trivsel", "goals": ["Går i skole"]})
    cases.fire(case, "record_party_hearing")
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION)


def _refused(cases: Any, *, birth_date: date = TEN, at: datetime) -> tuple[Any, int]:
    case = cases.open(aware_at=datetime(2026, 1, 12, 10, tzinfo=CPH), birth_date=birth_date)
    _to_decision(cases, case)
    refusal = cases.fire(case, "refuse", REFUSE, at=at)
    return case, refusal.audit_seq


def test_a_complaint_is_reassessed_within_four_weeks_of_receipt(cases, rows, context):
    # Given a refusal on Monday 2 March 2026: the case stays open for the complaint period
    case, decision = _refused(cases, at=datetime(2026, 3, 2, 10, tzinfo=CPH))
    assert rows.case(case.id).phase == "follow_up"
    period = rows.deadlines(case.id)[f"complaint_period:d{decision}"]
    # 4 weeks from the party being told (§67 stk. 1), a week for the decision to reach them:
    # 5 weeks from 2 March 2026, the end of 6 April 2026 (summer time from 29 March)
    assert (period.status, period.due_at) == ("open", datetime(2026, 4, 6, 21, 59, 59, tzinfo=UTC))

    # When the parents' complaint, received Tuesday 10 March 2026, is recorded
    complaint = cases.fire(
        case,
        "record_complaint",
        {"decision_seq": decision, "received_at": "2026-03-10T11:00:00+01:00"},
        at=datetime(2026, 3, 11, 9, tzinfo=CPH),
    ).audit_seq

    # Then its reassessment is due at the end of 7 April 2026, and the period no longer waits
    stored = rows.deadlines(case.id)
    reassessment = stored[f"reassessment:c{complaint}"]
    assert reassessment.due_at == datetime(2026, 4, 7, 21, 59, 59, tzinfo=UTC)
    assert stored[f"complaint_period:d{decision}"].status == "cancelled"
    shown = show_case(context, case.id)["complaints"]
    assert [(c["complaint"], c["decision_seq"], c["status"], c["late"]) for c in shown] == [
        (complaint, decision, "awaiting_reassessment", False)
    ]
    assert shown[0]["received_at"] == "2026-03-10T11:00:00+01:00"

    # When the municipality upholds its decision on 20 March, the complaint is to be forwarded
    # within 4 weeks of its receipt (the end of 7 April 2026)
    cases.fire(
        case,
        "reassess",
        {"complaint": complaint, "outcome": "upheld", "reason": "Behovet er dækket"},
        at=datetime(2026, 3, 20, 10, tzinfo=CPH),
    )
    stored = rows.deadlines(case.id)
    assert stored[f"reassessment:c{complaint}"].status == "met"
    forward = stored[f"forward_complaint:c{complaint}"]
    assert (forward.status, forward.due_at) == (
        "open",
        datetime(2026, 4, 7, 21, 59, 59, tzinfo=UTC),
    )

    # A reassessment of a complaint already reassessed is refused: none awaits one
    with pytest.raises(EventRefused) as refused:
        cases.fire(
            case, "reassess", {"complaint": complaint, "outcome": "upheld", "reason": "Igen"}
        )
    assert refused.value.refusals[0].code is RefusalCode.NO_COMPLAINT_AWAITING
    # Recording Ankestyrelsen's decision before the complaint is forwarded names its status
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "record_appeal_decision", {"complaint": 1, "outcome": "upheld"})
    assert refused.value.refusals[0].code is RefusalCode.NO_COMPLAINT_AWAITING

    # When it is forwarded and Ankestyrelsen upholds the refusal, the case ends
    cases.fire(case, "forward_complaint", {"complaint": complaint})
    assert rows.deadlines(case.id)[f"forward_complaint:c{complaint}"].status == "met"
    cases.fire(case, "record_appeal_decision", {"complaint": complaint, "outcome": "upheld"})
    assert rows.case(case.id).phase == "closure"
    assert show_case(context, case.id)["complaints"][0]["status"] == "decided"


def test_a_refusal_is_closed_by_the_sweep_once_the_period_passed(cases, rows, context):
    from sagsflow.usecases.sweep import sweep

    case, decision = _refused(cases, at=datetime(2026, 3, 2, 10, tzinfo=CPH))
    # Before the end of 6 April 2026 the sweep leaves it open ...
    early = sweep(context, datetime(2026, 4, 6, 21, 0, tzinfo=UTC))
    assert early.cases_closed == 0
    assert rows.case(case.id).phase == "follow_up"
    # ... after it, it closes the case, audited at the instant the period ended, not breached
    late = sweep(context, datetime(2026, 4, 8, 8, 0, tzinfo=UTC))
    assert late.cases_closed == 1
    assert rows.case(case.id).phase == "closure"
    period = rows.deadlines(case.id)[f"complaint_period:d{decision}"]
    assert period.status == "met"
    last = rows.audit(case.id)[-1]
    assert (last.event, last.actor, last.role) == (
        "end_complaint_period",
        "enforce-deadlines",
        "admin",
    )
    assert last.event_at == period.due_at == datetime(2026, 4, 6, 21, 59, 59, tzinfo=UTC)
    # A rerun closes nothing more
    assert sweep(context, datetime(2026, 4, 9, 8, 0, tzinfo=UTC)).cases_closed == 0


def test_a_late_complaint_is_recorded_as_late_and_a_changed_decision_is_decided_again(
    cases, rows, context
):
    case, decision = _refused(cases, at=datetime(2026, 3, 2, 10, tzinfo=CPH))
    # Received 1 April 2026, later than 4 weeks from the decision's date (the end of 30 March)
    complaint = cases.fire(
        case,
        "record_complaint",
        {"decision_seq": decision, "received_at": "2026-04-01T09:00:00+02:00"},
        at=datetime(2026, 4, 1, 10, tzinfo=CPH),
    ).audit_seq
    assert show_case(context, case.id)["complaints"][0]["late"] is True
    # The municipality changes its decision: the case is back in decision for the new one
    cases.fire(
        case,
        "reassess",
        {"complaint": complaint, "outcome": "changed", "reason": "Nye oplysninger"},
    )
    assert rows.case(case.id).phase == "decision"
    assert show_case(context, case.id)["complaints"][0]["status"] == "changed"
    assert rows.deadlines(case.id)["decision#2"].status == "open"


def test_a_committee_decision_goes_to_ankestyrelsen_without_reassessment(cases, rows, context):
    case = cases.open(aware_at=datetime(2026, 1, 12, 10, tzinfo=CPH), birth_date=TEN)
    _to_decision(cases, case)
    grant = {
        "measures": [{"type": "foster_family_placement", "without_consent": True}],
    }
    decision = cases.fire(
        case, "grant", grant, at=datetime(2026, 3, 2, 10, tzinfo=CPH), role=Role.COMMITTEE
    ).audit_seq
    complaint = cases.fire(
        case,
        "record_complaint",
        {"decision_seq": decision, "received_at": "2026-03-10T11:00:00+01:00"},
        at=datetime(2026, 3, 10, 12, tzinfo=CPH),
    ).audit_seq
    stored = rows.deadlines(case.id)
    assert f"reassessment:c{complaint}" not in stored
    assert stored[f"forward_complaint:c{complaint}"].due_at == datetime(
        2026, 4, 7, 21, 59, 59, tzinfo=UTC
    )
    assert show_case(context, case.id)["complaints"][0]["direct"] is True
    # Remitted by Ankestyrelsen: back to the decision
    cases.fire(case, "forward_complaint", {"complaint": complaint})
    cases.fire(case, "record_appeal_decision", {"complaint": complaint, "outcome": "remitted"})
    assert rows.case(case.id).phase == "decision"


def test_a_complaint_must_name_a_decision_and_a_plausible_receipt(cases, rows):
    case, decision = _refused(cases, at=datetime(2026, 3, 2, 10, tzinfo=CPH))
    before = rows.case(case.id).version
    with pytest.raises(EventRefused) as refused:
        cases.fire(
            case,
            "record_complaint",
            {"decision_seq": 1, "received_at": "2026-03-10T11:00:00+01:00"},
        )
    assert refused.value.refusals[0].code is RefusalCode.NOT_A_DECISION
    with pytest.raises(EventRefused) as refused:
        cases.fire(
            case,
            "record_complaint",
            {"decision_seq": decision, "received_at": "2026-02-10T11:00:00+01:00"},
        )
    assert refused.value.refusals[0].code is RefusalCode.RECEIVED_BEFORE_DECISION
    assert rows.case(case.id).version == before


def test_the_refusal_of_a_child_of_ten_tells_the_child_of_the_right_to_complain(cases, rows):
    case = cases.open(aware_at=datetime(2026, 1, 12, 10, tzinfo=CPH), birth_date=TEN)
    _to_decision(cases, case)
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "refuse", {"complaint_guidance": True})
    assert refused.value.refusals[0].code is RefusalCode.COMPLAINT_GUIDANCE_CHILD_MISSING
    assert "§3" in refused.value.refusals[0].params["source"]
    # A child of 8 is no party: the guidance to the parents is enough
    younger = cases.open(aware_at=datetime(2026, 1, 12, 10, tzinfo=CPH), birth_date=EIGHT)
    _to_decision(cases, younger)
    cases.fire(younger, "refuse", {"complaint_guidance": True})
    assert rows.case(younger.id).phase == "follow_up"


def test_a_new_notification_on_an_open_case_is_attached_with_its_own_clocks(cases, rows, context):
    # Given a case with a running measure for child BARN-N
    case = cases.open(
        aware_at=datetime(2026, 1, 12, 10, tzinfo=CPH), birth_date=TEN, child_ref="BARN-N"
    )
    _to_decision(cases, case)
    cases.fire(case, "grant", {"measures": [{"type": "practical_support", "package": "red"}]})
    cases.fire(case, "start_measures")
    # When a school's notification about the same child arrives on 5 March 2026, 14:00
    attached = cases.open(
        aware_at=datetime(2026, 3, 5, 14, tzinfo=CPH),
        birth_date=TEN,
        child_ref="BARN-N",
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
        new_case=False,
    )
    # Then it is no second case: it is attached to the open one
    assert attached.id == case.id
    assert attached.accepted[0].event == "receive_notification"
    number = attached.accepted[0].audit_seq
    stored = rows.deadlines(case.id)
    assert stored[f"urgent_assessment:n{number}"].due_at == datetime(2026, 3, 6, 13, 0, tzinfo=UTC)
    # 6 working days from Thursday 5 March 2026: Friday 13 March 2026, end of day
    assert stored[f"acknowledgement:n{number}"].due_at == datetime(
        2026, 3, 13, 22, 59, 59, tzinfo=UTC
    )
    assert stored[f"notification_reassessment:n{number}"].status == "open"
    assert [n["notification"] for n in show_case(context, case.id)["notifications"]] == [number]

    # The caseworker who has worked on the case may not reassess it (Barnets Lov §137 stk. 1)
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "reassess_notification", at=datetime(2026, 3, 9, 10, tzinfo=CPH))
    assert refused.value.refusals[0].code is RefusalCode.ACTOR_INVOLVED
    assert "§137 stk. 1" in refused.value.refusals[0].params["source"]
    # A colleague who has not may
    cases.fire(
        case,
        "reassess_notification",
        at=datetime(2026, 3, 9, 10, tzinfo=CPH),
        actor="caseworker-bo",
    )
    assert rows.deadlines(case.id)[f"notification_reassessment:n{number}"].status == "met"

    # A deliberate separate case (`new_case`) is a new case
    from sagsflow.usecases.cases import open_case

    separate = open_case(
        context,
        child_ref="BARN-N",
        birth_date=TEN,
        aware_at=datetime(2026, 3, 10, 9, tzinfo=CPH),
        source=Source.NOTIFICATION,
        notifier=Notifier.PRIVATE,
        worker="caseworker-anna",
        team="team-nord",
        municipality="demo",
        actor="caseworker-anna",
        now=cases.now,
        new_case=True,
    )
    assert separate.case_id != case.id
    assert separate.event == "open_case"
