"""Who may do what: every role against every endpoint, visibility by team, the auditor read-only,
and the rulebook's competence plan enforced through the domain."""

from __future__ import annotations

import pytest
from conversation import CHILD_CONVERSATION

from statemachine.phases import Phase, Role

CW, TL, DH, CO, AU, AD = (
    Role.CASEWORKER,
    Role.TEAM_LEADER,
    Role.DEPARTMENT_HEAD,
    Role.COMMITTEE,
    Role.AUDITOR,
    Role.ADMIN,
)
ROLES = (CW, TL, DH, CO, AU, AD)
NEW_CASE = {
    "child_ref": "B-2001",
    "birth_date": "2016-06-01",
    "aware_at": "2027-11-01T09:00:00+01:00",
    "source": "application",
}

# endpoint: (method, path, body) on a case of the team in inquiry, and the status per role
#                                                                  CW   TL   DH   CO   AU   AD
MATRIX = {
    "me": (("GET", "/api/v1/me", None), (200, 200, 200, 200, 200, 200)),
    "list_cases": (("GET", "/api/v1/cases", None), (200, 200, 200, 200, 200, 403)),
    "open_case": (("POST", "/api/v1/cases", NEW_CASE), (201, 201, 201, 201, 403, 403)),
    "show_case": (("GET", "/api/v1/cases/{id}", None), (200, 200, 200, 200, 200, 403)),
    "event_options": (("GET", "/api/v1/cases/{id}/events", None), (200, 200, 200, 200, 200, 403)),
    "fire_event": (
        ("POST", "/api/v1/cases/{id}/events", {"event": "accept", "at": "{at}"}),
        (200, 200, 200, 200, 403, 403),
    ),
    "stuck": (("GET", "/api/v1/stuck", None), (200, 200, 200, 200, 200, 403)),
    "deadlines": (("GET", "/api/v1/deadlines", None), (200, 200, 200, 200, 200, 403)),
    "compliance": (("GET", "/api/v1/compliance?period=2027", None), (200, 200, 200, 200, 200, 403)),
    "audit_verify": (("GET", "/api/v1/audit/verify", None), (403, 403, 200, 403, 200, 200)),
    "audit_export": (("GET", "/api/v1/audit/export", None), (403, 403, 200, 403, 200, 403)),
    "access_log": (("GET", "/api/v1/access-log", None), (403, 403, 403, 403, 200, 403)),
}


@pytest.mark.parametrize(
    ("endpoint", "role", "status"),
    [
        pytest.param(endpoint, role, status, id=f"{endpoint}-{role}-{status}")
        for endpoint, (_, statuses) in MATRIX.items()
        for role, status in zip(ROLES, statuses, strict=True)
    ],
)
def test_every_role_against_every_endpoint(module_staff, cases, problem, endpoint, role, status):
    # Given a case of the team in inquiry
    staff = module_staff
    case = cases.open(worker=staff.name(CW), team=staff.team)
    (method, path, body), _ = MATRIX[endpoint]
    if body is not None:
        body = {k: v.replace("{at}", case.later(days=1).isoformat()) for k, v in body.items()}

    # When the role calls the endpoint
    response = staff.as_(role).request(method, path.replace("{id}", str(case.id)), json=body)

    # Then it answers as the table says; a refusal is a 403 problem
    assert response.status_code == status, response.text
    if status == 403:
        problem(response, 403, "forbidden")


def test_a_caseworker_cannot_read_or_change_another_teams_case(staff, cases, problem, now):
    # Given a stuck case of another team, with a breached deadline
    theirs = cases.at_phase(Phase.CLARIFICATION, worker="someone-else", team=staff.other_team)
    client = staff.as_(CW)

    # When a caseworker of our team reads it, asks for its events, or fires one
    attempts = [
        client.get(f"/api/v1/cases/{theirs.id}"),
        client.get(f"/api/v1/cases/{theirs.id}/events"),
        client.post(
            f"/api/v1/cases/{theirs.id}/events",
            json={"event": "close", "at": theirs.later(days=1).isoformat(), "data": {}},
        ),
    ]

    # Then each is the same 404 as a case that does not exist
    for response in attempts:
        problem(response, 404, "case-not-found")
    # and the case is in none of the lists
    for path in ("/api/v1/cases", "/api/v1/stuck", "/api/v1/deadlines?status=breached"):
        items = client.get(path).json()["items"]
        assert theirs.id not in {i.get("case_id", i.get("id")) for i in items}, path


