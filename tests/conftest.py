"""Fixtures shared by the integration and end-to-end tests: a fresh, migrated database per test.

`database_url` runs every test that asks for it twice, on SQLite and on PostgreSQL. Both start
from a template that the Alembic migrations built once per test session (migrating takes ~0.3 s,
copying the template milliseconds): for SQLite a file copied into the test's `tmp_path`, for
PostgreSQL `CREATE DATABASE … TEMPLATE`. PostgreSQL is named by `SAGSFLOW_TEST_POSTGRES_URL`; when
it cannot be reached the PostgreSQL tests fail with the reason, they are never skipped: CI must
prove both databases.

Cases are built through the service layer (`cases`), and the rows they leave are read back raw
(`rows`), so that a test checks what was stored rather than what the code under test says.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, Row, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from testkeys import TEST_KEYS

from models.database import make_engine, upgrade
from models.tables import AuditRecord, Case, Deadline, Measure
from rulebooks import shipped_catalogue
from sagsflow.context import Context
from sagsflow.read.audit import audit_entry
from sagsflow.usecases.cases import Accepted, fire_event, open_case
from statemachine.audit import ChainBreak, verify_chain
from statemachine.phases import Notifier, Phase, Role, Source

POSTGRES_ADMIN_URL = os.environ.get(
    "SAGSFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# Time is an argument: every service call in the tests records at this fixed instant.
NOW = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)
# A child of 9 when the default case opens (no consent of its own, seed 004).
BIRTH_DATE = date(2016, 5, 1)

CASE = Case.__table__  # type: ignore[attr-defined]
MEASURE = Measure.__table__  # type: ignore[attr-defined]
DEADLINE = Deadline.__table__  # type: ignore[attr-defined]
AUDIT = AuditRecord.__table__  # type: ignore[attr-defined]


# --- databases ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    # Alembic disposed its engine, so SQLite checkpointed the WAL into the file: one file to copy.
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "sagsflow.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


class PostgresServer:
    """The admin connection, the session's migrated template and the databases made from it."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.admin = make_engine(
            admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
        )
        self.prefix = f"sagsflow_t_{os.getpid()}_"
        self.template = f"sagsflow_tpl_{os.getpid()}"
        self._numbers = itertools.count(1)

    def url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def _execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def create_template(self) -> None:
        self._execute(f"DROP DATABASE IF EXISTS {self.template}")
        self._execute(f"CREATE DATABASE {self.template}")
        upgrade(self.url(self.template))

    def create_database(self) -> str:
        name = f"{self.prefix}{next(self._numbers)}"
        self._execute(f"CREATE DATABASE {name} TEMPLATE {self.template}")
        # Throw-away data: commits need not wait for the disk (visibility and locking are as ever).
        self._execute(f"ALTER DATABASE {name} SET synchronous_commit = off")
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a connection a test leaked (a thread, a second engine) must not keep it alive.
        self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            leftovers = connection.execute(
                text("SELECT datname FROM pg_database WHERE starts_with(datname, :prefix)"),
                {"prefix": self.prefix},
            ).scalars()
            names = [*leftovers, self.template]
        for name in names:
            self.drop_database(name)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer(POSTGRES_ADMIN_URL)
    try:
        server.create_template()
        unreachable = None
    except OperationalError as error:
        unreachable = str(error.orig or error).strip().splitlines()[0]
    if unreachable is not None:
        server.admin.dispose()
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} "
            f"(set SAGSFLOW_TEST_POSTGRES_URL, or start the server): {unreachable}. "
            "The integration suite must pass on PostgreSQL as well as SQLite, so it fails "
            "rather than skips.",
            pytrace=False,
        )
    yield server
    server.drop_all()


