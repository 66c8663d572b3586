"""Cases over HTTP: open, fire, show, list and the events one may fire — and their problems."""

from __future__ import annotations

from datetime import date

import pytest
from conversation import CHILD_CONVERSATION

from sagsflow.usecases.users import disable_user, issue_sign_in_link, revoke_tokens
from statemachine.phases import Phase, Role

NEW_CASE = {
    "child_ref": "B-1042",
    "birth_date": "2016-06-01",
    "aware_at": "2027-10-29T09:00:00+02:00",
    "source": "notification",
    "notifier": "professional",
    # Each test's case is a new one: a notification for a child with an open case is attached
    # to it otherwise (test_a_notification_for_a_child_with_an_open_case_is_attached).
    "new_case": True,
}


def test_a_caseworker_opens_a_case_that_is_theirs_in_their_own_team(staff):
    # Given a caseworker's token
    client = staff.as_(Role.CASEWORKER)

    # When they open a case without naming worker or team
    response = client.post("/api/v1/cases", json=NEW_CASE)

    # Then it is created in inquiry, where the Location header says
    assert response.status_code == 201, response.text
    opened = response.json()
    assert (opened["event"], opened["phase"], opened["version"]) == ("open_case", "inquiry", 2)
    assert response.headers["location"] == f"/api/v1/cases/{opened['id']}"
    # … as their own case in their own team, recorded with their name and role
    shown = client.get(response.headers["location"]).json()
    assert (shown["worker"], shown["team"]) == (staff.name(Role.CASEWORKER), staff.team)
    [record] = shown["history"]
    assert (record["actor"], record["role"]) == (staff.name(Role.CASEWORKER), "caseworker")
    # and the deadlines of a professional's notification are armed
    assert {d["rule"] for d in shown["deadlines"]} >= {"urgent_assessment", "acknowledgement"}


def test_a_team_leader_opens_an_unassigned_case_in_the_team(staff):
    # When a team leader opens a case naming neither worker nor team
    response = staff.as_(Role.TEAM_LEADER).post("/api/v1/cases", json=NEW_CASE)

    # Then it is the team's, with no caseworker yet
    shown = staff.as_(Role.TEAM_LEADER).get(response.headers["location"]).json()
    assert (shown["worker"], shown["team"]) == (None, staff.team)


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.TEAM_LEADER])
def test_a_team_bound_role_cannot_open_a_case_in_another_team(staff, problem, role):
    # When a caseworker or team leader opens a case in a team not their own
    response = staff.as_(role).post("/api/v1/cases", json={**NEW_CASE, "team": staff.other_team})

    # Then it is forbidden, and nothing is opened
    body = problem(response, 403, "forbidden")
    assert "own team" in body["detail"]


# A CPR number however written (issue 12: a space or a dot slipped through), or a reference
# hiding a zero-width character ("DEMO-00\u200b002" looks like "DEMO-00002").
@pytest.mark.parametrize(
    "child_ref", ["010612-1234", "010612 1234", "010612.1234", "B-0106121234", "DEMO-00\u200b002"]
)
def test_opening_a_case_with_a_cpr_number_is_a_problem_with_the_domains_reason(
    staff, problem, child_ref
):
    # When a case is opened with a CPR number as its child reference
    response = staff.as_(Role.CASEWORKER).post(
        "/api/v1/cases", json={**NEW_CASE, "child_ref": child_ref}
    )

    # Then it is refused as invalid input, with the domain's reason
    body = problem(response, 422, "case-refused")
    assert "CPR" in body["reason"]


