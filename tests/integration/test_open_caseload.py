"""The open-caseload read model: kept by the audit writer, it counts what the case table holds."""

from __future__ import annotations

from sqlalchemy import false, true

from models.database import reading
from models.repository import recount_open_caseload
from sagsflow.read.caseload import Load, caseload, main_municipality
from sagsflow.read.visibility import case_filter
from statemachine.phases import Phase, Role
from statemachine.visibility import Principal


def loads(context, scope=None) -> set[Load]:
    with reading(context.engine) as connection:
        return set(caseload(connection, true() if scope is None else scope))


def test_opening_and_closing_cases_moves_the_counts_in_the_same_transaction(cases, context):
    # Given three open cases of anna in Nord, one of bo in Nord, one without a caseworker in Syd
    anna = [cases.at_phase(Phase.INQUIRY, worker="anna", team="nord") for _ in range(2)]
    cases.at_phase(Phase.INVESTIGATION, worker="anna", team="nord")
    cases.at_phase(Phase.CLARIFICATION, worker="bo", team="nord")
    cases.at_phase(Phase.INQUIRY, worker=None, team="syd")
    # and one case of bo's that was closed before anyone counted
    cases.at_phase(Phase.CLOSURE, worker="bo", team="nord")
    assert loads(context) == {
        Load("nord", "anna", 3),
        Load("nord", "bo", 1),
        Load("syd", None, 1),
    }
    # When one of anna's cases is closed
    cases.fire(anna[0], "close", {"reason": "Sagen er afsluttet"})
    # Then she holds two open cases, the others are as before
    assert loads(context) == {
        Load("nord", "anna", 2),
        Load("nord", "bo", 1),
        Load("syd", None, 1),
    }


def test_the_read_model_counts_within_the_viewer_scope(cases, context):
    cases.at_phase(Phase.INQUIRY, worker="anna", team="nord")
    cases.at_phase(Phase.INQUIRY, worker="anna", team="syd")
    cases.at_phase(Phase.INQUIRY, worker="bo", team="syd")
    leader = Principal("tl", Role.TEAM_LEADER, "syd")
    worker = Principal("anna", Role.CASEWORKER, "nord")

    assert loads(context, case_filter(leader)) == {Load("syd", "anna", 1), Load("syd", "bo", 1)}
    assert loads(context, case_filter(worker)) == {Load("nord", "anna", 1), Load("syd", "anna", 1)}
    assert loads(context, false()) == set()
    with reading(context.engine) as connection:
        assert main_municipality(connection, case_filter(leader)) == "demo"


def test_a_recount_from_the_case_table_agrees_with_the_kept_counts(cases, context, engine):
    for phase in (Phase.INQUIRY, Phase.FOLLOW_UP, Phase.CLOSURE, Phase.DECISION):
        cases.at_phase(phase, worker="anna", team="nord")
    cases.at_phase(Phase.IMPLEMENTATION, worker="bo", team=None)
    kept = loads(context)
    with engine.begin() as connection:
        recount_open_caseload(connection)
    assert loads(context) == kept == {Load("nord", "anna", 3), Load(None, "bo", 1)}
