"""Supervision over HTTP: stuck cases, upcoming and breached deadlines, compliance figures."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sagsflow.usecases.sweep import record_breaches
from statemachine.phases import Notifier, Phase, Role, Source

CPH = ZoneInfo("Europe/Copenhagen")


@pytest.fixture
def team_cases(staff, cases):
    """In the team: a case in clarification since June (no consent), one in inquiry since
    1 December, one opened the day before `now`; and a stuck case in the other team."""
    worker = staff.name(Role.CASEWORKER)
    waiting = cases.at_phase(
        Phase.CLARIFICATION,
        worker=worker,
        team=staff.team,
        aware_at=datetime(2027, 6, 1, 9, tzinfo=CPH),
    )
    inquiry = cases.open(
        worker=worker, team=staff.team, aware_at=datetime(2027, 12, 1, 9, tzinfo=CPH)
    )
    fresh = cases.open(
        worker=worker, team=staff.team, aware_at=datetime(2027, 12, 30, 9, tzinfo=CPH)
    )
    other = cases.at_phase(
        Phase.CLARIFICATION,
        worker="someone-else",
        team=staff.other_team,
        aware_at=datetime(2027, 6, 1, 9, tzinfo=CPH),
    )
    return {"waiting": waiting.id, "inquiry": inquiry.id, "fresh": fresh.id, "other": other.id}


def test_the_team_leader_sees_the_teams_stuck_cases_worst_first_with_reasons(staff, team_cases):
    # When the team leader asks for the stuck cases
    response = staff.as_(Role.TEAM_LEADER).get("/api/v1/stuck")

    # Then the team's stuck cases come worst first, each with its reasons; the fresh case and
    # the other team's case are not among them
    assert response.status_code == 200, response.text
    page = response.json()
    assert [c["case_id"] for c in page["items"]] == [team_cases["waiting"], team_cases["inquiry"]]
    assert page["total"] == 2
    waiting, inquiry = page["items"]
    assert set(waiting["reasons"]) == {"over_phase_norm", "inactive", "waiting_for_consent"}
    assert waiting["days_over_norm"] > inquiry["days_over_norm"] > 0
    assert inquiry["phase"] == "inquiry"
    assert inquiry["phase_norm"] == "7 calendar days"


def test_stuck_cases_filter_by_team_worker_phase_and_reason(staff, team_cases):
    client = staff.as_(Role.DEPARTMENT_HEAD)

    def ids(**params):
        response = client.get("/api/v1/stuck", params=params)
        assert response.status_code == 200, response.text
        return [c["case_id"] for c in response.json()["items"]]

    # The department head sees every team; each filter narrows
    assert ids(team=staff.team) == [team_cases["waiting"], team_cases["inquiry"]]
    assert ids(team=staff.other_team) == [team_cases["other"]]
    assert ids(team=staff.team, phase="inquiry") == [team_cases["inquiry"]]
    assert ids(team=staff.team, reason="waiting_for_consent") == [team_cases["waiting"]]
    assert ids(worker="someone-else", team=staff.other_team) == [team_cases["other"]]
    # and `now` sets the report's clock: on 5 December the inquiry was within its 7-day norm
    assert ids(team=staff.team, phase="inquiry", now="2027-12-05T12:00:00") == []
    # one page at a time
    first = client.get("/api/v1/stuck", params={"team": staff.team, "limit": 1}).json()
    assert ([c["case_id"] for c in first["items"]], first["next_offset"]) == (
        [team_cases["waiting"]],
        1,
    )


def test_the_stuck_list_pages_by_cursor_for_any_scope_size(staff, team_cases, problem):
    # Given the department head's stuck list of the team, one case a page (no cap on the scope)
    client = staff.as_(Role.DEPARTMENT_HEAD)
    whole = client.get("/api/v1/stuck", params={"team": staff.team}).json()
    assert whole["next_after"] is None

    # When it follows `next_after` from page to page
    seen, after = [], None
    while True:
        params = {"team": staff.team, "limit": 1, **({"after": after} if after else {})}
        page = client.get("/api/v1/stuck", params=params).json()
        seen += [c["case_id"] for c in page["items"]]
        assert page["total"] == whole["total"]
        after = page["next_after"]
        if after is None:
            break

    # Then it reads the same cases in the same order as one page, and offsets agree
    assert seen == [c["case_id"] for c in whole["items"]]
    second = client.get("/api/v1/stuck", params={"team": staff.team, "limit": 1, "offset": 1})
    assert [c["case_id"] for c in second.json()["items"]] == seen[1:2]
    # … and a cursor it never handed out is refused as an invalid request
    for bad in ("bm90LWEtY3Vyc29y", "M3x8OTk5OTk5OTk5OTk5OTk5OTk5OTk5"):  # junk; case 10^23
        problem(client.get("/api/v1/stuck", params={"after": bad}), 422, "invalid-request")


@pytest.fixture
def notified(staff, cases):
    """A professional's notification received Tuesday 28 December 2027, 10:00."""
    return cases.open(
        worker=staff.name(Role.CASEWORKER),
        team=staff.team,
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
        aware_at=datetime(2027, 12, 28, 10, tzinfo=CPH),
    )