@pytest.fixture
def postgres_database_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = postgres_server.create_database()
    yield postgres_server.url(name)
    postgres_server.drop_database(name)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database for this test: SQLite, then PostgreSQL.

    A test that only makes sense on one of them narrows it with
    `@pytest.mark.parametrize("database_url", [pytest.param("postgresql", id="postgres")],
    indirect=True)`.
    """
    fixture = {"sqlite": "sqlite_database_url", "postgresql": "postgres_database_url"}
    url: str = request.getfixturevalue(fixture[request.param])
    return url


@pytest.fixture
def backend(database_url: str) -> str:
    """`sqlite` or `postgresql`: for the few assertions that differ by database."""
    return make_url(database_url).get_backend_name()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def context(engine: Engine) -> Context:
    return Context(engine, shipped_catalogue(), keys=TEST_KEYS)


# --- cases, built through the service layer ----------------------------------------------------


PLAN: Mapping[str, Any] = {
    "purpose": "Stabil hverdag i hjemmet",
    "goals": ["Barnet kommer i skole hver dag"],
    "expected_duration_months": 6,
}
# The events that take a case into each phase: (event, data), fired by a caseworker.
_STEP_INTO: Mapping[Phase, list[tuple[str, Mapping[str, Any] | None]]] = {
    Phase.CLARIFICATION: [("accept", None)],
    Phase.INVESTIGATION: [
        ("record_consent", {"by": "custody_holder"}),
        ("open_investigation", None),
    ],
    Phase.ACTION_PLAN: [("conclude", {"measures_needed": True})],
    Phase.DECISION: [("submit_plan", PLAN)],
    Phase.IMPLEMENTATION: [
        # Barnets Lov §5 stk. 3: the caseworker talks with the child before the decision.
        ("record_child_conversation", {"without_parents": False, "support_person_offered": True}),
        ("grant", {"measures": [{"type": "practical_support", "package": "red"}]}),
    ],
    Phase.FOLLOW_UP: [("start_measures", None)],
    Phase.CLOSURE: [("close", {"reason": "Familien er flyttet til en anden kommune"})],
}
_PATH = [
    Phase.CLARIFICATION,
    Phase.INVESTIGATION,
    Phase.ACTION_PLAN,
    Phase.DECISION,
    Phase.IMPLEMENTATION,
    Phase.FOLLOW_UP,
]


def _age(birth_date: date, at: datetime) -> int:
    """Completed years on the Copenhagen date of `at`."""
    day = at.astimezone(COPENHAGEN).date()
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass
class WalkedCase:
    """A case the factory opened, and the time of its latest event (the next must not be earlier)."""

    id: int
    last_at: datetime
    version: int
    accepted: list[Accepted] = field(default_factory=list)

    def later(self, **delta: float) -> datetime:
        """An event time `delta` after the case's latest event."""
        return self.last_at + timedelta(**delta)


