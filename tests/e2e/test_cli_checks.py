"""`case open` and `case fire` check who acts and where a case belongs against the organisation
file and the configuration (issue 12, point 8): a worker, team or municipality they do not know
is refused (exit 3, the refusal's code), an --actor they do not know or a --role they do not
give the actor is exit 2 with a Danish line — unless --operator — and nothing is written; an
instant outside 1900-2999 or data nested a thousand deep is exit 2, not a traceback."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

OPENED_AT = "2026-03-27T10:00:00+01:00"
OPEN = [
    "case", "open", "--child-ref", "BARN-0100", "--birth-date", "2015-06-01",
    "--aware-at", OPENED_AT, "--source", "inquiry",
]  # fmt: skip


@pytest.mark.parametrize(
    ("where", "code", "named"),
    [
        pytest.param(
            ["--worker", "rw1", "--team", "t2", "--actor", "rw1"],
            "worker_not_in_team",
            "rw1",
            id="worker-of-another-team",
        ),
        pytest.param(["--team", "t9", "--actor", "rw1"], "unknown_team", "t9", id="team"),
        pytest.param(
            ["--worker", "mallory", "--team", "t1", "--actor", "rw1"],
            "unknown_worker",
            "mallory",
            id="worker",
        ),
        pytest.param(
            ["--municipality", "atlantis", "--actor", "rw1"],
            "unknown_municipality",
            "atlantis",
            id="municipality",
        ),
    ],
)
def test_a_case_for_someone_or_somewhere_unknown_is_refused_and_nothing_written(
    sagsflow, where, code, named
):
    done = sagsflow.run(*OPEN, *where, "--json")

    assert done.returncode == 3, done.stderr
    assert json.loads(done.stdout)["code"] == code
    [line] = done.stderr.strip().splitlines()
    assert named in line
    assert sagsflow.json("case", "list") == []


def test_the_refusal_reads_danish_by_default(sagsflow):
    danish = replace(sagsflow, settings=(("SAGSFLOW_LANG", "da"),))
    line = danish.fails(*OPEN, "--worker", "rw1", "--team", "t2", "--actor", "rw1")
    assert "hører ikke til teamet »t2«" in line


def test_a_role_the_organisation_file_does_not_give_the_actor_is_exit_2(sagsflow):
    case_id = sagsflow.open_case(aware_at=OPENED_AT)["id"]
    history = sagsflow.show(case_id)["history"]
    danish = replace(sagsflow, settings=(("SAGSFLOW_LANG", "da"),))
    at = "2026-03-27T13:00:00+01:00"

    # anna is a caseworker of Nord, no team leader; mallory is no one
    for actor, role, said in (
        (
            "anna",
            "team_leader",
            "--role Teamleder: organisationsfilen giver ikke anna den rolle (men: Rådgiver)",
        ),
        ("mallory", "caseworker", "--actor mallory: organisationsfilen kender ingen"),
        ("anna", "auditor", "--role Revision:"),
    ):
        done = danish.run(*danish.fire_args(case_id, "accept", at, None, role, actor))
        assert done.returncode == 2, done.stderr
        [line] = done.stderr.strip().splitlines()
        assert said in line and "--operator" in line

    # and opening a case as tl1 in the default role, caseworker, is refused the same way
    done = danish.run(*OPEN, "--team", "t1", "--actor", "tl1")
    assert done.returncode == 2 and "giver ikke tl1 den rolle (men: Teamleder)" in done.stderr
    assert sagsflow.show(case_id)["history"] == history
    assert len(sagsflow.json("case", "list")) == 1


def test_an_operator_records_in_a_role_the_file_does_not_give(sagsflow):
    case_id = sagsflow.open_case(aware_at=OPENED_AT)["id"]
    args = sagsflow.fire_args(
        case_id, "accept", "2026-03-27T13:00:00+01:00", None, "team_leader", "anna"
    )

    sagsflow.json(*args, "--operator")

    last = sagsflow.show(case_id)["history"][-1]
    assert (last["event"], last["actor"], last["role"]) == ("accept", "anna", "team_leader")


def test_the_actor_s_own_role_needs_no_operator(sagsflow):
    case_id = sagsflow.open_case(aware_at=OPENED_AT)["id"]
    at = "2026-03-27T13:00:00+01:00"
    sagsflow.fire(case_id, "accept", at, role="team_leader", actor="lis")
    assert sagsflow.show(case_id)["history"][-1]["actor"] == "lis"


def test_an_instant_out_of_range_or_data_too_deep_is_one_line_and_exit_2(sagsflow):
    case_id = sagsflow.open_case(aware_at=OPENED_AT)["id"]
    for at in ("0001-01-01T00:00:00", "9999-12-31T23:59:59"):
        # before: OverflowError's traceback (year 1 less an hour)
        done = sagsflow.run(*sagsflow.fire_args(case_id, "accept", at, None, "caseworker", "anna"))
        assert done.returncode == 2, done.stderr
        assert "--at" in done.stderr and "1900-01-01" in done.stderr
    deep = '{"a": ' * 1000 + "1" + "}" * 1000
    done = sagsflow.run(
        *sagsflow.fire_args(case_id, "assess_urgency", OPENED_AT, deep, "caseworker", "anna")
    )
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "16 levels deep" in line
    assert len(sagsflow.show(case_id)["history"]) == 1
