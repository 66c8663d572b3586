"""Events per second through the service layer, against the same work as hand-written SQL.

Not a test (pytest never collects it: no `test_` names, and `bench/` is outside `testpaths`).
Run from the repository root:

    .venv/bin/python bench/events.py                       # 10k and 100k cases, SQLite and PostgreSQL
    .venv/bin/python bench/events.py --cases 10000 --db sqlite --events 3000
    .venv/bin/python bench/events.py --json                # the results as JSON on stdout
    .venv/bin/python bench/events.py --profile             # also cProfile the service loop

For every database size and backend it

1. creates a scratch database (SQLite: a WAL file in a temporary directory; PostgreSQL: a database
   on 127.0.0.1:5432, user postgres, created here and dropped at the end) and migrates it with
   Alembic, like `sagsflow db upgrade`;
2. opens a few dozen template cases through the service layer (`open_case`, `fire_event`) and then
   bulk-copies their rows (case, deadlines, audit records) to reach N cases, re-chaining each
   copy's audit hashes for its own case id — valid cases the service fires events on, whose audit
   trail `sagsflow audit verify` accepts;
3. copies that database (file copy / `CREATE DATABASE … TEMPLATE`) so that the service and the raw
   floor start from the same state;
4. times a mix of events (accept, record_consent, assess_urgency, acknowledge and a few
   open_investigation) on random cases with increasing event times, each a full `fire_event`
   transaction: load the case, run the machine, meet/arm deadlines, append the hash-chained
   audit record, commit;
5. times the "raw floor": the same events as hand-written SQL on the bare DB-API driver (sqlite3 /
   psycopg), one transaction each — select the case row and its deadlines, update the case row
   (phase, facts, version, audit head), update the deadline the event meets or insert the one it
   arms, insert the audit row with its HMAC-SHA-256 chain MAC, commit;
6. optionally (`--verify`, on by default) runs `audit verify` over the service database.

It also times `sagsflow --help` (median of 10 runs in a fresh process). Results go to
`bench/results/` (git-ignored).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import hmac
import io
import json
import os
import platform
import pstats
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, insert, select, text  # noqa: E402

from models.database import make_engine, upgrade  # noqa: E402
from models.repository import AUDIT, CASE, DEADLINE, MEASURE, recount_open_caseload  # noqa: E402
from rulebooks import Catalogue, shipped_catalogue  # noqa: E402
from sagsflow.context import Context  # noqa: E402
from sagsflow.read.audit import verify_audit  # noqa: E402
from sagsflow.usecases.cases import fire_event, open_case  # noqa: E402
from statemachine.audit import GENESIS, AuditEntry, AuditKey, KeyRing  # noqa: E402
from statemachine.phases import Notifier, Role, Source  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# Records are MACed as in production (HMAC-SHA-256, docs/decisions/019); the floor MACs too.
BENCH_KEY = AuditKey("b1", bytes(range(32)))
BENCH_KEYS = KeyRing({"b1": BENCH_KEY}, BENCH_KEY, None)
POSTGRES_ADMIN_URL = os.environ.get(
    "SAGSFLOW_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# Template cases become aware on 20 weekdays; the measured events start after all of them.
AWARE_DAYS = [date(2026, 1, 5) + timedelta(days=d) for d in range(28) if (d % 7) < 5]
EVENTS_FROM = datetime(2026, 2, 16, 8, 0, tzinfo=COPENHAGEN).astimezone(UTC)
BIRTH_DATE = date(2016, 5, 1)  # 9 years old: the custody holder's consent is enough
ACTOR = "caseworker-bench"
BATCH = 5000


# --- scratch databases -------------------------------------------------------------------------


class Scratch:
    """Two databases with the same content: one for the service, one for the raw floor."""

    backend: str
    service_url: str
    floor_url: str

    def clone(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError


class SqliteScratch(Scratch):
    backend = "sqlite"

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="sagsflow-bench-"))
        self.service_path = self.directory / "service.db"
        self.floor_path = self.directory / "floor.db"
        self.service_url = f"sqlite:///{self.service_path}"
        self.floor_url = f"sqlite:///{self.floor_path}"

    def clone(self) -> None:
        # Fold the WAL into the main file, then copy one file.
        with sqlite3.connect(self.service_path) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        shutil.copyfile(self.service_path, self.floor_path)

    def drop(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


class PostgresScratch(Scratch):
    backend = "postgresql"

    def __init__(self, admin_url: str, tag: str) -> None:
        from sqlalchemy.engine import make_url

        self.admin_url = make_url(admin_url)
        self.admin = make_engine(
            admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
        )
        self.service_db = f"sagsflow_bench_{os.getpid()}_{tag}"
        self.floor_db = f"{self.service_db}_floor"
        self._execute(f"DROP DATABASE IF EXISTS {self.service_db} WITH (FORCE)")
        self._execute(f"DROP DATABASE IF EXISTS {self.floor_db} WITH (FORCE)")
        self._execute(f"CREATE DATABASE {self.service_db}")
        self.service_url = self._url(self.service_db)
        self.floor_url = self._url(self.floor_db)

    def _url(self, database: str) -> str:
        return str(self.admin_url.set(database=database).render_as_string(hide_password=False))

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def clone(self) -> None:
        self._execute(f"CREATE DATABASE {self.floor_db} TEMPLATE {self.service_db}")

    def drop(self) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {self.service_db} WITH (FORCE)")
        self._execute(f"DROP DATABASE IF EXISTS {self.floor_db} WITH (FORCE)")
        self.admin.dispose()


def psycopg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    parts = {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "dbname": parsed.database,
    }
    if parsed.password:
        parts["password"] = parsed.password
    return " ".join(f"{k}={v}" for k, v in parts.items())


# --- population ----------------------------------------------------------------------------------


@dataclass
class BenchCase:
    """What the event planner tracks about a case (the bench's own bookkeeping, not the engine's)."""

    phase: str
    consent: bool


def _template_cases(context: Context) -> list[tuple[int, BenchCase]]:
    """A few dozen cases opened and moved through the service layer: the rows to copy."""
    now = EVENTS_FROM
    made: list[tuple[int, BenchCase]] = []
    for n, day in enumerate(AWARE_DAYS):
        aware_at = datetime(day.year, day.month, day.day, 9, 30, tzinfo=COPENHAGEN)
        for kind in ("inquiry", "clarification"):
            accepted = open_case(
                context,
                child_ref=f"BENCH-T{n:02d}{kind[0]}",
                birth_date=BIRTH_DATE,
                aware_at=aware_at,
                source=Source.NOTIFICATION,
                notifier=Notifier.PROFESSIONAL,
                worker="caseworker-bench",
                team="team-bench",
                municipality="demo",
                actor=ACTOR,
                now=now,
            )
            if kind == "clarification":
                for hours, event, data in (
                    (1, "accept", None),
                    (2, "record_consent", {"by": "custody_holder"}),
                ):
                    fire_event(
                        context,
                        accepted.case_id,
                        event,
                        at=aware_at + timedelta(hours=hours),
                        data=data,
                        actor=ACTOR,
                        role=Role.CASEWORKER,
                        now=now,
                    )
            made.append((accepted.case_id, BenchCase(kind, kind == "clarification")))
    return made


def _chain(case_id: int, audit_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The template's audit records, re-hashed for `case_id` (the case id is part of each hash)."""
    prev, out = GENESIS, []
    for row in audit_rows:
        entry = AuditEntry(
            case_id=case_id,
            seq=row["seq"],
            event=row["event"],
            from_phase=row["from_phase"],
            to_phase=row["to_phase"],
            event_at=row["event_at"],
            recorded_at=row["recorded_at"],
            actor=row["actor"],
            role=row["role"],
            payload=row["payload"],
            legal_basis=row["legal_basis"],
            rulebook=row["rulebook"],
            channel=row["channel"],
            os_user=row["os_user"],
            as_operator=bool(row["as_operator"]),
        )
        digest = entry.digest(prev, BENCH_KEY)
        out.append({**row, "case_id": case_id, "prev_hash": prev, "hash": digest})
        prev = digest
    return out