def test_upcoming_deadlines_are_those_due_within_the_days_asked_soonest_first(
    staff, cases, notified
):
    client = staff.as_(Role.CASEWORKER)

    def rules(**params):
        response = client.get("/api/v1/deadlines", params={"status": "upcoming", **params})
        assert response.status_code == 200, response.text
        return [(d["case_id"], d["rule"]) for d in response.json()["items"]]

    # Within 14 days only the receipt to the professional (6 working days) is due, none today
    assert rules() == [(notified.id, "acknowledgement")]
    assert rules(within_days=0) == []
    # Once the investigation is opened, within 180 days it is due too (4 months of awareness)
    cases.fire(notified, "accept")
    cases.fire(notified, "record_consent", {"by": "custody_holder"}, at=notified.later(hours=1))
    cases.fire(notified, "open_investigation", at=notified.later(hours=1))
    # (and its provisional assessment, Barnets Lov §20 stk. 3, due at the same instant)
    assert rules(within_days=180) == [
        (notified.id, "acknowledgement"),
        (notified.id, "investigation"),
        (notified.id, "provisional_assessment"),
    ]
    [receipt] = client.get("/api/v1/deadlines").json()["items"]
    assert receipt["days_left"] > 0
    assert receipt["due_at"].startswith("2028-01-")
    assert (receipt["team"], receipt["phase"]) == (staff.team, "investigation")


def test_breached_deadlines_are_past_due_and_unmet_whether_or_not_swept(
    staff, notified, context, now
):
    client = staff.as_(Role.TEAM_LEADER)

    def breached():
        response = client.get("/api/v1/deadlines", params={"status": "breached"})
        assert response.status_code == 200, response.text
        return [(d["rule"], d["status"], d["days_left"]) for d in response.json()["items"]]

    # The 24-hour assessment was due on 29 December: past due before the sweep has run …
    assert breached() == [("urgent_assessment", "open", -2)]
    # … and after the sweep marked it
    record_breaches(context, now)
    assert breached() == [("urgent_assessment", "breached", -2)]


def test_compliance_shows_a_team_leader_the_teams_rows_and_the_municipality(staff, cases, notified):
    # Given a breached 24-hour assessment in the team and one in the other team
    cases.open(
        worker="someone-else",
        team=staff.other_team,
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
        aware_at=datetime(2027, 12, 28, 10, tzinfo=CPH),
    )

    # When the team leader and the department head ask for the fourth quarter of 2027
    mine = staff.as_(Role.TEAM_LEADER).get("/api/v1/compliance", params={"period": "2027-Q4"})
    all_ = staff.as_(Role.DEPARTMENT_HEAD).get("/api/v1/compliance", params={"period": "2027-Q4"})

    # Then the team leader sees the own team's row and the municipalities', not the other team's
    assert mine.status_code == 200, mine.text
    report = mine.json()
    assert (report["period_start"], report["period_end"]) == ("2027-10-01", "2027-12-31")
    teams = {(r["scope"], r["team"]) for r in report["rows"]}
    assert ("team", staff.team) in teams
    assert ("team", staff.other_team) not in teams
    assert ("municipality", None) in teams
    row = next(r for r in report["rows"] if r["team"] == staff.team)
    assert row["shares"]["urgent_assessment"]["late"] == 1
    assert row["shares"]["urgent_assessment"]["share"] == 0.0
    # and the department head every team's
    assert ("team", staff.other_team) in {(r["scope"], r["team"]) for r in all_.json()["rows"]}


@pytest.mark.parametrize("period", ["2027-Q5", "yesterday", "2027-13", "0000", "9999-12"])
def test_an_invalid_period_is_a_422_problem(staff, problem, period):
    response = staff.as_(Role.DEPARTMENT_HEAD).get("/api/v1/compliance", params={"period": period})

    problem(response, 422, "invalid-period" if period != "yesterday" else "invalid-request")
