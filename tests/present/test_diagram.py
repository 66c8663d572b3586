"""The phase graph drawing: expected edges are written out by hand from the issue's table."""

from __future__ import annotations

import dataclasses
import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from transitions import Machine

from rulebooks import shipped_catalogue
from sagsflow.present.diagram import mermaid, svg
from statemachine import graph as graph_module
from statemachine.graph import Edge, edges
from statemachine.phases import Event, Phase
from statemachine.rulebook import Rulebook

OPEN_PHASES = [
    "inquiry",
    "clarification",
    "investigation",
    "action_plan",
    "decision",
    "implementation",
    "follow_up",
]
PROCESS_ORDER = [*OPEN_PHASES, "closure"]

# (source, dest, event) of every phase change, from the table.
COMMON_CHANGES = {
    ("inquiry", "clarification", "accept"),
    ("inquiry", "closure", "screen"),
    ("inquiry", "clarification", "screen"),
    ("inquiry", "investigation", "screen"),
    ("clarification", "investigation", "open_investigation"),
    ("clarification", "decision", "propose_preventive"),
    ("investigation", "action_plan", "conclude"),
    ("investigation", "closure", "conclude"),
    ("action_plan", "decision", "submit_plan"),
    ("decision", "implementation", "grant"),
    ("decision", "closure", "refuse"),
    ("decision", "follow_up", "refuse"),
    ("implementation", "follow_up", "start_measures"),
    ("follow_up", "action_plan", "revise_plan"),
    ("follow_up", "closure", "end_measure"),
} | {(phase, "closure", "close") for phase in OPEN_PHASES}
# Issue 11: complaints beside the phases (retssikkerhedsloven §§ 66–67) wherever a decision may
# have been taken: a change on reassessment, or a remittal or annulment by Ankestyrelsen, goes
# back to the decision; Ankestyrelsen upholding a refusal ends the case kept open for it, as
# does the complaint period's end.
AFTER_DECISION = ["investigation", "action_plan", "decision", "implementation", "follow_up"]
COMMON_CHANGES |= {
    (phase, "decision", event)
    for phase in AFTER_DECISION
    if phase != "decision"
    for event in ("reassess", "record_appeal_decision")
}
COMMON_CHANGES |= {(phase, "closure", "record_appeal_decision") for phase in AFTER_DECISION}
COMMON_CHANGES |= {("follow_up", "closure", "end_complaint_period")}
CHANGES = {
    "2014.1": COMMON_CHANGES,
    "2024.1": COMMON_CHANGES | {("action_plan", "decision", "defer_plan")},
}

