"""The audit trail over HTTP (verify, CSV and JSON Lines export) and the access log."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import pytest
from sqlalchemy import text
from testkeys import TEST_KEYS

from statemachine.audit import AuditEntry, verify_chain
from statemachine.phases import Phase, Role


@pytest.fixture
def walked(staff, cases):
    """A case of the team with measures running (eight audit records)."""
    return cases.at_phase(Phase.FOLLOW_UP, worker=staff.name(Role.CASEWORKER), team=staff.team)


def test_the_auditor_verifies_the_whole_trail_and_one_case(staff, walked):
    client = staff.as_(Role.AUDITOR)

    whole = client.get("/api/v1/audit/verify").json()
    one = client.get("/api/v1/audit/verify", params={"case_id": walked.id}).json()

    assert whole["ok"] is True and whole["first_break"] is None
    assert whole["cases_checked"] >= 1
    assert {k: one[k] for k in ("ok", "cases_checked", "records_checked", "first_break")} == {
        "ok": True,
        "cases_checked": 1,
        "records_checked": 9,
        "first_break": None,
    }
    # every record of it MACed with the installation's key, no findings
    assert (one["breaks"], one["keys"]["keyed"], one["keys"]["unkeyed"]) == ([], 9, 0)


def test_the_auditor_replays_a_case_over_http_and_its_row_is_an_export(
    staff, walked, engine, access_rows
):
    client = staff.as_(Role.AUDITOR)
    params = {"case_id": walked.id, "replay": "true"}

    one = client.get("/api/v1/audit/verify", params=params)

    assert one.status_code == 200
    assert {k: one.json()[k] for k in ("ok", "cases_checked", "events_replayed")} == {
        "ok": True,
        "cases_checked": 1,
        "events_replayed": 9,
    }
    assert one.json()["differences"] == []
    [row] = access_rows.rows(user_name=staff.name(Role.AUDITOR), action="export")[-1:]
    assert row.case_id == walked.id
    # A team changed behind the engine's back is named (and put back: the database is shared)
    statement = text('UPDATE "case" SET team = :team WHERE id = :id')
    with engine.begin() as connection:
        connection.execute(statement, {"team": "elsewhere", "id": walked.id})
    try:
        changed = client.get("/api/v1/audit/verify", params=params).json()
    finally:
        with engine.begin() as connection:
            connection.execute(statement, {"team": staff.team, "id": walked.id})
    assert changed["differences"] == [
        {
            "case_id": walked.id,
            "seq": None,
            "field": "team",
            "stored": "elsewhere",
            "replayed": staff.team,
        }
    ]
    # The admin verifies chains but sees no case content: no replay
    assert staff.as_(Role.ADMIN).get("/api/v1/audit/verify", params=params).status_code == 403


@pytest.fixture
def cut(walked, engine):
    """The walked case's head says it has one record more than the log holds (put right after:
    the module's database is shared)."""
    statement = text('UPDATE "case" SET audit_seq = audit_seq + :n WHERE id = :id')
    with engine.begin() as connection:
        connection.execute(statement, {"n": 1, "id": walked.id})
    yield walked
    with engine.begin() as connection:
        connection.execute(statement, {"n": -1, "id": walked.id})


def test_verify_names_the_first_break_of_a_case_whose_head_was_cut(staff, cut):
    # When the department head verifies a case whose last record was cut off
    result = staff.as_(Role.DEPARTMENT_HEAD).get("/api/v1/audit/verify", params={"case_id": cut.id})

    # Then the break is named
    assert result.json()["ok"] is False
    assert result.json()["first_break"] == {
        "case_id": cut.id,
        "seq": 10,
        "reason": "the case records 10 events, the log has 9",
    }


def _entries(records):
    return [
        (
            AuditEntry(
                case_id=int(r["case_id"]),
                seq=int(r["seq"]),
                event=r["event"],
                from_phase=r["from_phase"] or None,
                to_phase=r["to_phase"],
                event_at=r["event_at"],
                recorded_at=r["recorded_at"],
                actor=r["actor"],
                role=r["role"],
                payload=r["payload"],
                legal_basis=r["legal_basis"],
                rulebook=r["rulebook"],
                channel=r["channel"] or None,
                os_user=r["os_user"] or None,
                as_operator=r["as_operator"] in (True, "True"),
            ),
            r["prev_hash"],
            r["hash"],
            r["key_id"] or None,
        )
        for r in records
    ]