def populate(engine: Engine, catalogue: Catalogue, count: int) -> dict[int, BenchCase]:
    """`count` valid cases: templates through the service, the rest bulk-copied from them."""
    context = Context(engine, catalogue, keys=BENCH_KEYS)
    templates = _template_cases(context)
    ids = [case_id for case_id, _ in templates]
    with engine.connect() as connection:
        case_rows = {
            r.id: dict(r._mapping)
            for r in connection.execute(select(CASE).where(CASE.c.id.in_(ids)))
        }
        deadline_rows: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for r in connection.execute(
            select(DEADLINE).where(DEADLINE.c.case_id.in_(ids)).order_by(DEADLINE.c.id)
        ):
            deadline_rows[r.case_id].append({k: v for k, v in r._mapping.items() if k != "id"})
        audit_rows: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for r in connection.execute(
            select(AUDIT).where(AUDIT.c.case_id.in_(ids)).order_by(AUDIT.c.case_id, AUDIT.c.seq)
        ):
            audit_rows[r.case_id].append({k: v for k, v in r._mapping.items() if k != "id"})
        measures = connection.execute(
            select(MEASURE.c.id).where(MEASURE.c.case_id.in_(ids))
        ).first()
        assert measures is None, "the templates hold no measures; copying them is not implemented"

    cases: dict[int, BenchCase] = {case_id: kind for case_id, kind in templates}
    first = max(ids) + 1
    for start in range(first, count + 1, BATCH):
        stop = min(start + BATCH, count + 1)
        new_cases, new_deadlines, new_audit = [], [], []
        for case_id in range(start, stop):
            template_id, kind = templates[case_id % len(templates)]
            chain = _chain(case_id, audit_rows[template_id])
            new_cases.append(
                {
                    **case_rows[template_id],
                    "id": case_id,
                    "child_ref": f"BENCH-{case_id:07d}",
                    "worker": f"caseworker-{case_id % 40:02d}",
                    "team": f"team-{case_id % 5}",
                    "audit_seq": len(chain),
                    "audit_hash": chain[-1]["hash"],
                }
            )
            new_deadlines += [{**d, "case_id": case_id} for d in deadline_rows[template_id]]
            new_audit += chain
            cases[case_id] = BenchCase(kind.phase, kind.consent)
        with engine.begin() as connection:
            connection.execute(insert(CASE), new_cases)
            connection.execute(insert(DEADLINE), new_deadlines)
            connection.execute(insert(AUDIT), new_audit)
    with engine.begin() as connection:
        recount_open_caseload(connection)  # rows copied past the audit writer
        from models.readmodels import rebuild

        rebuild(connection)  # the same for the read models of decision 010
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Ids were given explicitly: move the sequence past them.
            connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('\"case\"', 'id'), max(id)) FROM \"case\""
                )
            )
            connection.execute(text('ANALYZE "case"; ANALYZE deadline; ANALYZE audit_log'))
        else:
            connection.execute(text("ANALYZE"))
    return cases


