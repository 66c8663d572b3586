"""Barnets Lov §95 stk. 3: at the first follow-up the municipality decides, with reasons, how
this case's follow-up continues — its own interval, or the service level's cadence. Dates by
hand (Copenhagen: CET until 29 March 2026, CEST after)."""

from __future__ import annotations

from datetime import UTC, datetime

from wording import english

from statemachine.errors import RefusalCode
from statemachine.phases import Phase

REASON = "Familien har brug for tæt opfølgning"


def test_the_first_follow_up_must_decide_how_follow_up_continues(walk, barnets_lov, held):
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    data = held("m1")
    del data["next_follow_up"]
    refusal = driver.refused("record_follow_up", data)
    assert refusal.refusals[0].code is RefusalCode.NEXT_FOLLOW_UP_MISSING
    assert "Barnets Lov §95 stk. 3" in english(refusal)


def test_the_old_law_asks_for_no_plan(walk, sel, held):
    driver = walk(sel, Phase.FOLLOW_UP)
    data = held("m1")
    del data["next_follow_up"]
    assert driver.fire("record_follow_up", data).to_phase is Phase.FOLLOW_UP


def test_the_cases_own_interval_counts_from_the_follow_up_held(walk, barnets_lov, held):
    # Practical support (the package's cadence: every 3 months after the first) started
    # Friday 31 Oct 2025; at the first follow-up, Monday 24 Nov 2025, the case's own plan is
    # every 6 weeks
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    plan = {"every": {"amount": 6, "unit": "weeks"}, "reason": REASON}
    driver.fire(
        "record_follow_up",
        held("m1", next_follow_up=plan),
        at=datetime(2025, 11, 24, 9, tzinfo=UTC),
    )
    # then the next is due 6 weeks later: Monday 5 Jan 2026, end of day CET, citing §95 stk. 3
    second = driver.deadline("follow_up:m1:2")
    assert second.due_at == datetime(2026, 1, 5, 22, 59, 59, tzinfo=UTC)
    assert second.source.startswith("Barnets Lov §95 stk. 3")
    # a later follow-up that says nothing keeps the plan: 2 Jan 2026 + 6 weeks = 13 Feb 2026
    later = held("m1")
    del later["next_follow_up"]
    driver.fire("record_follow_up", later, at=datetime(2026, 1, 2, 9, tzinfo=UTC))
    assert driver.deadline("follow_up:m1:3").due_at == datetime(2026, 2, 13, 22, 59, 59, tzinfo=UTC)
    # and one that returns to the service level counts its 3 months: 10 Feb → 10 May 2026, CEST
    back = {"as_service_level": True, "reason": "Familien er stabil"}
    driver.fire(
        "record_follow_up", held("m1", next_follow_up=back), at=datetime(2026, 2, 10, 9, tzinfo=UTC)
    )
    assert driver.deadline("follow_up:m1:4").due_at == datetime(2026, 5, 10, 21, 59, 59, tzinfo=UTC)


def test_the_plan_needs_one_choice_and_a_reason(walk, barnets_lov, held):
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    both = {"every": {"amount": 2, "unit": "months"}, "as_service_level": True, "reason": REASON}
    for plan in (both, {"every": {"amount": 2, "unit": "months"}}, {"reason": REASON}):
        refusal = driver.refused("record_follow_up", held("m1", next_follow_up=plan))
        assert refusal.refusals[0].code is RefusalCode.INVALID_DATA


def test_a_rulebook_may_bound_the_interval(walk, barnets_lov, held):
    # a municipality that follows up at least every 6 months
    data = barnets_lov.model_dump(mode="json")
    data["measure_deadlines"]["follow_up"]["next_follow_up"]["longest"] = {
        "amount": 6,
        "unit": "months",
    }
    rulebook = type(barnets_lov).model_validate(data)
    driver = walk(rulebook, Phase.FOLLOW_UP)
    plan = {"every": {"amount": 9, "unit": "months"}, "reason": REASON}
    refusal = driver.refused("record_follow_up", held("m1", next_follow_up=plan))
    assert refusal.refusals[0].code is RefusalCode.NEXT_FOLLOW_UP_OUT_OF_BOUNDS
