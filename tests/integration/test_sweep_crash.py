"""A sweep killed half way and run again, or two sweeps at once: each notification exists once.

The sweeps run as an operator runs them: `sagsflow sweep --now … --json` as a subprocess on the
test's database (SQLite, then PostgreSQL), killed with SIGKILL where the test says so.

The caseload: eight cases opened through the service layer, counted by hand from default@2024.1's
ladders at Monday 4 May 2026, 12:00 (Copenhagen):
- A, a professional's notification of Friday 27 March, accepted: its 24-hour assessment (due
  28 March) and its acknowledgement (due 9 April) are breached → breach + escalation each.
- D, a professional's notification of Sunday 3 May, 11:00: assessment due 4 May 11:00, breached an
  hour ago → its breach notice (escalation a day later; acknowledgement due 11 May, reminder 7 May).
- C, a private notification of Sunday 3 May, 15:00: assessment due 4 May 15:00 → its reminder.
- E, a private notification of Monday 4 May, 11:00: assessment due 5 May → nothing due yet.
- B, an application of Friday 1 May: its decision deadline runs from receipt (retssikkerhedsloven
  §3 stk. 2; 4 weeks: due 29 May), and so does the notice of a delay (reminder 5 working days
  before: 22 May) → nothing due yet.
- M, a professional's notification assessed and acknowledged in time: nothing.
- X, a professional's notification closed the same day: nothing.
- I, an application of 1 December 2025 in investigation: its 4-month investigation (due 1 April)
  and the provisional assessment due with it (Barnets Lov §20 stk. 3) are breached → breach +
  escalation (14 days on) each; its decision deadline from receipt (due 29 December) → breach +
  escalation; its delay notice (due with it, a reminder and a breach notice only) → breach.
Per set: 7 deadlines newly breached; 13 notifications (1 reminder, 7 breach notices, 5
escalations).
The set is copied with SQL into COPIES (500) sets: the case, measure and deadline rows exactly as
the service layer stored them, under new ids (child references suffixed; the audit trail is not
copied: the sweep never reads it). That is 4,000 cases, 3,500 breaches and 6,500
notifications: in partitions of ten deadlines (`--batch-size`, each its own commit) a sweep makes
hundreds of commits, so it can be killed half way. Two sweeps meant to run at
once are held at a gate (a lock a writer waits for) until both are in their sweeps.

What a sweep must leave is not taken from the code: it is the hand count above, applied to the
generated rows (`due_by_hand`); the crash test also compares, row for row, with what one
uninterrupted sweep leaves on a twin of the database (a SQLite backup, or `CREATE DATABASE …
TEMPLATE` on PostgreSQL).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from notified import masks_disagreeing
from sqlalchemy import Engine, Integer, cast, func, insert, literal, select, text, true
from sqlalchemy.engine import make_url

from models.database import make_engine, reading
from models.tables import Case, Deadline, Measure, Notification
from statemachine.phases import Notifier, Phase, Source

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=CPH)
SWEEP_NOW = NOW.isoformat()
COPIES = 500
# The hand count, per case of a set and deadline rule: the rungs due at NOW (0 reminder to the
# caseworker, 1 breach notice to the team leader, 2 escalation to the department head).
DUE_RUNGS = {
    ("A", "urgent_assessment"): (1, 2),
    ("A", "acknowledgement"): (1, 2),
    ("D", "urgent_assessment"): (1,),
    ("C", "urgent_assessment"): (0,),
    ("I", "investigation"): (1, 2),
    ("I", "provisional_assessment"): (1, 2),
    ("I", "decision"): (1, 2),
    ("I", "delay_notice"): (1,),
}
RUNG = {
    0: ("reminder", "caseworker"),
    1: ("breach", "team_leader"),
    2: ("escalation", "department_head"),
}
# The deadlines newly breached at NOW, per set.
BREACHED = {
    ("A", "urgent_assessment"),
    ("A", "acknowledgement"),
    ("D", "urgent_assessment"),
    ("I", "investigation"),
    ("I", "provisional_assessment"),
    ("I", "decision"),
    ("I", "delay_notice"),
}
# Deadlines per partition (`sweep --batch-size`): of the sweep that is killed, of the two at once.
SMALL_BATCH = "10"
OVERLAP_BATCH = "50"
CASE = Case.__table__  # type: ignore[attr-defined]
MEASURE = Measure.__table__  # type: ignore[attr-defined]
DEADLINE = Deadline.__table__  # type: ignore[attr-defined]
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
# Every column of a notification but its id (a sequence's choice).
STORED = tuple(column.name for column in NOTIFICATION.c if column.name != "id")


def _command() -> list[str]:
    """The console script beside the running interpreter (the venv's), else `python -m`."""
    script = Path(sys.executable).with_name("sagsflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sagsflow.cli"]


SAGSFLOW = _command()


# --- the caseload ---------------------------------------------------------------------------


def _open_one_set(cases: Any) -> None:
    """The eight cases of the docstring, through the service layer; the letter is the child ref."""
    professional = {"source": Source.NOTIFICATION, "notifier": Notifier.PROFESSIONAL}
    private = {"source": Source.NOTIFICATION, "notifier": Notifier.PRIVATE}
    march_27 = datetime(2026, 3, 27, 10, tzinfo=CPH)
    a = cases.open(child_ref="A", aware_at=march_27, **professional)
    cases.fire(a, "accept", at=datetime(2026, 3, 27, 14, tzinfo=CPH))
    cases.open(child_ref="D", aware_at=datetime(2026, 5, 3, 11, tzinfo=CPH), **professional)
    cases.open(child_ref="C", aware_at=datetime(2026, 5, 3, 15, tzinfo=CPH), **private)
    cases.open(child_ref="E", aware_at=datetime(2026, 5, 4, 11, tzinfo=CPH), **private)
    application = {"source": Source.APPLICATION}
    cases.open(child_ref="B", aware_at=datetime(2026, 5, 1, 9, tzinfo=CPH), **application)
    m = cases.open(child_ref="M", aware_at=march_27, **professional)
    cases.fire(m, "assess_urgency", {"acute": False}, at=datetime(2026, 3, 27, 15, tzinfo=CPH))
    cases.fire(m, "acknowledge", at=datetime(2026, 3, 30, 9, tzinfo=CPH))
    x = cases.open(child_ref="X", aware_at=march_27, **professional)
    cases.fire(x, "close", {"reason": "Flyttet"}, at=datetime(2026, 3, 27, 12, tzinfo=CPH))
    december_1 = datetime(2025, 12, 1, 9, tzinfo=CPH)
    cases.at_phase(Phase.INVESTIGATION, child_ref="I", aware_at=december_1, **application)


def _copy_sets(engine: Engine, copies: int) -> None:
    """Copy every case, measure and deadline row `copies - 1` times (one INSERT … SELECT each).

    Copy k of a row with id n gets id n + k × (the table's highest id), and its case's copy k.
    """
    with engine.begin() as connection:
        highest = {
            table.name: connection.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar()
            for table in (CASE, MEASURE, DEADLINE)
        }
        numbers = select(literal(1, Integer).label("k")).cte("copies", recursive=True)
        numbers = numbers.union_all(select(numbers.c.k + 1).where(numbers.c.k < copies - 1))
        for table in (CASE, MEASURE, DEADLINE):
            columns = []
            for column in table.c:
                if column.name == "id":
                    columns.append(column + numbers.c.k * highest[table.name])
                elif column.name == "case_id":
                    columns.append(column + numbers.c.k * highest["case"])
                elif column.name == "child_ref":
                    columns.append(column + "-" + cast(numbers.c.k, column.type))
                else:
                    columns.append(column)
            rows = select(*columns).select_from(table.join(numbers, true()))
            connection.execute(insert(table).from_select([c.name for c in table.c], rows))
        if connection.dialect.name == "postgresql":
            for name in highest:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                        f'(SELECT max(id) FROM "{name}"))'
                    )
                )


