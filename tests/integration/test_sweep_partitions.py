"""The sweep cut into deadline-id ranges gives what the whole sweep gives, and never twice.

The caseload is the CLI test's (tests/e2e/test_cli.py), counted by hand from default@2024.1's
ladders at Monday 4 May 2026, 12:00:
- A, a professional's notification of Friday 27 March, accepted the same afternoon: its 24-hour
  assessment (due 28 March) and its acknowledgement (due 9 April) are breached → breach +
  escalation each = 4 notifications (their reminders are not sent after the due time).
- B, an application of 1 May: no deadline runs in inquiry.
- C, a private notification of Sunday 3 May, 15:00: assessment due 4 May 15:00 → its reminder
  (6 hours before = 09:00) is due = 1 notification.
Three deadlines to examine, two newly breached, five notifications.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from notified import masks_disagreeing
from sqlalchemy import func, select, text

from models.database import make_engine
from models.tables import Notification
from sagsflow.usecases.sweep import (
    SweepResult,
    record_breaches,
    sweep,
    sweep_batches,
    sweep_partition,
)
from statemachine.phases import Notifier, Source

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=CPH)
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", id="postgres")], indirect=True
)


@pytest.fixture
def caseload(cases):
    """Cases A, B and C; A in municipality `demo`, B and C in `vest` (both on `default`)."""
    a = cases.open(
        aware_at=datetime(2026, 3, 27, 10, tzinfo=CPH),
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
        worker="anna",
        team="nord",
    )
    cases.fire(a, "accept", at=datetime(2026, 3, 27, 14, tzinfo=CPH))
    b = cases.open(
        aware_at=datetime(2026, 5, 1, 9, tzinfo=CPH), worker="bo", team="syd", municipality="vest"
    )
    c = cases.open(
        aware_at=datetime(2026, 5, 3, 15, tzinfo=CPH),
        source=Source.NOTIFICATION,
        notifier=Notifier.PRIVATE,
        worker="anna",
        team="syd",
        municipality="vest",
    )
    return {"A": a.id, "B": b.id, "C": c.id}


def notifications(engine) -> list[tuple[int, int, int]]:
    """(case_id, deadline_id, rung) of every stored notification."""
    with engine.connect() as connection:
        query = select(
            NOTIFICATION.c.case_id, NOTIFICATION.c.deadline_id, NOTIFICATION.c.rung
        ).order_by(NOTIFICATION.c.deadline_id, NOTIFICATION.c.rung)
        return [tuple(row) for row in connection.execute(query)]


def test_partitions_of_one_deadline_each_create_what_the_whole_sweep_would(
    context, engine, caseload
):
    # Given the breaches marked, and the deadlines to examine cut into ranges of one
    assert record_breaches(context, NOW) == 2
    ranges = sweep_batches(context, NOW, batch_size=1)
    assert len(ranges) == 3
    assert all(low == high for low, high in ranges)
    assert ranges == sorted(ranges)

    # When each range is swept on its own
    results = [sweep_partition(context, NOW, id_range) for id_range in ranges]

    # Then together they created the five notifications, one per partition's deadline ladder
    assert sum(results, SweepResult(0, 0, 0)) == SweepResult(0, 5, 3)
    assert sorted(r.notifications_created for r in results) == [1, 2, 2]
    assert len(notifications(engine)) == 5
    # and a whole sweep afterwards finds nothing left to do: every ladder has given what it can
    # at NOW, so the rerun skips the three in SQL and reads none of them (issue 9)
    assert sweep(context, NOW) == SweepResult(0, 0, 0)


@pytest.mark.parametrize("batch_size", [1, 2, 5000])
def test_sweep_gives_the_same_totals_whatever_the_batch_size(context, caseload, batch_size):
    assert sweep(context, NOW, batch_size=batch_size) == SweepResult(2, 5, 3)
    # The rerun: nothing left on any of the three ladders, none read (skipped in SQL).
    assert sweep(context, NOW, batch_size=batch_size) == SweepResult(0, 0, 0)


def test_two_ranges_cover_the_deadlines_in_batches_of_at_most_two(context, caseload):
    ranges = sweep_batches(context, NOW, batch_size=2)
    assert len(ranges) == 2
    (low1, high1), (low2, high2) = ranges
    assert low1 < high1 < low2 == high2


def test_rerunning_a_partition_creates_nothing_more(context, engine, caseload):
    record_breaches(context, NOW)
    [whole] = sweep_batches(context, NOW, batch_size=100)
    assert sweep_partition(context, NOW, whole).notifications_created == 5
    assert sweep_partition(context, NOW, whole).notifications_created == 0
    assert len(notifications(engine)) == 5


def test_a_sweep_for_one_municipality_touches_only_its_cases(context, engine, caseload):
    # Given A in `demo`, B and C in `vest`
    # When `vest` is swept: C's reminder only, nothing breached there yet
    assert sweep(context, NOW, municipality="vest") == SweepResult(0, 1, 1)
    assert [(case, rung) for case, _, rung in notifications(engine)] == [(caseload["C"], 0)]
    # and then `demo`: A's two breaches, each with breach and escalation
    assert sweep(context, NOW, municipality="demo") == SweepResult(2, 4, 2)
    assert sweep(context, NOW) == SweepResult(0, 0, 0)  # nothing left: none read


def test_nothing_to_examine_gives_no_ranges(context):
    assert sweep_batches(context, NOW, batch_size=10) == []
    assert sweep(context, NOW) == SweepResult(0, 0, 0)


def test_a_naive_now_is_refused(context):
    with pytest.raises(ValueError, match="UTC offset"):
        sweep_batches(context, datetime(2026, 5, 4, 12), batch_size=10)


@POSTGRES_ONLY
def test_deadlines_claimed_by_another_worker_are_skipped_not_awaited(
    context, database_url, caseload
):
    # Given another worker holding A's deadlines (its partition transaction is under way)
    record_breaches(context, NOW)
    [whole] = sweep_batches(context, NOW, batch_size=100)
    # (a lock wait fails this worker after 5 s instead of hanging the test)
    impatient = replace(
        context, engine=make_engine(database_url, connect_args={"options": "-c lock_timeout=5s"})
    )
    other = make_engine(database_url)
    try:
        with other.begin() as held:
            held.execute(
                text("SELECT id FROM deadline WHERE case_id = :a FOR NO KEY UPDATE"),
                {"a": caseload["A"]},
            )
            # When this worker sweeps the same range
            first = sweep_partition(impatient, NOW, whole)
            held.rollback()
        # Then it wrote only C's reminder at once; A's four are left to whoever holds them
        assert first.notifications_created == 1
        # and once the other worker is gone (it rolled back), the next sweep writes them
        assert sweep_partition(impatient, NOW, whole).notifications_created == 4
    finally:
        other.dispose()
        impatient.engine.dispose()


@POSTGRES_ONLY
def test_two_workers_sweeping_the_same_partitions_at_once_create_each_notification_once(
    context, engine, caseload
):
    # Given two workers that start the same partitions at the same moment
    record_breaches(context, NOW)
    ranges = sweep_batches(context, NOW, batch_size=1)
    start = threading.Barrier(2)
    created: list[int] = []

    def worker() -> None:
        start.wait()
        for id_range in ranges:
            created.append(sweep_partition(context, NOW, id_range).notifications_created)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then between them they created the five notifications, each exactly once
    assert sum(created) == 5
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(NOTIFICATION)).scalar() == 5
    assert len(set(notifications(engine))) == 5


def _left_undone(context, engine, now) -> list[tuple[int, int]]:
    """(deadline_id, rung) the ladders would still give at `now`, evaluated in Python over
    every unresolved deadline of an open case (no SQL skip): the oracle for the sweep's skip."""
    from models.repository import CASE, DEADLINE
    from sagsflow.usecases.sweep import due_notifications

    query = (
        select(
            DEADLINE.c.id,
            DEADLINE.c.case_id,
            DEADLINE.c.rule,
            DEADLINE.c.due_at,
            CASE.c.rulebook_id,
            CASE.c.rulebook_version,
        )
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(DEADLINE.c.status.in_(["open", "breached"]), CASE.c.phase != "closure")
    )
    with engine.connect() as connection:
        rows = connection.execute(query).all()
    existing = {(d, r) for _, d, r in notifications(engine)}
    left = []
    for rulebook in context.catalogue.rulebooks:
        mine = [
            r
            for r in rows
            if (r.rulebook_id, r.rulebook_version) == (rulebook.id, rulebook.version)
        ]
        left += [
            (n["deadline_id"], n["rung"]) for n in due_notifications(rulebook, mine, now, existing)
        ]
    return left