def test_the_csv_export_of_a_case_is_its_whole_chain_checkable_outside(staff, walked, rows):
    # When the auditor exports one case as CSV
    response = staff.as_(Role.AUDITOR).get(
        "/api/v1/audit/export", params={"format": "csv", "case_id": walked.id}
    )

    # Then it is CSV with a header and one row per record, in order
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    records = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["seq"]) for r in records] == list(range(1, 10))
    assert [r["hash"] for r in records] == [r.hash for r in rows.audit(walked.id)]
    # and the chain recomputes from the exported fields alone, given the installation's key
    # (each record MACed with it, and written through the API)
    assert {r["key_id"] for r in records} == {"t1"}
    for record in records:
        record["event_at"] = datetime.fromisoformat(record["event_at"])
        record["recorded_at"] = datetime.fromisoformat(record["recorded_at"])
    assert verify_chain(_entries(records), TEST_KEYS).found is None
    # and not without it
    assert verify_chain(_entries(records)).found is not None


def test_the_json_lines_export_streams_every_record_with_its_payload(staff, walked, cases):
    # Given a second case
    second = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)

    # When the department head exports the whole trail as JSON Lines
    with staff.api.http.stream(
        "GET",
        "/api/v1/audit/export",
        params={"format": "jsonl"},
        headers={"Authorization": f"Bearer {staff.tokens[Role.DEPARTMENT_HEAD]}"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/jsonl")
        lines = [json.loads(line) for line in response.iter_lines() if line]

    # Then each line is one record, in case and sequence order, its payload a JSON value
    mine = [r for r in lines if r["case_id"] in (walked.id, second.id)]
    assert [(r["case_id"], r["seq"]) for r in mine] == [
        *((walked.id, n) for n in range(1, 10)),
        (second.id, 1),
    ]
    keys = [(r["case_id"], r["seq"]) for r in lines]
    assert keys == sorted(keys)
    grant = next(r for r in mine if r["event"] == "grant")
    assert grant["payload"]["measures"][0]["type"] == "practical_support"
    assert grant["event_at"].endswith(("+01:00", "+02:00"))


def test_exporting_an_unknown_case_is_a_404(staff, problem):
    response = staff.as_(Role.AUDITOR).get("/api/v1/audit/export", params={"case_id": 1999999999})

    problem(response, 404, "case-not-found")


def test_each_read_of_a_case_adds_exactly_one_access_log_row_naming_who_and_which(
    staff, walked, access_rows
):
    # Given a caseworker of the team, and the access log so far
    client = staff.as_(Role.CASEWORKER)
    reader = staff.name(Role.CASEWORKER)
    before = access_rows.count()

    # When they read the case, then its events
    client.get(f"/api/v1/cases/{walked.id}")
    client.get(f"/api/v1/cases/{walked.id}/events")

    # Then exactly one row per read was added, naming the reader, their role and the case
    assert access_rows.count() == before + 2
    read, options = access_rows.rows(user_name=reader)[-2:]
    assert (read.case_id, read.action, read.channel, read.role) == (
        walked.id,
        "read",
        "api",
        "caseworker",
    )
    assert read.what == f"GET /api/v1/cases/{walked.id}"
    assert (options.case_id, options.what) == (walked.id, f"GET /api/v1/cases/{walked.id}/events")

    # And a list is one row without a case, an export of one case one row with it
    client.get("/api/v1/cases", params={"team": staff.team})
    staff.as_(Role.AUDITOR).get("/api/v1/audit/export", params={"case_id": walked.id})
    assert access_rows.count() == before + 4
    listed = access_rows.rows(user_name=reader)[-1]
    assert (listed.action, listed.case_id) == ("list", None)
    [export] = access_rows.rows(user_name=staff.name(Role.AUDITOR))
    assert (export.action, export.case_id) == ("export", walked.id)


def test_a_read_that_is_refused_leaves_one_denied_row_and_no_read(staff, cases, access_rows):
    # Given a case of another team
    theirs = cases.open(worker="someone-else", team=staff.other_team)
    before = access_rows.count()

    # When a caseworker tries to read it
    response = staff.as_(Role.CASEWORKER).get(f"/api/v1/cases/{theirs.id}")

    # Then it is not found and nothing was read, but the attempt is logged as denied
    assert response.status_code == 404
    assert access_rows.count() == before + 1
    [row] = access_rows.rows(user_name=staff.name(Role.CASEWORKER))
    assert (row.case_id, row.action, row.channel) == (theirs.id, "read", "api")
    assert row.what == f"GET /api/v1/cases/{theirs.id} (denied)"


def test_asking_for_a_case_that_does_not_exist_is_logged_without_a_case(staff, access_rows):
    # When a caseworker asks for a case that does not exist, and for its events
    client = staff.as_(Role.CASEWORKER)
    assert client.get("/api/v1/cases/1999999999").status_code == 404
    assert client.get("/api/v1/cases/1999999999/events").status_code == 404

    # Then each is one row naming no case (the id may be given to a case later)
    rows = access_rows.rows(user_name=staff.name(Role.CASEWORKER))
    assert [(r.case_id, r.action, r.what) for r in rows] == [
        (None, "read", "GET /api/v1/cases/1999999999 (not found)"),
        (None, "read", "GET /api/v1/cases/1999999999/events (not found)"),
    ]


def test_writes_that_are_denied_are_logged_too(staff, cases, access_rows):
    # Given a case of the team and one of another team
    ours = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)
    theirs = cases.open(worker="someone-else", team=staff.other_team)
    at = ours.later(days=1).isoformat()

    # When the auditor fires on ours, a caseworker on theirs, and the admin reads ours
    auditor = staff.as_(Role.AUDITOR).post(
        f"/api/v1/cases/{ours.id}/events", json={"event": "accept", "at": at}
    )
    caseworker = staff.as_(Role.CASEWORKER).post(
        f"/api/v1/cases/{theirs.id}/events", json={"event": "accept", "at": at}
    )
    admin = staff.as_(Role.ADMIN).get(f"/api/v1/cases/{ours.id}")

    # Then they are refused as ever, and each leaves its row naming the case and the outcome
    assert (auditor.status_code, caseworker.status_code, admin.status_code) == (403, 404, 403)
    [by_auditor] = access_rows.rows(user_name=staff.name(Role.AUDITOR))
    assert (by_auditor.case_id, by_auditor.action, by_auditor.what) == (
        ours.id,
        "write",
        f"POST /api/v1/cases/{ours.id}/events (accept denied)",
    )
    [by_caseworker] = access_rows.rows(user_name=staff.name(Role.CASEWORKER))
    assert (by_caseworker.case_id, by_caseworker.what) == (
        theirs.id,
        f"POST /api/v1/cases/{theirs.id}/events (accept denied)",
    )
    [by_admin] = access_rows.rows(user_name=staff.name(Role.ADMIN))
    assert (by_admin.case_id, by_admin.action, by_admin.what) == (
        ours.id,
        "read",
        f"GET /api/v1/cases/{ours.id} (denied)",
    )


def test_a_stale_version_is_logged_as_a_conflict_and_nothing_as_accepted(
    staff, cases, rows, access_rows
):
    # Given a case in inquiry, at version 2
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)
    before = rows.snapshot(case.id)

    # When a caseworker fires with an older version
    response = staff.as_(Role.CASEWORKER).post(
        f"/api/v1/cases/{case.id}/events",
        json={"event": "accept", "at": case.later(days=1).isoformat(), "expected_version": 1},
    )

    # Then nothing changed and the attempt is one write row saying conflict
    assert response.status_code == 409
    assert rows.snapshot(case.id) == before
    [row] = access_rows.rows(user_name=staff.name(Role.CASEWORKER))
    assert (row.case_id, row.action) == (case.id, "write")
    assert row.what.endswith("(accept conflict)")


