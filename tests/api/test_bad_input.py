"""Whatever a client sends, the answer is a 4xx problem, never a 500 — on both databases.

Each input here would break a layer below the API if it got through: PostgreSQL's integer
range and its refusal of NUL in text, Python's datetime range, the UTF-8 encoder (a lone
surrogate), the recursion limit.
"""

from __future__ import annotations

import json

import pytest

from statemachine.phases import Role

GOOD_CASE = {
    "child_ref": "B-3001",
    "birth_date": "2016-06-01",
    "aware_at": "2027-11-01T09:00:00+01:00",
    "source": "application",
}
JSON = {"content-type": "application/json"}
DEEP: object = "x"
for _ in range(40):
    DEEP = {"a": DEEP}


def _json(body: object) -> bytes:
    """As a client may send it: lone surrogates escaped (\\ud800), infinity as `Infinity`."""
    return json.dumps(body).encode("ascii")


READS = [
    pytest.param("/api/v1/cases/99999999999999999999", 422, id="case-id-beyond-int64"),
    pytest.param("/api/v1/cases/2147483648", 422, id="case-id-beyond-int32"),
    pytest.param("/api/v1/cases/0", 422, id="case-id-zero"),
    pytest.param("/api/v1/cases/-1/events", 422, id="case-id-negative"),
    pytest.param("/api/v1/cases/abc", 422, id="case-id-text"),
    pytest.param("/api/v1/cases?team=a%00b", 422, id="nul-in-filter"),
    pytest.param("/api/v1/cases?worker=" + "w" * 65, 422, id="filter-too-long"),
    pytest.param("/api/v1/cases?limit=100000000000000000000", 422, id="limit-huge"),
    pytest.param("/api/v1/cases?limit=0", 422, id="limit-zero"),
    pytest.param("/api/v1/cases?offset=-1", 422, id="offset-negative"),
    pytest.param("/api/v1/cases?offset=9223372036854775808", 422, id="offset-beyond-int64"),
    pytest.param("/api/v1/cases?phase=limbo", 422, id="unknown-phase"),
    pytest.param("/api/v1/stuck?now=0001-01-01T00:00:00%2B01:00", 422, id="now-year-1"),
    pytest.param("/api/v1/stuck?now=9999-12-31T23:59:59-23:00", 422, id="now-year-9999"),
    pytest.param("/api/v1/stuck?now=yesterday", 422, id="now-not-a-date"),
    # Issue 12: a number was read as seconds since 1970 (now=0.5: 1970-01-01T00:00:00.5Z)
    pytest.param("/api/v1/stuck?now=0.5", 422, id="now-a-number"),
    pytest.param("/api/v1/deadlines?now=1700000000", 422, id="now-seconds-since-1970"),
    pytest.param("/api/v1/compliance?period=2027-Q4&now=0", 422, id="now-zero"),
    pytest.param("/api/v1/stuck?now=0001-01-01T00:00:00", 422, id="now-year-1-local"),
    pytest.param("/api/v1/cases?team=a%00b&team=b", 422, id="filter-given-twice"),
    pytest.param("/api/v1/cases/9223372036854775808", 422, id="case-id-2-to-the-63"),
    pytest.param("/api/v1/cases/9223372036854775808/events", 422, id="options-id-2-to-the-63"),
    pytest.param("/api/v1/stuck?reason=bored", 422, id="unknown-reason"),
    pytest.param("/api/v1/deadlines?status=late", 422, id="unknown-deadline-status"),
    pytest.param("/api/v1/deadlines?within_days=99999999999", 422, id="within-days-huge"),
    pytest.param("/api/v1/deadlines?rule=nap", 422, id="unknown-rule"),
    pytest.param("/api/v1/compliance?period=9999-Q4", 422, id="period-at-the-end-of-time"),
    pytest.param("/api/v1/compliance?period=2027-02-30..2027-03-01", 422, id="period-no-day"),
    pytest.param("/api/v1/compliance", 422, id="period-missing"),
    pytest.param("/api/v1/audit/export?format=xml", 422, id="unknown-format"),
    pytest.param("/api/v1/audit/verify?case_id=99999999999999999999", 422, id="verify-huge"),
    pytest.param("/api/v1/access-log?action=peek", 422, id="unknown-action"),
    pytest.param("/api/v1/nowhere", 404, id="unknown-path"),
]


@pytest.mark.parametrize(("path", "status"), READS)
def test_bad_query_and_path_parameters_are_4xx_problems(staff, problem, path, status):
    response = staff.as_(Role.AUDITOR).get(path)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


