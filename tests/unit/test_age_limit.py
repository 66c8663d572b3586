"""The age limit of a running measure (issue 10): a measure for ages up to N ends at the end of
the day before the birthday on which the child turns N + 1.

Expected instants are worked out by hand: Copenhagen is UTC+01:00 in winter and UTC+02:00 in
summer (29 March – 25 October 2026), so the end of a day is 22:59:59 or 21:59:59 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conversation import CHILD_CONVERSATION
from hypothesis import given
from hypothesis import strategies as st
from wording import english, english_explanation

from sagsflow.present.explanations import explanation_text
from sagsflow.present.i18n import translator
from statemachine.calendar import age_limit_due, birthday
from statemachine.consent import age_on
from statemachine.errors import RefusalCode
from statemachine.migration import apply_migration, plan_migration
from statemachine.phases import DeadlineStatus, Phase, Role
from statemachine.rulebook import AgeRange, Rulebook, RuleId

OPEN, MET, MET_LATE = DeadlineStatus.OPEN, DeadlineStatus.MET, DeadlineStatus.MET_LATE
CANCELLED = DeadlineStatus.CANCELLED
NOW = datetime(2030, 1, 1, tzinfo=UTC)

# Born 10 May 2003: 22 on 1 March 2026, 23 on Sunday 10 May 2026.
BORN_2003 = date(2003, 5, 10)
CONTACT_PERSON = [{"type": "contact_person_child", "package": "red"}]
# Monday 2 February 2026, 10:00 in Copenhagen: default@2024.1 is in force.
AWARE_2026 = datetime(2026, 2, 2, 9, tzinfo=UTC)
GRANTED = datetime(2026, 3, 1, 9, tzinfo=UTC)  # Sunday 1 March 2026, 10:00 CET
STARTED = datetime(2026, 3, 2, 9, tzinfo=UTC)  # Monday 2 March 2026, 10:00 CET


# --- the calculus ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "max_age", "due_at"),
    [
        # 23 on 10 May 2026 → the end of Saturday 9 May 2026, summer time; not moved off the
        # weekend: the child leaves the range on the birthday whatever the calendar.
        (BORN_2003, 22, datetime(2026, 5, 9, 21, 59, 59, tzinfo=UTC)),
        # Born 29 Feb 2004: 18 on 1 March 2022 (no 29 February that year) → 28 Feb 2022, CET.
        (date(2004, 2, 29), 17, datetime(2022, 2, 28, 22, 59, 59, tzinfo=UTC)),
        # … but 20 on 29 February 2024, a leap year → 28 Feb 2024.
        (date(2004, 2, 29), 19, datetime(2024, 2, 28, 22, 59, 59, tzinfo=UTC)),
        # Born 1 January: the day before the birthday is in the year before.
        (date(2008, 1, 1), 17, datetime(2025, 12, 31, 22, 59, 59, tzinfo=UTC)),
    ],
)
def test_age_limit_falls_at_the_end_of_the_day_before_the_birthday_past_the_range(
    born, max_age, due_at
):
    assert age_limit_due(born, max_age).due_at == due_at


def test_the_age_limit_of_the_issues_example_falls_on_a_saturday():
    # Given 9 May 2026 (1 January 2026 is a Thursday; 9 May is day 129, 128 days later: 18
    # weeks and 2 days, so a Saturday) — the limit stays there
    assert date(2026, 5, 9).weekday() == 5
    assert age_limit_due(BORN_2003, 22).arithmetic.due_day == date(2026, 5, 9)  # type: ignore[union-attr]


@given(
    born=st.dates(date(1990, 1, 1), date(2030, 12, 31)),
    age=st.integers(min_value=1, max_value=30),
)
def test_the_birthday_is_the_first_day_of_the_age_as_consent_counts_it(born, age):
    # The age limit and the consent rule count completed years the same way (consent.age_on):
    # on the birthday the child is `age`, the day before still `age - 1`.
    turns = birthday(born, age)
    assert age_on(born, turns) == age
    assert age_on(born, turns - timedelta(days=1)) == age - 1


# --- armed when the measure starts --------------------------------------------------------


def _contact_person(walk, barnets_lov):
    driver = walk(
        barnets_lov,
        Phase.DECISION,
        measures=CONTACT_PERSON,
        birth_date=BORN_2003,
        aware_at=AWARE_2026,
    )
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": CONTACT_PERSON}, at=GRANTED)
    driver.fire("start_measures", at=STARTED)
    return driver


def test_a_contact_person_granted_at_22_ends_the_day_before_the_23rd_birthday(walk, barnets_lov):
    # Given a contact person (seed 000: 14-22 år) granted to a young person of 22 on 1 March 2026
    driver = _contact_person(walk, barnets_lov)
    # Then its age limit falls at the end of Saturday 9 May 2026, the day before the 23rd birthday
    limit = driver.deadline("age_limit:m1")
    assert (limit.rule, limit.measure_key, limit.status) == ("age_limit", "m1", OPEN)
    assert limit.due_at == datetime(2026, 5, 9, 21, 59, 59, tzinfo=UTC)
    assert limit.armed_at == STARTED
    assert (limit.responsible, limit.escalated_to) == ("caseworker", "team_leader")
    # and it cites the catalogue's age range
    assert limit.source == "Vejledende serviceniveau for forebyggende indsatser: 14-22 år"


def test_the_age_limit_explains_birth_date_highest_age_and_birthday(walk, barnets_lov):
    driver = _contact_person(walk, barnets_lov)
    explanation = driver.deadline("age_limit:m1").explanation
    assert english_explanation(explanation) == (
        "Aldersgrænse for indsatsen on m1 (Kontaktperson til barnet eller den unge) "
        "(Vejledende serviceniveau for forebyggende indsatser: 14-22 år). Counted from the "
        "child's date of birth, 10 May 2003: 10 May 2003 + 23 years → 10 May 2026, the birthday "
        "on which the child turns 23, past the measure's highest age of 22; due end of the day "
        "before, 9 May 2026 23:59:59 Europe/Copenhagen"
    )
    assert explanation_text(explanation, translator("da")) == (
        "Aldersgrænse for indsatsen: Kontaktperson til barnet eller den unge (indsats 1) "
        "(Vejledende serviceniveau for forebyggende indsatser: 14-22 år). Regnet fra barnets "
        "fødselsdato, 10. maj 2003: 10. maj 2003 + 23 år → 10. maj 2026, den dag barnet fylder "
        "23 år og er over indsatsens højeste alder på 22 år; fristen udløber ved udgangen af "
        "dagen før, 9. maj 2026 kl. 23.59.59 dansk tid"
    )


def test_a_measure_without_an_upper_age_bound_arms_no_age_limit(walk, barnets_lov):
    # Practical support has no age range (the catalogue's "no limit", 99)
    driver = walk(barnets_lov, Phase.FOLLOW_UP, birth_date=BORN_2003)
    assert [d for d in driver.case.deadlines if d.rule == "age_limit"] == []


def test_the_age_limit_is_armed_once_per_measure(walk, barnets_lov):
    driver = walk(
        barnets_lov,
        Phase.FOLLOW_UP,
        measures=[*CONTACT_PERSON, {"type": "practical_support", "package": "red"}],
        birth_date=date(2010, 8, 20),
    )
    # Born 20 Aug 2010: 23 on 20 Aug 2033 → 19 Aug 2033, summer time; only the contact person
    limits = [d for d in driver.case.deadlines if d.rule == "age_limit"]
    assert [(d.key, d.due_at) for d in limits] == [
        ("age_limit:m1", datetime(2033, 8, 19, 21, 59, 59, tzinfo=UTC))
    ]


# --- met by ending the measure -------------------------------------------------------------


@pytest.mark.parametrize(
    ("ended_at", "status"),
    [
        (datetime(2026, 5, 9, 21, 59, 59, tzinfo=UTC), MET),  # the last second of 9 May
        (datetime(2026, 5, 9, 22, 0, tzinfo=UTC), MET_LATE),  # 10 May 00:00: 23 years old
    ],
)
def test_ending_the_measure_meets_its_age_limit(walk, barnets_lov, ended_at, status):
    driver = _contact_person(walk, barnets_lov)
    driver.fire("end_measure", {"measure_id": "m1", "reason": "Den unge fylder 23 år"}, at=ended_at)
    assert driver.deadline("age_limit:m1").status is status
    assert driver.deadline("age_limit:m1").closed_by == "end_measure"


def test_a_follow_up_does_not_meet_the_age_limit(walk, barnets_lov, held):
    driver = _contact_person(walk, barnets_lov)
    driver.fire("record_follow_up", held("m1"), at=datetime(2026, 3, 20, 9, tzinfo=UTC))
    assert driver.deadline("age_limit:m1").status is OPEN


def test_closing_the_case_ends_the_measure_and_so_meets_its_age_limit(walk, barnets_lov):
    driver = _contact_person(walk, barnets_lov)
    driver.fire("close", {"reason": "Den unge er flyttet"}, at=datetime(2026, 4, 1, 9, tzinfo=UTC))
    assert driver.deadline("age_limit:m1").status is MET


# --- "under 18 år" ---------------------------------------------------------------------------


def test_individual_treatment_is_for_children_under_18(walk, sel):
    # Seed 000: individual treatment "4-18 år", for "børn og unge under 18 år": the highest age
    # is 17. A young person born 10 May 2003 is 18 on 1 November 2021 and is refused.
    driver = walk(
        sel,
        Phase.DECISION,
        measures=[],
        birth_date=BORN_2003,
        aware_at=datetime(2021, 10, 1, 8, tzinfo=UTC),
    )
    refusal = driver.refused(
        "grant", {"measures": [{"type": "individual_treatment", "package": "red"}]}
    )
    assert refusal.code is RefusalCode.AGE_OUT_OF_RANGE
    assert english(refusal).startswith("individual_treatment is for ages 4–17; the child is 18")


def test_individual_treatment_for_a_child_born_29_february_ends_28_february(walk, sel):
    # Given a child born 29 Feb 2004, 17 in autumn 2021 (SEL rulebook), granted individual
    # treatment: it turns 18 on 1 March 2022, a year without 29 February
    driver = walk(
        sel,
        Phase.FOLLOW_UP,
        measures=[{"type": "individual_treatment", "package": "red"}],
        birth_date=date(2004, 2, 29),
        aware_at=datetime(2021, 10, 1, 8, tzinfo=UTC),
    )
    # Then the treatment ends at the end of 28 February 2022, winter time
    limit = driver.deadline("age_limit:m1")
    assert limit.due_at == datetime(2022, 2, 28, 22, 59, 59, tzinfo=UTC)
    text = english_explanation(limit.explanation)
    assert "29 Feb 2004 + 18 years → 1 Mar 2022 (born 29 February:" in text
    assert "past the measure's highest age of 17; due end of the day before, 28 Feb 2022" in text


# --- a rulebook migration re-arms it ---------------------------------------------------------


def _with_ages(rulebook: Rulebook, measure: str, ages: AgeRange) -> Rulebook:
    changed = rulebook.measures[measure].model_copy(update={"ages": ages})
    return rulebook.model_copy(
        update={"version": "2024.9", "measures": {**rulebook.measures, measure: changed}}
    )


def test_migration_keeps_the_age_limit_where_the_new_version_has_the_same_range(
    walk, sel, barnets_lov
):
    driver = walk(
        sel,
        Phase.FOLLOW_UP,
        measures=[{"type": "individual_treatment", "package": "red"}],
        birth_date=date(2004, 2, 29),
        aware_at=datetime(2021, 10, 1, 8, tzinfo=UTC),
    )
    plan = plan_migration(driver.case, sel, barnets_lov)
    [move] = [m for m in plan.moves if m.rule == "age_limit"]
    assert (move.key, move.days) == ("age_limit:m1", 0)


def test_migration_moves_the_age_limit_to_the_new_versions_range(walk, barnets_lov):
    # Given the contact person running (14-22: due 9 May 2026)
    driver = _contact_person(walk, barnets_lov)
    # When the case moves to a version whose range ends at 24
    wider = _with_ages(barnets_lov, "contact_person_child", AgeRange(min=14, max=24, source="24"))
    plan = plan_migration(driver.case, barnets_lov, wider)
    [move] = [m for m in plan.moves if m.rule == "age_limit"]
    # Then the limit moves two years on: the end of 9 May 2028 (731 days: 2028 is a leap year)
    assert move.new_due_at == datetime(2028, 5, 9, 21, 59, 59, tzinfo=UTC)
    assert move.days == 731
    apply_migration(driver.case, plan, wider, at=NOW, now=NOW)
    limit = driver.deadline("age_limit:m1")
    assert (limit.due_at, limit.source, limit.status) == (move.new_due_at, "24", OPEN)


def test_migration_to_a_version_without_an_upper_bound_cancels_the_age_limit(walk, barnets_lov):
    driver = _contact_person(walk, barnets_lov)
    unbounded = _with_ages(barnets_lov, "contact_person_child", AgeRange(min=14))
    plan = plan_migration(driver.case, barnets_lov, unbounded)
    [move] = [m for m in plan.moves if m.rule == "age_limit"]
    assert move.new_due_at is None
    apply_migration(driver.case, plan, unbounded, at=NOW, now=NOW)
    assert driver.deadline("age_limit:m1").status is CANCELLED


# --- the rulebooks --------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["sel", "barnets_lov", "national"])
def test_every_shipped_rulebook_has_the_age_limit_rule(request, fixture):
    rulebook: Rulebook = request.getfixturevalue(fixture)
    rule = rulebook.measure_deadlines[RuleId.AGE_LIMIT]
    assert rule.met_by == ["end_measure"]
    assert not rule.statutory  # the range is the catalogue's service level
    # reminded 3 months before to the caseworker, the breach to the team leader
    first, breach = rule.ladder[0], rule.ladder[1]
    assert (first.level, first.to, first.before and first.before.describe()) == (
        "reminder",
        Role.CASEWORKER,
        "3 calendar months",
    )
    assert (breach.level, breach.to) == ("breach", Role.TEAM_LEADER)