def test_opening_a_case_is_a_write_row_accepted_denied_or_refused(staff, access_rows, problem):
    # When a caseworker opens a case, tries another team, gives facts that cannot be true
    # (awareness after the clock) and an awareness before any rulebook
    client = staff.as_(Role.CASEWORKER)
    body = {
        "child_ref": "B-3001",
        "birth_date": "2016-06-01",
        "aware_at": "2027-11-01T09:00:00+01:00",
        "source": "application",
    }
    opened = client.post("/api/v1/cases", json=body)
    other = client.post("/api/v1/cases", json={**body, "team": staff.other_team})
    future = client.post("/api/v1/cases", json={**body, "aware_at": "2028-06-01T09:00:00+02:00"})
    unruled = client.post("/api/v1/cases", json={**body, "aware_at": "2005-01-01T00:00:00Z"})

    # Then the new case is named in its row, the others name none
    assert opened.status_code == 201
    problem(other, 403, "forbidden")
    problem(future, 422, "case-refused")
    problem(unruled, 422, "no-rulebook")
    rows = access_rows.rows(user_name=staff.name(Role.CASEWORKER))
    assert [(r.case_id, r.action, r.what) for r in rows] == [
        (opened.json()["id"], "write", "POST /api/v1/cases (open_case accepted)"),
        (None, "write", "POST /api/v1/cases (open_case denied)"),
        (None, "write", "POST /api/v1/cases (open_case refused)"),
        (None, "write", "POST /api/v1/cases (open_case refused)"),
    ]