# (phase, event) of every event that keeps the phase.
COMMON_STAYS = {
    ("inquiry", "assess_urgency"),
    ("inquiry", "acknowledge"),
    ("clarification", "assess_urgency"),
    ("clarification", "acknowledge"),
    ("clarification", "record_consent"),
    ("clarification", "decide_without_consent"),
    ("clarification", "decide_compulsory_examination"),
    ("investigation", "decide_without_consent"),
    ("investigation", "decide_compulsory_examination"),
    ("inquiry", "record_consent"),
    # Retssikkerhedsloven §3 stk. 2: the applicant told of a delay, in any open phase.
    *{
        (phase, "notify_applicant_of_delay")
        for phase in (
            "inquiry",
            "clarification",
            "investigation",
            "action_plan",
            "decision",
            "implementation",
            "follow_up",
        )
    },
    ("investigation", "record_provisional_assessment"),
    ("investigation", "record_consent"),
    ("action_plan", "record_consent"),
    ("decision", "record_consent"),
    ("action_plan", "record_follow_up"),
    ("action_plan", "end_measure"),
    ("decision", "record_party_hearing"),
    ("decision", "record_follow_up"),
    ("decision", "end_measure"),
    ("implementation", "record_follow_up"),
    ("implementation", "end_measure"),
    ("follow_up", "record_follow_up"),
    ("follow_up", "end_measure"),
    # Issue 10: a late 24-hour assessment or receipt, in any later open phase.
    *{
        (phase, event)
        for phase in ("investigation", "action_plan", "decision", "implementation", "follow_up")
        for event in ("assess_urgency", "acknowledge")
    },
    # Issue 10: the birth of a child the case was opened for before it was born.
    *{(phase, "record_birth") for phase in OPEN_PHASES},
    *{
        (phase, "decide_young_person_support")
        for phase in ("action_plan", "decision", "implementation", "follow_up")
    },
    # Issue 11: a placement's supervision visit (Barnets Lov §156 stk. 5) and the committee's
    # renewal of a placement without consent (§50), wherever measures run.
    *{
        (phase, event)
        for phase in ("action_plan", "decision", "implementation", "follow_up")
        for event in ("record_supervision_visit", "renew_placement_without_consent")
    },
    *{(phase, "record_child_conversation") for phase in OPEN_PHASES},
    *{(phase, "record_child_conversation_exception") for phase in OPEN_PHASES},
    # Issue 11: complaints, and a further notification on the open case (Barnets Lov §136,
    # §137 stk. 1).
    *{
        (phase, event)
        for phase in ("investigation", "action_plan", "decision", "implementation", "follow_up")
        for event in ("record_complaint", "reassess", "forward_complaint", "record_appeal_decision")
    },
    *{(phase, "receive_notification") for phase in OPEN_PHASES},
    *{(phase, "reassess_notification") for phase in OPEN_PHASES},
}
STAYS = {
    "2014.1": COMMON_STAYS,
    # Barnets Lov §91: the plan may be submitted once measures run.
    # Barnets Lov §32 stk. 4: a supportive measure decided, started, followed up and ended while
    # the investigation runs.
    "2024.1": COMMON_STAYS
    | {("implementation", "submit_plan"), ("follow_up", "submit_plan")}
    | {
        ("investigation", event)
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

VERSIONS = ["2014.1", "2024.1"]


def rulebook(version: str) -> Rulebook:
    return shipped_catalogue().get("default", version)


def mermaid_changes(text: str) -> set[tuple[str, str, str]]:
    found = set()
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(\w+) --> (\w+): (.+)", line)
        if match:
            source, dest, events = match.groups()
            found |= {(source, dest, event) for event in events.split(", ")}
    return found


def svg_texts(document: str) -> list[ET.Element]:
    root = ET.fromstring(document)
    return [element for element in root.iter() if element.tag.endswith("}text")]


def words(element: ET.Element) -> set[str]:
    return set(re.findall(r"\w+", "".join(element.itertext())))


# --- edges -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_edges_are_the_machines_phase_changes(version: str) -> None:
    changes = {(e.source, e.dest, e.event) for e in edges(rulebook(version)) if not e.stays}
    assert changes == CHANGES[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_events_that_keep_the_phase_point_back_at_their_phase(version: str) -> None:
    stays = [e for e in edges(rulebook(version)) if e.stays]
    assert all(e.dest is e.source for e in stays)
    assert {(e.source, e.event) for e in stays} == STAYS[version]


def test_plan_after_decision_only_where_the_rulebook_allows_it() -> None:
    old = {(e.source, e.event) for e in edges(rulebook("2014.1"))}
    new = {(e.source, e.event) for e in edges(rulebook("2024.1"))}
    assert ("action_plan", "defer_plan") in new - old
    assert ("follow_up", "submit_plan") in new - old
    assert not any(event == "defer_plan" for _, event in old)


def test_edges_are_merged_typed_and_frozen() -> None:
    found = edges(rulebook("2024.1"))
    assert len(found) == len(set(found))
    assert all(isinstance(e.source, Phase) and isinstance(e.event, Event) for e in found)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found[0].stays = True  # type: ignore[misc]
    # In process order: the first edges leave inquiry, the last ones leave follow_up.
    assert found[0].source is Phase.INQUIRY
    assert found[-1].source is Phase.FOLLOW_UP


def test_edges_come_from_the_machine_not_from_the_transition_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    machine = Machine(
        model=None,
        states=[p.value for p in Phase],
        transitions=[
            {"trigger": "accept", "source": "inquiry", "dest": "closure"},
            {"trigger": "accept", "source": "inquiry", "dest": "closure"},
            {"trigger": "acknowledge", "source": "inquiry", "dest": None},
        ],
        initial="inquiry",
        auto_transitions=False,
    )
    monkeypatch.setattr(graph_module, "machine_for", lambda _rulebook: machine)
    assert edges(rulebook("2024.1")) == [
        Edge(Phase.INQUIRY, Phase.INQUIRY, Event.ACKNOWLEDGE, stays=True),
        Edge(Phase.INQUIRY, Phase.CLOSURE, Event.ACCEPT, stays=False),
    ]
    assert mermaid_changes(mermaid(rulebook("2024.1"))) == {("inquiry", "closure", "accept")}


# --- mermaid -----------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_mermaid_has_an_edge_for_every_phase_change(version: str) -> None:
    text = mermaid(rulebook(version))
    assert text.startswith("stateDiagram-v2\n")
    assert mermaid_changes(text) == CHANGES[version]
    assert "    [*] --> inquiry" in text.splitlines()
    assert "    closure --> [*]" in text.splitlines()
    assert ("defer_plan" in text) is (version == "2024.1")


def test_mermaid_joins_events_between_the_same_phases() -> None:
    lines = mermaid(rulebook("2024.1")).splitlines()
    assert (
        "    action_plan --> decision: submit_plan, defer_plan, reassess, record_appeal_decision"
        in lines
    )
    assert "    investigation --> closure: conclude, record_appeal_decision, close" in lines
    assert sum(1 for line in lines if line.startswith("    action_plan --> decision")) == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_mermaid_notes_list_the_events_that_keep_the_phase(version: str) -> None:
    notes = re.findall(r"note right of (\w+)\n(.*?)\n\s*end note", mermaid(rulebook(version)), re.S)
    listed = {
        (phase, line.strip())
        for phase, body in notes
        for line in body.splitlines()
        if line.strip() != "keeps the phase:"
    }
    assert listed == STAYS[version]
    assert "closure" not in {phase for phase, _ in notes}


# --- svg ---------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_svg_parses_and_names_every_phase_and_event(version: str) -> None:
    document = svg(rulebook(version))
    texts = svg_texts(document)
    assert {"".join(t.itertext()) for t in texts} >= set(PROCESS_ORDER)
    named = set().union(*(words(t) for t in texts))
    events = {event for _, _, event in CHANGES[version]} | {event for _, event in STAYS[version]}
    assert events <= named
    assert ("defer_plan" in named) is (version == "2024.1")


def test_svg_labels_each_phase_change_on_its_own_line() -> None:
    labels = [words(t) for t in svg_texts(svg(rulebook("2024.1"))) if t.get("class") == "event"]
    # One label per drawn phase change (close is one bundle), so e.g. refuse appears twice.
    assert sum("refuse" in label for label in labels) == 2
    assert sum("conclude" in label for label in labels) == 2
    assert sum("close" in label for label in labels) >= 1
    assert {"submit_plan", "defer_plan"} in [
        label & {"submit_plan", "defer_plan"} for label in labels
    ]


def test_svg_title_and_phases_in_process_order() -> None:
    document = svg(rulebook("2024.1"))
    root = ET.fromstring(document)
    title = "Sagsflow — phases of good case practice (rulebook default@2024.1)"
    assert any("".join(t.itertext()) == title for t in svg_texts(document))
    assert root.find("{http://www.w3.org/2000/svg}title") is not None
    phases = [t for t in svg_texts(document) if t.get("class") == "phase"]
    placed = sorted(phases, key=lambda t: (float(t.get("y", 0)), float(t.get("x", 0))))
    assert ["".join(t.itertext()) for t in placed] == PROCESS_ORDER
    rows = sorted({float(t.get("y", 0)) for t in phases})
    assert len(rows) <= 2


def test_svg_is_self_contained_and_deterministic() -> None:
    document = svg(rulebook("2024.1"))
    for outside in ("href", "<script", "@import", "http://www.w3.org/1999/xlink", "<image"):
        assert outside not in document
    assert set(re.findall(r"url\(([^)]*)\)", document)) <= {"#arrow", "#close-arrow"}
    assert re.findall(r"https?://[^\"]+", document) == ["http://www.w3.org/2000/svg"]
    assert document == svg(rulebook("2024.1"))


def test_svg_escapes_text_for_xml() -> None:
    odd = rulebook("2024.1").model_copy(update={"id": 'a<b&"c'})
    document = svg(odd)
    title = [t for t in svg_texts(document) if "".join(t.itertext()).startswith("Sagsflow")]
    assert "".join(title[0].itertext()).endswith('(rulebook a<b&"c@2024.1)')


@pytest.mark.parametrize("key", [r.key for r in shipped_catalogue().rulebooks])
def test_every_shipped_rulebook_draws(key: str) -> None:
    rulebook_id, _, version = key.partition("@")
    book = shipped_catalogue().get(rulebook_id, version)
    assert svg_texts(svg(book))
    assert mermaid_changes(mermaid(book)) == {
        (e.source, e.dest, e.event) for e in edges(book) if not e.stays
    }


ODD_GRAPHS: dict[str, list[dict[str, Any]]] = {
    # Same-row jumps and a way back on the top row, a re-opening (so no end and no bundle).
    "reopen": [
        {"trigger": "accept", "source": "inquiry", "dest": "investigation"},
        {"trigger": "revise_plan", "source": "action_plan", "dest": "inquiry"},
        {"trigger": "close", "source": ["inquiry", "decision"], "dest": "closure"},
        {"trigger": "open_investigation", "source": "closure", "dest": "inquiry"},
        {"trigger": "acknowledge", "source": "closure", "dest": None},
    ],
    # More crossing edges than the exhaustive track search takes on.
    "dense": [
        {"trigger": "grant", "source": top, "dest": bottom}
        for top in OPEN_PHASES[:4]
        for bottom in ("decision", "implementation", "follow_up")
    ],
}


@pytest.mark.parametrize("graph", sorted(ODD_GRAPHS))
def test_svg_draws_other_graphs_too(monkeypatch: pytest.MonkeyPatch, graph: str) -> None:
    machine = Machine(
        model=None,
        states=[p.value for p in Phase],
        transitions=ODD_GRAPHS[graph],
        initial="inquiry",
        auto_transitions=False,
    )
    monkeypatch.setattr(graph_module, "machine_for", lambda _rulebook: machine)
    book = rulebook("2024.1")
    named = set().union(*(words(t) for t in svg_texts(svg(book))))
    assert {e.event for e in edges(book)} <= named
    assert mermaid_changes(mermaid(book)) == {
        (e.source, e.dest, e.event) for e in edges(book) if not e.stays
    }
