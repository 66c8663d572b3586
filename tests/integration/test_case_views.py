"""`case show` and `case list` as caseworkers, supervisors and auditors read them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sagsflow.present.case import worded_case
from sagsflow.present.i18n import translator
from sagsflow.read.cases import list_cases, show_case
from statemachine.phases import Notifier, Phase, Source

CPH = ZoneInfo("Europe/Copenhagen")


def test_case_show_explains_each_deadline(cases, context):
    # Given a professional's notification received on Tuesday 31 March 2026
    case = cases.open(
        aware_at=datetime(2026, 3, 31, 10, tzinfo=CPH),
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
    )

    # When the case is shown
    shown = worded_case(show_case(context, case.id), translator("en"))
    deadlines = {d["rule"]: d for d in shown["deadlines"]}

    # Then each deadline says its source, who answers for it, and the arithmetic behind the date
    acknowledgement = deadlines["acknowledgement"]
    assert acknowledgement["status"] == "open"
    assert "SEL §155 b stk. 1" in acknowledgement["source"]
    assert (acknowledgement["responsible"], acknowledgement["escalated_to"]) == (
        "caseworker",
        "team_leader",
    )
    # 6 working days from Tue 31 Mar: 1, 7, 8, 9, 10 and 13 April (Easter 2–6 April, a weekend)
    assert "6 working days" in acknowledgement["explanation"]
    assert "13 Apr 2026" in acknowledgement["explanation"]
    assert "Easter" in acknowledgement["explanation"]
    assert "24" in deadlines["urgent_assessment"]["explanation"]
    assert acknowledgement["anchor_at"] == "2026-03-31T10:00:00+02:00"


def test_case_show_lists_measures_and_history_with_legal_basis_and_hash(cases, context, rows):
    # Given a case whose red practical-support package has started
    case = cases.at_phase(Phase.FOLLOW_UP)

    # When the case is shown
    shown = show_case(context, case.id)

    # Then it shows the measure …
    [measure] = shown["measures"]
    assert (measure["id"], measure["type"], measure["package"], measure["active"]) == (
        "m1",
        "practical_support",
        "red",
        True,
    )
    assert {d["measure_id"] for d in shown["deadlines"] if d["rule"] == "follow_up"} == {"m1"}
    # … and the whole history, each record with its legal basis and its stored hash
    history = shown["history"]
    assert [h["event"] for h in history] == [
        "open_case",
        "accept",
        "record_consent",
        "open_investigation",
        "conclude",
        "submit_plan",
        "record_child_conversation",
        "grant",
        "start_measures",
    ]
    assert [h["hash"] for h in history] == [r.hash for r in rows.audit(case.id)]
    by_event = {h["event"]: h for h in history}
    # the rulebook's citation for the event, plus the measure's own legal basis for a grant
    assert "Barnets Lov §20" in by_event["open_investigation"]["legal_basis"]
    assert "Barnets Lov §32 stk. 1 nr. 2" in by_event["grant"]["legal_basis"]
    assert by_event["grant"]["payload"]["measures"][0]["type"] == "practical_support"
    assert by_event["accept"]["actor"] == "caseworker-anna"
    assert (shown["phase"], shown["version"]) == ("follow_up", rows.case(case.id).version)


def test_case_list_filters_by_phase_worker_and_team(cases, context):
    # Given four cases across phases, workers and teams
    anna_nord = cases.at_phase(Phase.INQUIRY, worker="anna", team="nord")
    anna_syd = cases.at_phase(Phase.CLARIFICATION, worker="anna", team="syd")
    bo_nord = cases.at_phase(Phase.CLARIFICATION, worker="bo", team="nord")
    bo_syd = cases.at_phase(Phase.CLOSURE, worker="bo", team="syd")

    def ids(**filters: str) -> list[int]:
        return [c["id"] for c in list_cases(context, **filters)]

    # When the supervisor filters, then only the matching cases come back, oldest first
    assert ids() == [anna_nord.id, anna_syd.id, bo_nord.id, bo_syd.id]
    assert ids(phase="clarification") == [anna_syd.id, bo_nord.id]
    assert ids(worker="bo") == [bo_nord.id, bo_syd.id]
    assert ids(team="nord") == [anna_nord.id, bo_nord.id]
    assert ids(phase="clarification", team="nord") == [bo_nord.id]
    assert ids(phase="follow_up") == []
    [listed] = list_cases(context, worker="anna", team="nord")
    assert (listed["phase"], listed["rulebook"], listed["worker"], listed["team"]) == (
        "inquiry",
        "default@2024.1",
        "anna",
        "nord",
    )
