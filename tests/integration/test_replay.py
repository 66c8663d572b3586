"""State proved by history (`audit verify --replay`, sagsflow/read/replay.py) on real databases.

Cases are built through the service layer; their rows are then changed behind its back with
plain UPDATE and DELETE statements (the audit log refuses both, the other tables do not), and
the replay must name each change: case, field, the stored and the replayed value. The expected
values are worked out by hand from the default@2024.1 rulebook:

- the walked case (tests/conftest.py `at_phase(FOLLOW_UP)`): aware Monday 5 January 2026 09:00,
  one event a day; its investigation opens on 8 January and runs 4 months from awareness, due
  Tuesday 5 May 2026 23:59:59+02:00, met by the conclusion of 9 January; practical support
  (package red) is granted as measure m1 on 11 January and started on 12 January;
- a professional's notification of the same instant: its 24-hour assessment is due Tuesday
  6 January 09:00+01:00.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update

from models.repository import ACCESS_LOG, AUDIT, CASE, DEADLINE, MEASURE, StoredCase, UnitOfWork
from sagsflow.read.replay import replay_verify
from sagsflow.usecases.access import AccessDenied, Asked
from sagsflow.usecases.audit import replay_trail
from sagsflow.usecases.demo import load_demo
from sagsflow.usecases.sweep import sweep
from statemachine.audit import AuditEntry, canonical_json
from statemachine.errors import CaseNotFound
from statemachine.phases import Notifier, Phase, Role, Source
from statemachine.process import open_case
from statemachine.visibility import Action, Channel, Principal

CPH = ZoneInfo("Europe/Copenhagen")
AWARE = datetime(2026, 1, 5, 9, tzinfo=CPH)


def replayed(context, now, **kwargs):
    return replay_verify(context, now=now, **kwargs)


def named(result):
    """The differences as (case, record, field, stored, replayed)."""
    return [
        (d["case_id"], d["seq"], d["field"], d["stored"], d["replayed"])
        for d in result["differences"]
    ]


def change(engine, statement):
    with engine.begin() as connection:
        assert connection.execute(statement).rowcount == 1


@pytest.fixture
def walked(cases):
    """The case walked into follow-up: nine records (open, accept, consent, investigation,
    conclusion, plan, conversation, grant, start)."""
    return cases.at_phase(Phase.FOLLOW_UP)


def test_a_case_walked_through_the_phases_with_a_grant_and_a_measure_replays_clean(
    context, cases, walked, rows
):
    # Given the walked case, whose measure and deadlines are as stored
    assert rows.case(walked.id).phase == "follow_up"
    assert rows.measures(walked.id)["m1"].type == "practical_support"

    result = replayed(context, cases.now)

    # Then all nine records replay, and the case, its measure and deadlines agree with its rows
    assert result["ok"] is True
    assert (result["cases_checked"], result["events_replayed"]) == (1, 9)
    assert (result["differences"], result["differences_total"]) == ([], 0)
    # worker and team are in the opening record: nothing is left unproven
    assert result["not_provable"] == []
    opened = json.loads(rows.audit(walked.id)[0].payload)
    assert (opened["worker"], opened["team"]) == ("caseworker-anna", "team-nord")


@pytest.mark.parametrize(
    ("table", "values", "field", "stored", "rebuilt"),
    [
        (
            "deadline",
            {"due_at": datetime(2026, 6, 5, 21, 59, 59, tzinfo=UTC)},
            "deadlines.investigation.due_at",
            "2026-06-05T23:59:59+02:00",
            "2026-05-05T23:59:59+02:00",
        ),
        ("deadline", {"status": "open"}, "deadlines.investigation.status", "open", "met"),
        ("case", {"phase": "closure"}, "phase", "closure", "follow_up"),
        ("case", {"worker": "caseworker-bo"}, "worker", "caseworker-bo", "caseworker-anna"),
        ("case", {"team": "team-syd"}, "team", "team-syd", "team-nord"),
    ],
    ids=["deadline-due", "deadline-status", "phase", "worker", "team"],
)
def test_a_row_changed_behind_the_services_back_is_named(
    context, cases, walked, engine, table, values, field, stored, rebuilt
):
    # Given a second case that nobody touches
    other = cases.at_phase(Phase.CLARIFICATION)
    # When one row of the walked case is changed directly
    if table == "deadline":
        where = (DEADLINE.c.case_id == walked.id) & (DEADLINE.c.key == "investigation")
        change(engine, update(DEADLINE).where(where).values(**values))
    else:
        change(engine, update(CASE).where(CASE.c.id == walked.id).values(**values))

    result = replayed(context, cases.now)

    # Then the replay names it, and only it
    assert result["ok"] is False
    assert named(result) == [(walked.id, None, field, stored, rebuilt)]
    assert (result["cases_checked"], result["differences_total"]) == (2, 1)
    # and the other case alone replays clean
    assert replayed(context, cases.now, case_id=other.id)["ok"] is True


def test_a_deleted_measure_is_named_with_what_the_trail_says_it_was(context, cases, walked, engine):
    change(engine, delete(MEASURE).where(MEASURE.c.case_id == walked.id))

    result = replayed(context, cases.now)

    [(case_id, seq, field, stored, rebuilt)] = named(result)
    assert (case_id, seq, field, stored) == (walked.id, None, "measures.m1", None)
    assert rebuilt == {
        "type": "practical_support",
        "package": "red",
        "external": False,
        "without_consent": False,
        "granted_at": "2026-01-11T09:00:00+01:00",
        "started_at": "2026-01-12T09:00:00+01:00",
        "ended_at": None,
        "end_reason": None,
        "goals_met": None,
        "last_follow_up_at": None,
        "follow_ups_held": 0,
    }


def test_one_case_is_checked_alone(context, cases, walked, engine):
    other = cases.at_phase(Phase.DECISION)
    change(engine, update(CASE).where(CASE.c.id == walked.id).values(phase="closure"))

    # The other case alone: its six records, open to the plan
    alone = replayed(context, cases.now, case_id=other.id)
    assert alone["ok"] is True
    assert (alone["cases_checked"], alone["events_replayed"]) == (1, 6)
    # The changed one alone names its change
    changed = replayed(context, cases.now, case_id=walked.id)
    assert (changed["cases_checked"], changed["events_replayed"]) == (1, 9)
    assert named(changed) == [(walked.id, None, "phase", "closure", "follow_up")]
    # No such case
    with pytest.raises(CaseNotFound):
        replayed(context, cases.now, case_id=walked.id + 1000)


def test_a_breach_the_sweep_marked_is_what_the_replay_left_open(context, cases, rows):
    # Given a professional's notification whose 24-hour assessment (due 6 Jan 09:00) the sweep
    # marked breached on 7 January
    case = cases.open(aware_at=AWARE, source=Source.NOTIFICATION, notifier=Notifier.PROFESSIONAL)
    sweep(context, datetime(2026, 1, 7, 9, tzinfo=CPH))
    stored = rows.deadlines(case.id)["urgent_assessment"]
    assert (stored.status, stored.due_at) == ("breached", datetime(2026, 1, 6, 8, tzinfo=UTC))

    # Then the replay, which records no breach, agrees: the due time has passed
    assert replayed(context, cases.now)["ok"] is True


def test_an_assessment_dated_in_time_after_the_sweeps_breach_replays_late(context, cases, rows):
    # Given the same notification breached by the sweep on 7 January, and then the assessment
    # recorded, dated 5 January 10:00 (before its due time, but the deadline was breached)
    case = cases.open(aware_at=AWARE, source=Source.NOTIFICATION, notifier=Notifier.PROFESSIONAL)
    sweep(context, datetime(2026, 1, 7, 9, tzinfo=CPH))
    cases.fire(case, "assess_urgency", {"acute": False}, at=datetime(2026, 1, 5, 10, tzinfo=CPH))
    assert rows.deadlines(case.id)["urgent_assessment"].status == "met_late"
    # And one assessed in time with no sweep between: met
    in_time = cases.open(aware_at=AWARE, source=Source.NOTIFICATION, notifier=Notifier.PROFESSIONAL)
    cases.fire(in_time, "assess_urgency", {"acute": False}, at=datetime(2026, 1, 5, 10, tzinfo=CPH))
    assert rows.deadlines(in_time.id)["urgent_assessment"].status == "met"

    # Then the replay takes the sweep's mark (its breached_at) and agrees with both
    assert replayed(context, cases.now)["ok"] is True


def test_the_demo_replays_clean_after_a_sweep(context):
    now = datetime(2026, 12, 1, 8, tzinfo=UTC)
    load_demo(context, cases=40, now=now)
    sweep(context, now)

    result = replayed(context, now)

    assert result["differences"] == []
    assert result["ok"] is True
    assert result["cases_checked"] == 40
    with context.engine.connect() as connection:
        records = connection.execute(select(func.count()).select_from(AUDIT)).scalar_one()
    assert result["events_replayed"] == records


def test_a_case_opened_before_the_opening_record_held_its_owner_cannot_prove_it(
    context, cases, engine
):
    # Given a case opened as before decision 020: its opening record without worker and team
    rulebook = context.catalogue.get("default", "2024.1")
    case, outcome = open_case(
        municipality="demo",
        rulebook=rulebook,
        child_ref="BARN-OLD1",
        birth_date=datetime(2016, 5, 1).date(),
        aware_at=AWARE,
        source=Source.INQUIRY,
        notifier=None,
        now=cases.now,
    )
    with UnitOfWork(engine) as uow:
        case_id = uow.cases.add(
            case, worker="caseworker-anna", team="team-nord", opened_at=cases.now
        )
        entry = AuditEntry(
            case_id=case_id,
            seq=1,
            event="open_case",
            from_phase=None,
            to_phase="inquiry",
            event_at=outcome.at,
            recorded_at=cases.now,
            actor="caseworker-anna",
            role="caseworker",
            payload=canonical_json(outcome.payload),
            legal_basis=outcome.legal_basis,
            rulebook=rulebook.key,
        )
        stored = StoredCase(case, "caseworker-anna", "team-nord", cases.now, 0, "", {})
        uow.cases.record(stored, entry, case.measures, case.deadlines, rulebook=rulebook)
        uow.commit()
    assert "worker" not in json.loads(entry.payload)
    # When its worker is changed
    change(engine, update(CASE).where(CASE.c.id == case_id).values(worker="caseworker-bo"))

    result = replayed(context, cases.now)

    # Then the replay agrees with everything it can prove, and says what it cannot
    assert result["ok"] is True
    assert result["not_provable"] == [
        {"field": "worker", "cases": 1},
        {"field": "team", "cases": 1},
    ]


def test_the_replay_as_a_principal_is_the_exports_and_leaves_its_row(context, cases, walked):
    asked = Asked(Channel.API, "GET /api/v1/audit/verify?replay=true", cases.now)
    auditor = Principal("revisor", Role.AUDITOR, None)

    assert replay_trail(context, auditor, asked)["ok"] is True
    assert replay_trail(context, auditor, asked, case_id=walked.id)["events_replayed"] == 9
    # The admin verifies chains, but the replay shows case content: denied, and logged so
    with pytest.raises(AccessDenied):
        replay_trail(context, Principal("admin", Role.ADMIN, None), asked)

    with context.engine.connect() as connection:
        logged = connection.execute(
            select(
                ACCESS_LOG.c.user_name, ACCESS_LOG.c.action, ACCESS_LOG.c.case_id, ACCESS_LOG.c.what
            ).order_by(ACCESS_LOG.c.id)
        ).all()
    assert [tuple(r) for r in logged] == [
        ("revisor", Action.EXPORT.value, None, asked.what),
        ("revisor", Action.EXPORT.value, walked.id, asked.what),
        ("admin", Action.EXPORT.value, None, f"{asked.what} (denied)"),
    ]