@dataclass(frozen=True)
class Due:
    """What a sweep at NOW must leave: (deadline_id, case_id, rung, level, recipient_role) of
    each notification, and the ids of the deadlines breached."""

    notifications: set[tuple[int, int, int, str, str]]
    breaches: set[int]


@pytest.fixture
def due_by_hand(cases: Any, engine: Engine) -> Due:
    """COPIES sets of the eight cases, and the hand count applied to their deadline rows."""
    _open_one_set(cases)
    _copy_sets(engine, COPIES)
    with reading(engine) as reader:
        deadlines = reader.execute(
            select(DEADLINE.c.id, DEADLINE.c.case_id, DEADLINE.c.rule, CASE.c.child_ref).join(
                CASE, CASE.c.id == DEADLINE.c.case_id
            )
        ).all()
    assert len({row.case_id for row in deadlines}) == 8 * COPIES
    due = Due(set(), set())
    for row in deadlines:
        key = (row.child_ref.split("-")[0], row.rule)
        for rung in DUE_RUNGS.get(key, ()):
            due.notifications.add((row.id, row.case_id, rung, *RUNG[rung]))
        if key in BREACHED:
            due.breaches.add(row.id)
    assert len(due.notifications) == 13 * COPIES and len(due.breaches) == 7 * COPIES
    return due


