"""An act is judged under the law in force on its date (docs/decisions/015).

A case is pinned to the version in force on its awareness date; a later version that takes over
open cases (`applies_to_open_cases: true`, a change of law such as Barnets Lov from 1 January
2024) moves the case, audited, in the transaction of its first event on or after that version's
first day, and the event is judged under it. A municipality's own service-level change
(`applies_to_open_cases: false`) moves nothing. Cases are walked through the service layer on
SQLite and PostgreSQL; the extra versions are written to a rulebook directory of the test's own.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from conversation import CHILD_CONVERSATION
from sqlalchemy import select

from models.tables import AccessRecord
from rulebooks import SHIPPED, read_catalogue
from sagsflow.read.audit import verify_audit
from sagsflow.read.cases import show_case
from sagsflow.usecases.access import Asked
from sagsflow.usecases.cases import fire_event_as, read_case_options
from sagsflow.usecases.migration import migrate_due
from statemachine.errors import EventRefused
from statemachine.phases import Role
from statemachine.visibility import Channel, Principal

CPH = ZoneInfo("Europe/Copenhagen")
ACCESS_LOG = AccessRecord.__table__  # type: ignore[attr-defined]
PLAN = {
    "purpose": "Stabil hverdag i hjemmet",
    "goals": ["Barnet kommer i skole hver dag"],
    "expected_duration_months": 6,
}
RED_SUPPORT = {"measures": [{"type": "practical_support", "package": "red"}]}
HELD = {
    "measure_id": "m1",
    "spoke_with_provider": True,
    "spoke_with_parents": True,
    "child_heard": True,
    "plan_revision_decided": True,
    "next_follow_up": {"as_service_level": True, "reason": "Kommunens kadence passer til sagen"},
}
# rulebooks/default/2024.1.yaml, legal_basis.grant, and the measure's own legal_basis
BARNETS_LOV_GRANT = (
    "Barnets Lov §32/§46/§47 (SEL §52 stk. 2–3, §58): mindst indgribende tilstrækkelige indsats; "
    "Barnets Lov §32 stk. 1 nr. 2 (SEL §52 stk. 3 nr. 2)"
)


def cph(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CPH)


def walk_to_decision_in_december_2023(cases):
    """A case known on Friday 15 December 2023 (SEL: default@2014.1), walked under SEL to the
    decision: accepted that day, investigated 18–19 December, plan submitted 20 December."""
    case = cases.open(aware_at=cph(2023, 12, 15))
    cases.fire(case, "accept", at=cph(2023, 12, 15, 14))
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=cph(2023, 12, 18))
    cases.fire(case, "open_investigation", at=cph(2023, 12, 18, 11))
    cases.fire(case, "conclude", {"measures_needed": True}, at=cph(2023, 12, 19))
    cases.fire(case, "submit_plan", PLAN, at=cph(2023, 12, 20))
    return case


def history(context, case) -> list[tuple[str, str]]:
    return [(h["event"], h["rulebook"]) for h in show_case(context, case.id)["history"]]


def deadline(context, case, rule: str) -> dict[str, Any]:
    [found] = [d for d in show_case(context, case.id)["deadlines"] if d["rule"] == rule]
    return found


# --- the shipped change of law: SEL → Barnets Lov on 1 January 2024 ------------------------------


def test_a_grant_after_barnets_lov_took_effect_moves_the_case_first(cases, context, rows):
    # Given a case known in December 2023 under SEL, in the decision phase since 20 December
    case = walk_to_decision_in_december_2023(cases)
    assert rows.case(case.id).rulebook_version == "2014.1"
    before = rows.case(case.id).version

    # When the measure is granted on 1 March 2024, under Barnets Lov
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    accepted = cases.fire(case, "grant", RED_SUPPORT, at=cph(2024, 3, 1))

    # Then the audit trail holds the move, then the grant, both under Barnets Lov's version
    assert history(context, case) == [
        ("open_case", "default@2014.1"),
        ("accept", "default@2014.1"),
        ("record_consent", "default@2014.1"),
        ("open_investigation", "default@2014.1"),
        ("conclude", "default@2014.1"),
        ("submit_plan", "default@2014.1"),
        # The conversation with the child, held under SEL in December 2023 (in the window)
        ("record_child_conversation", "default@2014.1"),
        ("migrate_rulebook", "default@2024.1"),
        ("grant", "default@2024.1"),
    ]
    move, grant = rows.audit(case.id)[-2:]
    # … the move dated with the grant (1 March 2024, 10:00 Copenhagen = 09:00 UTC), in the phase
    assert move.event_at == datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert (move.from_phase, move.to_phase) == ("decision", "decision")
    assert move.legal_basis == "rulebook default@2024.1 (Barnets Lov, effective 2024-01-01)"
    assert (move.actor, move.role) == ("caseworker-anna", "caseworker")
    # … its payload as `rulebook migrate` writes it: the decision deadline (20 December 2023 +
    # 4 weeks = 17 January 2024, the same under both versions) re-armed, not moved
    payload = json.loads(move.payload)
    assert (payload["from"], payload["to"], payload["blocked"]) == (
        "default@2014.1",
        "default@2024.1",
        None,
    )
    assert [
        (d["rule"], d["old_due_at"], d["new_due_at"], d["days"]) for d in payload["deadlines"]
    ] == [("decision", "2024-01-17T23:59:59+01:00", "2024-01-17T23:59:59+01:00", 0)]
    # … and the grant judged under Barnets Lov, not "SEL §52"
    assert grant.legal_basis == BARNETS_LOV_GRANT
    # The case is one version on for each record, and on Barnets Lov's version for good
    # (the conversation one more)
    assert accepted.version == rows.case(case.id).version == before + 3
    assert rows.case(case.id).rulebook_version == "2024.1"
    # and the decision deadline is met late (due 17 January, met 1 March)
    assert deadline(context, case, "decision")["status"] == "met_late"

    # When the measure starts a week later and is followed up, both are Barnets Lov's acts (§32,
    # §95), not SEL §52 and §70: the package cadence's first follow-up is due 4 weeks after
    # 8 March 2024 = 5 April 2024 (summer time from 31 March)
    cases.fire(case, "start_measures", at=cph(2024, 3, 8))
    assert deadline(context, case, "follow_up")["due_at"] == "2024-04-05T23:59:59+02:00"
    cases.fire(case, "record_follow_up", HELD, at=cph(2024, 4, 4))
    started, followed_up = rows.audit(case.id)[-2:]
    assert started.legal_basis == "Barnets Lov §32 (iværksættelse)"
    assert followed_up.legal_basis.startswith("Barnets Lov §95 (SEL §70)")
    # and it moved once: no second move record
    assert [e for e, _ in history(context, case)].count("migrate_rulebook") == 1

    # The hash chain holds over the move
    assert rows.chain_break(case.id) is None
    verified = verify_audit(context)
    assert verified["ok"] is True
    assert verified["records_checked"] == 11  # with the child conversation


def test_the_copenhagen_date_of_the_event_decides_the_move(cases, context, rows):
    # Given a case under SEL in investigation since 28 December 2023
    case = cases.open(aware_at=cph(2023, 12, 20, 9))
    cases.fire(case, "accept", at=cph(2023, 12, 27))
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=cph(2023, 12, 28))
    cases.fire(case, "open_investigation", at=cph(2023, 12, 28, 11))

    # When it is concluded at 00:30 on 1 January 2024 in Copenhagen, still 2023 in UTC
    at = cph(2024, 1, 1, 0, 30)
    assert at.astimezone(UTC).year == 2023
    cases.fire(case, "conclude", {"measures_needed": True}, at=at)

    # Then Barnets Lov's version judged it: the case moved first
    assert history(context, case)[-2:] == [
        ("migrate_rulebook", "default@2024.1"),
        ("conclude", "default@2024.1"),
    ]
    assert show_case(context, case.id)["history"][-1]["legal_basis"] == (
        "Barnets Lov §20 stk. 3 (SEL §50 stk. 7)"
    )
    # and the investigation deadline it met now cites Barnets Lov §20 stk. 3, due as before
    investigation = deadline(context, case, "investigation")
    assert investigation["source"].startswith("Barnets Lov §20 stk. 3 (SEL §50 stk. 7)")
    assert (investigation["due_at"], investigation["status"]) == (
        "2024-04-20T23:59:59+02:00",
        "met",
    )


def test_a_refused_event_leaves_no_move_behind(cases, context, rows):
    # Given the SEL case in the decision phase
    case = walk_to_decision_in_december_2023(cases)
    before = rows.snapshot(case.id)

    # When a grant on 1 March 2024 is refused (the practical support needs its package)
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "grant", {"measures": [{"type": "practical_support"}]}, at=cph(2024, 3, 1))

    # Then nothing is written: no move, no grant, the case still on 2014.1
    assert refused.value.code == "package_required"
    assert rows.snapshot(case.id) == before
    assert rows.case(case.id).rulebook_version == "2014.1"


def test_a_principals_refused_event_leaves_its_access_row_and_no_move(cases, context, rows):
    # Given the SEL case in the decision phase, and its caseworker signed in
    case = walk_to_decision_in_december_2023(cases)
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    anna = Principal("caseworker-anna", Role.CASEWORKER, "team-nord")
    asked = Asked(Channel.API, f"POST /api/v1/cases/{case.id}/events", cases.now)
    before = rows.snapshot(case.id)
    version = rows.case(case.id).version

    # When she fires a grant on 1 March 2024 the rulebook refuses
    with pytest.raises(EventRefused):
        fire_event_as(
            context,
            anna,
            asked,
            case.id,
            "grant",
            at=cph(2024, 3, 1),
            data={"measures": [{"type": "practical_support"}]},
        )
    # Then the case is as it was
    assert rows.snapshot(case.id) == before

    # When she fires a valid one, the move and the grant are hers, in one go
    accepted = fire_event_as(
        context, anna, asked, case.id, "grant", at=cph(2024, 3, 1), data=RED_SUPPORT
    )
    assert accepted.version == version + 2
    move, grant = rows.audit(case.id)[-2:]
    assert (move.event, move.actor, grant.event, grant.actor) == (
        "migrate_rulebook",
        "caseworker-anna",
        "grant",
        "caseworker-anna",
    )
    # and the access log holds both attempts, as they ended
    with context.engine.connect() as connection:
        logged = connection.execute(
            select(ACCESS_LOG.c.what)
            .where(ACCESS_LOG.c.case_id == case.id)
            .order_by(ACCESS_LOG.c.id)
        ).scalars()
        assert list(logged) == [
            f"POST /api/v1/cases/{case.id}/events (grant refused)",
            f"POST /api/v1/cases/{case.id}/events (grant accepted)",
        ]


def test_the_options_offered_now_are_the_new_laws(cases, context):
    # Given a SEL case at the action plan (concluded 19 December 2023)
    case = cases.open(aware_at=cph(2023, 12, 15))
    cases.fire(case, "accept", at=cph(2023, 12, 15, 14))
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=cph(2023, 12, 18))
    cases.fire(case, "open_investigation", at=cph(2023, 12, 18, 11))
    cases.fire(case, "conclude", {"measures_needed": True}, at=cph(2023, 12, 19))
    anna = Principal("caseworker-anna", Role.CASEWORKER, "team-nord")

    # When its caseworker looks at it today (2027), under Barnets Lov
    found = read_case_options(
        context, anna, Asked(Channel.API, f"GET /api/v1/cases/{case.id}", cases.now), case.id
    )

    # Then Barnets Lov §91's deferred plan is offered (SEL §140 has none), and nothing moved
    assert found.rulebook.key == "default@2024.1"
    assert "defer_plan" in {o.event for o in found.options if o.possible}
    assert show_case(context, case.id)["rulebook"] == "default@2014.1"


# --- versions a municipality adds: a change of law, or only a new service level -----------------


def add_version(
    directory: Path,
    version: str,
    effective_from: str,
    *,
    applies_to_open_cases: bool,
    decision_weeks: int = 4,
    without: str | None = None,
) -> None:
    """A further default version, from Barnets Lov's: its own decision deadline (weeks after
    the plan), and without one measure type if asked."""
    raw = yaml.safe_load((SHIPPED / "default" / "2024.1.yaml").read_text(encoding="utf-8"))
    raw["version"], raw["effective_from"] = version, effective_from
    raw["applies_to_open_cases"] = applies_to_open_cases
    raw["deadlines"]["decision"]["duration"] = {"amount": decision_weeks, "unit": "weeks"}
    if without is not None:
        del raw["measures"][without]
    path = directory / "default" / f"{version}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def municipality_rulebooks(cases, tmp_path):
    """`cases` over the shipped rulebooks and the versions the test adds to its own directory."""
    directory = tmp_path / "rulebooks"

    def with_versions(*versions: dict[str, Any]):
        for version in versions:
            add_version(directory, **version)
        catalogue = read_catalogue([directory])
        return replace(cases, context=replace(cases.context, catalogue=catalogue))

    return with_versions


def test_a_new_service_level_takes_no_open_case_over(municipality_rulebooks, rows):
    # Given the municipality's own version of 1 January 2025 (decision within 6 weeks), which
    # says it does not apply to open cases
    cases = municipality_rulebooks(
        {
            "version": "2025.1",
            "effective_from": "2025-01-01",
            "applies_to_open_cases": False,
            "decision_weeks": 6,
        }
    )
    # and a case known on 2 December 2024, in clarification
    case = cases.open(aware_at=cph(2024, 12, 2))
    cases.fire(case, "accept", at=cph(2024, 12, 2, 14))

    # When consent is recorded on 6 January 2025
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=cph(2025, 1, 6))

    # Then the case keeps the version it was opened under: no move
    assert [(r.event, r.rulebook) for r in rows.audit(case.id)] == [
        ("open_case", "default@2024.1"),
        ("accept", "default@2024.1"),
        ("record_consent", "default@2024.1"),
    ]
    # and `rulebook migrate --due` finds nothing to move
    assert migrate_due(cases.context, dry_run=True, actor="admin", now=cases.now)["plans"] == []
    # while a case known from 6 January 2025 is opened under the new service level
    later = cases.open(aware_at=cph(2025, 1, 6))
    assert rows.case(later.id).rulebook_version == "2025.1"


def test_a_change_of_law_re_arms_the_unresolved_deadlines(municipality_rulebooks, context, rows):
    # Given a change of law on 1 January 2025 that gives the decision 6 weeks instead of 4
    cases = municipality_rulebooks(
        {
            "version": "2025.1",
            "effective_from": "2025-01-01",
            "applies_to_open_cases": True,
            "decision_weeks": 6,
        }
    )
    # and a case whose plan was submitted on 5 December 2024: decision due 5 Dec + 4 weeks =
    # 2 January 2025
    case = cases.open(aware_at=cph(2024, 12, 2))
    cases.fire(case, "accept", at=cph(2024, 12, 2, 14))
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=cph(2024, 12, 3))
    cases.fire(case, "open_investigation", at=cph(2024, 12, 3, 11))
    cases.fire(case, "conclude", {"measures_needed": True}, at=cph(2024, 12, 4))
    cases.fire(case, "submit_plan", PLAN, at=cph(2024, 12, 5))
    assert deadline(cases.context, case, "decision")["due_at"] == "2025-01-02T23:59:59+01:00"

    # When the parties are heard on 2 January 2025
    cases.fire(case, "record_party_hearing", at=cph(2025, 1, 2))

    # Then the case moved to 2025.1 first and its decision is due 5 Dec 2024 + 6 weeks =
    # 16 January 2025, 14 days later, still open
    move = rows.audit(case.id)[-2]
    assert (move.event, move.rulebook) == ("migrate_rulebook", "default@2025.1")
    [moved] = json.loads(move.payload)["deadlines"]
    assert (moved["rule"], moved["new_due_at"], moved["days"]) == (
        "decision",
        "2025-01-16T23:59:59+01:00",
        14,
    )
    decision = deadline(cases.context, case, "decision")
    assert (decision["due_at"], decision["status"]) == ("2025-01-16T23:59:59+01:00", "open")
    assert rows.chain_break(case.id) is None


def test_the_latest_change_of_law_in_force_takes_the_case_in_one_move(municipality_rulebooks, rows):
    # Given a change of law on 1 January 2025, and a service level of 1 January 2026 that does
    # not apply to open cases
    cases = municipality_rulebooks(
        {"version": "2025.1", "effective_from": "2025-01-01", "applies_to_open_cases": True},
        {"version": "2026.1", "effective_from": "2026-01-01", "applies_to_open_cases": False},
    )
    # and a case known under SEL, in clarification since 15 December 2023
    case = cases.open(aware_at=cph(2023, 12, 15))
    cases.fire(case, "accept", at=cph(2023, 12, 15, 14))

    # When consent is recorded on 5 March 2026
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=cph(2026, 3, 5))

    # Then the case moved once, straight to 2025.1: the latest version in force that takes open
    # cases over (not 2024.1 on the way, not the service level of 2026)
    assert [(r.event, r.rulebook) for r in rows.audit(case.id)][-2:] == [
        ("migrate_rulebook", "default@2025.1"),
        ("record_consent", "default@2025.1"),
    ]
    assert json.loads(rows.audit(case.id)[-2].payload)["from"] == "default@2014.1"


def test_a_move_blocked_by_an_unknown_measure_refuses_the_event(municipality_rulebooks, rows):
    # Given a change of law on 1 January 2025 whose catalogue has no practical support
    cases = municipality_rulebooks(
        {
            "version": "2025.1",
            "effective_from": "2025-01-01",
            "applies_to_open_cases": True,
            "without": "practical_support",
        }
    )
    # and a case in follow-up with practical support running since 9 December 2024
    case = cases.open(aware_at=cph(2024, 12, 2))
    cases.fire(case, "accept", at=cph(2024, 12, 2, 14))
    cases.fire(case, "record_consent", {"by": "custody_holder"}, at=cph(2024, 12, 3))
    cases.fire(case, "open_investigation", at=cph(2024, 12, 3, 11))
    cases.fire(case, "conclude", {"measures_needed": True}, at=cph(2024, 12, 4))
    cases.fire(case, "submit_plan", PLAN, at=cph(2024, 12, 5))
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    cases.fire(case, "grant", RED_SUPPORT, at=cph(2024, 12, 6))
    cases.fire(case, "start_measures", at=cph(2024, 12, 9))
    before = rows.snapshot(case.id)

    # When a follow-up is recorded on 6 January 2025
    with pytest.raises(EventRefused) as refused:
        cases.fire(case, "record_follow_up", HELD, at=cph(2025, 1, 6))

    # Then it is refused, saying why the case cannot move, and nothing is written
    assert refused.value.code == "migration_blocked"
    assert dict(refused.value.params) == {
        "rulebook": "default@2025.1",
        "pinned": "default@2024.1",
        "effective": "2025-01-01",
        "law": "Barnets Lov",
        "measures": ["practical_support"],
    }
    assert rows.snapshot(case.id) == before
    # while the same follow-up dated 31 December 2024 is still judged under 2024.1
    cases.fire(case, "record_follow_up", HELD, at=cph(2024, 12, 31))
    assert rows.audit(case.id)[-1].rulebook == "default@2024.1"
    # and today (2027) the caseworker is offered no event, each saying why
    anna = Principal("caseworker-anna", Role.CASEWORKER, "team-nord")
    asked = Asked(Channel.API, f"GET /api/v1/cases/{case.id}", cases.now)
    options = read_case_options(cases.context, anna, asked, case.id).options
    assert options and {(o.possible, o.reason.code if o.reason else None) for o in options} == {
        (False, "migration_blocked")
    }
    # and `rulebook migrate --due` reports it blocked, moving nothing
    report = migrate_due(cases.context, dry_run=False, actor="admin", now=cases.now)
    assert (report["cases"], report["blocked"]) == (0, 1)
    assert report["plans"][0]["refusal"]["code"] == "migration_blocked"
    assert rows.case(case.id).rulebook_version == "2024.1"


# --- `migrate_due`: every open case a change of law in force takes over ----------------------


def test_migrate_due_moves_only_open_cases_of_a_version_taken_over(cases, context, rows):
    # Given an open SEL case, a closed SEL case and a case under Barnets Lov
    sel = cases.open(aware_at=cph(2023, 12, 15))
    closed = cases.open(aware_at=cph(2023, 12, 15))
    cases.fire(closed, "close", {"reason": "Familien er flyttet"}, at=cph(2023, 12, 18))
    barnets_lov = cases.open(aware_at=cph(2024, 2, 1))

    # When the due moves are previewed on 31 December 2023, nothing is due yet
    early = migrate_due(context, dry_run=True, actor="admin", now=cph(2023, 12, 31, 12))
    assert (early["on"], early["plans"]) == ("2023-12-31", [])

    # When they are previewed on 1 March 2024, only the open SEL case is listed
    preview = migrate_due(context, dry_run=True, actor="admin", now=cph(2024, 3, 1))
    assert preview["on"] == "2024-03-01"
    assert [(p["case_id"], p["from"], p["to"]) for p in preview["plans"]] == [
        (sel.id, "default@2014.1", "default@2024.1")
    ]
    assert rows.case(sel.id).rulebook_version == "2014.1"

    # When they are made, the case moves with its own record; the others are untouched
    done = migrate_due(context, dry_run=False, actor="admin", now=cph(2024, 3, 1))
    assert (done["dry_run"], done["cases"]) == (False, 1)
    assert [(r.event, r.actor, r.role) for r in rows.audit(sel.id)] == [
        ("open_case", "caseworker-anna", "caseworker"),
        ("migrate_rulebook", "admin", "admin"),
    ]
    assert rows.case(closed.id).rulebook_version == "2014.1"
    assert len(rows.audit(barnets_lov.id)) == 1
    # and a second run has nothing left to move
    assert migrate_due(context, dry_run=False, actor="admin", now=cph(2024, 3, 1))["plans"] == []
    assert verify_audit(context)["ok"] is True
