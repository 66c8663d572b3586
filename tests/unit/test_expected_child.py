"""A case for a child not yet born (issue 10): support to expectant parents (seed 000 "§ 52.4
(gravid)"), opened with the expected birth date, until `record_birth` records the birth.

Dates: awareness Sunday 1 February 2026, 10:00 CET; expected birth 15 June 2026; born 12 June.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from wording import danish, english, english_explanation

from statemachine.errors import EventRefused, RefusalCode
from statemachine.phases import DeadlineStatus, Phase, Role, Source
from statemachine.process import allowed_events, event_options, open_case
from statemachine.rulebook import AgeRange, Rulebook
from statemachine.stuck import ClockFacts, consent_wait_from

NOW = datetime(2030, 1, 1, tzinfo=UTC)
AWARE = datetime(2026, 2, 1, 9, tzinfo=UTC)
EXPECTED = date(2026, 6, 15)
BORN = date(2026, 6, 12)
SUPPORT = [{"type": "support_expectant_parents"}]


def _expected(new_case, rulebook, expected=EXPECTED, aware_at=AWARE):
    return new_case(
        rulebook,
        aware_at=aware_at,
        birth_date=expected,
        birth_expected=True,
        source=Source.APPLICATION,
        notifier=None,
    )


def _refused_opening(rulebook, expected, aware_at=AWARE) -> EventRefused:
    with pytest.raises(EventRefused) as refused:
        open_case(
            municipality="demo",
            rulebook=rulebook,
            child_ref="C-1",
            birth_date=expected,
            aware_at=aware_at,
            source=Source.APPLICATION,
            notifier=None,
            now=NOW,
            birth_expected=True,
        )
    return refused.value


def _to_decision(driver):
    """The expectant parents' case the ordinary way: accept, consent, investigation of the
    expectant parents, conclusion, the plan to follow the decision (Barnets Lov §91)."""
    for event, data in (
        ("accept", None),
        ("record_consent", {"by": "custody_holder"}),
        ("open_investigation", None),
        ("conclude", {"measures_needed": True}),
        ("defer_plan", None),
    ):
        driver.fire(event, data)
    assert driver.case.phase is Phase.DECISION
    return driver


# --- opening ------------------------------------------------------------------------------


def test_a_child_expected_after_the_awareness_date_can_be_opened(new_case, barnets_lov):
    driver = _expected(new_case, barnets_lov)
    assert (driver.case.birth_expected, driver.case.birth_date) == (True, EXPECTED)
    assert driver.case.phase is Phase.INQUIRY


@pytest.mark.parametrize(
    "expected",
    [
        date(2026, 2, 1),  # on the awareness date itself
        date(2026, 12, 1),  # exactly 10 months after it
    ],
)
def test_the_expected_date_may_lie_from_awareness_to_10_months_after(
    new_case, barnets_lov, expected
):
    assert _expected(new_case, barnets_lov, expected).case.birth_date == expected


def test_an_expected_birth_before_awareness_is_refused(barnets_lov):
    refused = _refused_opening(barnets_lov, date(2026, 1, 31))
    assert refused.code is RefusalCode.EXPECTED_BIRTH_BEFORE_AWARENESS
    assert english(refused) == (
        "the expected birth date 2026-01-31 is before the awareness date 2026-02-01"
    )


def test_an_expected_birth_more_than_10_months_off_is_refused(barnets_lov):
    refused = _refused_opening(barnets_lov, date(2026, 12, 2))
    assert refused.code is RefusalCode.EXPECTED_BIRTH_TOO_FAR
    assert dict(refused.params)["latest"] == "2026-12-01"
    assert danish(refused).startswith(
        "den forventede fødselsdato 2. dec. 2026 ligger mere end 10 måneder efter kendskabet, "
        "altså efter 1. dec. 2026 (Kommunens kontrol af terminsdatoen"
    )


def test_a_rulebook_without_a_rule_for_expected_births_takes_no_such_case(barnets_lov):
    without = barnets_lov.model_copy(update={"expected_birth": None})
    refused = _refused_opening(without, EXPECTED)
    assert refused.code is RefusalCode.EXPECTED_BIRTH_UNSUPPORTED


# --- while the child is expected --------------------------------------------------------------


def test_the_child_not_yet_born_is_never_asked_for_consent(new_case, barnets_lov):
    # Even under a rulebook that asks children of every age (child_from_age 0): the
    # investigation of the expectant parents lacks only the custody holder's consent
    asks_all = barnets_lov.model_copy(
        update={"consent": barnets_lov.consent.model_copy(update={"child_from_age": 0})}
    )
    driver = _expected(new_case, asks_all)
    driver.fire("accept")
    opened = driver.fire("open_investigation")
    assert opened.to_phase is Phase.INVESTIGATION
    assert opened.payload["without_consent_of"] == ["custody_holder"]


def test_the_stuck_clock_never_waits_for_the_consent_of_a_child_not_yet_born(barnets_lov):
    entered = datetime(2026, 2, 2, 9, tzinfo=UTC)
    facts = ClockFacts(Phase.CLARIFICATION, entered, entered, EXPECTED, {"custody_holder"}, False)
    # Born 15 June 2026 the child would be asked from the 15th birthday, 15 June 2041
    assert consent_wait_from(barnets_lov, facts) is not None
    expected = ClockFacts(
        Phase.CLARIFICATION,
        entered,
        entered,
        EXPECTED,
        {"custody_holder"},
        False,
        birth_expected=True,
    )
    assert consent_wait_from(barnets_lov, expected) is None


def test_only_measures_for_expectant_parents_may_be_granted_before_the_birth(new_case, barnets_lov):
    driver = _to_decision(_expected(new_case, barnets_lov))
    refused = driver.refused("grant", {"measures": [*SUPPORT, {"type": "day_care_support"}]})
    assert refused.code is RefusalCode.NOT_FOR_EXPECTED_CHILD
    assert english(refused) == (
        "day_care_support cannot be granted before the child is born (expected birth "
        "2026-06-15): before the birth only measures for expectant parents"
    )
    outcome = driver.fire("grant", {"measures": SUPPORT})
    assert outcome.to_phase is Phase.IMPLEMENTATION
    assert "Barnets Lov §32 stk. 1 til kommende forældre" in outcome.legal_basis


def test_a_seed_measure_offered_to_expectant_parents_may_be_granted_before_the_birth(
    new_case, barnets_lov
):
    # Seed 000: practical support "§ 52.3.2 § 52.4 (gravid)"; its age check reads age 0
    driver = _to_decision(_expected(new_case, barnets_lov))
    driver.fire("grant", {"measures": [{"type": "practical_support", "package": "yellow"}]})
    assert driver.case.measures[0].type == "practical_support"


def test_a_preventive_proposal_for_an_expected_child_is_refused_unless_for_the_parents(
    new_case, barnets_lov
):
    driver = _expected(new_case, barnets_lov)
    driver.fire("accept")
    refused = driver.refused("propose_preventive", {"measures": [{"type": "preventive_talks"}]})
    assert refused.code is RefusalCode.NOT_FOR_EXPECTED_CHILD


def test_record_birth_is_an_event_of_every_open_phase_only_while_the_child_is_expected(
    new_case, walk, barnets_lov
):
    driver = _expected(new_case, barnets_lov)
    assert "record_birth" in allowed_events(barnets_lov, driver.case.phase, driver.case)
    born_child = walk(barnets_lov, Phase.FOLLOW_UP)
    assert "record_birth" not in allowed_events(barnets_lov, Phase.FOLLOW_UP, born_child.case)
    # and the dashboard offers it as a form to the caseworker of the expected child
    options = {o.event: o for o in event_options(driver.case, barnets_lov, Role.CASEWORKER, at=NOW)}
    assert (options["record_birth"].possible, options["record_birth"].needs_data) == (True, True)


# --- the birth ---------------------------------------------------------------------------------


def test_the_birth_replaces_the_expected_date(new_case, barnets_lov):
    # Given support to the expectant parents running since 20 February
    driver = _to_decision(_expected(new_case, barnets_lov))
    driver.fire("grant", {"measures": SUPPORT})
    driver.fire("start_measures", at=datetime(2026, 2, 20, 9, tzinfo=UTC))
    # When the child is born on 12 June, recorded the day after
    outcome = driver.fire(
        "record_birth", {"birth_date": "2026-06-12"}, at=datetime(2026, 6, 13, 9, tzinfo=UTC)
    )
    # Then the case knows the birth date, keeps its phase, and expects no birth any more
    assert (driver.case.birth_date, driver.case.birth_expected) == (BORN, False)
    assert (outcome.from_phase, outcome.to_phase) == (Phase.FOLLOW_UP, Phase.FOLLOW_UP)
    assert outcome.payload == {"birth_date": "2026-06-12"}
    assert "kommende forældre" in outcome.legal_basis
    assert "record_birth" not in allowed_events(barnets_lov, driver.case.phase, driver.case)


def test_a_second_birth_is_refused(new_case, barnets_lov):
    driver = _expected(new_case, barnets_lov)
    driver.fire(
        "record_birth", {"birth_date": "2026-02-10"}, at=datetime(2026, 2, 10, 9, tzinfo=UTC)
    )
    refused = driver.refused("record_birth", {"birth_date": "2026-02-11"})
    assert refused.code is RefusalCode.NO_EXPECTED_BIRTH
    assert (
        english(refused)
        == "the case expects no birth: the child's birth date is known (2026-02-10)"
    )


def test_a_case_opened_with_its_birth_date_expects_no_birth(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    refused = driver.refused("record_birth", {"birth_date": "2026-01-01"})
    assert refused.code is RefusalCode.NO_EXPECTED_BIRTH
    assert "record_birth" not in refused.allowed


def test_a_birth_in_the_future_is_refused(new_case, barnets_lov):
    driver = _expected(new_case, barnets_lov)
    at = datetime(2026, 6, 11, 9, tzinfo=UTC)
    refused = driver.refused("record_birth", {"birth_date": "2026-06-12"}, at=at)
    assert refused.code is RefusalCode.BIRTH_IN_FUTURE
    assert english(refused) == "the birth date 2026-06-12 is after the event's date 2026-06-11"


def test_a_birth_before_the_municipality_knew_of_the_expected_child_is_refused(
    new_case, barnets_lov
):
    driver = _expected(new_case, barnets_lov)
    refused = driver.refused("record_birth", {"birth_date": "2026-01-20"})
    assert refused.code is RefusalCode.BIRTH_BEFORE_AWARENESS


def test_a_birth_date_that_is_no_date_is_invalid_data(new_case, barnets_lov):
    driver = _expected(new_case, barnets_lov)
    refused = driver.refused("record_birth", {"birth_date": "12. juni"})
    assert refused.code is RefusalCode.INVALID_DATA


def test_after_the_birth_the_child_is_asked_at_the_rulebooks_age(new_case, barnets_lov):
    # A newborn is 0: no consent of its own under the default rule (15), as before the birth
    driver = _expected(new_case, barnets_lov)
    driver.fire(
        "record_birth", {"birth_date": "2026-02-10"}, at=datetime(2026, 2, 10, 9, tzinfo=UTC)
    )
    driver.fire("accept")
    driver.fire("record_consent", {"by": "custody_holder"})
    assert driver.fire("open_investigation").to_phase is Phase.INVESTIGATION


# --- an age limit counted from the expected date ----------------------------------------------


def _bounded(rulebook: Rulebook) -> Rulebook:
    """The default catalogue with the support to expectant parents ending at the first birthday
    (ages 0–0): a measure for expectant parents with an upper bound."""
    measure = rulebook.measures["support_expectant_parents"]
    changed = measure.model_copy(update={"ages": AgeRange(min=0, max=0, source="0 år")})
    return rulebook.model_copy(
        update={"measures": {**rulebook.measures, "support_expectant_parents": changed}}
    )


def test_the_birth_counts_an_age_limit_again_from_the_real_date(new_case, barnets_lov):
    rulebook = _bounded(barnets_lov)
    driver = _to_decision(_expected(new_case, rulebook))
    driver.fire("grant", {"measures": SUPPORT})
    driver.fire("start_measures", at=datetime(2026, 2, 20, 9, tzinfo=UTC))
    # Counted from the expected date: 1 on 15 June 2027 → the end of 14 June 2027, summer time
    limit = driver.deadline("age_limit:m1")
    assert limit.due_at == datetime(2027, 6, 14, 21, 59, 59, tzinfo=UTC)
    assert "Counted from the child's expected date of birth, 15 Jun 2026" in english_explanation(
        limit.explanation
    )
    # When the child is born three days early
    outcome = driver.fire(
        "record_birth", {"birth_date": "2026-06-12"}, at=datetime(2026, 6, 13, 9, tzinfo=UTC)
    )
    # Then the limit moves three days earlier: the end of 11 June 2027
    assert limit.due_at == datetime(2027, 6, 11, 21, 59, 59, tzinfo=UTC)
    assert limit.status is DeadlineStatus.OPEN
    assert "Counted from the child's date of birth, 12 Jun 2026" in english_explanation(
        limit.explanation
    )
    assert [d.key for d in outcome.touched_deadlines] == ["age_limit:m1"]