def _keys(stored: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """`Due.notifications`' columns of stored notification rows."""
    columns = ("deadline_id", "case_id", "rung", "level", "recipient_role")
    return [tuple(row[STORED.index(c)] for c in columns) for row in stored]


# --- databases ------------------------------------------------------------------------------


@pytest.fixture
def twin(
    request: pytest.FixtureRequest, database_url: str, engine: Engine, tmp_path: Path
) -> Iterator[Callable[[], str]]:
    """Makes a copy of the test's database as it is now; returns the copy's URL."""
    made: list[str] = []

    def copy() -> str:
        url = make_url(database_url)
        if url.get_backend_name() == "sqlite":
            path = tmp_path / "twin.db"
            source, target = sqlite3.connect(url.database), sqlite3.connect(path)
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
            return f"sqlite:///{path}"
        server = request.getfixturevalue("postgres_server")
        engine.dispose()  # a template database must have no other connection
        name = f"{url.database}_twin"
        with server.admin.connect() as admin:
            admin.execute(text(f"CREATE DATABASE {name} TEMPLATE {url.database}"))
        made.append(name)
        url_of_twin: str = server.url(name)
        return url_of_twin

    yield copy
    for name in made:
        request.getfixturevalue("postgres_server").drop_database(name)


def _named(database_url: str, name: str) -> str:
    """On PostgreSQL, the URL with an application_name that tells this process's sessions."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return database_url
    return url.update_query_dict({"application_name": name}).render_as_string(hide_password=False)


def _notifications(url: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with reading(engine) as reader:
            query = select(*(NOTIFICATION.c[name] for name in STORED)).order_by(
                NOTIFICATION.c.deadline_id, NOTIFICATION.c.rung
            )
            return [tuple(row) for row in reader.execute(query)]
    finally:
        engine.dispose()


def _breaches(url: str) -> tuple[set[int], int]:
    """The ids of the deadlines breached at NOW, and how many open ones are overdue."""
    engine = make_engine(url)
    try:
        with reading(engine) as reader:
            breached = reader.execute(
                select(DEADLINE.c.id).where(
                    DEADLINE.c.status == "breached", DEADLINE.c.breached_at == NOW
                )
            ).scalars()
            overdue = reader.execute(
                select(func.count())
                .select_from(DEADLINE)
                .where(DEADLINE.c.status == "open", DEADLINE.c.due_at < NOW)
            ).scalar_one()
            return set(breached), int(overdue)
    finally:
        engine.dispose()


def _stored_count(engine: Engine) -> int:
    with reading(engine) as reader:
        return int(reader.execute(select(func.count()).select_from(NOTIFICATION)).scalar_one())


def _connected(
    database_url: str, engine: Engine, process: subprocess.Popen[str], name: str
) -> bool:
    """Whether the process holds a connection to the database (it is inside its sweep)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        with reading(engine) as reader:
            sessions = reader.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = :name"
                ),
                {"name": name},
            ).scalar_one()
        return bool(sessions)
    database = os.path.realpath(str(url.database))
    descriptors = Path(f"/proc/{process.pid}/fd")
    try:
        return any(os.path.realpath(fd) == database for fd in descriptors.iterdir())
    except OSError:  # the process, or one of its descriptors, went away meanwhile
        return False


