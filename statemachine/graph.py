"""The phase graph as data, read from the shared machine itself.

Every edge comes from `machine_for(rulebook)` (never from the `TRANSITIONS` list), so whatever
draws or lists the graph (sagsflow/present/diagram.py, the graph's tests) cannot disagree with
the machine that fires the events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from statemachine.phases import Event, Phase
from statemachine.process import machine_for
from statemachine.rulebook import Rulebook

__all__ = ["PHASE_ORDER", "Edge", "edges"]

PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)  # the process order, left to right


@dataclass(frozen=True)
class Edge:
    """One transition of the machine; `stays` when the event keeps the phase (dest is source)."""

    source: Phase
    dest: Phase
    event: Event
    stays: bool


def edges(rulebook: Rulebook) -> list[Edge]:
    """Every transition of the rulebook's machine, duplicates merged, in process order."""
    machine: Any = machine_for(rulebook)
    found: set[Edge] = set()
    for name, machine_event in machine.events.items():
        for source_name, transitions in machine_event.transitions.items():
            source = Phase(str(source_name))
            for transition in transitions:
                dest = source if transition.dest is None else Phase(str(transition.dest))
                found.add(Edge(source, dest, Event(str(name)), stays=dest is source))
    return sorted(found, key=edge_order)


def edge_order(edge: Edge) -> tuple[int, int, int]:
    """Sort key: source phase, then destination phase, then the contract's event order."""
    events = list(Event)
    return PHASE_ORDER.index(edge.source), PHASE_ORDER.index(edge.dest), events.index(edge.event)


def initial_phase(rulebook: Rulebook) -> Phase:
    """Where every case starts: the machine's initial state."""
    machine: Any = machine_for(rulebook)
    return Phase(str(machine.initial))
