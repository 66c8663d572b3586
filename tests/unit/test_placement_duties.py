"""A placed child's supervision visits (Barnets Lov §156 stk. 5) and the committee's renewal of a
placement without consent (Barnets Lov §50, §142 stk. 1; SEL §62 stk. 1–2) (issue 11).

Expected instants are worked out by hand: Copenhagen is UTC+01:00 in winter and UTC+02:00 in
summer (29 March – 25 October 2026), so the end of a day is 22:59:59 or 21:59:59 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from conversation import CHILD_CONVERSATION

from statemachine.calendar import Unit
from statemachine.errors import RefusalCode
from statemachine.migration import apply_migration, plan_migration
from statemachine.phases import DeadlineStatus, Phase, Role
from statemachine.process import allowed_events
from statemachine.rulebook import Rulebook, RuleId, Span

OPEN, MET, MET_LATE = DeadlineStatus.OPEN, DeadlineStatus.MET, DeadlineStatus.MET_LATE
CANCELLED = DeadlineStatus.CANCELLED
FOSTER = [{"type": "foster_family_placement"}]
FOSTER_WITHOUT_CONSENT = [{"type": "foster_family_placement", "without_consent": True}]
AWARE_2026 = datetime(2026, 2, 2, 9, tzinfo=UTC)  # Monday 2 February 2026, 10:00 CET
STARTED = datetime(2026, 3, 1, 9, tzinfo=UTC)  # Sunday 1 March 2026, 10:00 CET
VISITED = datetime(2026, 7, 20, 8, tzinfo=UTC)  # Monday 20 July 2026, 10:00 CEST
GRANTED = datetime(2026, 3, 2, 9, tzinfo=UTC)  # Monday 2 March 2026, 10:00 CET
RENEWED = datetime(2027, 2, 15, 9, tzinfo=UTC)  # Monday 15 February 2027, 10:00 CET
VISIT = {"measure_id": "m1", "child_conversation": True, "without_staff": True}


def _placed(walk, rulebook: Rulebook):
    driver = walk(
        rulebook, Phase.DECISION, measures=FOSTER, aware_at=AWARE_2026, grant_role=Role.TEAM_LEADER
    )
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": FOSTER}, role=Role.TEAM_LEADER)
    driver.fire("start_measures", at=STARTED)
    return driver


def _placed_without_consent(walk, rulebook: Rulebook):
    driver = walk(rulebook, Phase.DECISION, aware_at=AWARE_2026, consents=())
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": FOSTER_WITHOUT_CONSENT}, at=GRANTED, role=Role.COMMITTEE)
    return driver


# --- A. supervision visits -------------------------------------------------------------------


def test_a_foster_placement_started_1_march_is_visited_by_1_september(walk, barnets_lov):
    # Given a foster placement started Sunday 1 March 2026
    driver = _placed(walk, barnets_lov)
    # Then its first supervision visit is due at the end of Tuesday 1 September 2026 (CEST)
    visit = driver.deadline("supervision_visit:m1")
    assert (visit.rule, visit.measure_key, visit.status) == ("supervision_visit", "m1", OPEN)
    assert visit.due_at == datetime(2026, 9, 1, 21, 59, 59, tzinfo=UTC)
    assert visit.anchor_at == STARTED
    assert visit.source.startswith("Barnets Lov §156 stk. 5")


def test_the_next_visit_counts_from_the_visit_held(walk, barnets_lov):
    # Given the placement visited on Monday 20 July 2026
    driver = _placed(walk, barnets_lov)
    outcome = driver.fire("record_supervision_visit", VISIT, at=VISITED)
    # Then the first visit is met and the next falls at the end of 20 January 2027 (CET)
    assert driver.deadline("supervision_visit:m1").status is MET
    following = driver.deadline("supervision_visit:m1#2")
    assert following.due_at == datetime(2027, 1, 20, 22, 59, 59, tzinfo=UTC)
    assert following.anchor_at == VISITED
    assert outcome.legal_basis.startswith("Barnets Lov §156 stk. 5")


def test_a_visit_without_a_conversation_with_the_child_is_refused_naming_the_rule(
    walk, barnets_lov
):
    driver = _placed(walk, barnets_lov)
    refused = driver.refused(
        "record_supervision_visit", VISIT | {"child_conversation": False}, at=VISITED
    )
    [refusal] = refused.refusals
    assert refusal.code is RefusalCode.NO_CHILD_CONVERSATION
    assert refusal.params["rule"] == "supervision_visit"
    assert "§156 stk. 5" in refusal.params["source"]


def test_a_visit_with_staff_present_counts_and_is_recorded(walk, barnets_lov):
    # §156 stk. 5: without the placement's staff only "so far as possible"
    driver = _placed(walk, barnets_lov)
    outcome = driver.fire("record_supervision_visit", VISIT | {"without_staff": False}, at=VISITED)
    assert driver.deadline("supervision_visit:m1").status is MET
    assert outcome.payload["without_staff"] is False


def test_a_supportive_measure_arms_no_supervision_visit_and_is_not_offered_one(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.FOLLOW_UP, aware_at=AWARE_2026)
    assert [d for d in driver.case.deadlines if d.rule == "supervision_visit"] == []
    assert "record_supervision_visit" not in allowed_events(
        barnets_lov, driver.case.phase, driver.case
    )
    refused = driver.refused("record_supervision_visit", VISIT)
    assert refused.refusals[0].code is RefusalCode.NOTHING_TO_FULFIL


def test_a_running_placement_is_offered_a_visit(walk, barnets_lov):
    driver = _placed(walk, barnets_lov)
    assert "record_supervision_visit" in allowed_events(barnets_lov, driver.case.phase, driver.case)


def test_ending_the_placement_cancels_its_supervision_visit(walk, barnets_lov):
    driver = _placed(walk, barnets_lov)
    # ending a placement is a decision the child is heard on (Barnets Lov §5 stk. 3)
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=VISITED)
    driver.fire("end_measure", {"measure_id": "m1", "reason": "hjemgivet"}, at=VISITED)
    assert driver.deadline("supervision_visit:m1").status is CANCELLED


def test_a_visit_late_is_met_late(walk, barnets_lov):
    driver = _placed(walk, barnets_lov)
    driver.fire("record_supervision_visit", VISIT, at=datetime(2026, 9, 2, 8, tzinfo=UTC))
    assert driver.deadline("supervision_visit:m1").status is MET_LATE


def test_migration_keeps_the_supervision_visit_counted_from_the_visit_held(walk, barnets_lov, sel):
    # Given a visit held 20 July 2026, moved to a version with the same 6-month period
    driver = _placed(walk, barnets_lov)
    driver.fire("record_supervision_visit", VISIT, at=VISITED)
    plan = plan_migration(driver.case, barnets_lov, sel)
    # Then the next visit stays counted from the visit held: due 20 January 2027
    [move] = [m for m in plan.moves if m.rule == "supervision_visit"]
    assert (move.key, move.days) == ("supervision_visit:m1#2", 0)
    apply_migration(driver.case, plan, sel, VISITED, datetime(2030, 1, 1, tzinfo=UTC))
    assert driver.deadline("supervision_visit:m1#2").due_at == datetime(
        2027, 1, 20, 22, 59, 59, tzinfo=UTC
    )


# --- B. the committee's renewal ----------------------------------------------------------------


def test_a_placement_without_consent_comes_back_to_the_committee_within_a_year(walk, barnets_lov):
    # Given a placement without consent granted Monday 2 March 2026, 10:00
    driver = _placed_without_consent(walk, barnets_lov)
    # Then the committee must decide again by the end of Tuesday 2 March 2027 (CET)
    renewal = driver.deadline("committee_renewal:m1")
    assert (renewal.rule, renewal.measure_key, renewal.status) == ("committee_renewal", "m1", OPEN)
    assert renewal.due_at == datetime(2027, 3, 2, 22, 59, 59, tzinfo=UTC)
    assert renewal.anchor_at == GRANTED


def test_a_renewal_arms_the_later_period_from_the_renewal(walk, barnets_lov):
    driver = _placed_without_consent(walk, barnets_lov)
    driver.fire("start_measures", at=STARTED.replace(month=3, day=3))
    # The committee hears the child again before it decides (Barnets Lov §142 stk. 2)
    refused = driver.refused(
        "renew_placement_without_consent", {"measure_id": "m1"}, at=RENEWED, role=Role.COMMITTEE
    )
    assert refused.refusals[0].code is RefusalCode.CHILD_CONVERSATION_MISSING
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=RENEWED)
    driver.fire(
        "renew_placement_without_consent", {"measure_id": "m1"}, at=RENEWED, role=Role.COMMITTEE
    )
    assert driver.deadline("committee_renewal:m1").status is MET
    # 2 years from Monday 15 February 2027: the end of Thursday 15 February 2029 (CET)
    following = driver.deadline("committee_renewal:m1#2")
    assert following.due_at == datetime(2029, 2, 15, 22, 59, 59, tzinfo=UTC)
    assert following.anchor_at == RENEWED


def test_only_the_committee_renews_a_placement_without_consent(walk, barnets_lov):
    driver = _placed_without_consent(walk, barnets_lov)
    refused = driver.refused(
        "renew_placement_without_consent", {"measure_id": "m1"}, role=Role.TEAM_LEADER
    )
    [refusal] = refused.refusals
    assert refusal.code is RefusalCode.NO_COMPETENCE
    assert refusal.params["act"] == "renew_placement_without_consent"
    assert refusal.params["needed"] == "committee"


def test_a_placement_with_consent_has_no_renewal_to_offer(walk, barnets_lov):
    driver = _placed(walk, barnets_lov)
    assert [d for d in driver.case.deadlines if d.rule == "committee_renewal"] == []
    assert "renew_placement_without_consent" not in allowed_events(
        barnets_lov, driver.case.phase, driver.case
    )


def test_ending_the_placement_cancels_the_renewal(walk, barnets_lov):
    driver = _placed_without_consent(walk, barnets_lov)
    driver.fire("start_measures")
    driver.fire("end_measure", {"measure_id": "m1", "reason": "hjemgivet"})
    assert driver.deadline("committee_renewal:m1").status is CANCELLED


@pytest.mark.parametrize("fixture", ["sel", "barnets_lov", "national"])
def test_every_shipped_rulebook_has_both_placement_duties(request, fixture):
    rulebook: Rulebook = request.getfixturevalue(fixture)
    visit = rulebook.measure_deadlines[RuleId.SUPERVISION_VISIT]
    assert visit.period == Span(amount=6, unit=Unit.MONTHS)
    renewal = rulebook.measure_deadlines[RuleId.COMMITTEE_RENEWAL]
    assert renewal.first == Span(amount=12, unit=Unit.MONTHS)
    assert renewal.then == Span(amount=24, unit=Unit.MONTHS)