# --- the events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedEvent:
    case_id: int
    event: str
    data: dict[str, Any] | None
    at: datetime


def plan_events(cases: dict[int, BenchCase], count: int, seed: int) -> list[PlannedEvent]:
    """A realistic mix on random cases, every event valid for its case's phase, times increasing."""
    rng = random.Random(seed)
    ids = sorted(cases)
    state = {i: BenchCase(c.phase, c.consent) for i, c in cases.items()}
    planned = []
    for n in range(count):
        case_id = rng.choice(ids)
        case = state[case_id]
        if case.phase == "inquiry":
            options = [("accept", None, 3), ("assess_urgency", None, 2), ("acknowledge", None, 2)]
        elif case.phase == "clarification":
            options = [
                ("record_consent", None, 3),
                ("assess_urgency", None, 2),
                ("acknowledge", None, 2),
            ]
            if case.consent:
                options.append(("open_investigation", None, 1))
        else:
            options = [("record_provisional_assessment", None, 1)]
        event = rng.choices([o[0] for o in options], weights=[o[2] for o in options])[0]
        data: dict[str, Any] | None = None
        if event == "assess_urgency":
            data = {"acute": rng.random() < 0.2}
        elif event == "record_consent":
            by = "custody_holder" if rng.random() < 0.8 else "child"
            data = {"by": by}
            case.consent = case.consent or by == "custody_holder"
        elif event == "accept":
            case.phase = "clarification"
        elif event == "open_investigation":
            case.phase = "investigation"
        # 7 seconds apart: increasing, and every one before `now`.
        planned.append(PlannedEvent(case_id, event, data, EVENTS_FROM + timedelta(seconds=7 * n)))
    return planned


