"""Two writers on the same case: exactly one wins, the other gets ConcurrencyConflict."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from models.repository import ConcurrencyConflict, StoredCase, UnitOfWork
from sagsflow.usecases.cases import Accepted, fire_event
from statemachine.audit import AuditEntry
from statemachine.phases import Phase, Role

CPH = ZoneInfo("Europe/Copenhagen")
ONLY_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", id="postgres")], indirect=True
)


def test_writer_holding_a_stale_version_gets_a_conflict_and_writes_nothing(cases, rows, context):
    # Given two caseworkers who both loaded the case at the same version
    case = cases.at_phase(Phase.CLARIFICATION)
    seen = rows.case(case.id).version
    at = case.later(days=1)

    # When the first records the custody holder's consent
    first = fire_event(
        context,
        case.id,
        "record_consent",
        at=at,
        data={"by": "custody_holder"},
        actor="caseworker-anna",
        role=Role.CASEWORKER,
        now=cases.now,
        expected_version=seen,
    )
    after_first = rows.snapshot(case.id)

    # Then the second, still holding the old version, is told to reload; nothing of it is stored
    with pytest.raises(ConcurrencyConflict, match="reload"):
        fire_event(
            context,
            case.id,
            "record_consent",
            at=at,
            data={"by": "child"},
            actor="caseworker-bo",
            role=Role.CASEWORKER,
            now=cases.now,
            expected_version=seen,
        )
    assert first.version == seen + 1
    assert rows.snapshot(case.id) == after_first


def test_saving_a_case_loaded_before_another_write_is_refused(cases, rows, engine, context):
    # Given a case loaded by one unit of work
    case = cases.at_phase(Phase.CLARIFICATION)
    with UnitOfWork(engine) as uow:
        stale = uow.cases.get(case.id)
    # … then changed by an event
    cases.fire(case, "record_consent", {"by": "custody_holder"})
    after_event = rows.snapshot(case.id)

    # When the first unit of work saves what it loaded
    with UnitOfWork(engine) as uow, pytest.raises(ConcurrencyConflict):
        pinned = context.catalogue.get(stale.file.rulebook_id, stale.file.rulebook_version)
        uow.cases.record(stale, _entry(stale), [], [], rulebook=pinned)

    # Then the lost update is refused at the case row's version, nothing overwritten
    assert rows.snapshot(case.id) == after_event


def _entry(stored: StoredCase) -> AuditEntry:
    """An audit record that follows `stored`'s head, as a writer holding it would append."""
    return AuditEntry(
        case_id=stored.file.id,
        seq=stored.audit_seq + 1,
        event="record_consent",
        from_phase="clarification",
        to_phase="clarification",
        event_at=stored.file.last_event_at,
        recorded_at=stored.file.last_event_at,
        actor="caseworker-stale",
        role="caseworker",
        payload="{}",
        legal_basis="",
        rulebook="default@2024.1",
    )


def _race(context, case_id: int, events: list[tuple[str, dict[str, Any]]], at: datetime, now):
    """Fire each event from its own thread, all released at once; returns their outcomes."""
    start = threading.Barrier(len(events))
    outcomes: list[Accepted | BaseException | None] = [None] * len(events)

    def write(index: int, event: str, data: dict[str, Any]) -> None:
        start.wait()
        try:
            outcomes[index] = fire_event(
                context,
                case_id,
                event,
                at=at,
                data=data,
                actor=f"caseworker-{index}",
                role=Role.CASEWORKER,
                now=now,
            )
        except BaseException as error:
            outcomes[index] = error

    threads = [
        threading.Thread(target=write, args=(i, event, data))
        for i, (event, data) in enumerate(events)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_writers_at_once_lose_no_update_and_leave_no_gap_in_the_audit(cases, rows, context):
    consents = [("record_consent", {"by": "custody_holder"}), ("record_consent", {"by": "child"})]
    for _ in range(5):
        # Given a case in clarification, version v
        case = cases.at_phase(Phase.CLARIFICATION)
        version = rows.case(case.id).version

        # When two caseworkers record a consent at the same moment
        outcomes = _race(context, case.id, consents, case.later(days=1), cases.now)

        # Then each either succeeded or was told of the conflict: no other error
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(outcome, ConcurrencyConflict):
                raise outcome
        won = [o for o in outcomes if isinstance(o, Accepted)]
        assert len(won) >= 1
        # … each success has a version of its own, and the case counts exactly the successes
        assert sorted(o.version for o in won) == list(range(version + 1, version + 1 + len(won)))
        stored = rows.case(case.id)
        assert stored.version == version + len(won)
        # … the audit chain has one record per accepted event, without a gap, and verifies
        audit = rows.audit(case.id)
        assert [r.seq for r in audit] == list(range(1, stored.audit_seq + 1))
        assert audit[-1].hash == stored.audit_hash
        assert rows.chain_break(case.id) is None


@ONLY_POSTGRES
def test_concurrent_writers_that_read_the_same_version_exactly_one_wins(
    cases, rows, context, engine
):
    # Given a case in clarification
    case = cases.at_phase(Phase.CLARIFICATION)
    version = rows.case(case.id).version
    # … and the audit log held by another transaction, so that both writers have read the case
    # before either can commit
    with engine.connect() as blocker:
        blocker.begin()
        blocker.execute(text("LOCK TABLE audit_log IN SHARE MODE"))
        outcomes: list[Any] = []
        consents = [
            ("record_consent", {"by": "custody_holder"}),
            ("record_consent", {"by": "child"}),
        ]
        race = threading.Thread(
            target=lambda: outcomes.extend(
                _race(context, case.id, consents, case.later(days=1), cases.now)
            )
        )
        race.start()
        _wait_for_lock_waiters(engine, 2)
        blocker.rollback()
    race.join(timeout=60)

    # When both have finished: exactly one won, the other got a conflict (not a database error)
    won = [o for o in outcomes if isinstance(o, Accepted)]
    lost = [o for o in outcomes if isinstance(o, ConcurrencyConflict)]
    assert (len(won), len(lost)) == (1, 1), outcomes
    assert won[0].version == version + 1
    # … and the case holds the winner's write only, its audit chain intact
    stored = rows.case(case.id)
    assert (stored.version, stored.audit_seq) == (version + 1, won[0].audit_seq)
    assert rows.chain_break(case.id) is None
    assert len(rows.audit(case.id)) == stored.audit_seq


def _wait_for_lock_waiters(engine, count: int, timeout: float = 10.0) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(query).scalar_one() >= count:
                return
        time.sleep(0.02)
    pytest.fail(f"the {count} writers never both waited on the locked audit log")
