"""The flows run as real Prefect flows against one session-wide test server.

The caseload is the CLI test's (tests/e2e/test_cli.py), with people from the demo organisation
file, counted by hand from default@2024.1's ladders at Monday 4 May 2026, 12:00:
- A (rw1, team t1), a professional's notification of Friday 27 March, accepted that afternoon: its
  24-hour assessment (due 28 March) and acknowledgement (due 9 April) are breached → breach to the
  team leader + escalation to the department head, each: 4 notifications.
- B (rw5, t2), an application of 1 May: no deadline runs in inquiry.
- C (rw4, t2, municipality `vest`), a private notification of Sunday 3 May, 15:00: assessment due
  at 15:00 today, its reminder to the caseworker (6 hours before) is due: 1 notification.
Two breaches, five notifications, three deadlines examined.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import func, select

from models.tables import Notification
from rulebooks import SHIPPED
from statemachine.phases import Notifier, Source

CPH = ZoneInfo("Europe/Copenhagen")
NOW = "2026-05-04T12:00:00+02:00"
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
SQLITE_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("sqlite", id="sqlite")], indirect=True
)
PREFECT_YAML = Path(__file__).resolve().parents[2] / "deployments" / "prefect.yaml"
DEPLOYMENTS = {
    "enforce-deadlines": "flows/enforce.py:enforce_deadlines",
    "deliver-notifications": "flows/deliver.py:deliver_notifications",
    "supervisor-digest": "flows/digest.py:supervisor_digest",
    "compliance-report": "flows/compliance.py:compliance_report",
    "verify-audit": "flows/verify.py:verify_audit",
}
SCHEDULES = {
    "enforce-deadlines": [("*/15 * * * *", {})],
    "deliver-notifications": [("*/5 * * * *", {})],
    "supervisor-digest": [("0 7 * * 1-5", {})],
    "compliance-report": [
        ("0 6 1 * *", {"period": "previous-month"}),
        ("0 6 1 1,4,7,10 *", {"period": "previous-quarter"}),
    ],
    "verify-audit": [("30 2 * * *", {})],
}


@pytest.fixture
def caseload(cases):
    a = cases.open(
        aware_at=datetime(2026, 3, 27, 10, tzinfo=CPH),
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
        worker="rw1",
        team="t1",
    )
    cases.fire(a, "accept", at=datetime(2026, 3, 27, 14, tzinfo=CPH), actor="rw1")
    cases.open(aware_at=datetime(2026, 5, 1, 9, tzinfo=CPH), worker="rw5", team="t2")
    cases.open(
        aware_at=datetime(2026, 5, 3, 15, tzinfo=CPH),
        source=Source.NOTIFICATION,
        notifier=Notifier.PRIVATE,
        worker="rw4",
        team="t2",
        municipality="vest",
    )


def stored_notifications(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(NOTIFICATION)).scalar_one()


def artifact(key: str):
    """The artifact last published under `key`. (Prefect's own `is_latest` flag can name two of
    them when its SQLite database was locked while it recorded the first: seen under load.)"""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        [latest] = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    return latest


# --- enforce_deadlines -------------------------------------------------------------------------


def test_enforce_deadlines_flow_creates_what_the_sweep_would_and_nothing_on_a_rerun(
    flow_database, engine, caseload
):
    from flows.enforce import enforce_deadlines

    # When the flow runs in batches of one deadline (three partition tasks: in turn on SQLite,
    # side by side on PostgreSQL)
    first = enforce_deadlines(now=NOW, batch_size=1)
    # Then it counts what the plain sweep counts for this caseload
    # (no refused case waits out a complaint period here: none is closed)
    assert first == {
        "breached": 2,
        "notifications_created": 5,
        "deadlines_examined": 3,
        "cases_closed": 0,
    }
    assert stored_notifications(engine) == 5
    # and a second run finds nothing new: every ladder has given what it can at NOW, so the
    # rerun skips the three deadlines in SQL and reads none of them (issue 9)
    again = enforce_deadlines(now=NOW, batch_size=1)
    assert again == {
        "breached": 0,
        "notifications_created": 0,
        "deadlines_examined": 0,
        "cases_closed": 0,
    }
    assert stored_notifications(engine) == 5
    # and each run ended with a signed checkpoint, in the file outside the database and as an
    # artifact: the second signs no head anew (nothing was recorded in between)
    lines = Path(os.environ["SAGSFLOW_CHECKPOINT_FILE"]).read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [1, 2]
    assert json.loads(lines[1])["changed"] == []
    published = artifact("audit-checkpoint")
    assert "| Sager | 3 |" in published.data


@SQLITE_ONLY
def test_enforce_deadlines_for_one_municipality_publishes_only_its_figures(flow_database, caseload):
    from flows.enforce import enforce_deadlines

    # C alone is in `vest`: its reminder only
    assert enforce_deadlines(now=NOW, municipality="vest") == {
        "breached": 0,
        "notifications_created": 1,
        "deadlines_examined": 1,
        "cases_closed": 0,
    }
    published = artifact("enforce-deadlines-vest")
    assert published.type == "markdown"
    assert "| Meddelelser oprettet | 1 |" in published.data


def test_enforce_deadlines_first_moves_the_cases_a_change_of_law_takes_over(
    flow_database, engine, cases, rows, tmp_path, monkeypatch
):
    from flows.enforce import enforce_deadlines

    # Given a change of law on 1 January 2025 (a rulebook directory of the test's own) that
    # gives the decision 6 weeks instead of Barnets Lov's version's 4
    raw = yaml.safe_load((SHIPPED / "default" / "2024.1.yaml").read_text(encoding="utf-8"))
    raw |= {"version": "2025.1", "effective_from": "2025-01-01", "applies_to_open_cases": True}
    raw["deadlines"]["decision"]["duration"] = {"amount": 6, "unit": "weeks"}
    (tmp_path / "default").mkdir()
    (tmp_path / "default" / "2025.1.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setenv("SAGSFLOW_RULEBOOK_DIRS", str(tmp_path))
    # and a case whose plan was submitted on 5 December 2024: under 2024.1 its decision is due
    # 5 Dec + 4 weeks = 2 January 2025, breached by 10 January
    case = cases.open(aware_at=datetime(2024, 12, 2, 10, tzinfo=CPH))
    for event, data, day in [
        ("accept", None, 2),
        ("record_consent", {"by": "custody_holder"}, 3),
        ("open_investigation", None, 3),
        ("conclude", {"measures_needed": True}, 4),
        (
            "submit_plan",
            {"purpose": "Trivsel", "goals": ["Skole"], "expected_duration_months": 6},
            5,
        ),
    ]:
        cases.fire(case, event, data, at=datetime(2024, 12, day, 14, tzinfo=CPH))

    # When the flow runs on Friday 10 January 2025
    result = enforce_deadlines(now="2025-01-10T12:00:00+01:00")

    # Then it moved the case first, so the decision is due 5 Dec + 6 weeks = 16 January 2025 and
    # nothing is breached; only its reminder (14 days before, ladder `months`) is due
    assert result == {
        "breached": 0,
        "notifications_created": 1,
        "deadlines_examined": 1,
        "cases_closed": 0,
    }
    assert [(r.event, r.rulebook, r.actor) for r in rows.audit(case.id)][-1] == (
        "migrate_rulebook",
        "default@2025.1",
        "enforce-deadlines",
    )
    [decision] = [d for d in rows.deadlines(case.id).values() if d.rule == "decision"]
    assert (decision.status, decision.due_at) == (
        "open",
        datetime(2025, 1, 16, 22, 59, 59, tzinfo=UTC),
    )
    assert "| Sager flyttet til et nyt regelsæt | 1 |" in artifact("enforce-deadlines").data
    # and a rerun has nothing to move
    enforce_deadlines(now="2025-01-10T12:00:00+01:00")
    assert [r.event for r in rows.audit(case.id)].count("migrate_rulebook") == 1


# --- deliver, digest, compliance: thin flows over the service layer ----------------------------


@SQLITE_ONLY
def test_deliver_notifications_flow_sends_the_swept_notifications_to_a_real_inbox(
    flow_database, caseload, inbox
):
    from flows.deliver import deliver_notifications
    from flows.enforce import enforce_deadlines

    enforce_deadlines(now=NOW)
    result = deliver_notifications(now=NOW)

    assert (result["sent"], result["failed"], result["parked"]) == (5, 0, 0)
    # one mail per person, listing their notifications
    assert sorted(to for [to], _ in inbox.received) == [
        "familiechef@kommune.test",  # A's two escalations
        "rw4@kommune.test",  # C's reminder
        "teamleder.nord@kommune.test",  # A's two breaches
    ]
    assert "| Sendt | 5 |" in artifact("deliver-notifications").data
    # nothing is sent twice
    assert deliver_notifications(now=NOW)["sent"] == 0
    assert len(inbox.received) == 3


@SQLITE_ONLY
def test_supervisor_digest_flow_mails_the_team_leader_and_publishes_the_digest(
    flow_database, caseload, inbox
):
    from flows.digest import supervisor_digest

    assert supervisor_digest(team="t1", now=NOW) == {
        "teams": 1,
        "mailed": 1,
        "without_address": 0,
    }
    [(to, subject)] = inbox.received
    assert to == ["teamleder.nord@kommune.test"]
    assert "Team Nord" in subject
    assert "Team Nord (t1)" in artifact("supervisor-digest-t1").data


@SQLITE_ONLY
def test_compliance_report_flow_reads_previous_month_from_now_and_writes_csv_and_html(
    flow_database, caseload, tmp_path
):
    from flows.compliance import compliance_report

    result = compliance_report(period="previous-month", now=NOW, directory=str(tmp_path))

    assert result["period"] == "2026-04"
    assert Path(result["csv"]) == tmp_path / "compliance-2026-04.csv"
    assert Path(result["csv"]).read_text(encoding="utf-8").strip()
    assert "<svg" in Path(result["html"]).read_text(encoding="utf-8")
    assert artifact("compliance-2026-04").type == "markdown"


@SQLITE_ONLY
def test_verify_audit_flow_replays_the_trail_and_fails_on_a_difference(
    flow_database, caseload, engine
):
    from sqlalchemy import update

    from flows.verify import TrailDiffers, verify_audit
    from models.repository import CASE

    # The caseload's four records (A opened and accepted, B and C opened) replay clean
    assert verify_audit(now=NOW) == {"cases_checked": 3, "events_replayed": 4, "differences": 0}
    assert "| Forskelle | 0 |" in artifact("verify-audit").data

    # When case A's phase is changed behind the engine's back, the run fails and its artifact
    # names the difference
    with engine.begin() as connection:
        connection.execute(update(CASE).where(CASE.c.id == 1).values(phase="closure"))
    with pytest.raises(TrailDiffers, match="sag 1: phase"):
        verify_audit(now=NOW)
    published = artifact("verify-audit").data
    assert "| Forskelle | 1 |" in published
    assert "| 1 |  | phase | closure | clarification |" in published


# --- deployments -------------------------------------------------------------------------------


def test_prefect_yaml_declares_the_five_deployments_on_copenhagen_schedules():
    config = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    deployments = {d["name"]: d for d in config["deployments"]}

    assert {name: d["entrypoint"] for name, d in deployments.items()} == DEPLOYMENTS
    schedules = {
        name: [(s["cron"], s.get("parameters", {})) for s in d["schedules"]]
        for name, d in deployments.items()
    }
    assert schedules == SCHEDULES
    for d in deployments.values():
        assert {s["timezone"] for s in d["schedules"]} == {"Europe/Copenhagen"}
        assert d["concurrency_limit"] == {"limit": 1, "collision_strategy": "ENQUEUE"}
        assert d["work_pool"]["name"] == "sagsflow-process"
    # every entry point is a flow in a file under the project root
    root = PREFECT_YAML.parents[1]
    for entrypoint in DEPLOYMENTS.values():
        path, function = entrypoint.split(":")
        assert f"def {function}(" in (root / path).read_text(encoding="utf-8")


def test_prefect_yaml_is_accepted_by_prefects_own_deployment_model():
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(yaml.safe_load(PREFECT_YAML.read_text("utf-8")))
    assert [d.name for d in model.deployments] == list(DEPLOYMENTS)


def test_served_deployments_are_the_ones_of_prefect_yaml():
    from prefect.client.schemas.objects import ConcurrencyLimitStrategy

    from deployments.serve import deployments

    served = {d.name: d for d in deployments()}

    assert {name: d.flow_name for name, d in served.items()} == {name: name for name in DEPLOYMENTS}
    for name, deployment in served.items():
        assert [(s.schedule.cron, s.parameters) for s in deployment.schedules] == SCHEDULES[name]
        assert {s.schedule.timezone for s in deployment.schedules} == {"Europe/Copenhagen"}
        assert deployment.concurrency_limit == 1
        assert deployment.concurrency_options.collision_strategy is ConcurrencyLimitStrategy.ENQUEUE


def test_the_zombie_run_automation_is_created_once_however_often_serve_starts(prefect_server):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.objects import StateType
    from prefect.events.schemas.automations import Posture

    from deployments.serve import ZOMBIE_AUTOMATION, ensure_zombie_automation

    first = ensure_zombie_automation()
    assert ensure_zombie_automation() == first

    with get_client(sync_client=True) as client:
        [automation] = client.read_automations_by_name(name=ZOMBIE_AUTOMATION)
    assert automation.trigger.posture is Posture.Proactive
    assert automation.trigger.after == {"prefect.flow-run.heartbeat"}
    assert [action.state for action in automation.actions] == [StateType.CRASHED]


def test_enforce_deadlines_closes_a_refusal_once_its_complaint_period_passed(
    flow_database, cases, rows
):
    from flows.enforce import enforce_deadlines

    # Given a refusal on Monday 2 March 2026, 10:00 (issue 11): a complaint may come within 4
    # weeks (retssikkerhedsloven §67 stk. 1), so the case waits in follow-up
    case = cases.open(aware_at=datetime(2026, 1, 12, 10, tzinfo=CPH), worker="rw1", team="t1")
    for event, data in [
        ("accept", None),
        ("record_consent", {"by": "custody_holder"}),
        ("open_investigation", None),
        ("conclude", {"measures_needed": True}),
        ("submit_plan", {"purpose": "Trivsel", "goals": ["Skole"]}),
        ("record_party_hearing", None),
        ("record_child_conversation", {"without_parents": False, "support_person_offered": True}),
    ]:
        cases.fire(case, event, data, actor="rw1")
    cases.fire(
        case,
        "refuse",
        {"complaint_guidance": True},
        at=datetime(2026, 3, 2, 10, tzinfo=CPH),
        actor="rw1",
    )
    # When the flow runs on 4 May, long after the period's end (5 weeks: 6 April, 23:59:59)
    result = enforce_deadlines(now=NOW)
    # Then it closed the case, audited as the flow at the instant the period ended, no breach
    assert result["cases_closed"] == 1
    assert rows.case(case.id).phase == "closure"
    last = rows.audit(case.id)[-1]
    assert (last.event, last.actor, last.role) == (
        "end_complaint_period",
        "enforce-deadlines",
        "admin",
    )
    assert last.event_at == datetime(2026, 4, 6, 21, 59, 59, tzinfo=UTC)
    # and a rerun closes nothing more
    assert enforce_deadlines(now=NOW)["cases_closed"] == 0