OPENINGS = [
    pytest.param({"child_ref": "B\u0000"}, "invalid-request", id="nul-in-child-ref"),
    pytest.param({"child_ref": "B" * 65}, "invalid-request", id="child-ref-too-long"),
    pytest.param({"child_ref": "\ud800"}, "invalid-request", id="lone-surrogate"),
    pytest.param({"birth_date": "0001-01-01"}, "invalid-request", id="birth-year-1"),
    pytest.param({"birth_date": "2016-02-30"}, "invalid-request", id="no-such-day"),
    pytest.param({"aware_at": "0001-01-01T00:00:00+01:00"}, "invalid-request", id="aware-year-1"),
    pytest.param({"aware_at": "2030-01-01T00:00:00Z"}, "case-refused", id="aware-in-future"),
    pytest.param({"aware_at": "2005-01-01T00:00:00Z"}, "no-rulebook", id="before-any-rulebook"),
    pytest.param({"birth_date": "2028-01-01"}, "case-refused", id="born-after-awareness"),
    pytest.param({"source": "fax"}, "invalid-request", id="unknown-source"),
    pytest.param({"notifier": "professional"}, "case-refused", id="notifier-of-application"),
    pytest.param({"team": 12}, "invalid-request", id="team-a-number"),
    pytest.param({"municipality": "x\u007f"}, "invalid-request", id="del-in-municipality"),
    pytest.param({"actor": "mallory"}, "invalid-request", id="actor-in-body"),
    # Issue 12: instants and days are ISO text, never numbers
    pytest.param({"aware_at": 0.5}, "invalid-request", id="aware-a-number"),
    pytest.param({"aware_at": "1700000000"}, "invalid-request", id="aware-digits"),
    pytest.param({"birth_date": 0}, "invalid-request", id="birth-date-a-number"),
    pytest.param({"aware_at": "9999-12-31T23:59:59"}, "invalid-request", id="aware-year-9999"),
    pytest.param({"new_case": "yes"}, "invalid-request", id="new-case-not-a-boolean"),
]


@pytest.mark.parametrize(("change", "kind"), OPENINGS)
def test_bad_case_openings_are_422_problems(staff, problem, change, kind):
    response = staff.as_(Role.DEPARTMENT_HEAD).post(
        "/api/v1/cases", content=_json({**GOOD_CASE, **change}), headers=JSON
    )

    problem(response, 422, kind)


EVENTS = [
    pytest.param({"event": "fly"}, "invalid-request", id="unknown-event"),
    pytest.param({"event": "open_case"}, "invalid-request", id="not-a-case-event"),
    pytest.param({"at": "2027-13-01T00:00:00Z"}, "invalid-request", id="no-such-month"),
    pytest.param({"at": "1899-12-31T23:00:00Z"}, "invalid-request", id="before-1900"),
    pytest.param({"at": 1e400}, "invalid-request", id="at-infinite"),
    pytest.param({"expected_version": 10**30}, "invalid-request", id="version-huge"),
    pytest.param({"expected_version": 0}, "invalid-request", id="version-zero"),
    pytest.param({"data": {"acute": "\ud800"}}, "invalid-request", id="surrogate-in-data"),
    pytest.param({"data": {"\ud800": 1}}, "invalid-request", id="surrogate-in-key"),
    pytest.param({"data": DEEP}, "invalid-request", id="data-40-deep"),
    pytest.param({"data": [1, 2]}, "invalid-request", id="data-a-list"),
    pytest.param({"data": {"acute": 10**40}}, "invalid-event-data", id="huge-int-in-data"),
    pytest.param({"data": {"acute": False, "x\u0000": 1}}, "invalid-event-data", id="nul-key"),
    pytest.param(
        {"event": "close", "data": {"reason": "moved\u0000"}},
        "invalid-event-data",
        id="nul-in-reason",
    ),
    pytest.param(
        {"event": "close", "data": {"reason": "r" * 5000}}, "invalid-event-data", id="long-reason"
    ),
]
# Issue 12: an instant in event data out of range was a 500 (OverflowError), a number one read
# as seconds since 1970
EVENTS += [
    pytest.param(
        {"event": "receive_notification", "data": {"notifier": "private", "aware_at": year}},
        "invalid-event-data",
        id=f"notification-aware-{name}",
    )
    for name, year in (
        ("year-1", "0001-01-01T00:00:00+01:00"),
        ("year-9999", "9999-12-31T23:59:59-23:00"),
        ("a-number", 0.5),
        ("digits", "1700000000"),
    )
]
EVENTS += [
    pytest.param({"at": 0.5}, "invalid-request", id="at-a-number"),
    pytest.param({"at": "0001-01-01T00:00:00"}, "invalid-request", id="at-year-1-local"),
    pytest.param({"expected_version": "2"}, "invalid-request", id="version-as-text"),
    pytest.param({"data": {f"f{i}": 1 for i in range(51)}}, "invalid-request", id="data-51-fields"),
    pytest.param({"data": {"a": list(range(1001))}}, "invalid-request", id="data-1001-values"),
]


@pytest.mark.parametrize(("change", "kind"), EVENTS)
def test_bad_events_are_422_problems_and_write_nothing(staff, cases, rows, problem, change, kind):
    # Given a case in inquiry
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)
    before = rows.snapshot(case.id)
    body = {"event": "assess_urgency", "at": case.later(days=1).isoformat(), **change}

    # When a bad event is posted
    response = staff.as_(Role.CASEWORKER).post(
        f"/api/v1/cases/{case.id}/events", content=_json(body), headers=JSON
    )

    # Then it is a 422 problem and the case is as it was
    problem(response, 422, kind)
    assert rows.snapshot(case.id) == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b"{not json", "application/json", id="broken-json"),
        pytest.param(b"[" * 100_000, "application/json", id="deeply-nested-json"),
        pytest.param(
            b'{"event": "accept", "at": "2027-12-01T10:00:00Z", "data": '
            + b'{"a": ' * 1000
            + b"1"
            + b"}" * 1001,
            "application/json",
            id="data-nested-1000-deep",
        ),
        pytest.param(b"\xff\xfe", "application/json", id="not-utf8"),
        pytest.param(b"event=accept", "application/x-www-form-urlencoded", id="a-form"),
        pytest.param(b"", "application/json", id="empty"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_4xx_problem(staff, cases, content, content_type):
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)

    response = staff.as_(Role.CASEWORKER).post(
        f"/api/v1/cases/{case.id}/events", content=content, headers={"content-type": content_type}
    )

    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