class ServiceRunner:
    """`fire_event` through a Context, as the CLI and the flows call it."""

    def __init__(self, url: str, catalogue: Catalogue, now: datetime, profile: bool) -> None:
        self.engine = make_engine(url)
        self.context = Context(self.engine, catalogue, keys=BENCH_KEYS)
        self.now = now
        self.profiler = cProfile.Profile() if profile else None

    def fire(self, batch: Sequence[PlannedEvent]) -> None:
        context, now = self.context, self.now
        for e in batch:
            fire_event(
                context,
                e.case_id,
                e.event,
                at=e.at,
                data=e.data,
                actor=ACTOR,
                role=Role.CASEWORKER,
                now=now,
            )

    def run(self, batch: Sequence[PlannedEvent]) -> float:
        """Events per second over `batch`."""
        if self.profiler:
            self.profiler.enable()
        started = time.perf_counter()
        self.fire(batch)
        elapsed = time.perf_counter() - started
        if self.profiler:
            self.profiler.disable()
        return len(batch) / elapsed

    def close(self, profile: Path | None) -> None:
        self.engine.dispose()
        if self.profiler and profile:
            out = io.StringIO()
            stats = pstats.Stats(self.profiler, stream=out)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)
            profile.write_text(out.getvalue(), encoding="utf-8")


def measure_open_case(url: str, catalogue: Catalogue, count: int) -> float:
    engine = make_engine(url)
    context = Context(engine, catalogue, keys=BENCH_KEYS)
    now = EVENTS_FROM + timedelta(days=400)
    aware_at = EVENTS_FROM + timedelta(days=300)
    started = time.perf_counter()
    for n in range(count):
        open_case(
            context,
            child_ref=f"BENCH-OPEN-{n:06d}",
            birth_date=BIRTH_DATE,
            aware_at=aware_at,
            source=Source.NOTIFICATION,
            notifier=Notifier.PROFESSIONAL,
            worker="caseworker-bench",
            team="team-bench",
            municipality="demo",
            actor=ACTOR,
            now=now,
        )
    elapsed = time.perf_counter() - started
    engine.dispose()
    return count / elapsed


# --- the raw floor -------------------------------------------------------------------------------

# What each event does to the case's deadlines, hand-coded as a raw-SQL application would.
_MEETS = {"assess_urgency": "urgent_assessment", "acknowledge": "acknowledgement"}
_MOVES = {"accept": "clarification", "open_investigation": "investigation"}


# The whole case row and the whole deadline rows, as the engine reads them to rebuild the case
# (the columns the floor uses first).
_CASE_COLUMNS = (
    "id, phase, phase_entered_at, version, facts, audit_seq, audit_hash, aware_at, rulebook_id, "
    "rulebook_version, municipality, child_ref, birth_date, source, notifier, worker, team, "
    "last_event_at, opened_at"
)
_DEADLINE_COLUMNS = (
    "id, key, rule, status, due_at, case_id, measure_key, anchor_at, source, responsible, "
    "escalated_to, explanation, armed_at, closed_at, closed_by, breached_at"
)