def _waiting_for_the_gate(engine: Engine, name: str) -> bool:
    """On PostgreSQL: whether the process named `name` waits for a lock (the gate's)."""
    with reading(engine) as reader:
        waiting = reader.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name = :name AND wait_event_type = 'Lock'"
            ),
            {"name": name},
        ).scalar_one()
    return bool(waiting)


@contextmanager
def _writes_held(database_url: str, engine: Engine) -> Iterator[None]:
    """A starting gate: while open, no sweep can write (it waits, as for any other writer).

    SQLite: the write lock (BEGIN IMMEDIATE; a sweep's writer waits in its busy timeout).
    PostgreSQL: SHARE locks on the tables a sweep writes (reads go on, writes wait).
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        holder = sqlite3.connect(str(url.database), isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")
            yield
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        return
    with engine.connect() as holder:
        holder.execute(text("LOCK TABLE deadline, notification IN SHARE MODE"))
        yield
        holder.rollback()


def _assert_left_usable(database_url: str, engine: Engine) -> None:
    """No lock survives a finished or killed sweep, and the database is intact: each
    deadline's notified rungs (what lets a rerun skip it) are its committed notifications."""
    with engine.connect() as connection:
        assert masks_disagreeing(connection) == []
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(str(url.database), timeout=0, isolation_level=None)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
            # The write lock is free at once (timeout 0: no waiting for a lock left behind).
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        finally:
            connection.close()
        return
    # A killed client's server session ends when the server sees the socket close: soon.
    leftovers = (
        "SELECT a.pid, a.application_name, a.state, l.locktype, l.mode FROM pg_stat_activity a "
        "LEFT JOIN pg_locks l ON l.pid = a.pid "
        "WHERE a.datname = current_database() AND a.application_name LIKE 'sweep-%'"
    )
    waited_until = time.monotonic() + 10
    with engine.connect() as connection:
        left = connection.execute(text(leftovers)).all()
        while left and time.monotonic() < waited_until:
            connection.rollback()
            time.sleep(0.05)
            left = connection.execute(text(leftovers)).all()
        assert left == [], f"sessions or locks of the sweeps are still there: {left}"
        others = connection.execute(
            text(
                "SELECT l.pid, l.locktype, l.mode FROM pg_locks l "
                "JOIN pg_database d ON d.oid = l.database "
                "WHERE d.datname = current_database() AND l.pid <> pg_backend_pid()"
            )
        ).all()
        assert others == [], f"locks held on the test's database: {others}"
        # No row is locked either: every deadline and case can be locked without waiting.
        connection.execute(text("SELECT id FROM deadline FOR UPDATE NOWAIT")).all()
        connection.execute(text('SELECT id FROM "case" FOR UPDATE NOWAIT')).all()
        connection.rollback()


# --- the CLI --------------------------------------------------------------------------------