def test_every_list_and_report_is_one_list_row_and_a_denied_one_too(staff, access_rows):
    # When a team leader asks for every list and report, and the admin for the case list
    client = staff.as_(Role.TEAM_LEADER)
    paths = [
        "/api/v1/cases",
        "/api/v1/stuck",
        "/api/v1/deadlines?status=breached",
        "/api/v1/compliance?period=2027-Q4",
    ]
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert staff.as_(Role.ADMIN).get("/api/v1/cases").status_code == 403

    # Then each is one list row without a case, saying what was asked
    rows = access_rows.rows(user_name=staff.name(Role.TEAM_LEADER))
    assert [(r.action, r.case_id, r.what) for r in rows] == [
        ("list", None, f"GET {path}") for path in paths
    ]
    [denied] = access_rows.rows(user_name=staff.name(Role.ADMIN))
    assert (denied.action, denied.case_id, denied.what) == (
        "list",
        None,
        "GET /api/v1/cases (denied)",
    )


def test_verifying_the_trail_and_reading_the_access_log_are_logged(staff, walked, access_rows):
    # When the department head verifies one case, the auditor reads the access log, and a
    # caseworker tries to
    staff.as_(Role.DEPARTMENT_HEAD).get("/api/v1/audit/verify", params={"case_id": walked.id})
    page = staff.as_(Role.AUDITOR).get("/api/v1/access-log").json()
    assert staff.as_(Role.CASEWORKER).get("/api/v1/access-log").status_code == 403

    # Then each is one list row; the auditor's own is not on the page it was written for
    [verified] = access_rows.rows(user_name=staff.name(Role.DEPARTMENT_HEAD))
    assert (verified.action, verified.what) == (
        "list",
        f"GET /api/v1/audit/verify?case_id={walked.id}",
    )
    [read] = access_rows.rows(user_name=staff.name(Role.AUDITOR))
    assert (read.action, read.what) == ("list", "GET /api/v1/access-log")
    assert read.id not in {item["id"] for item in page["items"]}
    [denied] = access_rows.rows(user_name=staff.name(Role.CASEWORKER))
    assert (denied.action, denied.what) == ("list", "GET /api/v1/access-log (denied)")


def test_an_export_the_role_may_not_make_is_logged_as_denied(staff, cases, access_rows):
    # Given a case of another team
    theirs = cases.open(worker="someone-else", team=staff.other_team)

    # When a team leader, who may not export the audit trail, asks for its trail
    response = staff.as_(Role.TEAM_LEADER).get(
        "/api/v1/audit/export", params={"case_id": theirs.id}
    )

    # Then it is forbidden and logged as a denied export naming the case
    assert response.status_code == 403
    [row] = access_rows.rows(user_name=staff.name(Role.TEAM_LEADER))
    assert (row.action, row.case_id) == ("export", theirs.id)
    assert row.what == f"GET /api/v1/audit/export?case_id={theirs.id} (denied)"


def test_writes_are_logged_accepted_or_refused(staff, cases, access_rows):
    # Given a case in inquiry
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)
    client = staff.as_(Role.CASEWORKER)
    url = f"/api/v1/cases/{case.id}/events"

    # When an event is refused and another accepted
    at = case.later(days=1).isoformat()
    assert client.post(url, json={"event": "open_investigation", "at": at}).status_code == 409
    assert client.post(url, json={"event": "accept", "at": at}).status_code == 200

    # Then both attempts are in the access log as writes on the case
    refused, accepted = access_rows.rows(user_name=staff.name(Role.CASEWORKER), case_id=case.id)
    assert (refused.action, refused.what) == ("write", f"POST {url} (open_investigation refused)")
    assert (accepted.action, accepted.what) == ("write", f"POST {url} (accept accepted)")


def test_the_auditor_reads_the_access_log_newest_first_by_case_and_user(staff, walked):
    # Given two reads of the case by its caseworker
    for _ in range(2):
        staff.as_(Role.CASEWORKER).get(f"/api/v1/cases/{walked.id}")
    client = staff.as_(Role.AUDITOR)

    # When the auditor reads the access log of the case
    page = client.get("/api/v1/access-log", params={"case_id": walked.id}).json()

    # Then both reads are there, newest first, with who and what
    assert [(r["user_name"], r["action"]) for r in page["items"]] == [
        (staff.name(Role.CASEWORKER), "read"),
        (staff.name(Role.CASEWORKER), "read"),
    ]
    assert page["items"][0]["id"] > page["items"][1]["id"]
    assert page["items"][0]["at"] == "2027-12-31T13:00:00+01:00"  # the server's clock, local
    by_user = client.get(
        "/api/v1/access-log",
        params={"user": staff.name(Role.CASEWORKER), "action": "read", "limit": 1},
    ).json()
    assert len(by_user["items"]) == 1 and by_user["next_offset"] == 1