@pytest.mark.parametrize("hours", [6, 23, 71])
def test_the_skip_in_sql_never_hides_a_rung_that_is_due(context, engine, caseload, hours):
    # Given the caseload swept again and again as time passes, from before any reminder to
    # after every escalation (the reminder due, the deadlines falling due, the escalations)
    from datetime import timedelta

    at = datetime(2026, 3, 26, 12, tzinfo=CPH)
    while at < datetime(2026, 6, 15, tzinfo=CPH):
        sweep(context, at)
        # Then after each sweep nothing is left that the ladders, read in full, would give
        assert _left_undone(context, engine, at) == []
        # and each deadline's notified rungs, which let the sweep skip it, are its stored ones
        with engine.connect() as connection:
            assert masks_disagreeing(connection) == []
        at += timedelta(hours=hours)


def test_the_migration_gives_each_deadline_the_rungs_already_notified(
    context, engine, database_url, caseload
):
    # Given the caseload swept (five notifications over three deadlines) on a database migrated
    # back to before the deadlines kept their notified rungs (0007), and so holding none
    from alembic import command

    from models.database import alembic_config, upgrade

    assert sweep(context, NOW).notifications_created == 5
    engine.dispose()
    command.downgrade(alembic_config(database_url), "0007_tally_spans")

    # When it is migrated to the head again
    upgrade(database_url)

    # Then each deadline's mask names exactly its stored rungs — A's two deadlines rungs 1 and 2
    # (breach, escalation: 0b110), C's assessment rung 0 (the reminder: 0b1)
    with engine.connect() as connection:
        assert masks_disagreeing(connection) == []
        masks = connection.execute(
            text(
                "SELECT d.case_id, d.rule, d.notified_rungs FROM deadline d "
                "WHERE d.notified_rungs <> 0 ORDER BY d.case_id, d.rule"
            )
        ).all()
    a, c = caseload["A"], caseload["C"]
    assert [tuple(m) for m in masks] == [
        (a, "acknowledgement", 0b110),
        (a, "urgent_assessment", 0b110),
        (c, "urgent_assessment", 0b1),
    ]
    # and a sweep again finds nothing left to give, reading none of them
    assert sweep(context, NOW) == SweepResult(0, 0, 0)


@POSTGRES_ONLY
def test_a_mass_breach_renews_the_deadline_statistics(context, engine, caseload, monkeypatch):
    # Given the caseload's two overdue deadlines, and a threshold of two breaches at once (the
    # product's is 10,000: sweep.ANALYZE_AFTER)
    from sagsflow.usecases import sweep as sweeping

    def analysed() -> int:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_stat_clear_snapshot()"))
            return int(
                connection.execute(
                    text("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'deadline'")
                ).scalar_one()
            )

    before = analysed()
    monkeypatch.setattr(sweeping, "ANALYZE_AFTER", 2)

    # When a sweep marks them breached
    assert record_breaches(context, NOW) == 2

    # Then PostgreSQL's statistics of the deadline table are taken again (the next sweeps'
    # breach UPDATE is planned on them), and a sweep that marks fewer does not take them
    assert analysed() == before + 1
    assert record_breaches(context, NOW) == 0
    assert analysed() == before + 1