class Sweeps:
    """`sagsflow sweep` subprocesses; any still running at the end of the test are killed."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.started: list[subprocess.Popen[str]] = []

    def start(self, database_url: str, *options: str) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGSFLOW_")}
        env["SAGSFLOW_DATABASE_URL"] = database_url
        process = subprocess.Popen(
            [*SAGSFLOW, "sweep", "--now", SWEEP_NOW, "--json", *options],
            cwd=self.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    @staticmethod
    def result(process: subprocess.Popen[str]) -> dict[str, int]:
        """Wait for the sweep; it must exit 0. Returns its --json answer."""
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, f"sweep exited {process.returncode}: {stderr}"
        assert stderr == "", stderr
        answer: dict[str, int] = json.loads(stdout)
        return answer

    def run(self, database_url: str, *options: str) -> dict[str, int]:
        return self.result(self.start(database_url, *options))

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.communicate()


@pytest.fixture
def sweeps(tmp_path: Path) -> Iterator[Sweeps]:
    started = Sweeps(tmp_path)
    yield started
    started.kill_all()


# --- the tests ------------------------------------------------------------------------------


def test_a_sweep_killed_half_way_and_run_again_leaves_each_due_notification_exactly_once(
    database_url: str, engine: Engine, due_by_hand: Due, twin: Callable[[], str], sweeps: Sweeps
) -> None:
    # Given the caseload, and what one uninterrupted sweep leaves on a twin of it: the hand count
    uninterrupted = twin()
    sweeps.run(uninterrupted)
    expected = _notifications(uninterrupted)
    assert sorted(_keys(expected)) == sorted(due_by_hand.notifications)
    assert _breaches(uninterrupted) == (due_by_hand.breaches, 0)

    # When a sweep in partitions of a few deadlines is killed (SIGKILL) once a quarter of the
    # notifications are committed
    killed = sweeps.start(_named(database_url, "sweep-killed"), "--batch-size", SMALL_BATCH)
    give_up = time.monotonic() + 90
    while _stored_count(engine) < len(expected) // 4:
        assert killed.poll() is None, "the sweep ended before it could be killed"
        assert time.monotonic() < give_up, "the sweep made no progress"
        time.sleep(0.002)
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate(timeout=30)
    assert killed.returncode == -signal.SIGKILL
    # (it really died half way: some committed, not all)
    at_kill = _stored_count(engine)
    assert 0 < at_kill < len(expected)
    breached_at_kill, _ = _breaches(database_url)
    # and it left no lock behind and the database intact
    _assert_left_usable(database_url, engine)

    # and the sweep is run again
    rerun = sweeps.run(_named(database_url, "sweep-rerun"))

    # Then the notifications are those of the uninterrupted sweep, row for row, none twice
    stored = _notifications(database_url)
    assert len(set(_keys(stored))) == len(stored)
    assert stored == expected
    # the rerun made exactly the ones the killed sweep had not committed
    assert rerun["notifications_created"] == len(expected) - at_kill
    # every breach is marked, and the rerun counted only those the killed sweep had not
    assert _breaches(database_url) == (due_by_hand.breaches, 0)
    assert rerun["breached"] == len(due_by_hand.breaches - breached_at_kill)
    # and the database is left usable
    _assert_left_usable(database_url, engine)


def test_two_sweeps_started_together_create_each_due_notification_exactly_once(
    database_url: str, backend: str, engine: Engine, due_by_hand: Due, sweeps: Sweeps
) -> None:
    # Given the caseload
    total = len(due_by_hand.notifications)

    # When two sweep processes start on the same database, held at a gate until both are in
    # their sweeps, then let go at the same moment
    names = ("sweep-a", "sweep-b")
    give_up = time.monotonic() + 120
    with _writes_held(database_url, engine):
        processes = [
            sweeps.start(_named(database_url, name), "--batch-size", OVERLAP_BATCH)
            for name in names
        ]
        while not all(
            _waiting_for_the_gate(engine, name)
            if backend == "postgresql"
            else _connected(database_url, engine, process, name)
            for process, name in zip(processes, names, strict=True)
        ):
            assert all(p.poll() is None for p in processes), "a sweep ended at the gate"
            assert time.monotonic() < give_up, "the sweeps never reached the gate"
            time.sleep(0.01)
        assert _stored_count(engine) == 0
    # (and watched until both end: were both still in their sweeps while it was half done?)
    overlapped = False
    while any(p.poll() is None for p in processes) and time.monotonic() < give_up:
        if not overlapped and 0 < _stored_count(engine) < total:
            overlapped = all(
                _connected(database_url, engine, p, n)
                for p, n in zip(processes, names, strict=True)
            )
        time.sleep(0.005)
    results = [sweeps.result(p) for p in processes]

    # Then both succeeded (on SQLite neither failed with "database is locked": `result` checks
    # exit code 0 and an empty stderr), and both were sweeping at the same time
    assert overlapped, "one sweep ended before the other wrote: make the caseload larger"
    # each due notification exists once, and no other
    stored = _keys(_notifications(database_url))
    assert len(set(stored)) == len(stored)
    assert sorted(stored) == sorted(due_by_hand.notifications)
    # and between them they counted each notification and each breach once
    assert sum(r["notifications_created"] for r in results) == total
    assert sum(r["breached"] for r in results) == len(due_by_hand.breaches)
    assert _breaches(database_url) == (due_by_hand.breaches, 0)
    _assert_left_usable(database_url, engine)
