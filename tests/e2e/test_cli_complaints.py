"""Complaints and a further notification through the CLI (issue 11), as a caseworker types
them: the refusal stays open for the complaint period, the complaint's reassessment is due 4
weeks from its receipt (retssikkerhedsloven §66), and `case open` for a child with an open case
attaches the notification (Barnets Lov §136, §137 stk. 1) unless --new-case."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.conftest import Sagsflow

OPENING = [
    "case", "open",
    "--child-ref", "BARN-0811",
    "--aware-at", "2026-01-12T10:00:00+01:00",
    "--source", "notification",
    "--notifier", "private",
    "--worker", "anna",
    "--team", "nord",
    "--birth-date", "2015-06-01",
    "--actor", "anna",
]  # fmt: skip
STEPS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("accept", "2026-01-13T10:00:00+01:00", None),
    ("record_consent", "2026-01-14T10:00:00+01:00", {"by": "custody_holder"}),
    ("open_investigation", "2026-01-15T10:00:00+01:00", None),
    ("conclude", "2026-02-16T10:00:00+01:00", {"measures_needed": True}),
    ("submit_plan", "2026-02-17T10:00:00+01:00", {"purpose": "Trivsel", "goals": ["Skole"]}),
    ("record_party_hearing", "2026-02-24T10:00:00+01:00", None),
    (
        "record_child_conversation",
        "2026-02-25T10:00:00+01:00",
        {"without_parents": True, "support_person_offered": True},
    ),
]


def test_a_complaint_about_a_refusal_is_reassessed_and_forwarded(sagsflow: Sagsflow) -> None:
    case_id = sagsflow.json(*OPENING)["id"]
    for event, at, data in STEPS:
        sagsflow.fire(case_id, event, at, data)
    # The child is 10: the refusal's guidance must address the child too (Barnets Lov §3)
    reason = sagsflow.refused(
        case_id, "refuse", "2026-03-02T10:00:00+01:00", {"complaint_guidance": True}
    )
    assert "§3" in reason
    refusal = sagsflow.fire(
        case_id,
        "refuse",
        "2026-03-02T10:00:00+01:00",
        {"complaint_guidance": True, "complaint_guidance_child": True},
    )
    assert refusal["phase"] == "follow_up"

    complaint = sagsflow.fire(
        case_id,
        "record_complaint",
        "2026-03-10T12:00:00+01:00",
        {"decision_seq": refusal["audit_seq"], "received_at": "2026-03-10T11:00:00+01:00"},
    )["audit_seq"]
    view = sagsflow.show(case_id)
    assert view["complaints"] == [
        {
            "complaint": complaint,
            "decision_seq": refusal["audit_seq"],
            "decision": "refuse",
            "received_at": "2026-03-10T11:00:00+01:00",
            "late": False,
            "direct": False,
            "status": "awaiting_reassessment",
            "reassessment_outcome": None,
            "appeal_outcome": None,
        }
    ]
    [due] = [d["due_at"] for d in view["deadlines"] if d["rule"] == "reassessment"]
    assert due == "2026-04-07T23:59:59+02:00"

    sagsflow.fire(
        case_id,
        "reassess",
        "2026-03-20T10:00:00+01:00",
        {"complaint": complaint, "outcome": "upheld", "reason": "Behovet er dækket"},
    )
    sagsflow.fire(
        case_id, "forward_complaint", "2026-03-23T10:00:00+01:00", {"complaint": complaint}
    )
    assert sagsflow.show(case_id)["complaints"][0]["status"] == "forwarded"


def test_case_open_attaches_a_notification_to_the_open_case(sagsflow: Sagsflow) -> None:
    case_id = sagsflow.json(*OPENING)["id"]
    again = [*OPENING]
    again[again.index("--aware-at") + 1] = "2026-01-20T08:30:00+01:00"
    attached = sagsflow.json(*again)
    assert (attached["id"], attached["event"]) == (case_id, "receive_notification")
    assessments = [
        d["due_at"] for d in sagsflow.show(case_id)["deadlines"] if d["rule"] == "urgent_assessment"
    ]
    assert assessments == ["2026-01-13T10:00:00+01:00", "2026-01-21T08:30:00+01:00"]
    separate = sagsflow.json(*again, "--new-case")
    assert (separate["event"], separate["id"] != case_id) == ("open_case", True)
