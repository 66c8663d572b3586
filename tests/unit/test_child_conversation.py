"""The child conversation before a decision (Barnets Lov §5 stk. 3; the exception, stk. 4; the
committee's hearing of a child from 10, §142 stk. 2), as the default rulebook guards it.

Windows are computed by hand: 3 calendar months before 28 Feb 2026 is 28 Nov 2025, before
2 Mar 2026 it is 2 Dec 2025 (Copenhagen dates).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from conversation import CHILD_CONVERSATION
from wording import danish, english

from statemachine.errors import RefusalCode
from statemachine.phases import Event, Phase, Role
from statemachine.rulebook import Rulebook

SUPPORT_RED = {"measures": [{"type": "practical_support", "package": "red"}]}
PLACEMENT = [{"type": "placement"}]
FORCED = {"measures": [{"type": "placement", "without_consent": True}]}
# 10:00 in Copenhagen (winter time, +01:00).
DEC_1 = datetime(2025, 12, 1, 9, tzinfo=UTC)
FEB_28 = datetime(2026, 2, 28, 9, tzinfo=UTC)
MAR_2 = datetime(2026, 3, 2, 9, tzinfo=UTC)


def test_a_conversation_on_1_december_counts_for_a_grant_on_28_february(walk, barnets_lov):
    # Given a case at the decision whose child was talked with on 1 Dec 2025
    driver = walk(barnets_lov, Phase.DECISION)
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=DEC_1)
    # When practical support is granted on 28 Feb 2026 (the window opens on 28 Nov 2025)
    outcome = driver.fire("grant", SUPPORT_RED, at=FEB_28)
    # Then the grant goes through
    assert outcome.to_phase is Phase.IMPLEMENTATION


def test_a_conversation_on_1_december_is_too_old_for_a_grant_on_2_march(walk, barnets_lov):
    # Given the same conversation on 1 Dec 2025 and no earlier decision on the case
    driver = walk(barnets_lov, Phase.DECISION)
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=DEC_1)
    # When the grant comes on 2 Mar 2026 (the window opens on 2 Dec 2025)
    refusal = driver.refused("grant", SUPPORT_RED, at=MAR_2)
    # Then it is refused, naming the duty and its paragraph
    assert refusal.refusals[0].code is RefusalCode.CHILD_CONVERSATION_MISSING
    assert refusal.refusals[0].params["source"].startswith("Barnets Lov §5 stk. 3–4")
    assert english(refusal) == (
        "no conversation with the child (and no recorded exception) since the case's previous "
        "decision or within 3 months before grant (Barnets Lov §5 stk. 3–4: samtale med barnet "
        "inden afgørelsen (undtagelse kun i helt særlige tilfælde))"
    )
    assert "Barnets Lov §5 stk. 3–4" in danish(refusal)


def test_a_conversation_since_the_previous_decision_counts_however_old(walk, barnets_lov):
    # Given practical support granted on 31 Oct 2025 (the walk talked with the child first)
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    granted = driver.case.last_decision_at
    assert granted is not None and granted.date() == date(2025, 10, 31)
    # When the plan is revised on 15 Apr 2026: the walk's conversation precedes that grant and
    # is more than 3 months old (the window opens on 15 Jan 2026)
    revise_at = datetime(2026, 4, 15, 8, tzinfo=UTC)
    refusal = driver.refused("revise_plan", None, at=revise_at)
    # Then the revision is refused and names the previous decision's date
    assert refusal.refusals[0].code is RefusalCode.CHILD_CONVERSATION_MISSING
    assert refusal.refusals[0].params["since"] == "2025-10-31"
    # And a conversation on 1 Feb 2026, after the grant, counts on 15 Jun 2026 although the
    # 3-month window opens only on 15 Mar 2026
    driver.fire(
        "record_child_conversation", CHILD_CONVERSATION, at=datetime(2026, 2, 1, 9, tzinfo=UTC)
    )
    outcome = driver.fire("revise_plan", at=datetime(2026, 6, 15, 8, tzinfo=UTC))
    assert outcome.to_phase is Phase.ACTION_PLAN


def test_the_recorded_exception_counts_like_a_conversation(walk, barnets_lov):
    # Given a case at the decision with no conversation
    driver = walk(barnets_lov, Phase.DECISION)
    # When the exception is recorded without a ground, it is refused
    refusal = driver.refused("record_child_conversation_exception", {"reason": "  "})
    assert refusal.refusals[0].code is RefusalCode.REASON_MISSING
    # and with its ground (Barnets Lov §5 stk. 4: the child's age) it is recorded, ground
    # kept in the audit record, the instant on the case
    outcome = driver.fire(
        "record_child_conversation_exception", {"reason": "Barnet er 8 måneder"}, at=DEC_1
    )
    assert outcome.payload == {"reason": "Barnet er 8 måneder"}
    assert outcome.legal_basis.startswith("Barnets Lov §5 stk. 4")
    assert driver.case.child_conversation_exceptions == [DEC_1]
    # Then it counts for a grant in the same window
    assert driver.fire("grant", SUPPORT_RED, at=FEB_28).to_phase is Phase.IMPLEMENTATION


def test_the_conversation_records_facts_only(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    data = {"without_parents": True, "support_person_offered": False}
    outcome = driver.fire("record_child_conversation", data, at=DEC_1)
    assert outcome.payload == data
    assert outcome.legal_basis.startswith("Barnets Lov §5 stk. 3")
    assert [(c.at, c.without_parents) for c in driver.case.child_conversations] == [(DEC_1, True)]
    # An unknown field (what the child said) is refused
    refusal = driver.refused("record_child_conversation", {**data, "notes": "barnet sagde …"})
    assert refusal.refusals[0].code is RefusalCode.INVALID_DATA


def test_refusing_needs_the_conversation_too(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    driver.fire("record_party_hearing")
    guided = {"complaint_guidance": True, "complaint_guidance_child": True}
    refusal = driver.refused("refuse", guided)
    assert [r.code for r in refusal.refusals] == [RefusalCode.CHILD_CONVERSATION_MISSING]
    driver.fire("record_child_conversation", CHILD_CONVERSATION)
    # The refused case waits out the complaint period (retssikkerhedsloven §67 stk. 1).
    assert driver.fire("refuse", guided).to_phase is Phase.FOLLOW_UP


def _committee_only(rulebook: Rulebook) -> Rulebook:
    """A rulebook whose general rule does not guard grants: only the committee's hearing does."""
    rule = rulebook.child_conversation
    assert rule is not None
    return rulebook.model_copy(
        update={"child_conversation": rule.model_copy(update={"events": [Event.REFUSE]})}
    )


