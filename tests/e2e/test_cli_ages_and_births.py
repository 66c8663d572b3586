"""Issue 10 through the installed console script: a measure's age limit, and a case opened for a
child not yet born (`case open --expected-birth-date`, `record_birth`).

Expected values are worked out by hand. Copenhagen is CET (+01:00) until 29 March 2026 and CEST
(+02:00) from then until 25 October 2026. Each subprocess costs most of a second, so each test
walks one story, on SQLite and on PostgreSQL (`database_url`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conversation import CHILD_CONVERSATION

if TYPE_CHECKING:  # for the reader only: helpers come as fixtures (see conftest.py)
    from tests.e2e.conftest import Sagsflow

EXIT_INVALID, EXIT_REFUSED = 2, 3
OPENING = [
    "case", "open",
    "--child-ref", "BARN-0042",
    "--aware-at", "2026-02-01T10:00:00+01:00",
    "--source", "application",
    "--worker", "anna",
    "--team", "nord",
    "--actor", "anna",
]  # fmt: skip


def _walk_to_grant(cli: Sagsflow, case_id: int, *, young_person: bool) -> None:
    """Accept, consent, investigate, conclude, and let the plan follow the decision (§91)."""
    steps: list[tuple[str, str, dict[str, Any] | None]] = [
        ("accept", "2026-02-02T10:00:00+01:00", None),
        ("record_consent", "2026-02-03T10:00:00+01:00", {"by": "custody_holder"}),
    ]
    if young_person:  # seed 004: a young person over 15 consents too
        steps.append(("record_consent", "2026-02-03T11:00:00+01:00", {"by": "child"}))
    steps += [
        ("open_investigation", "2026-02-04T10:00:00+01:00", None),
        ("conclude", "2026-02-16T10:00:00+01:00", {"measures_needed": True}),
        ("defer_plan", "2026-02-17T10:00:00+01:00", None),
    ]
    for event, at, data in steps:
        cli.fire(case_id, event, at, data)


def test_a_case_opens_with_exactly_one_of_birth_date_and_expected_birth_date(
    sagsflow: Sagsflow,
) -> None:
    for dates in ([], ["--birth-date", "2016-05-01", "--expected-birth-date", "2026-06-15"]):
        done = sagsflow.run(*OPENING, *dates)
        assert done.returncode == EXIT_INVALID
        assert "give either --birth-date (the child is born) or --expected-birth-date" in (
            done.stderr
        )
    # In Danish, the default language
    danish = sagsflow.run("--lang", "da", *OPENING)
    assert danish.returncode == EXIT_INVALID
    assert danish.stderr.strip() == (
        "fejl: angiv enten --birth-date (barnet er født) eller --expected-birth-date (barnet er "
        "ikke født endnu), ikke begge"
    )
    # An expected birth more than 10 months after awareness (1 Feb → 1 Dec 2026) is refused
    reason = sagsflow.fails(*OPENING, "--expected-birth-date", "2026-12-02")
    assert "the expected birth date 2026-12-02 is more than 10 months after awareness" in reason
    assert sagsflow.json("case", "list") == []


def test_support_to_expectant_parents_then_the_birth(sagsflow: Sagsflow) -> None:
    # Given a case opened on 1 February 2026 for a child expected on 15 June 2026
    opened = sagsflow.json(*OPENING, "--expected-birth-date", "2026-06-15")
    case_id = opened["id"]
    view = sagsflow.show(case_id)
    assert (view["birth_date"], view["expected_birth_date"]) == (None, "2026-06-15")
    # `case show` says "forventet fødsel" instead of a birth date
    shown = sagsflow.ok("--lang", "da", "case", "show", str(case_id))
    assert "(forventet fødsel 15. jun. 2026)" in shown
    assert "Født" not in shown

    # When the expectant parents are granted support before the birth
    _walk_to_grant(sagsflow, case_id, young_person=False)
    reason = sagsflow.refused(
        case_id,
        "grant",
        "2026-02-18T10:00:00+01:00",
        {"measures": [{"type": "day_care_support"}]},
    )
    assert "day_care_support cannot be granted before the child is born" in reason
    granted = sagsflow.fire(
        case_id,
        "grant",
        "2026-02-18T10:00:00+01:00",
        {"measures": [{"type": "support_expectant_parents"}]},
    )
    assert granted["phase"] == "implementation"
    sagsflow.fire(case_id, "start_measures", "2026-02-20T10:00:00+01:00")

    # And the child is born on 12 June 2026, recorded the next day
    born = sagsflow.fire(
        case_id, "record_birth", "2026-06-13T09:00:00+02:00", {"birth_date": "2026-06-12"}
    )
    assert (born["from_phase"], born["phase"]) == ("follow_up", "follow_up")

    # Then the case shows the birth date, and expects no birth any more
    view = sagsflow.show(case_id)
    assert (view["birth_date"], view["expected_birth_date"]) == ("2026-06-12", None)
    assert "record_birth" not in view["allowed_events"]
    assert [m["type"] for m in view["measures"]] == ["support_expectant_parents"]
    assert view["history"][-1]["event"] == "record_birth"
    assert view["history"][-1]["payload"] == {"birth_date": "2026-06-12"}
    reason = sagsflow.refused(
        case_id, "record_birth", "2026-06-14T09:00:00+02:00", {"birth_date": "2026-06-12"}
    )
    assert "the case expects no birth: the child's birth date is known (2026-06-12)" in reason


def test_a_contact_person_ends_the_day_before_the_23rd_birthday(sagsflow: Sagsflow) -> None:
    # Given a young person born 10 May 2003 (22 on 1 March 2026) granted a contact person
    opened = sagsflow.json(*OPENING, "--birth-date", "2003-05-10")
    case_id = opened["id"]
    _walk_to_grant(sagsflow, case_id, young_person=True)
    measures = {"measures": [{"type": "contact_person_child", "package": "red"}]}
    # Barnets Lov §5 stk. 3: the caseworker talks with the young person before the decision
    sagsflow.fire(
        case_id, "record_child_conversation", "2026-03-01T09:00:00+01:00", CHILD_CONVERSATION
    )
    sagsflow.fire(case_id, "grant", "2026-03-01T10:00:00+01:00", measures)
    sagsflow.fire(case_id, "start_measures", "2026-03-02T10:00:00+01:00")

    # Then its age limit falls at the end of Saturday 9 May 2026, the day before the 23rd
    # birthday, and the explanation says so
    view = sagsflow.show(case_id)
    [limit] = [d for d in view["deadlines"] if d["rule"] == "age_limit"]
    assert (limit["measure_id"], limit["due_at"], limit["status"]) == (
        "m1",
        "2026-05-09T23:59:59+02:00",
        "open",
    )
    assert limit["explanation"].endswith(
        "Counted from the child's date of birth, 10 May 2003: 10 May 2003 + 23 years → "
        "10 May 2026, the birthday on which the child turns 23, past the measure's highest age "
        "of 22; due end of the day before, 9 May 2026 23:59:59 Europe/Copenhagen"
    )

    # When the measure ends the day before, the limit is met
    end = {"measure_id": "m1", "reason": "Den unge fylder 23 år"}
    sagsflow.fire(case_id, "end_measure", "2026-05-09T12:00:00+02:00", end)
    [limit] = [d for d in sagsflow.show(case_id)["deadlines"] if d["rule"] == "age_limit"]
    assert (limit["status"], limit["closed_by"]) == ("met", "end_measure")
