"""Event data is bounded in the payload schemas (issue 12, point 7): lists, free text, names,
nesting depth and instants a caseworker never reaches; the edges' shape check walks any depth
without recursion; an instant outside 1900-2999 is refused as text, before any arithmetic."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from sagsflow.organisation import DEMO_ORGANISATION, load_organisation
from statemachine.calendar import InstantInvalid, parse_instant
from statemachine.payloads import (
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_NAME,
    MAX_TEXT,
    MAX_VALUES,
    Shape,
    shape_problem,
)
from statemachine.phases import Event, Role
from statemachine.process import parse_payload

PLAN = {"purpose": "Stabil hverdag", "goals": ["Skole hver dag"], "expected_duration_months": 6}


def _refused(event: Event, data: dict[str, object]) -> list[str]:
    with pytest.raises(ValidationError) as raised:
        parse_payload(event, data)
    return [e["type"] for e in raised.value.errors()]


def test_a_plan_of_five_thousand_goals_of_two_thousand_characters_is_refused() -> None:
    # The attack of issue 12: stored for ever in the audit trail before
    assert _refused(Event.SUBMIT_PLAN, {**PLAN, "goals": ["g" * 2000] * 5000}) == ["too_long"]
    # A hundred goals is the most; a hundred and one is one too many; sub-goals alike
    assert parse_payload(Event.SUBMIT_PLAN, {**PLAN, "goals": ["g"] * MAX_ITEMS})
    assert _refused(Event.SUBMIT_PLAN, {**PLAN, "goals": ["g"] * (MAX_ITEMS + 1)}) == ["too_long"]
    assert _refused(Event.SUBMIT_PLAN, {**PLAN, "sub_goals": ["s"] * (MAX_ITEMS + 1)}) == [
        "too_long"
    ]
    # A goal is free text of at most MAX_TEXT characters
    assert parse_payload(Event.SUBMIT_PLAN, {**PLAN, "goals": ["g" * MAX_TEXT]})
    assert _refused(Event.SUBMIT_PLAN, {**PLAN, "goals": ["g" * (MAX_TEXT + 1)]}) == [
        "string_too_long"
    ]


def test_names_and_ids_are_at_most_two_hundred_characters() -> None:
    long_name = "x" * (MAX_NAME + 1)
    grant = {"measures": [{"type": long_name}]}
    assert _refused(Event.GRANT, grant) == ["string_too_long"]
    assert _refused(Event.GRANT, {"measures": [{"type": "x", "package": long_name}]}) == [
        "string_too_long"
    ]
    assert _refused(Event.END_MEASURE, {"measure_id": long_name, "reason": "r"}) == [
        "string_too_long"
    ]
    support = {"outcome": "granted", "measures": [long_name]}
    assert _refused(Event.DECIDE_YOUNG_PERSON_SUPPORT, support) == ["string_too_long"]
    assert parse_payload(Event.GRANT, {"measures": [{"type": "x" * MAX_NAME}]})


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(0.5, id="a-number"),
        pytest.param(1700000000, id="seconds-since-1970"),
        pytest.param("1700000000", id="digits-as-text"),
        pytest.param("0001-01-01T00:00:00+01:00", id="year-1"),
        pytest.param("9999-12-31T23:59:59-23:00", id="year-9999"),
        pytest.param(True, id="a-boolean"),
    ],
)
def test_an_instant_in_event_data_is_iso_text_in_1900_to_2999(value: object) -> None:
    # Before: 0.5 was read as 1970-01-01T00:00:00.5Z, and year 1 less an hour was a 500
    notification = {"notifier": "private", "aware_at": value}
    assert _refused(Event.RECEIVE_NOTIFICATION, notification)[0] in ("iso_text", "instant_range")
    complaint = {"decision_seq": 1, "received_at": value}
    assert _refused(Event.RECORD_COMPLAINT, complaint)[0] in ("iso_text", "instant_range")


def test_a_day_in_event_data_is_iso_text_in_1900_to_2999() -> None:
    assert _refused(Event.NOTIFY_APPLICANT_OF_DELAY, {"expected_by": "9999-12-31"}) == ["iso_text"]
    assert _refused(Event.RECORD_BIRTH, {"birth_date": 0}) == ["iso_text"]
    assert parse_payload(Event.RECORD_BIRTH, {"birth_date": "2026-02-28"})
    received = parse_payload(
        Event.RECEIVE_NOTIFICATION, {"notifier": "private", "aware_at": "2026-03-01T09:30:00Z"}
    )
    assert received.model_dump()["aware_at"] == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def test_the_shape_check_walks_any_depth_without_recursion() -> None:
    deep: object = 1
    for _ in range(100_000):  # far past Python's recursion limit
        deep = {"a": deep}
    assert shape_problem(deep) is Shape.TOO_DEEP
    listed: object = 1
    for _ in range(MAX_DEPTH):
        listed = [listed]
    assert shape_problem({"a": listed}) is Shape.TOO_DEEP
    within: object = 1
    for _ in range(MAX_DEPTH - 1):
        within = [within]
    assert shape_problem({"a": within}) is None
    assert shape_problem({"a": list(range(MAX_VALUES))}) is Shape.TOO_LARGE
    assert shape_problem({"a": "\ud800"}) is Shape.NOT_UNICODE
    assert shape_problem({"\udfff": 1}) is Shape.NOT_UNICODE
    assert shape_problem(json.loads('{"by": "child"}')) is None


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "1899-12-31T23:00:00+00:00"]
)
def test_an_instant_outside_1900_to_2999_is_refused_as_text(text: str) -> None:
    # Before: 0001-01-01T00:00:00 (Copenhagen time) overflowed in the conversion to UTC
    with pytest.raises(InstantInvalid) as raised:
        parse_instant(text)
    assert raised.value.kind == "out_of_range"


def test_the_organisation_file_gives_each_person_their_roles_and_team() -> None:
    people = load_organisation(DEMO_ORGANISATION)
    assert people.roles_of("rw1") == {Role.CASEWORKER}
    assert people.roles_of("tl2") == {Role.TEAM_LEADER}
    assert people.roles_of("dh") == {Role.DEPARTMENT_HEAD}
    assert people.roles_of("mallory") == frozenset()
    assert people.roles_of(None) == frozenset()
    team = people.team_of("rw4")
    assert team is not None and team.id == "t2"
    leads = people.team_of("tl3")
    assert leads is not None and leads.id == "t3"
    assert people.team_of("dh") is None