def test_the_committee_hears_a_child_of_10(walk, barnets_lov):
    # Given a child who turned 10 on 15 Mar 2025 and a rulebook guarding only the committee
    rulebook = _committee_only(barnets_lov)
    driver = walk(rulebook, Phase.DECISION, birth_date=date(2015, 3, 15))
    # When the committee places the child without consent with no conversation
    refusal = driver.refused("grant", FORCED, role=Role.COMMITTEE)
    # Then it is refused citing §142 stk. 2
    assert refusal.refusals[0].params["source"].startswith("Barnets Lov §142 stk. 2")


def test_the_committee_decides_for_a_child_under_10_without_the_hearing(walk, barnets_lov):
    # Given a child of 9 (born 2 Nov 2015: 10 only on 2 Nov 2025) under the same rulebook
    rulebook = _committee_only(barnets_lov)
    driver = walk(rulebook, Phase.DECISION, birth_date=date(2016, 11, 2))
    # When the committee places the child without consent, the general rule asks nothing
    assert driver.fire("grant", FORCED, role=Role.COMMITTEE).to_phase is Phase.IMPLEMENTATION


def test_the_default_committee_grant_cites_the_hearing_from_10(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)  # a child of 13
    refusal = driver.refused("grant", FORCED, role=Role.COMMITTEE)
    assert refusal.refusals[0].params["source"].startswith("Barnets Lov §142 stk. 2")


def test_ending_a_placement_needs_the_conversation_but_ending_support_does_not(walk, barnets_lov):
    # Given practical support granted on 31 Oct 2025, ended on 2 Mar 2026 (window: 2 Dec)
    support = walk(barnets_lov, Phase.FOLLOW_UP)
    ended = support.fire("end_measure", {"measure_id": "m1", "reason": "Målene er nået"}, at=MAR_2)
    assert ended.to_phase is Phase.CLOSURE
    # Given a placement granted the same day, ended on 2 Mar 2026 without a new conversation
    placed = walk(barnets_lov, Phase.FOLLOW_UP, measures=PLACEMENT, grant_role=Role.TEAM_LEADER)
    end = {"measure_id": "m1", "reason": "Hjemgivelse"}
    refusal = placed.refused("end_measure", end, at=MAR_2)
    assert refusal.refusals[-1].code is RefusalCode.CHILD_CONVERSATION_MISSING
    # and with a conversation on 1 Feb 2026 it ends
    placed.fire(
        "record_child_conversation", CHILD_CONVERSATION, at=datetime(2026, 2, 1, 9, tzinfo=UTC)
    )
    assert placed.fire("end_measure", end, at=MAR_2).to_phase is Phase.CLOSURE


def test_a_rulebook_without_the_section_guards_nothing(walk, sel):
    # default@2014.1 (SEL) carries no child_conversation section: SEL §48 was not verified
    driver = walk(sel, Phase.DECISION)
    assert sel.child_conversation is None
    assert driver.fire("grant", SUPPORT_RED).to_phase is Phase.IMPLEMENTATION
