"""The CLI contract (issue 3, "CLI (a contract…)"), driven through the installed console script.

Every expected value is worked out by hand in the test, from the law and the rulebook's numbers,
never by calling the code under test. Times are Europe/Copenhagen: CET (+01:00) until
29 March 2026, CEST (+02:00) from then until 25 October 2026. Event times lie in the past (the
CLI refuses future events against the wall clock); the sweep and the report take `--now`.

Each subprocess costs most of a second, so the tests that need a database walk one story each
rather than many small ones; they run on SQLite and on PostgreSQL (`database_url`).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # for the reader only: helpers come as fixtures (see conftest.py)
    from tests.e2e.conftest import Sagsflow

REPO = Path(__file__).resolve().parents[2]

PHASES = [
    "inquiry",
    "clarification",
    "investigation",
    "action_plan",
    "decision",
    "implementation",
    "follow_up",
    "closure",
]
# The events the contract allows in inquiry, in the contract's order.
INQUIRY_EVENTS = [
    "assess_urgency",
    "acknowledge",
    "accept",
    "screen",
    "record_consent",
    "record_child_conversation",
    "record_child_conversation_exception",
    # Issue 11: a further notification on the open case (Barnets Lov §136).
    "receive_notification",
    "close",
]
# An application's inquiry also offers telling the applicant of a delay (retssikkerhedsloven §3
# stk. 2: its decision deadline runs from receipt).
APPLICATION_INQUIRY_EVENTS = [
    *INQUIRY_EVENTS[:-4],
    "notify_applicant_of_delay",
    *INQUIRY_EVENTS[-4:],
]
PLAN = {
    "purpose": "Stabil hverdag i hjemmet",
    "goals": ["Barnet kommer i skole hver dag"],
    "expected_duration_months": 6,
}


def by_rule(view: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A case's deadlines grouped by rule, in the order shown."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for deadline in view["deadlines"]:
        grouped.setdefault(deadline["rule"], []).append(deadline)
    return grouped


def due_and_status(view: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    return {
        rule: [(d["due_at"], d["status"]) for d in deadlines]
        for rule, deadlines in by_rule(view).items()
    }


# --- no database needed -----------------------------------------------------------------------


def test_help_exits_zero(sagsflow_without_database: Sagsflow) -> None:
    out = sagsflow_without_database.ok("--help")
    for command in ("db", "case", "sweep", "report", "audit", "rulebook", "diagram"):
        assert command in out


def test_db_upgrade_creates_the_schema_in_an_empty_sqlite_file(
    sagsflow_for: Callable[[str], Sagsflow], tmp_path: Path
) -> None:
    database = tmp_path / "empty.db"
    database.touch()  # an empty file, as `touch sagsflow.db` leaves it
    cli = sagsflow_for(f"sqlite:///{database}")

    # Before the schema exists: a one-line reason that says what to do, not a traceback.
    reason = cli.fails("case", "list")
    assert "sagsflow db upgrade" in reason

    cli.ok("db", "upgrade")

    assert database.stat().st_size > 0
    assert cli.json("case", "list") == []


def test_rulebook_check_and_show(sagsflow_without_database: Sagsflow, tmp_path: Path) -> None:
    cli = sagsflow_without_database
    shipped = REPO / "rulebooks" / "default" / "2024.1.yaml"

    assert "valid" in cli.ok("rulebook", "check", str(shipped))

    # A copy whose practical_support follow-up counts in a unit that does not exist.
    text = shipped.read_text(encoding="utf-8")
    start = text.index("\n  practical_support:\n")
    reference = "    follow_up: *cadence_package\n"
    at = text.index(reference, start)
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        text[:at]
        + "    follow_up:\n"
        + "      first: {amount: 4, unit: fortnights}\n"
        + "      then: [{every: {amount: 3, unit: months}}]\n"
        + text[at + len(reference) :],
        encoding="utf-8",
    )
    reason = cli.fails("rulebook", "check", str(broken))
    assert str(broken) in reason
    assert "measures.practical_support.follow_up.first.unit" in reason
    assert "working_days" in reason  # the reason says which units are allowed
    assert "measures.family_treatment" not in reason  # only the broken entry is named

    # A closed day that no year has (30 February) is refused at once, naming file, path, value
    impossible = tmp_path / "impossible.yaml"
    impossible.write_text(
        text.replace('closed_days: ["12-24", "12-31", "06-05"]', 'closed_days: ["12-24", "02-30"]'),
        encoding="utf-8",
    )
    reason = cli.fails("rulebook", "check", str(impossible))
    assert str(impossible) in reason
    assert "calendar.closed_days.1" in reason and "'02-30'" in reason

    shown = cli.json("rulebook", "show")
    assert (shown["id"], shown["version"], shown["effective_from"]) == (
        "default",
        "2024.1",
        "2024-01-01",
    )
    # Barnets Lov's version takes over the cases open on its first day; SEL's had none before it
    assert shown["applies_to_open_cases"] is True
    assert cli.json("rulebook", "show", "--rulebook", "2014.1")["applies_to_open_cases"] is False
    practical = shown["measures"]["practical_support"]
    assert practical["packages"] == ["red", "orange", "yellow", "green"]
    assert practical["follow_up"]["first"] == {"amount": 4, "unit": "weeks"}
    assert shown["deadlines"]["acknowledgement"]["duration"] == {
        "amount": 6,
        "unit": "working_days",
    }


def test_diagram_mermaid_and_svg(sagsflow_without_database: Sagsflow) -> None:
    cli = sagsflow_without_database

    mermaid = cli.ok("diagram", "--format", "mermaid")
    assert "inquiry --> clarification" in mermaid
    for phase in PHASES:
        assert phase in mermaid

    svg = cli.ok("diagram", "--format", "svg")
    assert "<svg" in svg
    root = ElementTree.fromstring(svg.strip())  # a well-formed document
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    drawn = " ".join(root.itertext())
    for phase in PHASES:
        assert phase in drawn


# --- one database per test, SQLite and PostgreSQL ----------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_bad_input_is_refused_with_a_one_line_reason(sagsflow: Sagsflow) -> None:
    """Refused before anything is written, whatever the database: SQLite suffices here."""
    case_id = sagsflow.open_case(aware_at="2026-03-27T10:00:00+01:00")["id"]

    reason = sagsflow.refused(case_id, "teleport", "2026-03-27T13:00:00+01:00")
    assert "teleport" in reason
    assert "unknown event" in reason
    assert ", ".join(APPLICATION_INQUIRY_EVENTS) in reason

    reason = sagsflow.refused(case_id, "assess_urgency", "2026-03-27T13:00:00+01:00", "{acute: no")
    assert "--data" in reason
    assert "JSON" in reason

    reason = sagsflow.refused(case_id, "accept", "2099-01-01T09:00:00+01:00")
    assert "future" in reason

    # The auditor only reads (recorded as the operator: no organisation file names an auditor).
    reason = sagsflow.refused(case_id, "accept", "2026-03-27T13:00:00+01:00", role="auditor")
    assert "auditor" in reason
    assert "accept" in reason

    reason = sagsflow.fails("case", "show", "424242")
    assert "no case 424242" in reason

    # A local time the clocks skip (spring forward, 30 Mar 2025) is refused with exit 2; one
    # they pass twice (fall back, 26 Oct 2025) asks for the offset
    for at, said in (
        ("2025-03-30T02:30", "does not exist"),
        ("2025-10-26T02:30", "+01:00"),
    ):
        done = sagsflow.run(*sagsflow.fire_args(case_id, "accept", at, None, "caseworker", "anna"))
        assert done.returncode == 2 and said in done.stderr and "--at" in done.stderr


def test_a_case_from_notification_to_closure(
    sagsflow: Sagsflow, rewrite_audit_payload: Callable[[str, int, int, str], None]
) -> None:
    """Open, refusals that write nothing, every phase to closure; then a DBA rewrites the log.

    Phases are read from `case fire` after every step and from `case show` where there is
    something more to see; the final history records the phase after each event.
    """
    cli = sagsflow
    # A professional's notification, received Friday 27 March 2026 at 10:00 (CET); the child is 10.
    opened = cli.open_case(
        aware_at="2026-03-27T10:00:00+01:00", source="notification", notifier="professional"
    )
    case_id = opened["id"]
    assert isinstance(case_id, int)
    assert opened["phase"] == "inquiry"
    events = ["open_case"]
    version = opened["version"]

    def step(event: str, at: str, data: dict[str, Any] | None, phase: str) -> None:
        nonlocal version
        fired = cli.fire(case_id, event, at, data)
        assert (fired["id"], fired["event"], fired["phase"]) == (case_id, event, phase)
        assert fired["version"] == version + 1, f"{event}: one version per accepted event"
        version = fired["version"]
        events.append(event)

    # The 24-hour assessment, two hours after the notification.
    step("assess_urgency", "2026-03-27T12:00:00+01:00", {"acute": False}, "inquiry")

    # Refused: not an event of this phase. One line naming the reason and the allowed events.
    reason = cli.refused(
        case_id, "grant", "2026-03-27T13:00:00+01:00", {"measures": [{"type": "safety_plan"}]}
    )
    assert "grant" in reason
    assert "not possible in phase inquiry" in reason
    assert ", ".join(INQUIRY_EVENTS) in reason
    # Refused: dated before the case's previous event (the assessment at 12:00).
    reason = cli.refused(case_id, "accept", "2026-03-27T11:00:00+01:00")
    assert "before the case's previous event" in reason
    # Refused: a case that does not exist.
    reason = cli.refused(999_999, "accept", "2026-03-27T13:00:00+01:00")
    assert "no case 999999" in reason

    view = cli.show(case_id)
    assert {"id", "phase", "version", "rulebook", "measures", "deadlines", "history"} <= set(view)
    assert (view["id"], view["phase"]) == (case_id, "inquiry")
    assert view["rulebook"] == "default@2024.1"  # in force on 27 March 2026
    assert view["measures"] == []
    # The refusals wrote nothing: the version and the history are the assessment's.
    assert view["version"] == version
    assert [h["event"] for h in view["history"]] == events
    for deadline in view["deadlines"]:
        assert {"id", "rule", "measure_id", "due_at", "status"} <= set(deadline)
        assert deadline["measure_id"] is None
    assert due_and_status(view) == {
        # 24 elapsed hours: Saturday 28 March 10:00, still CET (summer time starts on the 29th).
        "urgent_assessment": [("2026-03-28T10:00:00+01:00", "met")],
        # 6 working days after Friday 27 March, skipping the weekend 28–29 March and Easter
        # (Maundy Thursday 2 Apr, Good Friday 3 Apr, the weekend, Easter Monday 6 Apr):
        # Mon 30 (1), Tue 31 (2), Wed 1 (3), Tue 7 (4), Wed 8 (5), Thu 9 April (6),
        # due at the end of that day, in summer time.
        "acknowledgement": [("2026-04-09T23:59:59+02:00", "open")],
    }

    step("accept", "2026-03-30T10:00:00+02:00", None, "clarification")
    # The committee's compulsory examination is refused to a caseworker by its guard, saying
    # why and what is allowed (the investigation itself needs no consent: Barnets Lov §20).
    reason = cli.refused(case_id, "decide_compulsory_examination", "2026-03-31T10:00:00+02:00")
    assert "needs the competence of committee" in reason
    assert "record_consent" in reason
    assert "open_investigation" in reason
    step("record_consent", "2026-04-01T10:00:00+02:00", {"by": "custody_holder"}, "clarification")
    step("open_investigation", "2026-04-07T10:00:00+02:00", None, "investigation")
    step("conclude", "2026-06-01T10:00:00+02:00", {"measures_needed": True}, "action_plan")
    step("submit_plan", "2026-06-08T10:00:00+02:00", PLAN, "decision")
    grant = {"measures": [{"type": "practical_support", "package": "red"}]}
    # Barnets Lov §5 stk. 3: no decision without a conversation with the child, and the refusal
    # names the duty and its paragraph; the conversation held without the parents counts.
    reason = cli.refused(case_id, "grant", "2026-06-15T09:00:00+02:00", grant)
    assert "no conversation with the child" in reason
    assert "Barnets Lov §5 stk. 3–4" in reason
    talk = {"without_parents": True, "support_person_offered": True}
    step("record_child_conversation", "2026-06-15T10:00:00+02:00", talk, "decision")
    step("grant", "2026-06-22T10:00:00+02:00", grant, "implementation")
    step("start_measures", "2026-07-01T09:00:00+02:00", None, "follow_up")

    view = cli.show(case_id)
    assert view["phase"] == "follow_up"
    assert (view["child_conversation_at"], view["child_conversation_without_parents"]) == (
        "2026-06-15T10:00:00+02:00",
        True,
    )
    assert "Børnesamtale: 15. jun. 2026, uden forældre: ja" in cli.ok(
        "--lang", "da", "case", "show", str(case_id)
    )
    [measure] = view["measures"]
    measure_id = measure["id"]
    assert (measure["type"], measure["package"], measure["active"], measure["started_at"]) == (
        "practical_support",
        "red",
        True,
        "2026-07-01T09:00:00+02:00",
    )
    assert {
        rule: [(d["measure_id"], d["due_at"], d["status"]) for d in deadlines]
        for rule, deadlines in by_rule(view).items()
        if rule in ("follow_up", "package_review")
    } == {
        # A package: first follow-up 4 weeks after the start (1 July + 28 days).
        "follow_up": [(measure_id, "2026-07-29T23:59:59+02:00", "open")],
        # The package is reviewed 6 months after the start: 1 January 2027, winter time.
        "package_review": [(measure_id, "2027-01-01T23:59:59+01:00", "open")],
    }

    follow_up = {
        "measure_id": measure_id,
        "spoke_with_provider": True,
        "spoke_with_parents": True,
        "child_heard": True,
        "plan_revision_decided": True,
        "next_follow_up": {
            "as_service_level": True,
            "reason": "Kommunens kadence passer til sagen",
        },
    }
    step("record_follow_up", "2026-07-28T10:00:00+02:00", follow_up, "follow_up")
    end = {"measure_id": measure_id, "reason": "Målene er nået", "goals_met": True}
    step("end_measure", "2026-09-15T10:00:00+02:00", end, "closure")

    view = cli.show(case_id)
    assert view["phase"] == "closure"
    assert view["version"] == version
    assert view["allowed_events"] == []
    [measure] = view["measures"]
    assert (measure["active"], measure["ended_at"], measure["follow_ups_held"]) == (
        False,
        "2026-09-15T10:00:00+02:00",
        1,
    )
    assert due_and_status(view) == {
        "urgent_assessment": [("2026-03-28T10:00:00+01:00", "met")],
        # Never acknowledged: closing the case cancels it.
        "acknowledgement": [("2026-04-09T23:59:59+02:00", "cancelled")],
        # 4 calendar months from awareness (27 March) → 27 July, end of day.
        "investigation": [("2026-07-27T23:59:59+02:00", "met")],
        # Due with it (Barnets Lov §20 stk. 3); concluded in time, so never needed: cancelled.
        "provisional_assessment": [("2026-07-27T23:59:59+02:00", "cancelled")],
        # The municipality's 4 weeks from the plan: 8 June + 28 days → 6 July.
        "decision": [("2026-07-06T23:59:59+02:00", "met")],
        "follow_up": [
            ("2026-07-29T23:59:59+02:00", "met"),  # held a day early
            # The next at most 3 months after the one held (28 July) → 28 October, winter time
            # (summer time ends 25 October); cancelled, as the measure ended before it fell due.
            ("2026-10-28T23:59:59+01:00", "cancelled"),
        ],
        "package_review": [("2027-01-01T23:59:59+01:00", "met")],  # ending it is the review
        # Barnets Lov §5 stk. 3: the grant of 22 June was preceded by the child conversation.
        "child_conversation": [("2026-06-22T10:00:00+02:00", "met")],
    }

    # The history: every accepted event and none of the refused, in order, each with its
    # legal basis and the phase it left the case in.
    history = view["history"]
    assert [h["event"] for h in history] == events
    assert [h["seq"] for h in history] == list(range(1, 13))
    assert all(h["legal_basis"] for h in history)
    assert [h["to_phase"] for h in history] == [
        "inquiry",
        "inquiry",
        "clarification",
        "clarification",
        "investigation",
        "action_plan",
        "decision",
        "decision",  # the child conversation keeps the phase
        "implementation",
        "follow_up",
        "follow_up",
        "closure",
    ]
    by_event = {h["event"]: h for h in history}
    assert "Barnets Lov §136" in by_event["assess_urgency"]["legal_basis"]
    assert "Barnets Lov §32 stk. 1 nr. 2" in by_event["grant"]["legal_basis"]  # practical support
    talked = by_event["record_child_conversation"]
    assert talked["legal_basis"].startswith("Barnets Lov §5 stk. 3")
    assert talked["payload"] == {"without_parents": True, "support_person_offered": True}
    assert by_event["grant"]["payload"]["measures"][0]["type"] == "practical_support"
    assert "Barnets Lov §95" in by_event["record_follow_up"]["legal_basis"]

    # The audit trail verifies; then a DBA switches the trigger off and rewrites the conclusion.
    verified = cli.json("audit", "verify")
    assert verified["ok"] is True
    assert verified["first_break"] is None
    assert verified["records_checked"] == 12

    conclude_seq = events.index("conclude") + 1
    rewrite_audit_payload(cli.database_url, case_id, conclude_seq, '{"measures_needed":false}')
    done = cli.run("audit", "verify", "--json")
    assert done.returncode != 0
    verified = json.loads(done.stdout)
    assert verified["ok"] is False
    assert verified["first_break"]["case_id"] == case_id
    assert verified["first_break"]["seq"] == conclude_seq == 6
    [reason] = done.stderr.strip().splitlines()  # and one line on stderr, as for every failure
    assert f"case {case_id}" in reason
    assert "record 6" in reason


def test_list_sweep_and_stuck_on_a_small_caseload(sagsflow: Sagsflow) -> None:
    cli = sagsflow
    # A: a professional's notification of Friday 27 March, accepted the same afternoon and
    #    untouched since: both its inquiry deadlines pass unmet.
    a = cli.open_case(
        aware_at="2026-03-27T10:00:00+01:00",
        source="notification",
        notifier="professional",
        child_ref="BARN-A",
        worker="anna",
        team="nord",
    )["id"]
    cli.fire(a, "accept", "2026-03-27T14:00:00+01:00")
    # B: an application of 1 May: no deadline runs in inquiry.
    b = cli.open_case(
        aware_at="2026-05-01T09:00:00+02:00", child_ref="BARN-B", worker="bo", team="syd"
    )["id"]
    # C: a private notification of Sunday 3 May at 15:00: assessment due Monday 4 May, 15:00.
    c = cli.open_case(
        aware_at="2026-05-03T15:00:00+02:00",
        source="notification",
        notifier="private",
        child_ref="BARN-C",
        worker="cy",
        team="syd",
    )["id"]

    def listed(*filters: str) -> list[int]:
        return [row["id"] for row in cli.json("case", "list", *filters)]

    assert listed("--phase", "inquiry") == [b, c]
    assert listed("--worker", "cy", "--team", "syd") == [c]  # syd: B and C
    assert listed("--worker", "anna", "--team", "syd") == []  # anna: A only
    assert listed("--phase", "clarification", "--worker", "anna", "--team", "nord") == [a]

    # Monday 4 May 2026, 12:00.
    now = "2026-05-04T12:00:00+02:00"
    # Breached: A's assessment (due 28 March) and receipt (due 9 April); C's is not due until 15:00.
    # Notifications (ladders of default@2024.1):
    #   A urgent_assessment: breach (at due) + escalation (due + 1 day)     → 2
    #     (its reminder 6 h before is not sent once the deadline has passed)
    #   A acknowledgement:   breach (at due) + escalation (due + 3 working days = 14 April) → 2
    #   C urgent_assessment: reminder 6 h before 15:00 = 09:00, already due  → 1
    #     (breach at 15:00 and escalation not yet)
    first = cli.json("sweep", "--now", now)
    assert (first["breached"], first["notifications_created"]) == (2, 5)
    again = cli.json("sweep", "--now", now)
    assert (again["breached"], again["notifications_created"]) == (0, 0)

    # Only A is stuck: in clarification since 27 March against a norm of one month (27 April,
    # end of day → 7 days over on 4 May), breached deadlines, no event for over 30 days, and no
    # consent. B (inquiry since 1 May, norm 7 days) and C (since yesterday) are fresh.
    stuck = cli.json("report", "stuck", "--now", now)
    assert [row["case_id"] for row in stuck] == [a]
    [row] = stuck
    assert row["phase"] == "clarification"
    assert row["days_over_norm"] == 7
    assert set(row["reasons"]) == {
        "over_phase_norm",
        "breached_deadline",
        "inactive",
        "waiting_for_consent",
    }
    assert sorted(
        (d["rule"], d["due_at"], d["days_overdue"]) for d in row["breached_deadlines"]
    ) == [
        ("acknowledgement", "2026-04-09T23:59:59+02:00", 25),
        ("urgent_assessment", "2026-03-28T10:00:00+01:00", 37),
    ]


def test_rulebook_migration_dry_run_then_for_real(sagsflow: Sagsflow) -> None:
    cli = sagsflow
    # A professional's notification of Sunday 31 December 2023: pinned to the SEL version.
    opened = cli.open_case(
        aware_at="2023-12-31T10:00:00+01:00", source="notification", notifier="professional"
    )
    case_id = opened["id"]
    # The same deadlines under both versions: 24 hours → 1 January 2024 10:00; 6 working days
    # skipping New Year's Day → Tue 2, Wed 3, Thu 4, Fri 5, Mon 8, Tue 9 January.
    unchanged = [
        ("urgent_assessment", "2024-01-01T10:00:00+01:00"),
        ("acknowledgement", "2024-01-09T23:59:59+01:00"),
    ]

    preview = cli.json("rulebook", "migrate", "--to", "default@2024.1", "--dry-run")
    assert preview["dry_run"] is True
    assert preview["deadlines_moved"] == 0
    [plan] = preview["plans"]
    assert (plan["case_id"], plan["from"], plan["to"]) == (
        case_id,
        "default@2014.1",
        "default@2024.1",
    )
    assert [
        (d["rule"], d["old_due_at"], d["new_due_at"], d["days"]) for d in plan["deadlines"]
    ] == [(rule, due_at, due_at, 0) for rule, due_at in unchanged]

    # The dry run changed nothing: the real run still finds the case on 2014.1, and afterwards
    # the case is one version on, with one history entry more.
    done = cli.json("rulebook", "migrate", "--to", "default@2024.1")
    assert done["dry_run"] is False
    assert done["cases"] == 1
    assert done["plans"][0]["from"] == "default@2014.1"

    view = cli.show(case_id)
    assert view["rulebook"] == "default@2024.1"
    assert view["version"] == opened["version"] + 1
    assert [h["event"] for h in view["history"]] == ["open_case", "migrate_rulebook"]
    assert "default@2024.1" in view["history"][-1]["legal_basis"]
    assert [(d["rule"], d["due_at"], d["status"]) for d in view["deadlines"]] == [
        (rule, due_at, "open") for rule, due_at in unchanged
    ]

    verified = cli.json("audit", "verify")
    assert verified["ok"] is True
    assert verified["records_checked"] == 2


def test_an_application_with_the_measure_applied_for_runs_its_deadline_from_receipt(
    sagsflow: Sagsflow,
) -> None:
    # Given an application for family treatment received Monday 6 Jan 2025, 10:00 CET
    opened = sagsflow.json(
        "case", "open",
        "--child-ref", "BARN-0007",
        "--birth-date", "2015-06-01",
        "--aware-at", "2025-01-06T10:00:00+01:00",
        "--source", "application",
        "--applied-for", "family_treatment",
        "--worker", "anna", "--team", "nord", "--actor", "anna",
    )  # fmt: skip
    case_id = opened["id"]
    # Then its decision is due 4 weeks from receipt (retssikkerhedsloven §3 stk. 2): Monday
    # 3 Feb 2025, end of day, and the notice of a delay with it
    view = sagsflow.show(case_id)
    due = {d["rule"]: d["due_at"] for d in view["deadlines"]}
    assert due["decision"] == "2025-02-03T23:59:59+01:00"
    assert due["delay_notice"] == "2025-02-03T23:59:59+01:00"
    assert (view["applied_for"], view["applied_for_title"]) == (
        "family_treatment",
        "Familiebehandling",
    )
    # When the caseworker tells the applicant on 30 Jan to expect the decision by 28 Feb
    sagsflow.fire(
        case_id, "notify_applicant_of_delay", "2025-01-30T10:00:00+01:00",
        {"expected_by": "2025-02-28"},
    )  # fmt: skip
    # Then the case, as it is shown, says so (the suite's CLI speaks English)
    text = sagsflow.ok("case", "show", str(case_id))
    assert "Applied for: Familiebehandling" in text
    assert "the applicant was told to expect the decision by 28 Feb 2025" in text
    # and an applied-for measure on anything but an application is refused in one line
    reason = sagsflow.fails(
        "case", "open", "--child-ref", "BARN-0008", "--birth-date", "2015-06-01",
        "--aware-at", "2025-01-06T10:00:00+01:00", "--source", "inquiry",
        "--applied-for", "family_treatment", "--actor", "anna", "--worker", "anna",
        "--team", "nord",
    )  # fmt: skip
    assert "application" in reason


def test_an_event_after_the_change_of_law_moves_the_case_then_records_it(
    sagsflow: Sagsflow,
) -> None:
    cli = sagsflow
    # A case known on Friday 15 December 2023 (SEL), investigation opened on 18 December
    opened = cli.open_case(aware_at="2023-12-15T10:00:00+01:00")
    case_id = opened["id"]
    cli.fire(case_id, "accept", "2023-12-15T14:00:00+01:00")
    cli.fire(case_id, "record_consent", "2023-12-18T10:00:00+01:00", {"by": "custody_holder"})
    cli.fire(case_id, "open_investigation", "2023-12-18T11:00:00+01:00")
    before = cli.show(case_id)["version"]

    # Concluded on 4 March 2024, under Barnets Lov: the answer is the conclusion's, two
    # versions on (the move's record, then the event's)
    done = cli.fire(case_id, "conclude", "2024-03-04T10:00:00+01:00", {"measures_needed": True})
    assert (done["event"], done["phase"], done["version"]) == (
        "conclude",
        "action_plan",
        before + 2,
    )
    view = cli.show(case_id)
    assert view["rulebook"] == "default@2024.1"
    assert [(h["event"], h["rulebook"]) for h in view["history"]][-2:] == [
        ("migrate_rulebook", "default@2024.1"),
        ("conclude", "default@2024.1"),
    ]
    assert view["history"][-1]["legal_basis"] == "Barnets Lov §20 stk. 3 (SEL §50 stk. 7)"
    assert cli.json("audit", "verify")["ok"] is True


def test_rulebook_migrate_due_previews_then_moves_the_cases_the_new_law_takes(
    sagsflow: Sagsflow,
) -> None:
    cli = sagsflow
    # An open SEL case in investigation (15 Dec 2023 + 4 months: due 15 April 2024), a closed
    # SEL case, and a case under Barnets Lov; inquiries (an application's decision deadline
    # would run from receipt too)
    sel = cli.open_case(aware_at="2023-12-15T10:00:00+01:00", source="inquiry")["id"]
    cli.fire(sel, "accept", "2023-12-15T14:00:00+01:00")
    cli.fire(sel, "record_consent", "2023-12-18T10:00:00+01:00", {"by": "custody_holder"})
    cli.fire(sel, "open_investigation", "2023-12-18T11:00:00+01:00")
    closed = cli.open_case(aware_at="2023-12-15T10:00:00+01:00", child_ref="BARN-0002")["id"]
    cli.fire(closed, "close", "2023-12-18T10:00:00+01:00", {"reason": "Familien er flyttet"})
    cli.open_case(aware_at="2024-02-01T10:00:00+01:00", child_ref="BARN-0003")
    history = cli.show(sel)["history"]

    # Before 1 January 2024 nothing is due
    early = cli.json(
        "rulebook", "migrate", "--due", "--dry-run", "--now", "2023-12-31T12:00:00+01:00"
    )
    assert (early["on"], early["cases"], early["plans"]) == ("2023-12-31", 0, [])

    # On 1 March 2024 the preview lists the open SEL case alone, its deadline re-armed unmoved
    preview = cli.json(
        "rulebook", "migrate", "--due", "--dry-run", "--now", "2024-03-01T10:00:00+01:00"
    )
    assert (preview["on"], preview["dry_run"], preview["cases"], preview["blocked"]) == (
        "2024-03-01",
        True,
        1,
        0,
    )
    [plan] = preview["plans"]
    assert (plan["case_id"], plan["from"], plan["to"], plan["blocked"]) == (
        sel,
        "default@2014.1",
        "default@2024.1",
        None,
    )
    assert [
        (d["rule"], d["old_due_at"], d["new_due_at"], d["days"]) for d in plan["deadlines"]
    ] == [("investigation", "2024-04-15T23:59:59+02:00", "2024-04-15T23:59:59+02:00", 0)]
    # … and changed nothing
    unchanged = cli.show(sel)
    assert (unchanged["rulebook"], unchanged["history"]) == ("default@2014.1", history)

    # Without --dry-run the case moves, audited as the operator's, its deadline citing Barnets Lov
    done = cli.json("rulebook", "migrate", "--due", "--now", "2024-03-01T10:00:00+01:00")
    assert (done["dry_run"], done["cases"]) == (False, 1)
    view = cli.show(sel)
    assert view["rulebook"] == "default@2024.1"
    assert (view["history"][-1]["event"], view["history"][-1]["actor"]) == (
        "migrate_rulebook",
        "admin",
    )
    [investigation] = view["deadlines"]
    assert investigation["source"].startswith("Barnets Lov §20 stk. 3 (SEL §50 stk. 7)")
    assert cli.show(closed)["rulebook"] == "default@2014.1"
    # and a second run finds nothing left
    again = cli.json("rulebook", "migrate", "--due", "--now", "2024-03-01T10:00:00+01:00")
    assert (again["cases"], again["plans"]) == (0, [])
    assert cli.json("audit", "verify")["ok"] is True


def test_rulebook_migrate_takes_either_a_version_or_due(sagsflow: Sagsflow) -> None:
    for args in ([], ["--to", "default@2024.1", "--due"]):
        done = sagsflow.run("rulebook", "migrate", *args)
        assert done.returncode == 2
        assert done.stderr.strip() == "error: give either --to ID@VERSION or --due"


def test_a_placed_young_person_is_decided_for_before_18(sagsflow: Sagsflow) -> None:
    cli = sagsflow
    # A young person born 10 Sep 2008, known 1 Dec 2025, placed in a foster family
    case_id = cli.open_case(
        aware_at="2025-12-01T10:00:00+01:00", source="inquiry", birth_date="2008-09-10"
    )["id"]
    steps = [
        ("accept", "2025-12-02T10:00:00+01:00", None, "caseworker"),
        ("record_consent", "2025-12-03T10:00:00+01:00", {"by": "custody_holder"}, "caseworker"),
        ("record_consent", "2025-12-03T11:00:00+01:00", {"by": "child"}, "caseworker"),
        ("open_investigation", "2025-12-04T10:00:00+01:00", None, "caseworker"),
        ("conclude", "2026-01-05T10:00:00+01:00", {"measures_needed": True}, "caseworker"),
        ("submit_plan", "2026-01-06T10:00:00+01:00", PLAN, "caseworker"),
        ("record_child_conversation", "2026-01-12T09:00:00+01:00", {"without_parents": False, "support_person_offered": True}, "caseworker"),
        ("grant", "2026-01-12T10:00:00+01:00",
         {"measures": [{"type": "foster_family_placement"}]}, "team_leader"),
        ("start_measures", "2026-01-15T10:00:00+01:00", None, "caseworker"),
    ]  # fmt: skip
    for event, at, data, role in steps:
        cli.fire(case_id, event, at, data, role=role)
    # Then the decision on support after 18 is due 6 months before the 18th birthday
    # (Barnets Lov §111 stk. 1): Tuesday 10 March 2026, end of day
    due = {d["rule"]: d for d in cli.show(case_id)["deadlines"]}
    duty = due["young_person_support_decision"]
    assert duty["due_at"] == "2026-03-10T23:59:59+01:00"
    assert "Barnets Lov §111 stk. 1" in duty["source"]
    # a grant must name its measures: refused in one line
    reason = cli.refused(
        case_id, "decide_young_person_support", "2026-02-02T10:00:00+01:00", {"outcome": "granted"}
    )
    assert "measures" in reason
    cli.fire(
        case_id, "decide_young_person_support", "2026-02-02T10:00:00+01:00",
        {"outcome": "granted", "measures": ["contact_person_child"]},
    )  # fmt: skip
    due = {d["rule"]: d for d in cli.show(case_id)["deadlines"]}
    assert due["young_person_support_decision"]["status"] == "met"
