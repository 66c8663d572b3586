"""Every event and guard of the process (issue 3) with the shipped default rulebook values.

Expected instants are worked out by hand: Copenhagen is UTC+01:00 until 29 March 2026 and
UTC+02:00 after, so "end of day" is 22:59:59 UTC in winter, 21:59:59 UTC in summer.
Refused events go through `CaseDriver.refused`, which also asserts the case is left untouched.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from conversation import CHILD_CONVERSATION
from wording import english, english_explanation

from statemachine.errors import EventRefused, RefusalCode
from statemachine.phases import DeadlineStatus, Notifier, Phase, Role, Source
from statemachine.process import open_case

CPH = ZoneInfo("Europe/Copenhagen")
OPEN, MET, MET_LATE = DeadlineStatus.OPEN, DeadlineStatus.MET, DeadlineStatus.MET_LATE
CANCELLED = DeadlineStatus.CANCELLED

# Monday 3 November 2025, 10:00 in Copenhagen.
MONDAY = datetime(2025, 11, 3, 9, tzinfo=UTC)
SUPPORT_RED = [{"type": "practical_support", "package": "red"}]

INQUIRY_EVENTS = [
    "assess_urgency",
    "acknowledge",
    "accept",
    "screen",
    "record_consent",
    "record_child_conversation",
    "record_child_conversation_exception",
    "receive_notification",
    "close",
]
CLARIFICATION_EVENTS = [
    "assess_urgency",
    "acknowledge",
    "record_consent",
    "decide_without_consent",
    "decide_compulsory_examination",
    "open_investigation",
    "propose_preventive",
    "record_child_conversation",
    "record_child_conversation_exception",
    "receive_notification",
    "close",
]
DECISION_EVENTS = [
    "record_consent",
    "record_party_hearing",
    "grant",
    "refuse",
    "record_follow_up",
    "end_measure",
    "record_child_conversation",
    "record_child_conversation_exception",
    "receive_notification",
    "close",
]


# --- inquiry: the notification deadlines -------------------------------------------------


def test_professional_notification_arms_24_hour_assessment_and_receipt(new_case, barnets_lov):
    # given a professional's notification received Friday 31 Oct 2025 10:00 CET
    # when the case is opened
    driver = new_case(barnets_lov)
    # then the 24-hour assessment falls due 24 elapsed hours later, 1 Nov 10:00 CET
    assert driver.deadline("urgent_assessment").due_at == datetime(2025, 11, 1, 9, tzinfo=UTC)
    # and the receipt 6 working days later: 3–7 Nov are five, Monday 10 Nov is the sixth
    assert driver.deadline("acknowledgement").due_at == datetime(
        2025, 11, 10, 22, 59, 59, tzinfo=UTC
    )
    assert driver.case.phase is Phase.INQUIRY


def test_application_arms_its_decision_deadline_at_receipt(new_case, barnets_lov):
    # given an application received Monday 6 Jan 2025 10:00 CET (retssikkerhedsloven §3 stk. 2:
    # the published deadline runs from receipt), the default's general deadline of 4 weeks
    received = datetime(2025, 1, 6, 9, tzinfo=UTC)
    driver = new_case(barnets_lov, source=Source.APPLICATION, notifier=None, aware_at=received)
    # then no notification deadline is armed, but the decision is due Monday 3 Feb 2025, end
    # of day CET, counted from awareness — and so is the notice to the applicant of a delay
    assert {d.rule for d in driver.case.deadlines} == {"decision", "delay_notice"}
    decision = driver.deadline("decision")
    assert decision.due_at == datetime(2025, 2, 3, 22, 59, 59, tzinfo=UTC)
    assert decision.explanation.anchor == "awareness"
    assert driver.deadline("delay_notice").due_at == decision.due_at


def test_the_applied_for_measures_published_deadline_counts_from_receipt(new_case, barnets_lov):
    # given a municipality that publishes 2 weeks for deciding on respite care
    data = barnets_lov.model_dump(mode="json")
    data["measures"]["respite_care"]["decision_deadline"] = {
        "amount": 2,
        "unit": "weeks",
        "source": "Kommunens frist",
    }
    rulebook = type(barnets_lov).model_validate(data)
    received = datetime(2025, 1, 6, 9, tzinfo=UTC)
    driver = new_case(
        rulebook,
        source=Source.APPLICATION,
        notifier=None,
        aware_at=received,
        applied_for="respite_care",
    )
    # then the decision is due Monday 20 Jan 2025, end of day CET, citing the published deadline
    assert driver.deadline("decision").due_at == datetime(2025, 1, 20, 22, 59, 59, tzinfo=UTC)
    assert driver.deadline("decision").source.endswith("; Kommunens frist")
    # and the plan's arrival later does not move it (it is already running)
    assert driver.deadline("delay_notice").due_at == driver.deadline("decision").due_at


def test_telling_the_applicant_of_a_delay_meets_the_notice_not_the_decision(new_case, barnets_lov):
    received = datetime(2025, 1, 6, 9, tzinfo=UTC)
    driver = new_case(barnets_lov, source=Source.APPLICATION, notifier=None, aware_at=received)
    # a date already passed is refused
    passed = driver.refused(
        "notify_applicant_of_delay",
        {"expected_by": "2025-01-20"},
        at=datetime(2025, 1, 30, 9, tzinfo=UTC),
    )
    assert passed.refusals[0].code is RefusalCode.EXPECTED_BY_PASSED
    # when the caseworker writes on 30 Jan that the decision is expected by 28 Feb
    driver.fire(
        "notify_applicant_of_delay",
        {"expected_by": "2025-02-28"},
        at=datetime(2025, 1, 30, 9, tzinfo=UTC),
    )
    # then the notice is met, the decision deadline still runs, and the date is kept
    assert driver.deadline("delay_notice").status is MET
    assert driver.deadline("decision").status is OPEN
    assert driver.case.decision_expected_by == date(2025, 2, 28)
    # and with nothing left to notify, the event is no longer offered
    again = driver.refused("notify_applicant_of_delay", {"expected_by": "2025-03-15"})
    assert again.refusals[0].code is RefusalCode.NOTHING_TO_FULFIL


def test_applied_for_only_with_an_application_and_a_known_measure(barnets_lov):
    def opening(**facts):
        with pytest.raises(EventRefused) as refused:
            open_case(
                municipality="demo",
                rulebook=barnets_lov,
                child_ref="C-1",
                birth_date=date(2012, 3, 15),
                aware_at=datetime(2025, 1, 6, 9, tzinfo=UTC),
                now=datetime(2030, 1, 1, tzinfo=UTC),
                **facts,
            )
        return refused.value.refusals[0].code

    assert (
        opening(source=Source.NOTIFICATION, notifier=None, applied_for="respite_care")
        is RefusalCode.APPLIED_FOR_ONLY_FOR_APPLICATION
    )
    assert (
        opening(source=Source.APPLICATION, notifier=None, applied_for="yoga")
        is RefusalCode.UNKNOWN_MEASURES
    )


def test_private_notifier_gets_no_receipt_deadline(new_case, barnets_lov):
    driver = new_case(barnets_lov, notifier=Notifier.PRIVATE)
    assert [d.rule for d in driver.case.deadlines] == ["urgent_assessment"]


@pytest.mark.parametrize(
    ("assessed_at", "status"),
    [
        (datetime(2025, 11, 1, 9, tzinfo=UTC), MET),  # exactly 24 hours
        (datetime(2025, 11, 1, 9, 1, tzinfo=UTC), MET_LATE),
    ],
)
def test_urgency_assessment_meets_the_24_hour_deadline(new_case, barnets_lov, assessed_at, status):
    # given a notification received 31 Oct 2025 10:00 CET
    driver = new_case(barnets_lov)
    # when the urgency is assessed
    outcome = driver.fire("assess_urgency", {"acute": True}, at=assessed_at)
    # then the case stays in inquiry and the 24-hour deadline is met (or met late)
    assert outcome.to_phase is Phase.INQUIRY
    assert driver.case.acute is True
    assert driver.deadline("urgent_assessment").status is status


@pytest.mark.parametrize(
    ("acknowledged_at", "status"),
    [
        (datetime(2025, 11, 10, 22, 59, 59, tzinfo=UTC), MET),  # last second of 10 Nov CET
        (datetime(2025, 11, 10, 23, 0, tzinfo=UTC), MET_LATE),  # 11 Nov 00:00 CET
    ],
)
def test_receipt_to_professional_meets_the_6_working_day_deadline(
    new_case, barnets_lov, acknowledged_at, status
):
    driver = new_case(barnets_lov)
    outcome = driver.fire("acknowledge", at=acknowledged_at)
    assert outcome.to_phase is Phase.INQUIRY
    assert driver.deadline("acknowledgement").status is status


def test_receipt_may_follow_acceptance(new_case, barnets_lov):
    # given a notification accepted for clarification before the receipt was sent
    driver = new_case(barnets_lov)
    driver.fire("accept")
    # when the receipt is sent
    driver.fire("acknowledge")
    # then the deadline is met and the case stays in clarification
    assert driver.deadline("acknowledgement").status is MET
    assert driver.case.phase is Phase.CLARIFICATION


def test_a_late_receipt_and_assessment_are_recorded_after_the_inquiry(walk, barnets_lov):
    # Given a professional's notification (31 Oct 2025 10:00 CET) taken to investigation
    # without the 24-hour assessment or the receipt, both now overdue
    driver = walk(barnets_lov, Phase.INVESTIGATION, inquiry_duties=False)
    assert driver.deadline("acknowledgement").status is not MET
    # When the receipt is sent and the urgency assessed on 12 Nov 2025 (the receipt was due
    # 10 Nov, the assessment 1 Nov 10:00)
    driver.fire("acknowledge", at=datetime(2025, 11, 12, 9, tzinfo=UTC))
    driver.fire("assess_urgency", {"acute": False}, at=datetime(2025, 11, 12, 10, tzinfo=UTC))
    # Then both duties are fulfilled late, and the case stays in investigation
    assert driver.deadline("acknowledgement").status is MET_LATE
    assert driver.deadline("urgent_assessment").status is MET_LATE
    assert driver.case.phase is Phase.INVESTIGATION
    # And a second receipt has nothing left to fulfil: refused, naming the rule
    refused = driver.refused("acknowledge", at=datetime(2025, 11, 13, 9, tzinfo=UTC))
    assert [(r.code, r.params["rules"]) for r in refused.refusals] == [
        (RefusalCode.NOTHING_TO_FULFIL, ["acknowledgement"])
    ]


def test_a_private_notifiers_case_has_no_receipt_to_send_after_the_inquiry(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.INVESTIGATION, notifier=Notifier.PRIVATE)
    refused = driver.refused("acknowledge")
    assert [r.code for r in refused.refusals] == [RefusalCode.NOTHING_TO_FULFIL]


def test_screening_closes_an_inquiry_that_needs_no_further_action(new_case, barnets_lov):
    # Given a professional's notification of Friday 31 Oct 2025 10:00 CET
    driver = new_case(barnets_lov)
    # Then no further action needs a reason (Barnets Lov §18 stk. 1 nr. 1): refused without one
    refused = driver.refused("screen", {"outcome": "no_action"})
    assert [r.code for r in refused.refusals] == [RefusalCode.REASON_MISSING]
    # When it is screened with one
    outcome = driver.fire("screen", {"outcome": "no_action", "reason": "Bekymringen er afkræftet"})
    # Then the case is closed on that reason, its inquiry deadlines cancelled
    assert outcome.to_phase is Phase.CLOSURE
    assert driver.case.close_reason == "Bekymringen er afkræftet"
    assert {d.rule: d.status for d in driver.case.deadlines} == {
        "urgent_assessment": DeadlineStatus.CANCELLED,
        "acknowledgement": DeadlineStatus.CANCELLED,
    }


def test_screening_to_afdaekning_goes_to_clarification_as_accept_does(new_case, barnets_lov):
    driver = new_case(barnets_lov)
    outcome = driver.fire("screen", {"outcome": "afdaekning"})
    assert outcome.to_phase is Phase.CLARIFICATION
    assert [d.rule for d in driver.case.deadlines if d.rule == "investigation"] == []


def test_screening_to_investigation_opens_it_and_arms_the_4_months(new_case, barnets_lov):
    # Given a notification of Friday 31 Oct 2025 10:00 CET, screened at once to a child-welfare
    # investigation (§18 stk. 1 nr. 3): no consent is asked (the investigation is the
    # municipality's duty, §20; §22 stk. 2 asks for cooperation "so far as possible")
    driver = new_case(barnets_lov)
    outcome = driver.fire("screen", {"outcome": "investigation"})
    # Then the case is in investigation, due 4 months from awareness (§20 stk. 3): 28 Feb 2026
    # (31 Oct + 4 months, clamped to the month's end), end of day CET
    assert outcome.to_phase is Phase.INVESTIGATION
    assert driver.deadline("investigation").due_at == datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)


def test_screening_outcomes_are_refused_when_unknown(new_case, barnets_lov):
    driver = new_case(barnets_lov)
    refused = driver.refused("screen", {"outcome": "maybe"})
    assert [r.code for r in refused.refusals] == [RefusalCode.INVALID_DATA]


def test_consent_given_with_the_plan_is_recorded_up_to_the_decision(walk, barnets_lov):
    # Given a case whose investigation is concluded (consents given in clarification by walk)
    driver = walk(barnets_lov, Phase.DECISION)
    # When the custody holder's consent is recorded again with the plan, in decision
    outcome = driver.fire("record_consent", {"by": "custody_holder"})
    # Then it is accepted and the case stays in decision; after the decision it is not
    assert outcome.to_phase is Phase.DECISION
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": [{"type": "practical_support", "package": "red"}]})
    refused = driver.refused("record_consent", {"by": "custody_holder"})
    assert [r.code for r in refused.refusals] == [RefusalCode.NOT_POSSIBLE_IN_PHASE]


def test_an_investigation_arms_its_provisional_assessment_at_the_same_instant(walk, barnets_lov):
    # Given a notification of Friday 31 Oct 2025 10:00 CET taken to investigation
    driver = walk(barnets_lov, Phase.INVESTIGATION)
    # Then the provisional assessment (Barnets Lov §20 stk. 3, 2. pkt.) is due when the 4
    # months run out: 28 Feb 2026, end of day CET, with the investigation
    provisional = driver.deadline("provisional_assessment")
    assert provisional.due_at == driver.deadline("investigation").due_at
    assert provisional.due_at == datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)
    # And when the investigation cannot be finished in time, the provisional assessment is
    # recorded on 27 Feb 2026 and meets it; the investigation itself stays open
    driver.fire("record_provisional_assessment", at=datetime(2026, 2, 27, 9, tzinfo=UTC))
    assert driver.deadline("provisional_assessment").status is MET
    assert driver.deadline("investigation").status is OPEN


def test_an_investigation_concluded_in_time_needs_no_provisional_assessment(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.INVESTIGATION)
    driver.fire("conclude", {"measures_needed": True}, at=datetime(2026, 1, 20, 9, tzinfo=UTC))
    assert driver.deadline("investigation").status is MET
    assert driver.deadline("provisional_assessment").status is DeadlineStatus.CANCELLED


def test_accept_moves_inquiry_to_clarification(new_case, barnets_lov):
    driver = new_case(barnets_lov)
    outcome = driver.fire("accept")
    assert (outcome.from_phase, outcome.to_phase) == (Phase.INQUIRY, Phase.CLARIFICATION)
    assert driver.case.phase_entered_at == driver.at


# --- clarification: consent where the law puts it (issue 10) ----------------------------


def test_investigation_opens_without_consent_and_says_whose_was_missing(walk, barnets_lov):
    # given a case in clarification where nobody has consented (the child is 13)
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    # when the caseworker opens the investigation (Barnets Lov §20: the municipality's duty;
    # §22 stk. 2: in cooperation "so far as possible", consent is not a condition)
    outcome = driver.fire("open_investigation")
    # then it opens, and the record says which consents existed and whose was missing
    assert outcome.to_phase is Phase.INVESTIGATION
    assert outcome.payload["consents"] == []
    assert outcome.payload["without_consent_of"] == ["custody_holder"]
    assert driver.case.investigation_without_consent_of == ["custody_holder"]


def test_investigation_with_the_custody_holders_consent_runs_with_consent(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)  # the child is 13
    driver.fire("record_consent", {"by": "custody_holder"})
    outcome = driver.fire("open_investigation")
    assert outcome.payload["consents"] == ["custody_holder"]
    assert outcome.payload["without_consent_of"] == []


@pytest.mark.parametrize(
    ("opened_at", "child_missing"),
    [
        (datetime(2025, 11, 4, 12, tzinfo=UTC), False),  # the day before the 15th birthday
        (datetime(2025, 11, 5, 12, tzinfo=UTC), True),  # the 15th birthday
        (datetime(2025, 11, 4, 23, 30, tzinfo=UTC), True),  # 5 Nov 00:30 in Copenhagen
    ],
)
def test_a_child_of_15_on_the_day_is_among_those_the_investigation_lacks(
    walk, barnets_lov, opened_at, child_missing
):
    # given a child born 5 Nov 2010 and the custody holder's consent only
    driver = walk(barnets_lov, Phase.CLARIFICATION, birth_date=date(2010, 11, 5))
    driver.fire("record_consent", {"by": "custody_holder"})
    # when the investigation is opened on (or just before) the 15th birthday, Copenhagen time
    outcome = driver.fire("open_investigation", at=opened_at)
    # then the young person's consent is missing from the 15th birthday on (§22 stk. 2)
    assert outcome.payload["without_consent_of"] == (["child"] if child_missing else [])


def test_who_may_open_an_investigation_without_consent_is_the_competence_plans(walk, barnets_lov):
    # given a municipality whose plan lets only team leaders open one while consent is missing
    plan = barnets_lov.competence.model_copy(
        update={"open_investigation_without_consent": Role.TEAM_LEADER}
    )
    rulebook = barnets_lov.model_copy(update={"competence": plan})
    driver = walk(rulebook, Phase.CLARIFICATION)
    # then a caseworker is refused, naming the competence, and the team leader may
    refusal = driver.refused("open_investigation")
    assert "opening an investigation while consent is missing needs the competence of " in (
        english(refusal)
    )
    assert "team_leader" in english(refusal)
    assert driver.fire("open_investigation", role=Role.TEAM_LEADER).to_phase is (
        Phase.INVESTIGATION
    )
    # and with the consent recorded the caseworker needs no such competence
    other = walk(rulebook, Phase.CLARIFICATION)
    other.fire("record_consent", {"by": "custody_holder"})
    assert other.fire("open_investigation").to_phase is Phase.INVESTIGATION


@pytest.mark.parametrize("event", ["decide_compulsory_examination", "decide_without_consent"])
@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.TEAM_LEADER, Role.DEPARTMENT_HEAD])
def test_only_the_committee_decides_the_compulsory_examination(walk, barnets_lov, event, role):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    refusal = driver.refused(event, role=role)
    assert "needs the competence of committee" in english(refusal)
    assert f"{role} does not hold it" in english(refusal)


@pytest.mark.parametrize("event", ["decide_compulsory_examination", "decide_without_consent"])
def test_compulsory_examination_must_end_2_months_after_the_committees_decision(
    walk, barnets_lov, event
):
    # given a case under investigation (Friday 31 Oct 2025), the child of 13 heard by the
    # committee (Barnets Lov §142 stk. 2)
    driver = walk(barnets_lov, Phase.INVESTIGATION, consents=())
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    # when the committee decides a compulsory examination on Monday 3 Nov 2025 (Barnets Lov §23)
    outcome = driver.fire(event, role=Role.COMMITTEE, at=MONDAY)
    # then the case stays in investigation, and the examination is due 2 calendar months
    # later: Saturday 3 Jan 2026, end of day CET (Ankestyrelsen: 2 months from the decision)
    assert outcome.to_phase is Phase.INVESTIGATION
    assert driver.deadline("compulsory_examination").due_at == datetime(
        2026, 1, 3, 22, 59, 59, tzinfo=UTC
    )
    # and concluding the investigation meets it
    driver.fire("conclude", {"measures_needed": True}, at=datetime(2025, 12, 15, 9, tzinfo=UTC))
    assert driver.deadline("compulsory_examination").status is MET


def test_the_committee_hears_a_child_of_ten_before_the_compulsory_examination(walk, barnets_lov):
    # Barnets Lov §142 stk. 2: before the committee decides, a child of 10 or more has the
    # opportunity to be heard; the child here is 13
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    refusal = driver.refused("decide_compulsory_examination", role=Role.COMMITTEE)
    assert refusal.refusals[0].code is RefusalCode.CHILD_CONVERSATION_MISSING
    assert "§142 stk. 2" in refusal.refusals[0].params["source"]


def test_committee_decision_in_clarification_counts_as_the_missing_consent(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire("decide_compulsory_examination", role=Role.COMMITTEE)
    assert outcome.to_phase is Phase.CLARIFICATION
    assert driver.case.without_consent_decided
    assert driver.fire("open_investigation").payload["without_consent_of"] == []


# --- the grant: consent where the law puts it (Barnets Lov §32 stk. 2, §46 stk. 1, §47) --------


PLACEMENT = [{"type": "placement"}]


def test_supportive_measure_needs_the_custody_holders_consent(walk, barnets_lov):
    # given a case at the decision with no consent recorded (the child is 13)
    driver = walk(barnets_lov, Phase.DECISION, consents=())
    # when practical support is granted, it is refused naming the consent and its paragraph
    refusal = driver.refused("grant", {"measures": SUPPORT_RED})
    assert english(refusal).startswith(
        "granting practical_support needs the custody holder's consent (Barnets Lov §32 stk. 2"
    )
    # and once the custody holder consents (often with the plan) the grant goes through
    driver.fire("record_consent", {"by": "custody_holder"})
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    assert driver.fire("grant", {"measures": SUPPORT_RED}).to_phase is Phase.IMPLEMENTATION


def test_placement_with_consent_needs_the_young_person_from_15(walk, barnets_lov):
    # given a young person of 15 (born 1 May 2010) and the custody holder's consent only
    driver = walk(
        barnets_lov, Phase.DECISION, consents=("custody_holder",), birth_date=date(2010, 5, 1)
    )
    # when a placement is granted by the team leader (its competence)
    refusal = driver.refused("grant", {"measures": PLACEMENT}, role=Role.TEAM_LEADER)
    # then the young person's own consent is asked for, citing §46 stk. 1
    assert "granting placement needs the young person's own consent (aged 15)" in english(refusal)
    assert "Barnets Lov §46 stk. 1" in english(refusal)
    assert "custody holder" not in english(refusal).split("(Barnets")[0]
    # and the young person's own consent is recorded at any age with {"by": "child"}
    driver.fire("record_consent", {"by": "child"})
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": PLACEMENT}, role=Role.TEAM_LEADER)
    assert driver.case.phase is Phase.IMPLEMENTATION


def test_placement_without_consent_only_by_the_committee(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION, consents=(), birth_date=date(2010, 5, 1))
    request = {"measures": [{"type": "placement", "without_consent": True}]}
    refusal = driver.refused("grant", request, role=Role.TEAM_LEADER)
    assert "needs the competence of committee" in english(refusal)
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire("grant", request, role=Role.COMMITTEE)
    assert outcome.to_phase is Phase.IMPLEMENTATION
    assert driver.case.measures[0].without_consent


def test_a_supportive_measure_cannot_be_granted_without_consent(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION, consents=())
    request = {"measures": [{**SUPPORT_RED[0], "without_consent": True}]}
    refusal = driver.refused("grant", request, role=Role.COMMITTEE)
    assert refusal.refusals[0].code is RefusalCode.NOT_A_PLACEMENT


def test_from_18_the_young_person_consents_alone(walk, barnets_lov):
    # given a young person of 18 (born 1 Mar 2007) whose custody holder never consented
    driver = walk(barnets_lov, Phase.DECISION, consents=(), birth_date=date(2007, 3, 1))
    # when a contact person is granted, only the young person's own consent is asked for
    contact = [{"type": "contact_person_child", "package": "green"}]
    refusal = driver.refused("grant", {"measures": contact})
    assert "the young person's own consent (aged 18)" in english(refusal)
    assert "custody holder" not in english(refusal)
    # and the young person's consent alone is enough (forældreansvarsloven §1 a)
    driver.fire("record_consent", {"by": "child"})
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    assert driver.fire("grant", {"measures": contact}).to_phase is Phase.IMPLEMENTATION


def test_consent_may_be_recorded_from_the_inquiry_up_to_the_decision(new_case, barnets_lov):
    driver = new_case(barnets_lov)
    assert driver.fire("record_consent", {"by": "child"}).to_phase is Phase.INQUIRY
    assert driver.case.consents == {"child"}


# --- clarification: preventive measures without investigation ------------------------------


def test_preventive_talks_go_to_decision_without_investigation(walk, barnets_lov):
    # given a case in clarification
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    # when §11 talks are proposed on Monday 3 Nov 2025
    outcome = driver.fire(
        "propose_preventive", {"measures": [{"type": "preventive_talks"}]}, at=MONDAY
    )
    # then the case goes to decision, and the decision is due 4 weeks later (the default rulebook's general decision deadline)
    assert outcome.to_phase is Phase.DECISION
    assert driver.deadline("decision").due_at == datetime(2025, 12, 1, 22, 59, 59, tzinfo=UTC)


def test_only_measures_without_investigation_may_be_proposed(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    refusal = driver.refused(
        "propose_preventive",
        {"measures": [{"type": "preventive_talks"}, {"type": "family_treatment"}]},
    )
    assert "family_treatment need(s) an investigation first" in english(refusal)
    assert refusal.allowed == CLARIFICATION_EVENTS


def test_unknown_preventive_measure_is_refused(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    refusal = driver.refused("propose_preventive", {"measures": [{"type": "yoga"}]})
    assert "unknown measure type(s) yoga in rulebook default@2024.1" in english(refusal)


def test_preventive_proposal_cannot_turn_into_a_measure_needing_investigation(walk, barnets_lov):
    # given a case that came to decision on a proposal of §11 talks, without investigation
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    driver.fire("propose_preventive", {"measures": [{"type": "preventive_talks"}]})
    # when practical support (which needs an investigation) is granted instead
    refusal = driver.refused(
        "grant", {"measures": [{"type": "practical_support", "package": "red"}]}
    )
    # then it is refused: Barnets Lov §32 measures need the §20 investigation first
    assert "practical_support need(s) an investigation first" in english(refusal)
    assert refusal.allowed == DECISION_EVENTS


def test_proposed_preventive_talks_are_granted(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    driver.fire("propose_preventive", {"measures": [{"type": "preventive_talks"}]})
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire("grant", {"measures": [{"type": "preventive_talks"}]})
    assert outcome.to_phase is Phase.IMPLEMENTATION
    assert "Barnets Lov §30" in outcome.legal_basis
    assert driver.case.proposed_measures == []


def test_preventive_route_cannot_reach_an_investigated_measure_through_a_revised_plan(
    walk, barnets_lov, plan
):
    # given §11 talks granted and running without any investigation
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    driver.fire("propose_preventive", {"measures": [{"type": "preventive_talks"}]})
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": [{"type": "preventive_talks"}]})
    driver.fire("start_measures")
    # when the plan is revised and practical support is to be granted on it
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("revise_plan")
    driver.fire("submit_plan", plan)
    refusal = driver.refused(
        "grant", {"measures": [{"type": "practical_support", "package": "red"}]}
    )
    # then it is refused: practical support still needs the investigation first
    assert "practical_support need(s) an investigation first" in english(refusal)


def test_a_plan_under_revision_does_not_count_as_the_plan_before_a_placement(walk, barnets_lov):
    # given a case with measures running on a plan, whose plan is now being revised
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("revise_plan")
    # when it goes to decision without the revised plan (Barnets Lov §91 allows that for
    # supportive measures) and a placement is to be granted
    driver.fire("defer_plan")
    refusal = driver.refused("grant", {"measures": [{"type": "placement"}]}, role=Role.TEAM_LEADER)
    # then it is refused: a placement needs the (revised) plan before the decision
    assert "an action plan must exist before deciding on placement" in english(refusal)


# --- investigation ------------------------------------------------------------------------


def test_investigation_deadline_counts_from_awareness(walk, barnets_lov):
    # given a notification received 31 Oct 2025 and consent given
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    driver.fire("record_consent", {"by": "custody_holder"})
    # when the investigation is opened only on 10 Dec 2025
    driver.fire("open_investigation", at=datetime(2025, 12, 10, 10, tzinfo=UTC))
    # then it is due 4 months after awareness: 31 Oct + 4 months = 28 Feb 2026, end of day CET
    deadline = driver.deadline("investigation")
    assert deadline.due_at == datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)
    assert deadline.anchor_at == datetime(2025, 10, 31, 9, tzinfo=UTC)
    assert deadline.status is OPEN


def test_investigation_deadline_under_sel_ends_29_february_in_a_leap_year(walk, sel):
    # SEL §50 stk. 7: aware 31 Oct 2023 + 4 calendar months = 29 Feb 2024
    driver = walk(sel, Phase.INVESTIGATION)
    assert driver.deadline("investigation").due_at == datetime(2024, 2, 29, 22, 59, 59, tzinfo=UTC)


def test_provisional_assessment_keeps_the_investigation_running(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.INVESTIGATION)
    outcome = driver.fire("record_provisional_assessment")
    assert outcome.to_phase is Phase.INVESTIGATION
    assert driver.case.provisional_assessment_at == driver.at
    assert driver.deadline("investigation").status is OPEN


@pytest.mark.parametrize(
    ("concluded_at", "status"),
    [
        (datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC), MET),
        (datetime(2026, 3, 1, 8, tzinfo=UTC), MET_LATE),
    ],
)
def test_conclusion_meets_the_investigation_deadline(walk, barnets_lov, concluded_at, status):
    driver = walk(barnets_lov, Phase.INVESTIGATION)
    outcome = driver.fire("conclude", {"measures_needed": True}, at=concluded_at)
    assert outcome.to_phase is Phase.ACTION_PLAN
    assert driver.deadline("investigation").status is status


def test_conclusion_that_no_measures_are_needed_closes_the_case(walk, barnets_lov):
    # given an investigation opened while the receipt to the notifier is still outstanding
    driver = walk(barnets_lov, Phase.INVESTIGATION, inquiry_duties=False)
    assert driver.deadline("acknowledgement").status is OPEN
    # when the investigation concludes that no measures are needed
    outcome = driver.fire("conclude", {"measures_needed": False})
    # then the case is closed, the investigation met and every other open deadline cancelled
    assert outcome.to_phase is Phase.CLOSURE
    assert driver.deadline("investigation").status is MET
    assert driver.deadline("acknowledgement").status is CANCELLED
    assert not [d for d in driver.case.deadlines if d.status is OPEN]


# --- action plan --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "data"),
    [
        ("purpose", {"goals": ["Fremmøde"], "expected_duration_months": 6}),
        ("purpose", {"purpose": "   ", "goals": ["Fremmøde"], "expected_duration_months": 6}),
        ("goals", {"purpose": "Trivsel", "expected_duration_months": 6}),
        ("goals", {"purpose": "Trivsel", "goals": [], "expected_duration_months": 6}),
        ("expected_duration_months", {"purpose": "Trivsel", "goals": ["Fremmøde"]}),
    ],
)
def test_action_plan_needs_purpose_goals_and_expected_duration(walk, sel, missing, data):
    driver = walk(sel, Phase.ACTION_PLAN)
    refusal = driver.refused("submit_plan", data)
    assert english(refusal) == (
        f"the action plan lacks {missing} "
        "(SEL §140 stk. 5–6: handleplanens formål, mål og forventede varighed)"
    )
    assert refusal.allowed == [
        "record_consent",
        "submit_plan",
        "record_follow_up",
        "end_measure",
        "record_child_conversation",
        "record_child_conversation_exception",
        "receive_notification",
        "close",
    ]


def test_submitted_plan_moves_to_decision_and_starts_the_decision_deadline(walk, sel, plan):
    # given a concluded investigation (SEL)
    driver = walk(sel, Phase.ACTION_PLAN)
    # when the plan is submitted on Monday 6 Nov 2023
    outcome = driver.fire("submit_plan", plan, at=datetime(2023, 11, 6, 9, tzinfo=UTC))
    # then the case is in decision and the decision is due 4 weeks later, 4 Dec 2023
    assert outcome.to_phase is Phase.DECISION
    assert driver.case.action_plan is not None
    assert driver.case.action_plan["purpose"] == plan["purpose"]
    assert driver.deadline("decision").due_at == datetime(2023, 12, 4, 22, 59, 59, tzinfo=UTC)


def test_national_minimum_decision_deadline_is_its_own_rule(walk, national, plan):
    # dk-national leaves the decision deadline to the municipality: an 8-week placeholder
    driver = walk(national, Phase.ACTION_PLAN)
    driver.fire("submit_plan", plan, at=MONDAY)
    assert driver.deadline("decision").due_at == datetime(2025, 12, 29, 22, 59, 59, tzinfo=UTC)


# --- action plan before or after the decision (SEL §140 versus Barnets Lov §91) ------------


def test_under_sel_the_plan_cannot_be_deferred_past_the_decision(walk, sel):
    driver = walk(sel, Phase.ACTION_PLAN)
    refusal = driver.refused("defer_plan")
    assert english(refusal) == "defer_plan is not possible in phase action_plan"
    assert "defer_plan" not in refusal.allowed


def test_under_sel_no_plan_is_accepted_once_measures_run(walk, sel, plan):
    driver = walk(sel, Phase.FOLLOW_UP)
    refusal = driver.refused("submit_plan", plan)
    assert english(refusal) == "submit_plan is not possible in phase follow_up"


def test_under_barnets_lov_a_supportive_plan_may_follow_the_decision(walk, barnets_lov, plan):
    # given a concluded investigation under Barnets Lov, and the plan deferred
    driver = walk(barnets_lov, Phase.ACTION_PLAN)
    assert driver.fire("defer_plan").to_phase is Phase.DECISION
    # when practical support is granted on Monday 3 Nov 2025 without a plan
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire(
        "grant", {"measures": [{"type": "practical_support", "package": "red"}]}, at=MONDAY
    )
    # then the plan is due 3 months from the decision: 3 Feb 2026, end of day CET
    assert outcome.to_phase is Phase.IMPLEMENTATION
    deadline = driver.deadline("action_plan")
    assert deadline.due_at == datetime(2026, 2, 3, 22, 59, 59, tzinfo=UTC)
    assert deadline.source.startswith("Barnets Lov §91 stk. 1, 2. pkt.")
    # and submitting it while the measure runs meets it without leaving the phase
    driver.fire("start_measures")
    outcome = driver.fire("submit_plan", plan)
    assert outcome.to_phase is Phase.FOLLOW_UP
    assert driver.deadline("action_plan").status is MET


def test_plan_submitted_while_measures_run_asks_for_no_new_decision(walk, barnets_lov, plan):
    # given a supportive measure granted before its plan (Barnets Lov §91)
    driver = walk(barnets_lov, Phase.ACTION_PLAN)
    driver.fire("defer_plan")
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": [{"type": "practical_support", "package": "red"}]})
    # when the plan is submitted during implementation
    outcome = driver.fire("submit_plan", plan)
    # then the case stays in implementation, and no decision deadline starts again
    assert outcome.to_phase is Phase.IMPLEMENTATION
    assert [d.key for d in driver.case.deadlines if d.rule == "decision"] == ["decision"]
    assert driver.deadline("decision").status is MET


def test_late_plan_after_the_decision_is_met_late(walk, barnets_lov, plan):
    driver = walk(barnets_lov, Phase.ACTION_PLAN)
    driver.fire("defer_plan")
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": [{"type": "practical_support", "package": "red"}]}, at=MONDAY)
    driver.fire("start_measures")
    driver.fire("submit_plan", plan, at=datetime(2026, 2, 4, 8, tzinfo=UTC))
    assert driver.deadline("action_plan").status is MET_LATE


def test_plan_before_the_decision_starts_no_plan_deadline(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.IMPLEMENTATION)
    assert driver.case.deadline("action_plan") is None


def test_under_barnets_lov_a_placement_still_needs_its_plan_first(walk, barnets_lov):
    # given a deferred plan (allowed for supportive measures only)
    driver = walk(barnets_lov, Phase.ACTION_PLAN)
    driver.fire("defer_plan")
    # when a placement is granted without a plan
    refusal = driver.refused("grant", {"measures": [{"type": "placement"}]}, role=Role.TEAM_LEADER)
    # then it is refused: Barnets Lov §91 makes the plan mandatory for placements
    assert english(refusal) == (
        "an action plan must exist before deciding on placement "
        "(rulebook default@2024.1, Barnets Lov)"
    )


# --- decision: grant ----------------------------------------------------------------------


def test_grant_of_unknown_measure_type_is_refused(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    refusal = driver.refused("grant", {"measures": [{"type": "ridning"}]})
    assert english(refusal).startswith("unknown measure type(s) ridning in rulebook default@2024.1")
    assert "practical_support" in english(refusal)  # the known ones are listed
    assert refusal.allowed == DECISION_EVENTS


@pytest.mark.parametrize(
    ("measure", "reason"),
    [
        (
            {"type": "practical_support"},
            "practical_support needs a package, one of red, orange, yellow, green (got none)",
        ),
        (
            {"type": "family_treatment", "package": "orange"},
            "family_treatment needs a package, one of red, yellow, green (got orange)",
        ),
        ({"type": "safety_plan", "package": "red"}, "safety_plan has no packages (got red)"),
    ],
)
def test_grant_needs_a_package_valid_for_the_measure(walk, barnets_lov, measure, reason):
    driver = walk(barnets_lov, Phase.DECISION)
    assert english(driver.refused("grant", {"measures": [measure]})) == reason


@pytest.mark.parametrize(
    ("measure", "birth_date", "age", "in_range"),
    [
        ({"type": "contact_person_child", "package": "red"}, date(2011, 11, 4), 13, False),
        ({"type": "contact_person_child", "package": "red"}, date(2011, 11, 3), 14, True),
        ({"type": "contact_person_child", "package": "red"}, date(2002, 11, 4), 22, True),
        ({"type": "contact_person_child", "package": "red"}, date(2002, 11, 3), 23, False),
        ({"type": "trauma_treatment", "package": "green"}, date(2021, 11, 4), 3, False),
        ({"type": "trauma_treatment", "package": "green"}, date(2021, 11, 3), 4, True),
        ({"type": "trauma_treatment", "package": "green"}, date(2002, 11, 4), 22, True),
        ({"type": "trauma_treatment", "package": "green"}, date(2002, 11, 3), 23, False),
    ],
)
def test_grant_checks_the_childs_age_on_the_day_of_the_decision(
    walk, barnets_lov, measure, birth_date, age, in_range
):
    # given a child whose age on Monday 3 Nov 2025 is `age`
    driver = walk(barnets_lov, Phase.DECISION, birth_date=birth_date)
    # when the measure is granted that day
    if in_range:
        driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
        assert driver.fire("grant", {"measures": [measure]}, at=MONDAY).to_phase is (
            Phase.IMPLEMENTATION
        )
        return
    refusal = driver.refused("grant", {"measures": [measure]}, at=MONDAY)
    # then an age outside the seed's range (contact person 14–22, trauma 4–22) is refused
    ages = "14–22" if measure["type"] == "contact_person_child" else "4–22"
    assert english(refusal) == (
        f"{measure['type']} is for ages {ages}; the child is {age} on 2025-11-03"
    )


def test_placement_needs_the_team_leader(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    refusal = driver.refused("grant", {"measures": [{"type": "placement"}]})
    assert english(refusal).startswith("granting placement needs the competence of team_leader")
    assert english(refusal).endswith("caseworker does not hold it")
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire("grant", {"measures": [{"type": "placement"}]}, role=Role.TEAM_LEADER)
    assert outcome.to_phase is Phase.IMPLEMENTATION


def test_external_purchase_needs_the_department_head(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    bought = {"measures": [{"type": "practical_support", "package": "red", "external": True}]}
    refusal = driver.refused("grant", bought, role=Role.TEAM_LEADER)
    assert english(refusal).startswith(
        "an external purchase needs the competence of department_head"
    )
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire("grant", bought, role=Role.DEPARTMENT_HEAD)
    assert outcome.to_phase is Phase.IMPLEMENTATION
    assert driver.case.measures[0].external


def test_placement_without_consent_needs_the_committee(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    forced = {"measures": [{"type": "placement", "without_consent": True}]}
    refusal = driver.refused("grant", forced, role=Role.DEPARTMENT_HEAD)
    assert english(refusal).startswith(
        "a placement without consent needs the competence of committee"
    )
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    assert driver.fire("grant", forced, role=Role.COMMITTEE).to_phase is Phase.IMPLEMENTATION
    assert driver.case.measures[0].without_consent


def test_only_a_placement_is_decided_without_consent(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    forced = {"measures": [{"type": "safety_plan", "without_consent": True}]}
    refusal = driver.refused("grant", forced, role=Role.COMMITTEE)
    assert english(refusal) == "safety_plan is not a placement: no decision without consent"


def test_grant_meets_the_decision_deadline_and_records_each_measure(walk, sel):
    driver = walk(sel, Phase.DECISION)
    outcome = driver.fire(
        "grant",
        {"measures": [{"type": "practical_support", "package": "red"}, {"type": "safety_plan"}]},
    )
    assert outcome.to_phase is Phase.IMPLEMENTATION
    assert driver.deadline("decision").status is MET
    assert [(m.key, m.type, m.package) for m in driver.case.measures] == [
        ("m1", "practical_support", "red"),
        ("m2", "safety_plan", None),
    ]
    # the audit's legal basis cites the law of the case's rulebook version (SEL)
    assert "SEL §52 stk. 3 nr. 2" in outcome.legal_basis
    assert "SEL §52 stk. 3 nr. 9" in outcome.legal_basis


def test_grant_under_barnets_lov_cites_barnets_lov(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire("grant", {"measures": [{"type": "practical_support", "package": "red"}]})
    assert "Barnets Lov §32 stk. 1 nr. 2" in outcome.legal_basis


# --- decision: refuse ---------------------------------------------------------------------


def test_refusal_needs_a_party_hearing(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    refusal = driver.refused("refuse", {"complaint_guidance": True})
    assert english(refusal) == "the parties must be heard before a refusal (record_party_hearing)"
    assert refusal.allowed == DECISION_EVENTS


def test_refusal_needs_complaint_guidance(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.DECISION)
    assert driver.fire("record_party_hearing").to_phase is Phase.DECISION
    refusal = driver.refused("refuse", {"complaint_guidance": False})
    assert english(refusal).startswith(
        "the decision does not grant all that was applied for and must give complaint guidance "
        "(complaint_guidance: true; Forvaltningsloven §25 stk. 1"
    )


def test_a_grant_of_another_measure_than_applied_for_needs_complaint_guidance(walk, barnets_lov):
    # given an application for family treatment (forvaltningsloven §25: a decision that does
    # not give the applicant all it applied for carries complaint guidance)
    driver = walk(
        barnets_lov,
        Phase.DECISION,
        source=Source.APPLICATION,
        notifier=None,
        applied_for="family_treatment",
    )
    # when practical support is granted instead, guidance is asked for
    refusal = driver.refused("grant", {"measures": SUPPORT_RED})
    assert refusal.refusals[0].code is RefusalCode.COMPLAINT_GUIDANCE_MISSING
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    # (the child is past 10 and a party: the guidance addresses the child too, Barnets Lov §3)
    granted = driver.fire(
        "grant",
        {"measures": SUPPORT_RED, "complaint_guidance": True, "complaint_guidance_child": True},
    )
    assert granted.to_phase is Phase.IMPLEMENTATION
    # and granting what was applied for asks for none
    other = walk(
        barnets_lov,
        Phase.DECISION,
        source=Source.APPLICATION,
        notifier=None,
        applied_for="family_treatment",
    )
    other.fire("record_child_conversation", CHILD_CONVERSATION, at=other.at)
    other.fire("grant", {"measures": [{"type": "family_treatment", "package": "green"}]})
    assert other.case.phase is Phase.IMPLEMENTATION


def test_heard_and_guided_refusal_waits_out_the_complaint_period(walk, barnets_lov):
    # Retssikkerhedsloven §67 stk. 1: a complaint may come within 4 weeks of the refusal, so
    # the case stays open (in follow-up, nothing running) with only that period open.
    driver = walk(barnets_lov, Phase.DECISION)
    driver.fire("record_party_hearing")
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire("refuse", {"complaint_guidance": True, "complaint_guidance_child": True})
    assert outcome.to_phase is Phase.FOLLOW_UP
    assert driver.deadline("decision").status is MET
    assert [d.rule for d in driver.case.deadlines if d.status is OPEN] == ["complaint_period"]


def test_heard_and_guided_refusal_closes_the_case_under_a_rulebook_without_complaints(walk, sel):
    driver = walk(sel, Phase.DECISION)
    driver.fire("record_party_hearing")
    outcome = driver.fire("refuse", {"complaint_guidance": True})
    assert outcome.to_phase is Phase.CLOSURE
    assert driver.deadline("decision").status is MET
    assert not [d for d in driver.case.deadlines if d.status is OPEN]


# --- implementation: follow-up cadences ---------------------------------------------------


@pytest.mark.parametrize(
    ("measure", "role", "first_due", "held_at", "next_due"),
    [
        # seed 000 packages: first after 4 weeks, then every 3 months from the follow-up held
        (
            {"type": "practical_support", "package": "red"},
            Role.CASEWORKER,
            datetime(2025, 12, 1, 22, 59, 59, tzinfo=UTC),
            datetime(2025, 11, 28, 10, tzinfo=UTC),
            datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC),
        ),
        # seed 000 safety plan: 2 weeks, then every 6 weeks
        (
            {"type": "safety_plan"},
            Role.CASEWORKER,
            datetime(2025, 11, 17, 22, 59, 59, tzinfo=UTC),
            datetime(2025, 11, 17, 10, tzinfo=UTC),
            datetime(2025, 12, 29, 22, 59, 59, tzinfo=UTC),
        ),
        # seed 000 supported contact: 3 months, then every 6 months (2 Aug is summer time)
        (
            {"type": "supported_contact"},
            Role.CASEWORKER,
            datetime(2026, 2, 3, 22, 59, 59, tzinfo=UTC),
            datetime(2026, 2, 2, 10, tzinfo=UTC),
            datetime(2026, 8, 2, 21, 59, 59, tzinfo=UTC),
        ),
        # seed 003 (Kolding) foster family: after 1 month, then monthly for 6 months
        (
            {"type": "foster_family_placement"},
            Role.TEAM_LEADER,
            datetime(2025, 12, 3, 22, 59, 59, tzinfo=UTC),
            datetime(2025, 12, 1, 10, tzinfo=UTC),
            datetime(2026, 1, 1, 22, 59, 59, tzinfo=UTC),
        ),
    ],
)
def test_started_measure_follows_its_cadence(
    walk, barnets_lov, held, measure, role, first_due, held_at, next_due
):
    # given a measure granted and started on Monday 3 Nov 2025
    driver = walk(barnets_lov, Phase.IMPLEMENTATION, measures=[measure], grant_role=role)
    outcome = driver.fire("start_measures", at=MONDAY)
    assert outcome.to_phase is Phase.FOLLOW_UP
    # then the first follow-up is due after the cadence's first interval
    assert driver.deadline("follow_up:m1:1").due_at == first_due
    # and after a follow-up is held, the next counts from the day it was held
    driver.fire("record_follow_up", held("m1"), at=held_at)
    assert driver.deadline("follow_up:m1:1").status is MET
    assert driver.deadline("follow_up:m1:2").due_at == next_due


@pytest.mark.parametrize(
    ("held_at", "next_due"),
    [
        # 2 May 2026 is inside the first 6 months from 3 Nov 2025: monthly
        (datetime(2026, 5, 2, 10, tzinfo=UTC), datetime(2026, 6, 2, 21, 59, 59, tzinfo=UTC)),
        # 4 May 2026 is past them: every 3 months
        (datetime(2026, 5, 4, 10, tzinfo=UTC), datetime(2026, 8, 4, 21, 59, 59, tzinfo=UTC)),
        # The switch is a question of Copenhagen dates (6 months from 3 Nov 2025: 3 May 2026),
        # not of the clock time the measure started (10:00): 23:30 on 2 May is still monthly,
        # 00:30 and 09:00 on 3 May are every 3 months (3 Aug 2026, end of day CEST)
        (datetime(2026, 5, 2, 21, 30, tzinfo=UTC), datetime(2026, 6, 2, 21, 59, 59, tzinfo=UTC)),
        (datetime(2026, 5, 2, 22, 30, tzinfo=UTC), datetime(2026, 8, 3, 21, 59, 59, tzinfo=UTC)),
        (datetime(2026, 5, 3, 7, tzinfo=UTC), datetime(2026, 8, 3, 21, 59, 59, tzinfo=UTC)),
    ],
)
def test_foster_family_follow_up_turns_quarterly_after_six_months(
    walk, barnets_lov, held, held_at, next_due
):
    driver = walk(
        barnets_lov,
        Phase.IMPLEMENTATION,
        measures=[{"type": "foster_family_placement"}],
        grant_role=Role.TEAM_LEADER,
    )
    driver.fire("start_measures", at=MONDAY)
    driver.fire("record_follow_up", held("m1"), at=held_at)
    assert driver.deadline("follow_up:m1:2").due_at == next_due


def test_support_person_for_parents_has_no_follow_up(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.IMPLEMENTATION, measures=[{"type": "support_person_parents"}])
    outcome = driver.fire("start_measures", at=MONDAY)
    assert outcome.touched_deadlines == []
    assert [d for d in driver.case.deadlines if d.measure_key == "m1"] == []


def test_package_is_reviewed_six_months_after_start(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.IMPLEMENTATION)
    driver.fire("start_measures", at=MONDAY)
    # 3 Nov 2025 + 6 months = 3 May 2026, end of day CEST
    review = driver.deadline("package_review:m1")
    assert review.due_at == datetime(2026, 5, 3, 21, 59, 59, tzinfo=UTC)
    assert driver.case.measures[0].started_at == MONDAY


def test_each_measure_gets_its_own_follow_up(walk, barnets_lov):
    driver = walk(
        barnets_lov,
        Phase.IMPLEMENTATION,
        measures=[{"type": "practical_support", "package": "red"}, {"type": "safety_plan"}],
    )
    driver.fire("start_measures", at=MONDAY)
    assert driver.deadline("follow_up:m1:1").due_at == datetime(2025, 12, 1, 22, 59, 59, tzinfo=UTC)
    assert driver.deadline("follow_up:m2:1").due_at == datetime(
        2025, 11, 17, 22, 59, 59, tzinfo=UTC
    )
    assert driver.case.deadline("package_review:m2") is None  # no package, no review


# --- follow-up ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lacking", "missing"),
    [
        ({"spoke_with_provider": False}, "a talk with the provider"),
        ({"spoke_with_parents": False}, "a talk with the parents"),
        ({"plan_revision_decided": False}, "a position on revising the action plan"),
    ],
)
def test_follow_up_counts_only_when_complete(walk, barnets_lov, held, lacking, missing):
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    refusal = driver.refused("record_follow_up", held("m1", **lacking))
    assert english(refusal) == (
        f"a follow-up counts only with {missing} (Vejledende serviceniveau for forebyggende "
        "indsatser: en opfølgning opfylder lovkravet, når der er talt med leverandøren og "
        "forældrene og taget stilling til revision af planen)"
    )
    assert refusal.allowed == [
        "submit_plan",
        "record_follow_up",
        "revise_plan",
        "end_measure",
        "record_child_conversation",
        "record_child_conversation_exception",
        "record_complaint",
        "receive_notification",
        "close",
    ]


def test_follow_up_without_hearing_the_child_still_counts(walk, barnets_lov, held):
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    driver.fire("record_follow_up", held("m1", child_heard=None))
    assert driver.case.measures[0].follow_ups_held == 1


@pytest.mark.parametrize(
    ("held_at", "status", "next_due"),
    [
        (
            datetime(2025, 12, 1, 22, 59, 59, tzinfo=UTC),
            MET,
            datetime(2026, 3, 1, 22, 59, 59, tzinfo=UTC),
        ),
        (
            datetime(2025, 12, 2, 9, tzinfo=UTC),
            MET_LATE,
            datetime(2026, 3, 2, 22, 59, 59, tzinfo=UTC),
        ),
    ],
)
def test_follow_up_is_met_or_met_late_and_arms_the_next(
    walk, barnets_lov, held, held_at, status, next_due
):
    # given practical support started 3 Nov 2025: first follow-up due 1 Dec
    driver = walk(barnets_lov, Phase.IMPLEMENTATION)
    driver.fire("start_measures", at=MONDAY)
    # when the follow-up is held
    outcome = driver.fire("record_follow_up", held("m1"), at=held_at)
    # then it is met (or met late), and the next counts 3 months from the day it was held
    assert outcome.to_phase is Phase.FOLLOW_UP
    assert driver.deadline("follow_up:m1:1").status is status
    assert driver.deadline("follow_up:m1:2").due_at == next_due
    assert driver.case.measures[0].last_follow_up_at == held_at


def test_follow_up_of_unknown_measure_is_refused(walk, barnets_lov, held):
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    refusal = driver.refused("record_follow_up", held("m7"))
    assert english(refusal) == "no active measure m7 (active: m1)"


def test_package_reviewed_at_a_follow_up_meets_the_review(walk, barnets_lov, held):
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    driver.fire("record_follow_up", held("m1", package_reviewed=True))
    assert driver.deadline("package_review:m1").status is MET


def test_revised_plan_keeps_running_measures_on_their_follow_ups(walk, barnets_lov, held):
    # given a measure in follow-up
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    # when the plan is revised
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire("revise_plan")
    # then the case is back in action_plan, and the measure's follow-up keeps running
    assert outcome.to_phase is Phase.ACTION_PLAN
    assert driver.deadline("follow_up:m1:1").status is OPEN
    driver.fire("record_follow_up", held("m1"))
    assert driver.deadline("follow_up:m1:1").status is MET


def test_new_decision_after_revised_plan_starts_only_the_new_measure(walk, barnets_lov, plan):
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    first_start = driver.case.measures[0].started_at
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("revise_plan")
    driver.fire("submit_plan", plan)
    assert driver.deadline("decision#2").status is OPEN  # a second decision, its own deadline
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": [{"type": "safety_plan"}]})
    driver.fire("start_measures", at=MONDAY)
    assert driver.case.measures[0].started_at == first_start
    assert driver.case.measures[1].started_at == MONDAY
    assert driver.case.phase is Phase.FOLLOW_UP


def test_refused_change_keeps_the_running_measures(walk, barnets_lov, plan):
    # given a running measure and a revised plan asking for more
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("revise_plan")
    driver.fire("submit_plan", plan)
    driver.fire("record_party_hearing")
    # when the change is refused
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    outcome = driver.fire("refuse", {"complaint_guidance": True, "complaint_guidance_child": True})
    # then the case returns to follow-up with the measure still active
    assert outcome.to_phase is Phase.FOLLOW_UP
    assert driver.case.measures[0].active


# --- ending measures and closing ----------------------------------------------------------


def test_ending_one_of_two_measures_keeps_the_case_in_follow_up(walk, barnets_lov):
    driver = walk(
        barnets_lov,
        Phase.FOLLOW_UP,
        measures=[{"type": "practical_support", "package": "red"}, {"type": "safety_plan"}],
    )
    outcome = driver.fire(
        "end_measure", {"measure_id": "m2", "reason": "Mål nået", "goals_met": True}
    )
    assert outcome.to_phase is Phase.FOLLOW_UP
    ended = driver.case.measure("m2")
    assert ended is not None
    assert (ended.end_reason, ended.goals_met, ended.ended_at) == ("Mål nået", True, driver.at)
    assert driver.deadline("follow_up:m2:1").status is CANCELLED
    assert driver.deadline("follow_up:m1:1").status is OPEN


def test_ending_the_last_active_measure_closes_the_case(walk, barnets_lov):
    # given one running package
    driver = walk(barnets_lov, Phase.FOLLOW_UP)
    # when it ends
    outcome = driver.fire("end_measure", {"measure_id": "m1", "reason": "Mål nået"})
    # then the case is closed: the package review is met by the end, the follow-up cancelled
    assert outcome.to_phase is Phase.CLOSURE
    assert driver.deadline("package_review:m1").status is MET
    assert driver.deadline("follow_up:m1:1").status is CANCELLED
    assert driver.case.active_measures() == []


def test_ending_an_ended_measure_is_refused(walk, barnets_lov):
    driver = walk(
        barnets_lov,
        Phase.FOLLOW_UP,
        measures=[{"type": "practical_support", "package": "red"}, {"type": "safety_plan"}],
    )
    driver.fire("end_measure", {"measure_id": "m2", "reason": "Mål nået"})
    refusal = driver.refused("end_measure", {"measure_id": "m2", "reason": "igen"})
    assert english(refusal) == "no active measure m2 (active: m1)"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_closing_needs_a_reason(walk, barnets_lov, reason):
    driver = walk(barnets_lov, Phase.INVESTIGATION)
    data = {} if reason is None else {"reason": reason}
    refusal = driver.refused("close", data)
    assert english(refusal) == "closing a case needs a reason"


@pytest.mark.parametrize("phase", [p for p in Phase if p is not Phase.CLOSURE])
def test_a_case_may_be_closed_from_every_open_phase(walk, barnets_lov, phase):
    driver = walk(barnets_lov, phase)
    outcome = driver.fire("close", {"reason": "Familien er fraflyttet kommunen"})
    assert outcome.to_phase is Phase.CLOSURE
    assert driver.case.close_reason == "Familien er fraflyttet kommunen"


def test_closing_cancels_every_open_deadline_and_ends_every_measure(walk, barnets_lov):
    # given a case in follow-up with deadlines of the case and of two measures open
    driver = walk(
        barnets_lov,
        Phase.FOLLOW_UP,
        measures=[{"type": "practical_support", "package": "red"}, {"type": "safety_plan"}],
        inquiry_duties=False,
    )
    open_before = {d.key for d in driver.case.deadlines if d.status is OPEN}
    assert {"acknowledgement", "follow_up:m1:1", "follow_up:m2:1"} <= open_before
    # when the case is closed
    driver.fire("close", {"reason": "Familien er fraflyttet kommunen"})
    # then no deadline is left open and every measure ended with the reason
    for key in open_before - {"package_review:m1"}:
        assert driver.deadline(key).status is CANCELLED
    assert driver.deadline("package_review:m1").status is MET  # ending is what it asks for
    assert {m.end_reason for m in driver.case.measures} == {"Familien er fraflyttet kommunen"}


@pytest.mark.parametrize("event", ["accept", "close", "grant", "record_follow_up"])
def test_closure_is_final(walk, barnets_lov, event):
    driver = walk(barnets_lov, Phase.CLOSURE)
    refusal = driver.refused(event, {"reason": "igen"} if event == "close" else None)
    assert english(refusal) == f"{event} is not possible in phase closure"
    assert refusal.allowed == []


# --- event time, roles and data -----------------------------------------------------------


def test_event_dated_before_the_previous_event_is_refused(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)  # accepted 31 Oct 2025 10:00 UTC
    refusal = driver.refused(
        "record_consent", {"by": "custody_holder"}, at=datetime(2025, 10, 31, 9, 59, tzinfo=UTC)
    )
    assert english(refusal) == (
        "the event time 2025-10-31T09:59:00+00:00 is before the case's previous event "
        "(2025-10-31T10:00:00+00:00)"
    )


def test_event_at_the_same_instant_as_the_previous_one_is_accepted(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    driver.fire("record_consent", {"by": "custody_holder"}, at=driver.at)
    assert driver.case.consents == {"custody_holder"}


def test_event_dated_in_the_future_is_refused(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    now = datetime(2025, 11, 3, 12, tzinfo=UTC)
    refusal = driver.refused(
        "record_consent", {"by": "custody_holder"}, at=now + timedelta(seconds=1), now=now
    )
    assert english(refusal) == "the event time 2025-11-03T12:00:01+00:00 is in the future"


def test_event_time_without_offset_is_refused(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    refusal = driver.refused("record_consent", {"by": "child"}, at=datetime(2025, 11, 3, 12))
    assert english(refusal) == "the event time needs a UTC offset"


def test_event_time_given_in_copenhagen_is_kept_in_utc(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.CLARIFICATION)
    outcome = driver.fire(
        "record_consent", {"by": "child"}, at=datetime(2025, 11, 3, 10, tzinfo=CPH)
    )
    assert outcome.at == datetime(2025, 11, 3, 9, tzinfo=UTC)
    assert outcome.at.utcoffset() == timedelta(0)
    assert driver.case.last_event_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMIN])
def test_auditor_and_admin_may_not_record_events(walk, barnets_lov, role):
    driver = walk(barnets_lov, Phase.INQUIRY)
    refusal = driver.refused("accept", role=role)
    assert english(refusal) == f"role {role} may not record accept"
    assert refusal.allowed == INQUIRY_EVENTS


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ("reopen", "unknown event"),
        ("open_case", "not an event a person fires on a case"),
        ("migrate_rulebook", "not an event a person fires on a case"),
    ],
)
def test_only_case_events_may_be_fired(walk, barnets_lov, event, reason):
    driver = walk(barnets_lov, Phase.INQUIRY)
    refusal = driver.refused(event)
    assert (refusal.event, english(refusal)) == (event, reason)


def test_event_of_another_phase_is_refused_with_the_allowed_ones(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.INQUIRY)
    refusal = driver.refused("grant", {"measures": [{"type": "safety_plan"}]})
    assert english(refusal) == "grant is not possible in phase inquiry"
    assert refusal.allowed == INQUIRY_EVENTS
    assert (
        "allowed now: assess_urgency, acknowledge, accept, screen, record_consent, "
        "record_child_conversation, record_child_conversation_exception, receive_notification, "
        "close"
    ) in str(refusal)


ALLOWED_UNDER_BARNETS_LOV = {
    Phase.INQUIRY: INQUIRY_EVENTS,
    Phase.CLARIFICATION: CLARIFICATION_EVENTS,
    Phase.INVESTIGATION: [
        "record_consent",
        "decide_without_consent",
        "decide_compulsory_examination",
        "record_provisional_assessment",
        "conclude",
        # Barnets Lov §32 stk. 4: a supportive measure may start while the investigation runs.
        "grant",
        "start_measures",
        "record_follow_up",
        "end_measure",
        "record_child_conversation",
        "record_child_conversation_exception",
        "receive_notification",
        "close",
    ],
    Phase.ACTION_PLAN: [
        "record_consent",
        "submit_plan",
        "defer_plan",
        "record_follow_up",
        "end_measure",
        "record_child_conversation",
        "record_child_conversation_exception",
        "receive_notification",
        "close",
    ],
    Phase.DECISION: DECISION_EVENTS,
    Phase.IMPLEMENTATION: [
        "submit_plan",
        "start_measures",
        "record_follow_up",
        "end_measure",
        "record_child_conversation",
        "record_child_conversation_exception",
        "record_complaint",
        "receive_notification",
        "close",
    ],
    Phase.FOLLOW_UP: [
        "submit_plan",
        "record_follow_up",
        "revise_plan",
        "end_measure",
        "record_child_conversation",
        "record_child_conversation_exception",
        "record_complaint",
        "receive_notification",
        "close",
    ],
}


@pytest.mark.parametrize(("phase", "allowed"), ALLOWED_UNDER_BARNETS_LOV.items())
def test_refusal_lists_the_events_the_phase_allows(walk, barnets_lov, phase, allowed):
    driver = walk(barnets_lov, phase)
    wrong = "conclude" if phase is Phase.INQUIRY else "accept"
    refusal = driver.refused(wrong)
    assert english(refusal) == f"{wrong} is not possible in phase {phase}"
    assert refusal.allowed == allowed


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "acute: Field required"),
        ({"acute": "kanske"}, "acute: Input should be a valid boolean"),
        ({"acute": True, "urgent": True}, "urgent: Extra inputs are not permitted"),
    ],
)
def test_invalid_event_data_is_refused(walk, barnets_lov, data, fragment):
    driver = walk(barnets_lov, Phase.INQUIRY)
    refusal = driver.refused("assess_urgency", data)
    assert english(refusal).startswith("invalid data: ")
    assert fragment in english(refusal)


# --- opening a case -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "reason"),
    [
        (
            {"child_ref": "010203-1234"},
            "child_ref must be a pseudonymous reference, not empty and not a CPR number",
        ),
        ({"aware_at": datetime(2031, 1, 1, tzinfo=UTC)}, "is in the future"),
        ({"birth_date": date(2025, 11, 1)}, "the birth date is after the awareness date"),
        (
            {"source": Source.APPLICATION, "notifier": Notifier.PRIVATE},
            "a notifier is given only for a notification",
        ),
    ],
)
def test_a_case_with_impossible_facts_is_not_opened(barnets_lov, facts, reason):
    opening = {
        "municipality": "demo",
        "rulebook": barnets_lov,
        "child_ref": "C-1",
        "birth_date": date(2012, 3, 15),
        "aware_at": datetime(2025, 10, 31, 9, tzinfo=UTC),
        "source": Source.NOTIFICATION,
        "notifier": Notifier.PROFESSIONAL,
        "now": datetime(2030, 1, 1, tzinfo=UTC),
    } | facts
    with pytest.raises(EventRefused) as refusal:
        open_case(**opening)
    assert reason in english(refusal.value)


def test_opened_case_is_pinned_to_its_rulebook_version_in_utc(barnets_lov):
    case, outcome = open_case(
        municipality="demo",
        rulebook=barnets_lov,
        child_ref="C-1",
        birth_date=date(2012, 3, 15),
        aware_at=datetime(2025, 10, 31, 10, tzinfo=timezone(timedelta(hours=1))),
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
        now=datetime(2030, 1, 1, tzinfo=UTC),
    )
    assert (case.rulebook_id, case.rulebook_version) == ("default", "2024.1")
    assert case.aware_at == datetime(2025, 10, 31, 9, tzinfo=UTC)
    assert case.aware_at.utcoffset() == timedelta(0)
    assert {d.key for d in outcome.touched_deadlines} == {"urgent_assessment", "acknowledgement"}


# --- explanations -------------------------------------------------------------------------


def test_investigation_deadline_explains_source_anchor_and_arithmetic(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.INVESTIGATION)
    explanation = english_explanation(driver.deadline("investigation").explanation)
    assert "Barnets Lov §20 stk. 3 (SEL §50 stk. 7)" in explanation
    assert "Counted from awareness" in explanation
    assert "31 Oct 2025 + 4 calendar months → 28 Feb 2026 (clamped to month end)" in explanation


def test_receipt_deadline_explains_the_days_it_skips(new_case, barnets_lov):
    explanation = english_explanation(new_case(barnets_lov).deadline("acknowledgement").explanation)
    assert "Barnets Lov, kommunens behandling af underretninger (SEL §155 b stk. 1)" in explanation
    assert (
        "31 Oct 2025 + 6 working days → 10 Nov 2025, skipping 1–2 Nov (weekend), 8–9 Nov (weekend)"
        in explanation
    )


def test_24_hour_deadline_explains_elapsed_hours(new_case, barnets_lov):
    explanation = english_explanation(
        new_case(barnets_lov).deadline("urgent_assessment").explanation
    )
    assert "31 Oct 2025 10:00 CET + 24 elapsed hours → 1 Nov 2025 10:00 CET" in explanation


def test_follow_up_deadline_explains_its_cadence_and_anchor(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.IMPLEMENTATION)
    driver.fire("start_measures", at=MONDAY)
    explanation = english_explanation(driver.deadline("follow_up:m1:1").explanation)
    assert (
        "Vejledende serviceniveau for forebyggende indsatser: første opfølgning efter 4 uger, "
        "derefter hver 3. måned"
    ) in explanation
    assert "Counted from start of measure m1, 3 Nov 2025:" in explanation
    assert "3 Nov 2025 + 4 weeks (28 calendar days) → 1 Dec 2025" in explanation


def test_every_deadline_names_its_source_and_arithmetic(walk, barnets_lov, held, plan):
    # given a case taken through every deadline the default rulebook has
    driver = walk(barnets_lov, Phase.ACTION_PLAN)
    driver.fire("defer_plan")
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    driver.fire("grant", {"measures": [{"type": "practical_support", "package": "red"}]})
    driver.fire("start_measures")
    driver.fire("record_follow_up", held("m1"))
    rules = {d.rule for d in driver.case.deadlines}
    assert rules == {
        "urgent_assessment",
        "acknowledgement",
        "investigation",
        "provisional_assessment",
        "decision",
        "action_plan",
        "follow_up",
        "package_review",
        # Barnets Lov §5 stk. 3: the grant was preceded by a conversation with the child.
        "child_conversation",
    }
    # then each explanation names the rule's source, its anchor and the arithmetic
    for deadline in driver.case.deadlines:
        assert deadline.source
        assert f"({deadline.source})" in english_explanation(deadline.explanation)
        assert "Counted from " in english_explanation(deadline.explanation)
        assert " → " in english_explanation(deadline.explanation)
        assert (deadline.responsible, deadline.escalated_to) == ("caseworker", "team_leader")


# --- measures while the investigation runs (Barnets Lov §32 stk. 4, §95 stk. 2) ----------------


def _started_during_investigation(walk, rulebook):
    # A notification of Friday 31 Oct 2025 under investigation; practical support granted and
    # started on Monday 3 Nov 2025, 10:00 and 11:00 CET.
    driver = walk(rulebook, Phase.INVESTIGATION)
    driver.fire("record_child_conversation", CHILD_CONVERSATION, at=driver.at)
    granted = driver.fire("grant", {"measures": SUPPORT_RED}, at=MONDAY)
    assert granted.to_phase is Phase.INVESTIGATION
    started = driver.fire("start_measures", at=MONDAY + timedelta(hours=1))
    assert started.to_phase is Phase.INVESTIGATION
    return driver


def test_a_supportive_measure_starts_while_the_investigation_runs(walk, barnets_lov):
    driver = _started_during_investigation(walk, barnets_lov)
    # then its first follow-up is due 3 months after the start (§95 stk. 2 nr. 2): Tuesday
    # 3 Feb 2026, end of day CET — not the package's 4 weeks
    first = driver.deadline("follow_up:m1:1")
    assert first.due_at == datetime(2026, 2, 3, 22, 59, 59, tzinfo=UTC)
    assert first.source.startswith("Barnets Lov §95 stk. 2 nr. 1–2")
    # and the investigation's own clock is untouched
    assert driver.deadline("investigation").status is OPEN


def test_the_investigations_end_brings_the_first_follow_up_forward(walk, barnets_lov, held):
    driver = _started_during_investigation(walk, barnets_lov)
    # when the investigation concludes on Wednesday 14 Jan 2026, 10:00 CET
    driver.fire("conclude", {"measures_needed": True}, at=datetime(2026, 1, 14, 9, tzinfo=UTC))
    # then the first follow-up is due at the end of that day (§95 stk. 2 nr. 1), said so
    first = driver.deadline("follow_up:m1:1")
    assert first.due_at == datetime(2026, 1, 14, 22, 59, 59, tzinfo=UTC)
    assert first.explanation.event == "conclude"
    assert driver.case.phase is Phase.ACTION_PLAN
    # and a follow-up that day meets it
    driver.fire("record_follow_up", held("m1"), at=datetime(2026, 1, 14, 15, tzinfo=UTC))
    assert driver.deadline("follow_up:m1:1").status is MET


def test_an_investigation_ending_after_3_months_leaves_the_first_follow_up(walk, barnets_lov):
    driver = _started_during_investigation(walk, barnets_lov)
    driver.fire("record_provisional_assessment", at=datetime(2026, 2, 20, 9, tzinfo=UTC))
    driver.fire("conclude", {"measures_needed": True}, at=datetime(2026, 2, 25, 9, tzinfo=UTC))
    assert driver.deadline("follow_up:m1:1").due_at == datetime(2026, 2, 3, 22, 59, 59, tzinfo=UTC)


def test_a_follow_up_is_held_while_the_investigation_runs(walk, barnets_lov, held):
    driver = _started_during_investigation(walk, barnets_lov)
    held_at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert driver.fire("record_follow_up", held("m1"), at=held_at).to_phase is (Phase.INVESTIGATION)
    assert driver.deadline("follow_up:m1:1").status is MET


def test_only_measures_the_rulebook_names_start_during_the_investigation(walk, barnets_lov):
    driver = walk(barnets_lov, Phase.INVESTIGATION)
    refusal = driver.refused("grant", {"measures": [{"type": "placement"}]}, role=Role.TEAM_LEADER)
    assert refusal.refusals[0].code is RefusalCode.NOT_DURING_INVESTIGATION
    # nothing granted, nothing to start
    assert driver.refused("start_measures").refusals[0].code is RefusalCode.NOTHING_TO_START


def test_the_old_law_starts_no_measure_during_the_investigation(walk, sel):
    driver = walk(sel, Phase.INVESTIGATION)
    refusal = driver.refused("grant", {"measures": SUPPORT_RED})
    assert refusal.refusals[0].code is RefusalCode.NOT_POSSIBLE_IN_PHASE


def test_the_plan_under_barnets_lov_needs_goals_and_purpose_not_a_duration(walk, barnets_lov):
    # Barnets Lov §92 stk. 1: concrete goals in line with the measure's overall purpose
    driver = walk(barnets_lov, Phase.ACTION_PLAN)
    refusal = driver.refused("submit_plan", {"purpose": "Trivsel"})
    assert english(refusal).startswith("the action plan lacks goals (Barnets Lov §92 stk. 1")
    outcome = driver.fire("submit_plan", {"purpose": "Trivsel", "goals": ["Fremmøde"]})
    assert outcome.to_phase is Phase.DECISION


# --- the child reference is pseudonymous (issue 12, point 8) ------------------------------------


@pytest.mark.parametrize(
    "child_ref",
    [
        "0101141234",
        "010114-1234",
        # Caught now, let through before (issue 12): other separators, and ten digits inside
        "010114 1234",
        "010114.1234",
        "010114/1234",
        " 01 01 14 12 34 ",
        "BARN-0101141234",
        # Invisible characters: zero width, bidi override, NUL, a line separator
        "DEMO-00\u200b002",
        "DEMO-\u202e20000",
        "DEMO\x0000002",
        "DEMO\u202800002",
        "",
        "   ",
    ],
)
def test_a_child_reference_that_may_be_a_cpr_number_or_hides_characters_is_refused(
    barnets_lov, child_ref
):
    with pytest.raises(EventRefused) as refused:
        open_case(
            municipality="demo",
            rulebook=barnets_lov,
            child_ref=child_ref,
            birth_date=date(2016, 5, 1),
            aware_at=datetime(2026, 1, 5, 9, tzinfo=UTC),
            source=Source.INQUIRY,
            notifier=None,
            now=datetime(2026, 1, 6, tzinfo=UTC),
        )
    assert refused.value.refusals[0].code is RefusalCode.CHILD_REF_NOT_PSEUDONYMOUS


def test_a_child_reference_is_stored_normalised(barnets_lov):
    # "Å" written as A + combining ring is the same reference as the precomposed "Å" (NFC)
    case, _ = open_case(
        municipality="demo",
        rulebook=barnets_lov,
        child_ref=" BARN-A\u030aRHUS-17 ",
        birth_date=date(2016, 5, 1),
        aware_at=datetime(2026, 1, 5, 9, tzinfo=UTC),
        source=Source.INQUIRY,
        notifier=None,
        now=datetime(2026, 1, 6, tzinfo=UTC),
    )
    assert case.child_ref == "BARN-\u00c5RHUS-17"
