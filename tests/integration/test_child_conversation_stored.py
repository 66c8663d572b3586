"""The child conversation through the service layer, on SQLite and PostgreSQL (Barnets Lov §5
stk. 3–4): the guard refuses without a trace, the case keeps the instants (facts only), the
exception's ground stays in the audit record, and `case show` reads it back."""

from __future__ import annotations

import json

import pytest

from sagsflow.read.cases import show_case
from statemachine.calendar import local_iso
from statemachine.errors import EventRefused
from statemachine.phases import Phase

RED_SUPPORT = {"measures": [{"type": "practical_support", "package": "red"}]}


def test_a_grant_waits_for_the_child_conversation_and_the_case_keeps_its_instant(
    cases, context, rows
):
    # Given a case at the decision (default@2024.1, Barnets Lov), nobody has talked with the child
    case = cases.at_phase(Phase.DECISION)
    before = rows.snapshot(case.id)

    # When the grant is fired, it is refused, naming §5, and nothing is written
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "grant", RED_SUPPORT)
    assert refused.value.code == "child_conversation_missing"
    assert refused.value.refusals[0].params["source"].startswith("Barnets Lov §5 stk. 3–4")
    assert rows.snapshot(case.id) == before

    # When the conversation is recorded (without the parents), the grant goes through
    talked = cases.fire(
        case,
        "record_child_conversation",
        {"without_parents": True, "support_person_offered": True},
    )
    held_at = case.last_at
    assert talked.to_phase == "decision"
    assert cases.fire(case, "grant", RED_SUPPORT).to_phase == "implementation"

    # Then the case row keeps the instant and the two facts, nothing else
    facts = rows.case(case.id).facts
    facts = json.loads(facts) if isinstance(facts, str) else facts
    [stored] = facts["child_conversations"]
    assert set(stored) == {"at", "without_parents", "support_person_offered"}
    assert stored["without_parents"] is True
    # … the audit record holds the payload and the legal basis
    record = next(r for r in rows.audit(case.id) if r.event == "record_child_conversation")
    assert record.legal_basis.startswith("Barnets Lov §5 stk. 3")
    # … and `case show` reads it back
    shown = show_case(context, case.id)
    assert shown["child_conversation_at"] == local_iso(held_at)
    assert shown["child_conversation_without_parents"] is True
    assert shown["child_conversation_exception_at"] is None


def test_the_exception_keeps_its_ground_in_the_audit_record_only(cases, context, rows):
    # Given a case at the decision
    case = cases.at_phase(Phase.DECISION)
    # When the exception is recorded with its ground (Barnets Lov §5 stk. 4)
    ground = "Barnet er 4 måneder gammelt"
    cases.fire(case, "record_child_conversation_exception", {"reason": ground})
    excepted_at = case.last_at
    # Then the refusal does not come: the grant goes through on the exception
    assert cases.fire(case, "grant", RED_SUPPORT).to_phase == "implementation"
    # … the ground is in the audit record, not among the case's facts
    record = next(
        r for r in rows.audit(case.id) if r.event == "record_child_conversation_exception"
    )
    payload = json.loads(record.payload) if isinstance(record.payload, str) else record.payload
    assert payload == {"reason": ground}
    assert ground not in json.dumps(rows.case(case.id).facts, ensure_ascii=False)
    shown = show_case(context, case.id)
    assert shown["child_conversation_exception_at"] == local_iso(excepted_at)
    assert shown["child_conversation_at"] is None