def test_events_move_a_case_and_show_returns_its_deadlines_and_history(staff, cases):
    # Given a caseworker's case in inquiry
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)
    client = staff.as_(Role.CASEWORKER)

    # When they accept it, record consent and open the investigation
    steps = [
        ("accept", None, "clarification"),
        ("record_consent", {"by": "custody_holder"}, "clarification"),
        ("open_investigation", None, "investigation"),
    ]
    for day, (event, data, phase) in enumerate(steps, start=1):
        at = case.later(days=day).isoformat()
        response = client.post(
            f"/api/v1/cases/{case.id}/events", json={"event": event, "at": at, "data": data}
        )
        assert response.status_code == 200, response.text
        assert (response.json()["event"], response.json()["phase"]) == (event, phase)

    # Then the case shows the investigation deadline with its arithmetic, and every event
    shown = client.get(f"/api/v1/cases/{case.id}").json()
    assert shown["phase"] == "investigation"
    investigation = next(d for d in shown["deadlines"] if d["rule"] == "investigation")
    assert investigation["status"] == "open"
    assert "4 calendar months" in investigation["explanation"]
    assert [h["event"] for h in shown["history"]] == [
        "open_case",
        "accept",
        "record_consent",
        "open_investigation",
    ]
    assert shown["history"][-1]["actor"] == staff.name(Role.CASEWORKER)
    assert shown["version"] == case.version + 3


def test_the_actor_and_role_come_from_the_token_never_from_the_body(staff, cases, problem):
    # Given a case of the team
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)
    leader = staff.as_(Role.TEAM_LEADER)
    url = f"/api/v1/cases/{case.id}/events"
    at = case.later(days=1).isoformat()

    # When a body claims another actor and role, it is refused outright
    claimed = {"event": "accept", "at": at, "actor": "mallory", "role": "committee"}
    problem(leader.post(url, json=claimed), 422, "invalid-request")

    # And when the team leader fires the event, the record names the team leader and their role
    assert leader.post(url, json={"event": "accept", "at": at}).status_code == 200
    record = leader.get(f"/api/v1/cases/{case.id}").json()["history"][-1]
    assert (record["actor"], record["role"]) == (staff.name(Role.TEAM_LEADER), "team_leader")


def test_a_refused_event_is_a_409_problem_with_the_reason_and_the_allowed_events(
    staff, cases, rows, problem
):
    # Given a case in clarification
    case = cases.at_phase(Phase.CLARIFICATION, worker=staff.name(Role.CASEWORKER), team=staff.team)
    before = rows.snapshot(case.id)

    # When a caseworker records the committee's compulsory examination
    response = staff.as_(Role.CASEWORKER).post(
        f"/api/v1/cases/{case.id}/events",
        json={"event": "decide_compulsory_examination", "at": case.later(days=1).isoformat()},
    )

    # Then it is refused with the guard's reason, the phase and what is allowed now
    body = problem(response, 409, "event-refused")
    assert "committee" in body["reason"]
    assert (body["event"], body["phase"]) == ("decide_compulsory_examination", "clarification")
    assert "record_consent" in body["allowed"]
    # and nothing was written
    assert rows.snapshot(case.id) == before


def test_event_data_the_event_refuses_is_a_422_problem(staff, cases, problem):
    # Given a case in clarification
    case = cases.at_phase(Phase.CLARIFICATION, worker=staff.name(Role.CASEWORKER), team=staff.team)

    # When consent is recorded for someone who cannot give it
    response = staff.as_(Role.CASEWORKER).post(
        f"/api/v1/cases/{case.id}/events",
        json={
            "event": "record_consent",
            "at": case.later(days=1).isoformat(),
            "data": {"by": "neighbour"},
        },
    )

    # Then it is invalid data, with the domain's reason and the allowed events
    body = problem(response, 422, "invalid-event-data")
    assert body["reason"].startswith("invalid data")
    assert "by" in body["reason"]
    assert body["allowed"]


def test_a_stale_expected_version_is_a_409_version_conflict(staff, cases, rows, problem):
    # Given a case that someone else changed after we read version N
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)
    read_version = case.version
    cases.fire(case, "assess_urgency", {"acute": False})

    # When we fire an event expecting version N
    response = staff.as_(Role.CASEWORKER).post(
        f"/api/v1/cases/{case.id}/events",
        json={
            "event": "accept",
            "at": case.later(days=1).isoformat(),
            "expected_version": read_version,
        },
    )

    # Then it is a version conflict, and the case stays as the other writer left it
    body = problem(response, 409, "version-conflict")
    assert (body["case_id"], body["expected_version"]) == (case.id, read_version)
    assert rows.case(case.id).phase == "inquiry"