@dataclass
class CaseFactory:
    """Opens cases and fires events through the service layer, at a fixed `now`."""

    context: Context
    now: datetime = NOW
    _refs: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def open(
        self,
        *,
        aware_at: datetime = datetime(2026, 1, 5, 9, tzinfo=COPENHAGEN),
        birth_date: date = BIRTH_DATE,
        source: Source = Source.INQUIRY,  # a henvendelse: arms nothing at opening
        notifier: Notifier | None = None,
        worker: str | None = "caseworker-anna",
        team: str | None = "team-nord",
        municipality: str = "demo",
        child_ref: str | None = None,
        applied_for: str | None = None,
        birth_expected: bool = False,
        # A new case each time (tests share a database per module, and their child references
        # repeat): False attaches a notification to the child's open case, as `case open` does.
        new_case: bool = True,
    ) -> WalkedCase:
        accepted = open_case(
            self.context,
            child_ref=child_ref or f"BARN-{next(self._refs):04d}",
            birth_date=birth_date,
            birth_expected=birth_expected,
            aware_at=aware_at,
            source=source,
            notifier=notifier,
            worker=worker,
            team=team,
            municipality=municipality,
            actor=worker or "caseworker-anna",
            now=self.now,
            applied_for=applied_for,
            new_case=new_case,
        )
        return WalkedCase(accepted.case_id, aware_at, accepted.version, [accepted])

    def fire(
        self,
        case: WalkedCase,
        event: str,
        data: Mapping[str, Any] | None = None,
        *,
        at: datetime | None = None,
        role: Role = Role.CASEWORKER,
        actor: str = "caseworker-anna",
    ) -> Accepted:
        """Fire `event` at `at` (default: a day after the case's latest event) and track it."""
        at = at or case.later(days=1)
        accepted = fire_event(
            self.context, case.id, event, at=at, data=data, actor=actor, role=role, now=self.now
        )
        case.last_at, case.version = at, accepted.version
        case.accepted.append(accepted)
        return accepted

    def at_phase(self, phase: Phase, **open_args: Any) -> WalkedCase:
        """A case walked to `phase` with valid events a day apart (practical support, red).

        Closure is reached by `close` straight from inquiry. A child of 15 or more consents to
        the investigation too (seed 004).
        """
        case = self.open(**open_args)
        birth_date: date = open_args.get("birth_date", BIRTH_DATE)
        if phase is Phase.INQUIRY:
            path = []
        elif phase is Phase.CLOSURE:
            path = [Phase.CLOSURE]
        else:
            path = _PATH[: _PATH.index(phase) + 1]
        for step in path:
            # Seed 004: a young person of 15 or more consents too (the age on the day the
            # investigation opens, at most three events on)
            if step is Phase.INVESTIGATION and _age(birth_date, case.later(days=3)) >= 15:
                self.fire(case, "record_consent", {"by": "child"})
            for event, data in _STEP_INTO[step]:
                # The conversation at the instant of the step before: the walk's dates stay.
                at = case.last_at if event == "record_child_conversation" else None
                self.fire(case, event, data, at=at)
        return case


@pytest.fixture
def cases(context: Context) -> CaseFactory:
    return CaseFactory(context)


# --- what was stored, read back raw ----------------------------------------------------------


@dataclass(frozen=True)
class StoredRows:
    """Plain SQL reads of the tables, bypassing the repository and the views."""

    engine: Engine

    def case(self, case_id: int) -> Row[Any]:
        with self.engine.connect() as connection:
            return connection.execute(select(CASE).where(CASE.c.id == case_id)).one()

    def deadlines(self, case_id: int) -> dict[str, Row[Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(DEADLINE).where(DEADLINE.c.case_id == case_id)).all()
        return {row.key: row for row in rows}

    def measures(self, case_id: int) -> dict[str, Row[Any]]:
        with self.engine.connect() as connection:
            rows = connection.execute(select(MEASURE).where(MEASURE.c.case_id == case_id)).all()
        return {row.key: row for row in rows}

    def audit(self, case_id: int) -> list[Row[Any]]:
        with self.engine.connect() as connection:
            query = select(AUDIT).where(AUDIT.c.case_id == case_id).order_by(AUDIT.c.seq)
            return list(connection.execute(query).all())

    def snapshot(self, case_id: int) -> dict[str, Any]:
        """Everything stored about a case, to compare before and after."""
        return {
            "case": tuple(self.case(case_id)),
            "measures": {k: tuple(v) for k, v in self.measures(case_id).items()},
            "deadlines": {k: tuple(v) for k, v in self.deadlines(case_id).items()},
            "audit": [tuple(r) for r in self.audit(case_id)],
        }

    def chain_break(self, case_id: int) -> ChainBreak | None:
        """The case's chain recomputed from its audit_log rows under the tests' key (None
        when intact)."""
        return verify_chain((audit_entry(r) for r in self.audit(case_id)), TEST_KEYS).found


@pytest.fixture
def rows(engine: Engine) -> StoredRows:
    return StoredRows(engine)