def test_a_caseworker_sees_their_own_case_in_another_team_but_its_team_leader_does_not(
    staff, cases
):
    # Given a case of our caseworker's, held in the other team
    own = cases.open(worker=staff.name(CW), team=staff.other_team)

    # Then the caseworker sees it, our team leader does not
    assert staff.as_(CW).get(f"/api/v1/cases/{own.id}").status_code == 200
    assert staff.as_(TL).get(f"/api/v1/cases/{own.id}").status_code == 404
    assert own.id not in [c["id"] for c in staff.as_(TL).get("/api/v1/cases").json()["items"]]


def test_a_team_leader_sees_every_case_of_the_team_and_no_other(staff, cases):
    # Given two caseworkers' cases in the team and one in the other team
    colleague, _ = staff.user(CW, team=staff.team)
    ours = [
        cases.open(worker=staff.name(CW), team=staff.team).id,
        cases.open(worker=colleague, team=staff.team).id,
    ]
    cases.open(worker="someone-else", team=staff.other_team)

    # Then the team leader's list is exactly the team's
    listed = staff.as_(TL).get("/api/v1/cases").json()["items"]
    assert [c["id"] for c in listed] == ours


def test_an_auditor_reads_everything_but_writes_nothing(staff, cases, rows, problem):
    # Given a case of the team
    case = cases.open(worker=staff.name(CW), team=staff.team)
    before = rows.snapshot(case.id)
    auditor = staff.as_(AU)

    # When the auditor reads it, then tries to fire an event and to open a case
    assert auditor.get(f"/api/v1/cases/{case.id}").status_code == 200
    fire = auditor.post(
        f"/api/v1/cases/{case.id}/events",
        json={"event": "accept", "at": case.later(days=1).isoformat()},
    )
    opened = auditor.post("/api/v1/cases", json=NEW_CASE)

    # Then both writes are forbidden and nothing changed
    assert "reads only" in problem(fire, 403, "forbidden")["detail"]
    problem(opened, 403, "forbidden")
    assert rows.snapshot(case.id) == before


EXTERNAL_PURCHASE = {
    "measures": [{"type": "practical_support", "package": "red", "external": True}]
}


@pytest.mark.parametrize(
    ("role", "status"),
    [
        pytest.param(CW, 409, id="caseworker-refused"),
        pytest.param(TL, 409, id="team_leader-refused"),
        pytest.param(DH, 200, id="department_head-accepted"),
    ],
)
def test_an_external_purchase_needs_the_department_head_as_the_rulebook_says(
    staff, cases, problem, role, status
):
    # Given a case at the decision, its plan submitted (default@2024.1, competence plan of
    # seed 000: external purchase by the department head on the team leader's recommendation)
    case = cases.at_phase(Phase.DECISION, worker=staff.name(CW), team=staff.team)
    # and the child talked with (Barnets Lov §5 stk. 3)
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)

    # When the role grants a measure bought from an external provider
    response = staff.as_(role).post(
        f"/api/v1/cases/{case.id}/events",
        json={"event": "grant", "at": case.later(days=1).isoformat(), "data": EXTERNAL_PURCHASE},
    )

    # Then only the department head's grant is accepted; the others say whose competence it is
    if status == 200:
        assert response.json()["phase"] == "implementation", response.text
    else:
        body = problem(response, 409, "event-refused")
        assert "external purchase" in body["reason"]
        assert "department_head" in body["reason"]


@pytest.mark.parametrize(
    ("role", "status"),
    [pytest.param(TL, 409, id="team_leader-refused"), pytest.param(CO, 200, id="committee")],
)
def test_a_decision_without_consent_is_the_committees(staff, cases, role, status):
    # Given a case in clarification without consent
    case = cases.at_phase(Phase.CLARIFICATION, worker=staff.name(CW), team=staff.team)

    # When the role decides to investigate without consent
    response = staff.as_(role).post(
        f"/api/v1/cases/{case.id}/events",
        json={"event": "decide_without_consent", "at": case.later(days=1).isoformat()},
    )

    # Then only the committee may (seed 002)
    assert response.status_code == status, response.text