def test_an_unknown_case_is_a_404_problem(staff, problem):
    client = staff.as_(Role.DEPARTMENT_HEAD)

    # When a case that does not exist is read, its options asked for, or an event fired on it
    responses = [
        client.get("/api/v1/cases/2000000000"),
        client.get("/api/v1/cases/2000000000/events"),
        client.post(
            "/api/v1/cases/2000000000/events",
            json={"event": "accept", "at": "2027-01-01T10:00:00+01:00"},
        ),
    ]

    # Then each is a 404 problem naming the case
    for response in responses:
        assert problem(response, 404, "case-not-found")["case_id"] == 2000000000


def test_the_events_endpoint_says_what_the_caller_may_fire_now_and_why_not(staff, cases):
    # Given a case in clarification without consent
    case = cases.at_phase(Phase.CLARIFICATION, worker=staff.name(Role.CASEWORKER), team=staff.team)

    # When the caseworker and the auditor ask which events they may fire
    mine = staff.as_(Role.CASEWORKER).get(f"/api/v1/cases/{case.id}/events").json()
    audit = staff.as_(Role.AUDITOR).get(f"/api/v1/cases/{case.id}/events").json()

    # Then the caseworker may record consent and open the investigation without it (Barnets
    # Lov §20, §22 stk. 2), and may not decide without consent (the committee's competence)
    options = {o["event"]: o for o in mine["events"]}
    assert (mine["phase"], mine["role"], mine["version"]) == ("clarification", "caseworker", 3)
    assert options["record_consent"]["possible"] and options["record_consent"]["needs_data"]
    assert options["open_investigation"]["possible"]
    assert not options["decide_compulsory_examination"]["possible"]
    assert not options["decide_without_consent"]["possible"]
    assert "committee" in options["decide_without_consent"]["reason"]
    # and the auditor may fire none of them
    assert not any(o["possible"] for o in audit["events"])
    assert {o["reason"] for o in audit["events"]} == {"role auditor reads only"}


def test_the_list_filters_by_phase_worker_team_and_municipality_and_pages(staff, cases):
    # Given cases of two caseworkers of the team in two phases, one in another municipality
    anna, _ = staff.user(Role.CASEWORKER, team=staff.team)
    bo = staff.name(Role.CASEWORKER)
    inquiry = [cases.open(worker=anna, team=staff.team).id for _ in range(3)]
    clarifying = cases.at_phase(Phase.CLARIFICATION, worker=bo, team=staff.team).id
    elsewhere = cases.open(worker=bo, team=staff.team, municipality="national").id
    client = staff.as_(Role.TEAM_LEADER)

    def ids(**params):
        response = client.get("/api/v1/cases", params={"team": staff.team, **params})
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["items"]]

    # Then each filter narrows the list, oldest first
    assert ids() == [*inquiry, clarifying, elsewhere]
    assert ids(phase="clarification") == [clarifying]
    assert ids(worker=anna) == inquiry
    assert ids(municipality="national") == [elsewhere]
    assert ids(worker=bo, phase="inquiry") == [elsewhere]
    # and pages follow one another without gaps
    first = client.get("/api/v1/cases", params={"team": staff.team, "limit": 2}).json()
    assert [c["id"] for c in first["items"]] == inquiry[:2]
    assert first["next_offset"] == 2
    rest = client.get(
        "/api/v1/cases", params={"team": staff.team, "limit": 3, "offset": first["next_offset"]}
    ).json()
    assert [c["id"] for c in rest["items"]] == [inquiry[2], clarifying, elsewhere]
    assert rest["next_offset"] is None


