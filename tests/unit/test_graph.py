"""The phase graph itself, checked the way python-statemachine validates a machine.

The expected edges are the issue's table, written out by hand.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, date, datetime

import pytest

from statemachine.errors import EventRefused
from statemachine.phases import CASE_EVENTS, Notifier, Phase, Role, Source
from statemachine.process import allowed_events, fire, machine_for, open_case

OPEN_PHASES = [p for p in Phase if p is not Phase.CLOSURE]
MEASURE_PHASES = ["action_plan", "decision", "implementation", "follow_up"]

# (phase, event, phase after); an event that keeps the phase goes to its own phase.
SEL_EDGES = {
    ("inquiry", "assess_urgency", "inquiry"),
    ("inquiry", "acknowledge", "inquiry"),
    ("inquiry", "accept", "clarification"),
    # Barnets Lov §18 stk. 1 nr. 1–3: the screening's three outcomes (issue 10).
    ("inquiry", "screen", "closure"),
    ("inquiry", "screen", "clarification"),
    ("inquiry", "screen", "investigation"),
    ("clarification", "assess_urgency", "clarification"),
    ("clarification", "acknowledge", "clarification"),
    ("clarification", "record_consent", "clarification"),
    # Issue 10: the committee's compulsory examination (Barnets Lov §23), before or during the
    # investigation; decide_without_consent is its older name.
    *{
        (p, event, p)
        for p in ("clarification", "investigation")
        for event in ("decide_without_consent", "decide_compulsory_examination")
    },
    ("clarification", "open_investigation", "investigation"),
    ("clarification", "propose_preventive", "decision"),
    ("investigation", "record_provisional_assessment", "investigation"),
    # Issue 10: consent often comes with the plan — recorded up to and including the decision.
    *{(p, "record_consent", p) for p in ("inquiry", "investigation", "action_plan", "decision")},
    # Retssikkerhedsloven §3 stk. 2: the applicant told of a delay, in any open phase (while the
    # delay notice is unresolved: the guard, tested in test_process.py).
    *{(p.value, "notify_applicant_of_delay", p.value) for p in OPEN_PHASES},
    ("investigation", "conclude", "action_plan"),
    ("investigation", "conclude", "closure"),
    ("action_plan", "submit_plan", "decision"),
    ("decision", "record_party_hearing", "decision"),
    ("decision", "grant", "implementation"),
    ("decision", "refuse", "closure"),
    ("decision", "refuse", "follow_up"),  # a refused change while measures run
    ("implementation", "start_measures", "follow_up"),
    ("follow_up", "revise_plan", "action_plan"),
    ("follow_up", "end_measure", "closure"),
    *{(p, "record_follow_up", p) for p in MEASURE_PHASES},
    *{(p, "end_measure", p) for p in MEASURE_PHASES},
    *{(p.value, "close", "closure") for p in OPEN_PHASES},
    # Issue 10: a 24-hour assessment or receipt done late is recorded in any later open phase
    # (while its deadline is unresolved: the guard, tested in test_process.py).
    *{
        (p, event, p)
        for p in ["investigation", *MEASURE_PHASES]
        for event in ("assess_urgency", "acknowledge")
    },
    # Issue 10: the birth of a child the case was opened for before it was born, in whatever
    # open phase the case has reached (only such a case: tested in test_expected_child.py).
    *{(p.value, "record_birth", p.value) for p in OPEN_PHASES},
    # Issue 11: the young person's support after 18 (Barnets Lov §111 stk. 1), while measures
    # run (offered only with the duty unresolved: tested in test_young_person_support.py).
    *{(p, "decide_young_person_support", p) for p in MEASURE_PHASES},
    # Issue 11: a placement's supervision visit (Barnets Lov §156 stk. 5) and the committee's
    # renewal of a placement without consent (§50), wherever measures run (offered only while
    # such a placement runs: tested in test_placement_duties.py).
    *{(p, "record_supervision_visit", p) for p in MEASURE_PHASES},
    *{(p, "renew_placement_without_consent", p) for p in MEASURE_PHASES},
    # Issue 11: the child conversation (Barnets Lov §5 stk. 3) or its exception (stk. 4), in any
    # open phase.
    *{
        (p.value, event, p.value)
        for p in OPEN_PHASES
        for event in ("record_child_conversation", "record_child_conversation_exception")
    },
    # Issue 11: complaints beside the phases, wherever a decision may have been taken
    # (retssikkerhedsloven §§ 66–67; offered only with a decision or a complaint awaiting the
    # act: tested in test_complaints.py); a change on reassessment, or a remittal or annulment
    # by Ankestyrelsen, takes the case back to the decision; Ankestyrelsen upholding the refusal
    # of a case kept open for its complaint ends it, as does the complaint period's end.
    *{
        (p, event, p)
        for p in ["investigation", *MEASURE_PHASES]
        for event in ("record_complaint", "reassess", "forward_complaint", "record_appeal_decision")
    },
    *{
        (p, event, "decision")
        for p in ["investigation", *MEASURE_PHASES]
        for event in ("reassess", "record_appeal_decision")
    },
    *{(p, "record_appeal_decision", "closure") for p in ["investigation", *MEASURE_PHASES]},
    ("follow_up", "end_complaint_period", "closure"),
    # Issue 11: a further notification on the open case (Barnets Lov §136) and the case's
    # reassessment after it (§137 stk. 1), in any open phase.
    *{
        (p.value, event, p.value)
        for p in OPEN_PHASES
        for event in ("receive_notification", "reassess_notification")
    },
}
# Barnets Lov §91: a supportive measure's plan may follow the decision.
BARNETS_LOV_EDGES = SEL_EDGES | {
    ("action_plan", "defer_plan", "decision"),
    ("implementation", "submit_plan", "implementation"),
    ("follow_up", "submit_plan", "follow_up"),
    # Barnets Lov §32 stk. 4: a supportive measure decided, started, followed up and ended while
    # the investigation runs; the case stays in investigation.
    *{
        ("investigation", event, "investigation")
        for event in (
            "grant",
            "start_measures",
            "record_follow_up",
            "end_measure",
            "record_supervision_visit",
            "renew_placement_without_consent",
        )
    },
}


def edges(machine) -> set[tuple[str, str, str]]:
    return {
        (source, name, transition.dest or source)
        for name, event in machine.events.items()
        for source, transitions in event.transitions.items()
        for transition in transitions
    }


def reachable(graph: set[tuple[str, str, str]], start: str, *, backwards: bool = False) -> set[str]:
    seen, queue = {start}, deque([start])
    while queue:
        here = queue.popleft()
        for source, _, dest in graph:
            frm, to = (dest, source) if backwards else (source, dest)
            if frm == here and to not in seen:
                seen.add(to)
                queue.append(to)
    return seen


@pytest.fixture(params=["sel", "barnets_lov", "national"])
def rulebook(request):
    return request.getfixturevalue(request.param)


def test_sel_graph_is_the_issues_table(sel):
    assert edges(machine_for(sel)) == SEL_EDGES


@pytest.mark.parametrize("name", ["barnets_lov", "national"])
def test_barnets_lov_graph_adds_the_plan_after_the_decision(request, name):
    rulebook = request.getfixturevalue(name)
    assert edges(machine_for(rulebook)) == BARNETS_LOV_EDGES


def test_the_machine_has_exactly_the_eight_phases(rulebook):
    machine = machine_for(rulebook)
    assert list(machine.states) == [p.value for p in Phase]
    assert machine.initial == "inquiry"


def test_every_phase_is_reachable_from_inquiry(rulebook):
    assert reachable(edges(machine_for(rulebook)), "inquiry") == {p.value for p in Phase}


def test_closure_is_reachable_from_every_phase(rulebook):
    graph = edges(machine_for(rulebook))
    assert reachable(graph, "closure", backwards=True) == {p.value for p in Phase}


def test_every_event_has_a_source(rulebook):
    machine = machine_for(rulebook)
    for name, event in machine.events.items():
        assert any(event.transitions.values()), f"{name} has no source phase"


def test_every_case_event_is_in_the_graph(barnets_lov, sel):
    fired = {e.value for e in CASE_EVENTS}
    assert set(machine_for(barnets_lov).events) == fired
    assert set(machine_for(sel).events) == fired - {"defer_plan"}


def test_closure_has_no_way_out(rulebook):
    machine = machine_for(rulebook)
    assert machine.get_triggers("closure") == []
    assert allowed_events(rulebook, Phase.CLOSURE) == []
    assert not [edge for edge in edges(machine) if edge[0] == "closure"]


@pytest.mark.parametrize("phase", OPEN_PHASES)
def test_every_open_phase_may_be_closed(rulebook, phase):
    assert "close" in allowed_events(rulebook, phase)


def test_no_implicit_to_phase_events(rulebook):
    # auto_transitions=False: nobody can jump a case with `to_closure()`
    assert not [name for name in machine_for(rulebook).events if name.startswith("to_")]


def test_one_machine_is_shared_per_graph(sel, barnets_lov, national):
    # the machine is built once; rulebook versions with the same graph share it
    assert machine_for(barnets_lov) is machine_for(barnets_lov)
    assert machine_for(barnets_lov) is machine_for(national)
    assert machine_for(sel) is machine_for(sel)
    assert machine_for(sel) is not machine_for(barnets_lov)


def _case(rulebook, child_ref: str):
    case, _ = open_case(
        municipality="demo",
        rulebook=rulebook,
        child_ref=child_ref,
        birth_date=date(2012, 3, 15),
        aware_at=datetime(2025, 10, 31, 9, tzinfo=UTC),
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
        now=datetime(2030, 1, 1, tzinfo=UTC),
    )
    return case


def test_machine_holds_no_case_after_an_event(barnets_lov):
    # given two cases driven by the one shared machine
    machine = machine_for(barnets_lov)
    first, second = _case(barnets_lov, "C-1"), _case(barnets_lov, "C-2")
    at, now = datetime(2025, 11, 3, 9, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)
    # when each is moved, and one event is refused by a guard
    fire(first, barnets_lov, "accept", None, at=at, now=now, role=Role.CASEWORKER)
    fire(second, barnets_lov, "accept", None, at=at, now=now, role=Role.CASEWORKER)
    with pytest.raises(EventRefused):
        fire(
            first,
            barnets_lov,
            "decide_compulsory_examination",
            None,
            at=at,
            now=now,
            role=Role.CASEWORKER,
        )
    # then each case moved on its own, and no model stayed attached to the machine
    assert (first.phase, second.phase) == (Phase.CLARIFICATION, Phase.CLARIFICATION)
    assert len(machine.models) == 0
    assert not hasattr(first, "state") and not hasattr(first, "trigger")