def _floor_hash(fields: dict[str, Any], prev_hash: str) -> str:
    body = json.dumps({**fields, "prev_hash": prev_hash}, sort_keys=True, separators=(",", ":"))
    return hmac.new(BENCH_KEY.secret, body.encode("utf-8"), hashlib.sha256).hexdigest()


def _floor_facts(facts: dict[str, Any], e: PlannedEvent) -> dict[str, Any]:
    if e.event == "assess_urgency":
        assert e.data is not None
        facts["acute"] = e.data["acute"]
    elif e.event == "record_consent":
        assert e.data is not None
        facts["consents"] = sorted({*facts.get("consents", []), e.data["by"]})
    return facts


def _sqlite_time(value: datetime) -> str:
    # SQLAlchemy's SQLite DateTime storage: naive UTC text.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


class SqliteFloor:
    """The events as hand-written SQL on sqlite3, with the engine's PRAGMAs."""

    def __init__(self, path: Path, now: datetime) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            self.connection.execute(f"PRAGMA {pragma}")
        self.now = _sqlite_time(now)

    def run(self, batch: Sequence[PlannedEvent]) -> float:
        started = time.perf_counter()
        self.fire(batch)
        return len(batch) / (time.perf_counter() - started)

    def close(self) -> None:
        self.connection.close()

    def fire(self, batch: Sequence[PlannedEvent]) -> None:
        now = self.now
        cursor = self.connection.cursor()
        for e in batch:
            at = _sqlite_time(e.at)
            cursor.execute("BEGIN IMMEDIATE")
            case = cursor.execute(
                f'SELECT {_CASE_COLUMNS} FROM "case" WHERE id = ?',
                (e.case_id,),
            ).fetchone()
            deadlines = cursor.execute(
                f"SELECT {_DEADLINE_COLUMNS} FROM deadline WHERE case_id = ? ORDER BY id",
                (e.case_id,),
            ).fetchall()
            (case_id, phase, entered, version, facts, seq, prev, aware_at, rb_id, rb_version) = (
                case[:10]
            )
            to_phase = _MOVES.get(e.event, phase)
            facts_json = json.dumps(_floor_facts(json.loads(facts), e))
            fields = {
                "case_id": case_id,
                "seq": seq + 1,
                "event": e.event,
                "from_phase": phase,
                "to_phase": to_phase,
                "event_at": at,
                "recorded_at": now,
                "actor": ACTOR,
                "role": "caseworker",
                "payload": json.dumps(e.data or {}, sort_keys=True),
                "legal_basis": "bench",
                "rulebook": f"{rb_id}@{rb_version}",
            }
            digest = _floor_hash(fields, prev or GENESIS)
            updated = cursor.execute(
                'UPDATE "case" SET phase = ?, phase_entered_at = ?, last_event_at = ?, facts = ?, '
                "version = ?, audit_seq = ?, audit_hash = ? WHERE id = ? AND version = ?",
                (
                    to_phase,
                    at if to_phase != phase else entered,
                    at,
                    facts_json,
                    version + 1,
                    seq + 1,
                    digest,
                    case_id,
                    version,
                ),
            ).rowcount
            assert updated == 1
            rule = _MEETS.get(e.event)
            for d_id, _key, d_rule, status, due_at, *_ in deadlines:
                if d_rule == rule and status in ("open", "breached"):
                    cursor.execute(
                        "UPDATE deadline SET status = ?, closed_at = ?, closed_by = ? WHERE id = ?",
                        ("met" if at <= due_at else "met_late", at, e.event, d_id),
                    )
            if e.event == "open_investigation":
                due = _sqlite_time(
                    datetime.fromisoformat(aware_at).replace(tzinfo=UTC) + timedelta(days=120)
                )
                cursor.execute(
                    "INSERT INTO deadline (case_id, key, rule, measure_key, anchor_at, due_at, "
                    "status, source, responsible, escalated_to, explanation, armed_at) "
                    "VALUES (?, ?, ?, NULL, ?, ?, 'open', ?, 'caseworker', 'team_leader', ?, ?)",
                    (
                        case_id,
                        "investigation",
                        "investigation",
                        aware_at,
                        due,
                        "SEL §50",
                        "4 months",
                        at,
                    ),
                )
            cursor.execute(
                "INSERT INTO audit_log (case_id, seq, event, from_phase, to_phase, event_at, "
                "recorded_at, actor, role, payload, legal_basis, rulebook, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*fields.values(), prev or GENESIS, digest),
            )
            cursor.execute("COMMIT")