@pytest.mark.parametrize("token", ["none", "garbage", "revoked", "disabled", "sign_in_link"])
def test_a_missing_or_invalid_token_is_a_401_with_www_authenticate(staff, problem, now, token):
    # Given a missing token, a made-up one, a revoked one, a disabled user's or a sign-in link
    context = staff.api.context
    name = staff.name(Role.CASEWORKER)
    credential = {
        "none": None,
        "garbage": "sf_not-a-token",
        "revoked": staff.tokens[Role.CASEWORKER],
        "disabled": staff.tokens[Role.CASEWORKER],
        "sign_in_link": issue_sign_in_link(context, name, now=now),
    }[token]
    if token == "revoked":
        revoke_tokens(context, name, now=now)
    if token == "disabled":
        disable_user(context, name, now=now)

    # When it calls the API
    response = staff.api.client(credential).get("/api/v1/cases")

    # Then it is a 401 that says how to authenticate
    problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].startswith("Bearer")
    if credential is not None:
        assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_me_names_the_tokens_user_role_team_and_scope(staff):
    me = staff.as_(Role.CASEWORKER).get("/api/v1/me").json()

    assert me == {
        "name": staff.name(Role.CASEWORKER),
        "role": "caseworker",
        "team": staff.team,
        "scope": "own_and_team",
        "read_only": False,
    }
    assert staff.as_(Role.AUDITOR).get("/api/v1/me").json()["read_only"] is True


def test_naive_instants_are_copenhagen_time_as_in_the_cli(staff, cases):
    # Given a case
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)

    # When an event is fired at a time without an offset (winter: UTC+1)
    response = staff.as_(Role.CASEWORKER).post(
        f"/api/v1/cases/{case.id}/events", json={"event": "accept", "at": "2027-01-05T10:00:00"}
    )

    # Then it was read as Copenhagen wall-clock time
    assert response.status_code == 200, response.text
    shown = staff.as_(Role.CASEWORKER).get(f"/api/v1/cases/{case.id}").json()
    assert shown["history"][-1]["at"] == "2027-01-05T10:00:00+01:00"
    assert date.fromisoformat(shown["birth_date"]) == date(2016, 5, 1)


# --- a child not yet born (issue 10) -----------------------------------------------------------

EXPECTED_CASE = {key: value for key, value in NEW_CASE.items() if key != "birth_date"} | {
    "expected_birth_date": "2028-03-01"
}


def test_a_case_opens_for_a_child_not_yet_born_and_its_birth_is_recorded(staff):
    # Given a caseworker who opens a case for a child expected on 1 March 2028
    client = staff.as_(Role.CASEWORKER)
    response = client.post("/api/v1/cases", json=EXPECTED_CASE)
    assert response.status_code == 201, response.text
    location = response.headers["location"]
    # Then the case shows the expected birth, and no birth date
    shown = client.get(location).json()
    assert (shown["birth_date"], shown["expected_birth_date"]) == (None, "2028-03-01")
    assert "record_birth" in shown["allowed_events"]

    # When the child is born early, on 30 December 2027
    response = client.post(
        f"{location}/events",
        json={
            "event": "record_birth",
            "at": "2027-12-30T18:00:00+01:00",
            "data": {"birth_date": "2027-12-30"},
        },
    )
    assert response.status_code == 200, response.text
    # Then the case shows the birth date
    shown = client.get(location).json()
    assert (shown["birth_date"], shown["expected_birth_date"]) == ("2027-12-30", None)
    assert shown["history"][-1]["event"] == "record_birth"


@pytest.mark.parametrize(
    "dates",
    [
        {},
        {"birth_date": "2016-06-01", "expected_birth_date": "2028-03-01"},
    ],
)
def test_a_case_opens_with_exactly_one_of_the_two_birth_dates(staff, problem, dates):
    body = {k: v for k, v in NEW_CASE.items() if k != "birth_date"} | dates
    response = staff.as_(Role.CASEWORKER).post("/api/v1/cases", json=body)
    found = problem(response, 422, "invalid-request")
    [error] = found["errors"]
    assert error["type"] == "birth_date_or_expected"
    assert error["msg"].startswith("give either birth_date (the child is born) or")
    # in Danish when asked for it
    danish = staff.as_(Role.CASEWORKER).post(
        "/api/v1/cases", json=body, headers={"Accept-Language": "da"}
    )
    assert problem(danish, 422, "invalid-request")["errors"][0]["msg"] == (
        "angiv enten birth_date (barnet er født) eller expected_birth_date (barnet er ikke født "
        "endnu), ikke begge"
    )


