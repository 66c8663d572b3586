"""Supervision visits and the committee's renewal through the CLI (issue 11)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.conftest import Sagsflow

OPENING = [
    "case", "open",
    "--child-ref", "BARN-0043",
    "--aware-at", "2026-02-01T10:00:00+01:00",
    "--source", "notification",
    "--notifier", "private",
    "--worker", "anna",
    "--team", "nord",
    "--birth-date", "2014-05-10",
    "--actor", "anna",
]  # fmt: skip
PLAN = {"purpose": "Tryg opvækst", "goals": ["Trives"], "expected_duration_months": 12}


def _to_decision(cli: Sagsflow, case_id: int, *, consent: bool) -> None:
    steps: list[tuple[str, str, dict[str, Any] | None]] = [
        ("accept", "2026-02-02T10:00:00+01:00", None),
    ]
    if consent:
        steps.append(("record_consent", "2026-02-03T10:00:00+01:00", {"by": "custody_holder"}))
    steps += [
        ("open_investigation", "2026-02-04T10:00:00+01:00", None),
        ("conclude", "2026-02-16T10:00:00+01:00", {"measures_needed": True}),
        ("submit_plan", "2026-02-17T10:00:00+01:00", PLAN),
    ]
    for event, at, data in steps:
        cli.fire(case_id, event, at, data)


def test_a_foster_placement_is_visited_and_a_visit_without_the_child_refused(
    sagsflow: Sagsflow,
) -> None:
    case_id = sagsflow.json(*OPENING)["id"]
    _to_decision(sagsflow, case_id, consent=True)
    grant = {"measures": [{"type": "foster_family_placement"}]}
    sagsflow.fire(
        case_id,
        "record_child_conversation",
        "2026-02-20T09:00:00+01:00",
        {"without_parents": False, "support_person_offered": True},
    )
    sagsflow.fire(case_id, "grant", "2026-02-20T10:00:00+01:00", grant, role="team_leader")
    sagsflow.fire(case_id, "start_measures", "2026-03-01T10:00:00+01:00")
    view = sagsflow.show(case_id)
    assert "record_supervision_visit" in view["allowed_events"]
    [visit] = [d for d in view["deadlines"] if d["rule"] == "supervision_visit"]
    assert visit["due_at"] == "2026-09-01T23:59:59+02:00"

    no_child = {"measure_id": "m1", "child_conversation": False, "without_staff": True}
    reason = sagsflow.refused(
        case_id, "record_supervision_visit", "2026-07-20T10:00:00+02:00", no_child
    )
    assert "§156 stk. 5" in reason

    held = no_child | {"child_conversation": True}
    sagsflow.fire(case_id, "record_supervision_visit", "2026-07-20T10:00:00+02:00", held)
    visits = [d for d in sagsflow.show(case_id)["deadlines"] if d["rule"] == "supervision_visit"]
    assert [(v["status"], v["due_at"]) for v in visits] == [
        ("met", "2026-09-01T23:59:59+02:00"),
        ("open", "2027-01-20T23:59:59+01:00"),
    ]


def test_the_committee_renews_a_placement_without_consent(sagsflow: Sagsflow) -> None:
    case_id = sagsflow.json(*OPENING)["id"]
    _to_decision(sagsflow, case_id, consent=False)
    grant = {"measures": [{"type": "foster_family_placement", "without_consent": True}]}
    sagsflow.fire(
        case_id,
        "record_child_conversation",
        "2026-03-02T09:00:00+01:00",
        {"without_parents": False, "support_person_offered": True},
    )
    sagsflow.fire(case_id, "grant", "2026-03-02T10:00:00+01:00", grant, role="committee")
    [renewal] = [d for d in sagsflow.show(case_id)["deadlines"] if d["rule"] == "committee_renewal"]
    assert renewal["due_at"] == "2027-03-02T23:59:59+01:00"

    # The CLI judges against the wall clock: renewed early, on 16 November 2026, 2 years on.
    renew = {"measure_id": "m1"}
    sagsflow.refused(case_id, "renew_placement_without_consent", "2026-11-16T10:00:00+01:00", renew)
    # The committee hears the child of 12 before it decides again (Barnets Lov §142 stk. 2).
    reason = sagsflow.refused(
        case_id, "renew_placement_without_consent", "2026-11-16T10:00:00+01:00", renew,
        role="committee",
    )  # fmt: skip
    assert "§142 stk. 2" in reason
    sagsflow.fire(
        case_id,
        "record_child_conversation",
        "2026-11-16T09:00:00+01:00",
        {"without_parents": True, "support_person_offered": True},
    )
    sagsflow.fire(
        case_id, "renew_placement_without_consent", "2026-11-16T10:00:00+01:00", renew,
        role="committee",
    )  # fmt: skip
    renewals = [d for d in sagsflow.show(case_id)["deadlines"] if d["rule"] == "committee_renewal"]
    assert [(r["status"], r["due_at"]) for r in renewals] == [
        ("met", "2027-03-02T23:59:59+01:00"),
        ("open", "2028-11-16T23:59:59+01:00"),
    ]