class PostgresFloor:
    """The events as hand-written SQL on psycopg, one transaction each."""

    def __init__(self, url: str, now: datetime) -> None:
        import psycopg

        self.connection = psycopg.connect(psycopg_dsn(url), autocommit=False)
        self.now = now

    def run(self, batch: Sequence[PlannedEvent]) -> float:
        started = time.perf_counter()
        self.fire(batch)
        return len(batch) / (time.perf_counter() - started)

    def close(self) -> None:
        self.connection.close()

    def fire(self, batch: Sequence[PlannedEvent]) -> None:
        from psycopg.types.json import Json

        connection, now = self.connection, self.now
        cursor = connection.cursor()
        for e in batch:
            cursor.execute(
                f'SELECT {_CASE_COLUMNS} FROM "case" WHERE id = %s',
                (e.case_id,),
            )
            case = cursor.fetchone()
            assert case is not None
            cursor.execute(
                f"SELECT {_DEADLINE_COLUMNS} FROM deadline WHERE case_id = %s ORDER BY id",
                (e.case_id,),
            )
            deadlines = cursor.fetchall()
            (case_id, phase, entered, version, facts, seq, prev, aware_at, rb_id, rb_version) = (
                case[:10]
            )
            to_phase = _MOVES.get(e.event, phase)
            fields = {
                "case_id": case_id,
                "seq": seq + 1,
                "event": e.event,
                "from_phase": phase,
                "to_phase": to_phase,
                "event_at": e.at.isoformat(),
                "recorded_at": now.isoformat(),
                "actor": ACTOR,
                "role": "caseworker",
                "payload": json.dumps(e.data or {}, sort_keys=True),
                "legal_basis": "bench",
                "rulebook": f"{rb_id}@{rb_version}",
            }
            digest = _floor_hash(fields, prev or GENESIS)
            cursor.execute(
                'UPDATE "case" SET phase = %s, phase_entered_at = %s, last_event_at = %s, '
                "facts = %s, version = %s, audit_seq = %s, audit_hash = %s "
                "WHERE id = %s AND version = %s",
                (
                    to_phase,
                    e.at if to_phase != phase else entered,
                    e.at,
                    Json(_floor_facts(facts, e)),
                    version + 1,
                    seq + 1,
                    digest,
                    case_id,
                    version,
                ),
            )
            assert cursor.rowcount == 1
            rule = _MEETS.get(e.event)
            for d_id, _key, d_rule, status, due_at, *_ in deadlines:
                if d_rule == rule and status in ("open", "breached"):
                    cursor.execute(
                        "UPDATE deadline SET status = %s, closed_at = %s, closed_by = %s "
                        "WHERE id = %s",
                        ("met" if e.at <= due_at else "met_late", e.at, e.event, d_id),
                    )
            if e.event == "open_investigation":
                cursor.execute(
                    "INSERT INTO deadline (case_id, key, rule, measure_key, anchor_at, due_at, "
                    "status, source, responsible, escalated_to, explanation, armed_at) "
                    "VALUES (%s, %s, %s, NULL, %s, %s, 'open', %s, 'caseworker', 'team_leader', "
                    "%s, %s)",
                    (
                        case_id,
                        "investigation",
                        "investigation",
                        aware_at,
                        aware_at + timedelta(days=120),
                        "SEL §50",
                        "4 months",
                        e.at,
                    ),
                )
            cursor.execute(
                "INSERT INTO audit_log (case_id, seq, event, from_phase, to_phase, event_at, "
                "recorded_at, actor, role, payload, legal_basis, rulebook, prev_hash, hash) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    case_id,
                    seq + 1,
                    e.event,
                    phase,
                    to_phase,
                    e.at,
                    now,
                    ACTOR,
                    "caseworker",
                    fields["payload"],
                    "bench",
                    fields["rulebook"],
                    prev or GENESIS,
                    digest,
                ),
            )
            connection.commit()