def test_an_expected_birth_before_awareness_is_a_422_with_the_domains_reason(staff, problem):
    body = EXPECTED_CASE | {"expected_birth_date": "2027-10-28"}
    response = staff.as_(Role.CASEWORKER).post("/api/v1/cases", json=body)
    found = problem(response, 422, "case-refused")
    assert found["code"] == "expected_birth_before_awareness"
    assert found["reason"] == (
        "the expected birth date 2027-10-28 is before the awareness date 2027-10-29"
    )


# --- a further notification on an open case (issue 11) -----------------------------------------


def test_a_notification_for_a_child_with_an_open_case_is_attached(staff):
    # Given a child with an open case
    client = staff.as_(Role.CASEWORKER)
    first = NEW_CASE | {"child_ref": "B-7001"}
    opened = client.post("/api/v1/cases", json=first)
    assert opened.status_code == 201, opened.text

    # When a further notification about the child is posted, without `new_case`
    again = {k: v for k, v in first.items() if k != "new_case"} | {
        "aware_at": "2027-11-02T09:00:00+01:00",
        "notifier": "private",
    }
    response = client.post("/api/v1/cases", json=again)

    # Then it is attached to the open case as receive_notification, with its own 24 hours
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["id"], body["event"]) == (opened.json()["id"], "receive_notification")
    shown = client.get(f"/api/v1/cases/{body['id']}").json()
    assert [n["notifier"] for n in shown["notifications"]] == ["private"]
    assessments = [d for d in shown["deadlines"] if d["rule"] == "urgent_assessment"]
    assert [d["due_at"] for d in assessments] == [
        "2027-10-30T09:00:00+02:00",
        "2027-11-03T09:00:00+01:00",
    ]

    # And with `new_case` it is a case of its own
    separate = client.post("/api/v1/cases", json=again | {"new_case": True})
    assert separate.status_code == 201, separate.text
    assert separate.json()["id"] != body["id"]


def test_a_complaint_is_recorded_and_listed_through_the_api(staff, cases):
    # Given a refusal on a case of the caseworker's (issue 11)
    case = cases.at_phase(Phase.DECISION, worker=staff.name(Role.CASEWORKER), team=staff.team)
    cases.fire(case, "record_party_hearing")
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    refusal = cases.fire(case, "refuse", {"complaint_guidance": True}).audit_seq
    client = staff.as_(Role.CASEWORKER)
    # When the parents' complaint is posted as an event
    received = case.later(hours=2).isoformat()
    response = client.post(
        f"/api/v1/cases/{case.id}/events",
        json={
            "event": "record_complaint",
            "at": case.later(hours=3).isoformat(),
            "data": {"decision_seq": refusal, "received_at": received},
        },
    )
    assert response.status_code == 200, response.text
    complaint = response.json()["audit_seq"]
    # Then the case lists it, and the reassessment is offered with its 4-week deadline
    shown = client.get(f"/api/v1/cases/{case.id}").json()
    assert [(c["complaint"], c["decision_seq"], c["status"]) for c in shown["complaints"]] == [
        (complaint, refusal, "awaiting_reassessment")
    ]
    assert "reassess" in shown["allowed_events"]
    assert [d["rule"] for d in shown["deadlines"] if d["key"] == f"reassessment:c{complaint}"] == [
        "reassessment"
    ]
    # A complaint about a record that is no decision is a 409 naming the reason
    wrong = client.post(
        f"/api/v1/cases/{case.id}/events",
        json={
            "event": "record_complaint",
            "at": case.later(hours=4).isoformat(),
            "data": {"decision_seq": 1, "received_at": received},
        },
    )
    assert wrong.status_code == 409, wrong.text
    assert wrong.json()["code"] == "not_a_decision"


def test_api_answers_are_never_cached_not_even_problems(staff, api):
    # Issue 12, point 8: answers carry data about children; no browser or proxy keeps them
    client = staff.as_(Role.CASEWORKER)
    answers = [
        client.get("/api/v1/me"),
        client.get("/api/v1/cases"),
        client.get("/api/v1/cases/2147483647"),  # a 404 problem
        api.client().get("/api/v1/cases"),  # a 401 problem, no token
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 401]
    assert all(a.headers.get("cache-control") == "no-store" for a in answers)
