"""Ages while a measure runs, and a child not yet born (issue 10), through the service layer on
SQLite and PostgreSQL, read back raw.

Hand-computed: Copenhagen is UTC+01:00 until 29 March 2026 and UTC+02:00 from then until
25 October 2026, so the end of a day is 22:59:59 UTC in winter and 21:59:59 UTC in summer.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conversation import CHILD_CONVERSATION
from sqlalchemy import select

from models.tables import Notification
from sagsflow.present.case import worded_case
from sagsflow.present.i18n import translator
from sagsflow.read.cases import show_case
from sagsflow.usecases.sweep import sweep
from statemachine.errors import EventRefused, RefusalCode
from statemachine.phases import Phase

CPH = ZoneInfo("Europe/Copenhagen")
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
PLAN_LATER: list[tuple[str, dict[str, Any] | None]] = [
    ("conclude", {"measures_needed": True}),
    # Barnets Lov §91: a supportive measure's plan may follow the decision
    ("defer_plan", None),
]


def _to_decision(cases: Any, case: Any, *, young_person: bool) -> None:
    cases.fire(case, "accept")
    cases.fire(case, "record_consent", {"by": "custody_holder"})
    if young_person:  # seed 004: a young person over 15 consents too
        cases.fire(case, "record_consent", {"by": "child"})
    cases.fire(case, "open_investigation")
    for event, data in PLAN_LATER:
        cases.fire(case, event, data)


# --- the age limit -----------------------------------------------------------------------------


def _contact_person(cases: Any) -> Any:
    """A contact person (seed 000: 14-22 år) granted on Sunday 1 March 2026 to a young person
    born 10 May 2003 (22 then), started the next day."""
    case = cases.open(aware_at=datetime(2026, 2, 2, 10, tzinfo=CPH), birth_date=date(2003, 5, 10))
    _to_decision(cases, case, young_person=True)
    grant = {"measures": [{"type": "contact_person_child", "package": "red"}]}
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", grant, at=datetime(2026, 3, 1, 10, tzinfo=CPH))
    cases.fire(case, "start_measures", at=datetime(2026, 3, 2, 10, tzinfo=CPH))
    return case


def test_a_contact_person_ends_the_day_before_the_23rd_birthday(cases, context, rows):
    # Given the contact person running since 2 March 2026
    case = _contact_person(cases)

    # Then its age limit is stored: the end of Saturday 9 May 2026 (23 on Sunday 10 May)
    limit = rows.deadlines(case.id)["age_limit:m1"]
    assert (limit.rule, limit.measure_key, limit.status) == ("age_limit", "m1", "open")
    assert limit.due_at == datetime(2026, 5, 9, 21, 59, 59, tzinfo=UTC)
    assert (limit.responsible, limit.escalated_to) == ("caseworker", "team_leader")
    assert limit.source == "Vejledende serviceniveau for forebyggende indsatser: 14-22 år"

    # And the case page says why, in Danish
    shown = worded_case(show_case(context, case.id), translator("da"))
    [deadline] = [d for d in shown["deadlines"] if d["rule"] == "age_limit"]
    assert deadline["due_at"] == "2026-05-09T23:59:59+02:00"
    assert deadline["explanation"] == (
        "Aldersgrænse for indsatsen: Kontaktperson til barnet eller den unge (indsats 1) "
        "(Vejledende serviceniveau for forebyggende indsatser: 14-22 år). Regnet fra barnets "
        "fødselsdato, 10. maj 2003: 10. maj 2003 + 23 år → 10. maj 2026, den dag barnet fylder "
        "23 år og er over indsatsens højeste alder på 22 år; fristen udløber ved udgangen af "
        "dagen før, 9. maj 2026 kl. 23.59.59 dansk tid"
    )
    assert deadline["arithmetic"] == {
        "kind": "age",
        "birth_day": "2003-05-10",
        "max_age": 22,
        "birthday": "2026-05-10",
        "due_day": "2026-05-09",
    }


def test_the_sweep_tells_the_ladder_and_breaches_an_age_limit_passed(cases, context, engine, rows):
    # Given the contact person running (age limit: the end of 9 May 2026)
    case = _contact_person(cases)
    limit_id = rows.deadlines(case.id)["age_limit:m1"].id

    def notices() -> list[tuple[str, str]]:
        with engine.connect() as connection:
            found = connection.execute(
                select(NOTIFICATION.c.level, NOTIFICATION.c.recipient_role)
                .where(NOTIFICATION.c.deadline_id == limit_id)
                .order_by(NOTIFICATION.c.rung)
            ).all()
        return [(level, role) for level, role in found]

    # When the sweep runs on 1 May, within the 3 months before: the caseworker is reminded
    sweep(context, datetime(2026, 5, 1, 8, tzinfo=CPH))
    assert notices() == [("reminder", "caseworker")]
    assert rows.deadlines(case.id)["age_limit:m1"].status == "open"
    # On the morning of the 23rd birthday the limit is breached and the team leader told
    sweep(context, datetime(2026, 5, 10, 8, tzinfo=CPH))
    assert rows.deadlines(case.id)["age_limit:m1"].status == "breached"
    assert notices() == [("reminder", "caseworker"), ("breach", "team_leader")]
    # 14 days after the due time (24 May, 23:59:59) the department head
    sweep(context, datetime(2026, 5, 25, 8, tzinfo=CPH))
    assert notices()[-1] == ("escalation", "department_head")


@pytest.mark.parametrize(
    ("ended_at", "status"),
    [
        (datetime(2026, 5, 9, 12, tzinfo=CPH), "met"),
        (datetime(2026, 5, 11, 12, tzinfo=CPH), "met_late"),
    ],
)
def test_ending_the_contact_person_meets_its_age_limit(cases, rows, ended_at, status):
    case = _contact_person(cases)
    cases.fire(
        case, "end_measure", {"measure_id": "m1", "reason": "Den unge fylder 23 år"}, at=ended_at
    )
    limit = rows.deadlines(case.id)["age_limit:m1"]
    assert (limit.status, limit.closed_by) == (status, "end_measure")
    assert rows.case(case.id).phase == "closure"  # the last measure ended


# --- a child not yet born ------------------------------------------------------------------------


def _expected(cases: Any) -> Any:
    """Opened Sunday 1 February 2026 for a child expected on 15 June 2026."""
    return cases.open(
        aware_at=datetime(2026, 2, 1, 10, tzinfo=CPH),
        birth_date=date(2026, 6, 15),
        birth_expected=True,
    )


def test_an_expected_child_is_stored_with_its_expected_date_and_shown_as_expected(
    cases, context, rows
):
    case = _expected(cases)

    # The row holds the expected date and the fact that it is one, and no more about the child
    row = rows.case(case.id)
    assert row.birth_date == date(2026, 6, 15)
    assert row.facts["expected"] is True
    # The case shows an expected birth, no birth date
    shown = show_case(context, case.id)
    assert (shown["birth_date"], shown["expected_birth_date"]) == (None, "2026-06-15")
    assert "record_birth" in shown["allowed_events"]
    [opened] = shown["history"]
    assert opened["payload"]["expected_birth_date"] == "2026-06-15"
    assert "birth_date" not in opened["payload"]


def test_support_to_the_expectant_parents_then_the_birth(cases, context, rows):
    # Given the expectant parents' case at the decision
    case = _expected(cases)
    _to_decision(cases, case, young_person=False)

    # When a measure for the child is asked for before the birth, it is refused, writing nothing
    before = rows.snapshot(case.id)
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "grant", {"measures": [{"type": "day_care_support"}]})
    assert refused.value.code is RefusalCode.NOT_FOR_EXPECTED_CHILD
    assert rows.snapshot(case.id) == before

    # The support to the expectant parents is granted and started
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", {"measures": [{"type": "support_expectant_parents"}]})
    cases.fire(case, "start_measures", at=datetime(2026, 2, 20, 10, tzinfo=CPH))
    assert rows.measures(case.id)["m1"].type == "support_expectant_parents"

    # When the child is born on 12 June, three days early, recorded the next day
    cases.fire(
        case, "record_birth", {"birth_date": "2026-06-12"}, at=datetime(2026, 6, 13, 9, tzinfo=CPH)
    )

    # Then the row holds the birth date and no longer the expected fact
    row = rows.case(case.id)
    assert row.birth_date == date(2026, 6, 12)
    assert "expected" not in row.facts
    assert row.phase == "follow_up"
    # the case shows the child as born, with the birth in its audited history
    shown = show_case(context, case.id)
    assert (shown["birth_date"], shown["expected_birth_date"]) == ("2026-06-12", None)
    assert "record_birth" not in shown["allowed_events"]
    last = shown["history"][-1]
    assert (last["event"], last["payload"], last["from_phase"], last["to_phase"]) == (
        "record_birth",
        {"birth_date": "2026-06-12"},
        "follow_up",
        "follow_up",
    )
    assert "kommende forældre" in last["legal_basis"]
    assert rows.chain_break(case.id) is None

    # And a second birth is refused
    with pytest.raises(EventRefused) as again:
        cases.fire(case, "record_birth", {"birth_date": "2026-06-12"})
    assert again.value.code is RefusalCode.NO_EXPECTED_BIRTH


def test_the_stuck_clock_of_an_expected_child_waits_only_for_the_custody_holder(cases, rows):
    # Given an expected child and a young person of 16, each in clarification with the custody
    # holder's consent recorded
    expected = _expected(cases)
    young = cases.open(aware_at=datetime(2026, 2, 1, 10, tzinfo=CPH), birth_date=date(2009, 7, 1))
    for case in (expected, young):
        cases.fire(case, "accept", at=datetime(2026, 2, 2, 10, tzinfo=CPH))
        cases.fire(case, "record_consent", {"by": "custody_holder"})
    # Then the young person's case waits for the young person's own consent from 14 days after
    # entering clarification (2 Feb + 14 days = 16 Feb, 10:00 CET), the expected child's never
    assert rows.case(young.id).consent_wait_at == datetime(2026, 2, 16, 9, tzinfo=UTC)
    assert rows.case(expected.id).consent_wait_at is None
    assert rows.case(expected.id).phase == Phase.CLARIFICATION.value