# --- CLI start-up --------------------------------------------------------------------------------


def cli_startup(runs: int = 10) -> float | None:
    executable = Path(sys.executable).parent / "sagsflow"
    command = [str(executable)] if executable.exists() else None
    if command is None:
        found = shutil.which("sagsflow")
        if found is None:
            return None
        command = [found]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*command, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# --- driver --------------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    cases: int
    events: int  # measured events per round, on each side
    rounds: int
    populate_s: float
    service_rates: list[float]
    floor_rates: list[float]
    open_case_per_s: float | None = None
    verify_s: float | None = None
    verify_ok: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def service_eps(self) -> float:
        return statistics.median(self.service_rates)

    @property
    def floor_eps(self) -> float:
        return statistics.median(self.floor_rates)

    @property
    def ratio(self) -> float:
        # Per round (service and floor ran back to back, under the same load), then the median.
        return statistics.median(
            s / f for s, f in zip(self.service_rates, self.floor_rates, strict=True)
        )


@contextmanager
def scratch(backend: str, tag: str) -> Iterator[Scratch]:
    db: Scratch = (
        SqliteScratch() if backend == "sqlite" else PostgresScratch(POSTGRES_ADMIN_URL, tag)
    )
    try:
        yield db
    finally:
        db.drop()


def bench_one(backend: str, count: int, args: argparse.Namespace, log: Any) -> Result:
    catalogue = shipped_catalogue()
    with scratch(backend, str(count)) as db:
        upgrade(db.service_url)
        started = time.perf_counter()
        engine = make_engine(db.service_url)
        cases = populate(engine, catalogue, count)
        engine.dispose()
        populate_s = time.perf_counter() - started
        log(f"{backend} {count:,} cases: populated in {populate_s:.1f} s")
        db.clone()
        if isinstance(db, PostgresScratch):
            db._execute("CHECKPOINT")  # the bulk load's dirty pages, not the measured events
        n, rounds = args.events, args.rounds
        warmup = min(300, max(n // 10, 1))
        events = plan_events(cases, warmup + n * rounds, seed=args.seed)
        now = events[-1].at + timedelta(days=1)
        service = ServiceRunner(db.service_url, catalogue, now, args.profile)
        floor: SqliteFloor | PostgresFloor = (
            SqliteFloor(db.floor_path, now)
            if isinstance(db, SqliteScratch)
            else PostgresFloor(db.floor_url, now)
        )
        # Both start warm (connections open, statements cached), then run the same events in
        # alternating order, round by round, so that a change of background load hits both.
        service.fire(events[:warmup])
        floor.fire(events[:warmup])
        service_rates, floor_rates = [], []
        for r in range(rounds):
            batch = events[warmup + r * n : warmup + (r + 1) * n]
            if r % 2 == 0:
                service_rates.append(service.run(batch))
                floor_rates.append(floor.run(batch))
            else:
                floor_rates.append(floor.run(batch))
                service_rates.append(service.run(batch))
            log(
                f"{backend} {count:,} cases: round {r + 1}/{rounds}: service "
                f"{service_rates[-1]:,.0f} events/s, floor {floor_rates[-1]:,.0f} events/s"
            )
        profile = RESULTS / f"profile-{backend}-{count}.txt" if args.profile else None
        service.close(profile)
        floor.close()
        result = Result(backend, count, n, rounds, populate_s, service_rates, floor_rates)
        if args.verify:
            engine = make_engine(db.service_url)
            started = time.perf_counter()
            report = verify_audit(Context(engine, catalogue, keys=BENCH_KEYS))
            result.verify_s = time.perf_counter() - started
            result.verify_ok = bool(report["ok"])
            result.extra["verify"] = report
            engine.dispose()
            log(
                f"{backend} {count:,} cases: audit verify ok={report['ok']} "
                f"({report['records_checked']:,} records) in {result.verify_s:.1f} s"
            )
        if args.open_cases:
            result.open_case_per_s = measure_open_case(db.service_url, catalogue, args.open_cases)
            log(f"{backend} {count:,} cases: open_case {result.open_case_per_s:,.0f}/s")
    return result


def render(results: Sequence[Result], startup: float | None) -> str:
    lines = [
        f"{'database':<11}{'cases':>9}{'events':>10}{'populate':>10}{'service ev/s':>14}"
        f"{'floor ev/s':>12}{'ratio':>7}{'open_case/s':>13}  audit",
    ]
    for r in results:
        opened = f"{r.open_case_per_s:,.0f}" if r.open_case_per_s else "-"
        audit = "-" if r.verify_ok is None else ("ok" if r.verify_ok else "BROKEN")
        lines.append(
            f"{r.backend:<11}{r.cases:>9,}{f'{r.rounds}x{r.events:,}':>10}{r.populate_s:>9.1f}s"
            f"{r.service_eps:>14,.0f}{r.floor_eps:>12,.0f}{r.ratio:>7.2f}{opened:>13}  {audit}"
        )
    lines += [
        "",
        "events/s: median over the rounds; ratio = service / floor per round, median (aim: >= 0.5)",
    ]
    if startup is not None:
        verdict = "ok" if startup < 0.5 else "over the 0.5 s aim"
        lines.append(f"sagsflow --help start-up: {startup * 1000:.0f} ms (median of 10; {verdict})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Events per second: the service layer against hand-written SQL."
    )
    parser.add_argument("--cases", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--events", type=int, default=3000, help="measured events per round (default 3000)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile the service loop into bench/results/profile-DB-CASES.txt",
    )
    parser.add_argument(
        "--no-verify", dest="verify", action="store_false", help="skip `audit verify`"
    )
    parser.add_argument(
        "--open-cases", type=int, default=1000, help="also time N open_case calls (0: skip)"
    )
    parser.add_argument(
        "--no-startup", dest="startup", action="store_false", help="skip the CLI start-up timing"
    )
    args = parser.parse_args(argv)

    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    RESULTS.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = [bench_one(backend, count, args, log) for count in args.cases for backend in backends]
    startup = cli_startup() if args.startup else None
    payload = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "results": [
            {
                "database": r.backend,
                "cases": r.cases,
                "events_per_round": r.events,
                "rounds": r.rounds,
                "populate_s": round(r.populate_s, 2),
                "service_events_per_s": round(r.service_eps, 1),
                "floor_events_per_s": round(r.floor_eps, 1),
                "ratio": round(r.ratio, 3),
                "service_rounds": [round(x, 1) for x in r.service_rates],
                "floor_rounds": [round(x, 1) for x in r.floor_rates],
                "open_case_per_s": None
                if r.open_case_per_s is None
                else round(r.open_case_per_s, 1),
                "audit_verify_ok": r.verify_ok,
                "audit_verify_s": None if r.verify_s is None else round(r.verify_s, 2),
            }
            for r in results
        ],
        "cli_help_startup_s": None if startup is None else round(startup, 3),
    }
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"events-{stamp}.json").write_text(json.dumps(payload, indent=2) + "\n")
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        print(render(results, startup))
    return 0 if all(r.verify_ok is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
