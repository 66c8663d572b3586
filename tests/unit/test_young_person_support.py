"""Barnets Lov §111 stk. 1: the decision on the young person's support after 18 (§§ 114–116,
120) is due at the latest 6 months before a placement ends at the 18th birthday. Dates worked
out by hand (Copenhagen is UTC+01:00 until 29 March 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from statemachine.errors import RefusalCode
from statemachine.phases import DeadlineStatus, Phase, Role

FOSTER = [{"type": "foster_family_placement"}]


def _placed(walk, rulebook, born: date):
    # Placed (granted by the team leader, its competence) and started the ordinary way; the
    # case became known Friday 31 Oct 2025.
    return walk(rulebook, Phase.FOLLOW_UP, measures=FOSTER, grant_role=Role.TEAM_LEADER,
                birth_date=born)  # fmt: skip


def test_the_decision_is_due_6_months_before_the_18th_birthday(walk, barnets_lov):
    # A young person born 10 Sep 2008 turns 18 on 10 Sep 2026: due Tuesday 10 Mar 2026, end of
    # the day in Copenhagen (CET)
    driver = _placed(walk, barnets_lov, date(2008, 9, 10))
    duty = driver.deadline("young_person_support_decision:m1")
    assert duty.due_at == datetime(2026, 3, 10, 22, 59, 59, tzinfo=UTC)
    assert duty.source.startswith("Barnets Lov §111 stk. 1")
    assert duty.explanation.arithmetic.before_months == 6


def test_six_months_before_31_august_is_the_end_of_february(walk, barnets_lov):
    # 18 on 31 Aug 2026; 6 calendar months earlier clamps at February's end: 28 Feb 2026
    driver = _placed(walk, barnets_lov, date(2008, 8, 31))
    duty = driver.deadline("young_person_support_decision:m1")
    assert duty.due_at == datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)


def test_the_decision_names_the_measures_and_meets_the_duty(walk, barnets_lov):
    driver = _placed(walk, barnets_lov, date(2008, 9, 10))
    # a grant without measures is refused as invalid data
    empty = driver.refused("decide_young_person_support", {"outcome": "granted"})
    assert empty.refusals[0].code is RefusalCode.INVALID_DATA
    # a measure the catalogue does not know is refused by name
    unknown = driver.refused(
        "decide_young_person_support", {"outcome": "granted", "measures": ["yoga"]}
    )
    assert unknown.refusals[0].code is RefusalCode.UNKNOWN_MEASURES
    # decided on 2 Feb 2026 with a contact person: met in time
    driver.fire(
        "decide_young_person_support",
        {"outcome": "granted", "measures": ["contact_person_child"]},
        at=datetime(2026, 2, 2, 9, tzinfo=UTC),
    )
    assert driver.deadline("young_person_support_decision:m1").status is DeadlineStatus.MET
    # and with nothing left to decide the event is no longer offered
    again = driver.refused("decide_young_person_support", {"outcome": "refused"})
    assert again.refusals[0].code is RefusalCode.NOTHING_TO_FULFIL


def test_no_duty_for_a_supportive_measure_or_a_young_person_already_18(walk, barnets_lov):
    supported = walk(barnets_lov, Phase.FOLLOW_UP, birth_date=date(2008, 9, 10))
    assert not [d for d in supported.case.deadlines if d.rule == "young_person_support_decision"]
    adult = _placed(walk, barnets_lov, date(2007, 5, 1))  # 18 before the placement starts
    assert not [d for d in adult.case.deadlines if d.rule == "young_person_support_decision"]


def test_the_old_law_has_no_such_duty(walk, sel):
    driver = walk(sel, Phase.FOLLOW_UP, measures=FOSTER, grant_role=Role.TEAM_LEADER,
                  birth_date=date(2006, 3, 1))  # fmt: skip
    assert not [d for d in driver.case.deadlines if d.rule == "young_person_support_decision"]
