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


def test_the_department_heads_team_figures_count_each_caseworker_once(cases, context):
    # Given team nord of the organisation file with anna, bo and eva (eva holds no case), and
    # open cases: anna 3 in municipality demo and 1 in vest (one caseworker, two
    # municipalities), bo 1, carl 2 (not of nord in the organisation file), one without a
    # caseworker; bo 1 in syd (a team the file lists with nobody); dora 1 without a team
    from sagsflow.dashboard.pages import Team, TeamLoad, _team_summary
    from sagsflow.read.caseload import TeamCounts, team_counts

    for _ in range(3):
        cases.at_phase(Phase.INQUIRY, worker="anna", team="nord")
    cases.at_phase(Phase.INQUIRY, worker="anna", team="nord", municipality="vest")
    cases.at_phase(Phase.INQUIRY, worker="bo", team="nord")
    cases.at_phase(Phase.INQUIRY, worker="carl", team="nord")
    cases.at_phase(Phase.INQUIRY, worker="carl", team="nord")
    cases.at_phase(Phase.INQUIRY, worker=None, team="nord")
    cases.at_phase(Phase.INQUIRY, worker="bo", team="syd")
    cases.at_phase(Phase.INQUIRY, worker="dora", team=None)

    # When the department head's per-team counters are summed with a target of 2 cases
    counts = sorted(team_counts(context, true(), 2), key=lambda c: c.team or "~")

    # Then nord's caseworkers hold 4 + 1 + 2 = 7, one case has nobody, anna holds the most (4)
    # and is the one over the target
    assert counts == [
        TeamCounts("nord", 7, 1, True, 4, 1, frozenset({"anna", "bo", "carl"})),
        TeamCounts("syd", 1, 0, False, 1, 0, frozenset({"bo"})),
        TeamCounts(None, 1, 0, False, 1, 0, frozenset({"dora"})),
    ]
    # And the page's rows: nord's caseworkers are its three and carl (4), its 8 cases averaging
    # 7 / 4 = 1.75 a caseworker (the unassigned one counts in the total only); syd's is bo;
    # the cases without a team are dora's. Rows: 4 + nord's unassigned 1 + syd 1 + dora 1 = 7
    teams = [Team("nord", "Team Nord", ("anna", "bo", "eva")), Team("syd", "Team Syd", ())]
    names = {"nord": "Team Nord", "syd": "Team Syd"}
    assert _team_summary(teams, counts, names) == (
        7,
        [
            TeamLoad("nord", "Team Nord", 4, 8, 1, 1.75, 4, 1),
            TeamLoad("syd", "Team Syd", 1, 1, 0, 1.0, 1, 0),
            TeamLoad(None, "–", 1, 1, 0, 1.0, 1, 0),
        ],
    )
    # And a narrower scope counts only what it sees: anna placed in syd sees her own cases and
    # syd's
    anna = Principal("anna", Role.CASEWORKER, "syd")
    assert sorted(team_counts(context, case_filter(anna), 2)) == [
        TeamCounts("nord", 4, 0, False, 4, 1, frozenset({"anna"})),
        TeamCounts("syd", 1, 0, False, 1, 0, frozenset({"bo"})),
    ]
