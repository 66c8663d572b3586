"""Page times at a million cases: the dashboard and the REST API over HTTP (issue 5: < 300 ms).

Not a test (pytest never collects it). Run from the repository root:

    .venv/bin/python bench/pages.py                          # 1M cases, SQLite and PostgreSQL
    .venv/bin/python bench/pages.py --db postgresql --requests 40
    .venv/bin/python bench/pages.py --cases 100000 --db sqlite --json

For every backend it

1. prepares a database of N open cases (cached: `bench_pages_<N>`). bench/sweep.py's generator
   (`ensure_generated`, imported, not copied) makes or reuses `bench_sweep_<N>`: template cases
   walked through the service layer by the demo loader, copied in SQL. That database is copied
   (file copy / `CREATE DATABASE … TEMPLATE`), migrated to head (`models.database.upgrade`; an
   index a pending migration would create but the copy already has is dropped first) and any
   index the models declare but the database lacks is created (a database stamped at a
   revision before that revision gained an index). The cases are then spread over
   `--teams` teams of `--team-size` caseworkers by id (default 4,000 teams of 10: 250 cases a
   team, 25 a caseworker — the rulebooks' caseload target is 22, a team leader supervises
   100–300 cases); team 1's cases get the audit trail of their template case, re-hashed for
   their own id, so that their case pages show a history. Statistics are brought up to date
   (SQLite `ANALYZE`; PostgreSQL `VACUUM FULL` of the case table and `VACUUM ANALYZE`). An
   organisation file naming every team and caseworker is written to bench/results;
2. adds four users — the leader of team 1, caseworker 1 of team 1, the department head and the auditor —
   with a password (for the dashboard) and a bearer token (for the API);
3. unless `--no-floor`, runs the application in this process with a listener that records the
   SQL of each page's warm request (statements from the kept-figures threads left out), to be
   replayed on the bare driver (sqlite3 / psycopg, each of the page's transactions as one): the
   "floor", the database's share of the page. And times `SELECT count(*) FROM "case"` there;
4. starts the real application in a child process (`sagsflow.server.create_app` under uvicorn,
   one worker, as `sagsflow serve` runs it; SAGSFLOW_DATABASE_URL and SAGSFLOW_ORG_FILE set; no
   SQL listener), its clocks (the dashboard's and the API's `now`) running from the generated
   caseload's own `now` (bench/sweep.py's NOW), so that the data is current to it;
5. for each user signs in as a browser does (GET /sign-in, POST /sign-in with the CSRF token)
   and times each page with httpx over a keep-alive connection: the first request ("cold": the
   server's kept figures are empty for that page's scope and filter), then — on pages with kept
   figures — repeats it until the figures are there ("ready s"), then one untimed request and N
   timed ones (median and p95, nearest rank), each back to back with one replay of the page's
   SQL (the order alternating), so that page and floor meet the same load;
6. times POST /api/v1/cases/{id}/events by the caseworker, on `--posts` cases of team 1 that
   have an event the caseworker may record without data (found through GET …/events, untimed).

Results go to stdout (a table, or JSON with `--json`) and to bench/results/pages-<stamp>.json
(git-ignored). The prepared databases are kept: bench/results/pages-cache/bench_pages_<N>.db and
the PostgreSQL database `bench_pages_<N>` (`--drop` removes them at the end, `--fresh` rebuilds).
Every run adds a few rows to them (access log, the POSTed events, tokens).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import re
import secrets
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
for _path in (ROOT, BENCH):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import sweep as sweep_bench  # noqa: E402
from sqlalchemy import event, func, insert, inspect, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from models.database import make_engine, upgrade  # noqa: E402
from models.repository import AUDIT, CASE, DEADLINE, MEASURE, recount_open_caseload  # noqa: E402

RESULTS = sweep_bench.RESULTS
CACHE = RESULTS / "pages-cache"
POSTGRES_ADMIN_URL = sweep_bench.POSTGRES_ADMIN_URL
# The generated caseload is dated around this instant; the server's clocks start there.
NOW = sweep_bench.NOW
TARGET_MS = 300.0
# Preparation format: bump when what `prepare` does changes, so cached databases are redone.
FORMAT = 2  # 2: the sweep has run at NOW (breaches marked, notifications created)
CASES_PER_TEAM = 250
TEAM_SIZE = 10
PASSWORD = "bench-pages passphrase"
log = sweep_bench.log


# --- the organisation ------------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    """Teams t0001… of caseworkers t0001-cw01…, led by t0001-tl; one department head."""

    teams: int
    size: int
    head: str = "bench-dh"

    @property
    def width(self) -> int:
        return max(4, len(str(self.teams)))

    def team(self, i: int) -> str:
        return f"t{i:0{self.width}d}"

    def leader(self, i: int) -> str:
        return f"{self.team(i)}-tl"

    def worker(self, i: int, j: int) -> str:
        return f"{self.team(i)}-cw{j:02d}"

    def owner_sql(self, backend: str) -> str:
        """Case id → team ((id-1) mod teams) and caseworker (((id-1) div teams) mod size)."""
        t, s, w = self.teams, self.size, self.width
        if backend == "sqlite":
            team = f"printf('t%0{w}d', ((id - 1) % {t}) + 1)"
            worker = f"printf('t%0{w}d-cw%02d', ((id - 1) % {t}) + 1, (((id - 1) / {t}) % {s}) + 1)"
        else:
            number = f"lpad((((id - 1) % {t}) + 1)::text, {w}, '0')"
            team = f"'t' || {number}"
            worker = (
                f"'t' || {number} || '-cw' || lpad(((((id - 1) / {t}) % {s}) + 1)::text, 2, '0')"
            )
        return f'UPDATE "case" SET team = {team}, worker = {worker}'

    def write(self, path: Path) -> None:
        lines = [
            "# Generated by bench/pages.py: the teams the benchmark's cases are spread over.",
            f"department_head: {{name: {self.head}}}",
            "teams:",
        ]
        for i in range(1, self.teams + 1):
            lines += [
                f"  - id: {self.team(i)}",
                f"    name: Team {i}",
                f"    leader: {{name: {self.leader(i)}}}",
                "    caseworkers:",
                *(f"      - {{name: {self.worker(i, j)}}}" for j in range(1, self.size + 1)),
            ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- preparing the database ------------------------------------------------------------------


@dataclass
class Prepared:
    backend: str
    name: str
    url: str
    org_file: str
    shape: dict[str, Any]
    reused: bool
    prepare_s: float


def _stores(backend: str) -> tuple[sweep_bench.Store, sweep_bench.Store]:
    """The store sweep.py generates into, and the one the prepared database lives in."""
    if backend == "sqlite":
        return sweep_bench.SqliteStore(sweep_bench.CACHE), sweep_bench.SqliteStore(CACHE)
    store = sweep_bench.PostgresStore(POSTGRES_ADMIN_URL)
    return store, store


def _copy(
    source_store: sweep_bench.Store, source: str, store: sweep_bench.Store, name: str
) -> None:
    if isinstance(store, sweep_bench.SqliteStore):
        assert isinstance(source_store, sweep_bench.SqliteStore)
        connection = sqlite3.connect(source_store.path(source))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        store.drop(name)
        shutil.copyfile(source_store.path(source), store.path(name))
        return
    # CREATE DATABASE … TEMPLATE needs the source to itself: wait while others use it.
    deadline = time.monotonic() + 900
    while True:
        try:
            store.copy(source, name)
            return
        except Exception as error:
            if "being accessed by other users" not in str(error) or time.monotonic() > deadline:
                raise
            log(f"  {source} is in use by another session; waiting to copy it")
            time.sleep(15)


def migrate(url: str) -> list[str]:
    """`upgrade(url)` to head; an index a pending migration creates but the database already has
    (made by hand in a cached database) is dropped first and made by the migration. Returns the
    names of the indexes so dropped."""
    dropped: list[str] = []
    while True:
        try:
            upgrade(url)
            break
        except Exception as error:
            found = re.search(r'(?:index|relation) "?(ix_\w+)"? already exists', str(error))
            if found is None or found.group(1) in dropped:
                raise
            name = found.group(1)
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text(f'DROP INDEX "{name}"'))
        engine.dispose()
        dropped.append(name)
        log(f"  the database has {name} before its migration ran; dropped, to be remade")
    return dropped


def migrated(url: str) -> list[str]:
    """`migrate`, then the failed runs' engines collected: their pooled SQLite connections
    would keep the file locked."""
    dropped = migrate(url)
    gc.collect()
    return dropped


def repair_schema(url: str) -> list[str]:
    """Create the indexes the models declare and the database lacks (a database stamped at a
    revision before that revision gained them). Returns their names."""
    from sqlmodel import SQLModel

    import models.tables  # noqa: F401  (registers the tables)

    engine = make_engine(url)
    made = []
    with engine.begin() as connection:
        inspector = inspect(connection)
        for table in SQLModel.metadata.sorted_tables:
            existing = {i["name"] for i in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in existing:
                    index.create(connection)
                    made.append(str(index.name))
    engine.dispose()
    return made


def _audit_trails(url: str, org: Org, count: int, templates: Path) -> int:
    """Team 1's cases get the audit records of their template case, re-hashed for their id."""
    from statemachine.audit import GENESIS, AuditEntry

    sample = list(range(1, count + 1, org.teams))
    source = make_engine(f"sqlite:///{templates}")
    with source.connect() as connection:
        open_ids = list(
            connection.execute(
                select(CASE.c.id).where(CASE.c.phase != "closure").order_by(CASE.c.id).limit(count)
            ).scalars()
        )
        original = {n: open_ids[(n - 1) % len(open_ids)] for n in sample}
        records: dict[int, list[dict[str, Any]]] = {}
        query = select(AUDIT).where(AUDIT.c.case_id.in_(set(original.values())))
        for row in connection.execute(query.order_by(AUDIT.c.case_id, AUDIT.c.seq)):
            records.setdefault(row.case_id, []).append(dict(row._mapping))
    source.dispose()
    engine = make_engine(url)
    written = 0
    with engine.begin() as connection:
        for case_id in sample:
            prev, chain = GENESIS, []
            for row in records.get(original[case_id], []):
                fields = {k: row[k] for k in AuditEntry.__dataclass_fields__ if k != "case_id"}
                digest = AuditEntry(case_id=case_id, **fields).digest(prev)
                chain.append({**fields, "case_id": case_id, "prev_hash": prev, "hash": digest})
                prev = digest
            if chain:
                connection.execute(insert(AUDIT), chain)
            connection.execute(
                update(CASE)
                .where(CASE.c.id == case_id)
                .values(audit_seq=len(chain), audit_hash=prev)
            )
            written += len(chain)
    engine.dispose()
    return written


def _assign_owners(store: sweep_bench.Store, name: str, org: Org) -> None:
    if isinstance(store, sweep_bench.SqliteStore):
        connection = sqlite3.connect(store.path(name), isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("BEGIN")
        connection.execute(org.owner_sql("sqlite"))
        connection.execute("COMMIT")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.close()
        return
    import psycopg

    with psycopg.connect(sweep_bench.psycopg_dsn(store.url(name))) as connection:
        connection.execute(org.owner_sql("postgresql"))  # type: ignore[arg-type]
        connection.commit()


def _finish(store: sweep_bench.Store, name: str) -> None:
    """Statistics as a maintained database has them; no dead rows left by the UPDATE."""
    if isinstance(store, sweep_bench.SqliteStore):
        connection = sqlite3.connect(store.path(name), isolation_level=None)
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        return
    import psycopg

    with psycopg.connect(sweep_bench.psycopg_dsn(store.url(name)), autocommit=True) as connection:
        connection.execute('VACUUM FULL "case"')
        # Every table: the read models' statistics too (the deadline tally's partial index
        # looked like 32 rows to the planner without them, and a caseworker's overview took a
        # bitmap scan of 95,000 rows of it: 330 ms instead of 0.7).
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")


def _shape(url: str, org: Org) -> dict[str, Any]:
    engine = make_engine(url)
    with engine.connect() as connection:

        def scalar(query: Any) -> int:
            return int(connection.execute(query).scalar_one())

        per_team = (
            select(func.count().label("n")).select_from(CASE).group_by(CASE.c.team).subquery()
        )
        per_worker = (
            select(func.count().label("n")).select_from(CASE).group_by(CASE.c.worker).subquery()
        )
        shape = {
            "cases": scalar(select(func.count()).select_from(CASE)),
            "teams": scalar(select(func.count(CASE.c.team.distinct()))),
            "caseworkers": scalar(select(func.count(CASE.c.worker.distinct()))),
            "cases_per_team": [
                scalar(select(func.min(per_team.c.n))),
                scalar(select(func.max(per_team.c.n))),
            ],
            "cases_per_caseworker": [
                scalar(select(func.min(per_worker.c.n))),
                scalar(select(func.max(per_worker.c.n))),
            ],
            "phases": {
                phase: int(n)
                for phase, n in connection.execute(
                    select(CASE.c.phase, func.count()).group_by(CASE.c.phase)
                )
            },
            "deadlines": scalar(select(func.count()).select_from(DEADLINE)),
            "measures": scalar(select(func.count()).select_from(MEASURE)),
            "audit_records": scalar(select(func.count()).select_from(AUDIT)),
            "organisation": {"teams": org.teams, "caseworkers_per_team": org.size},
        }
        if engine.dialect.name == "postgresql":
            size = connection.execute(text("SELECT pg_database_size(current_database())"))
            shape["size_mb"] = round(size.scalar_one() / 2**20)
        else:
            shape["size_mb"] = round(Path(make_url(url).database or "").stat().st_size / 2**20)
    engine.dispose()
    return shape


def _swept(url: str) -> None:
    """The enforcement flow's sweep at NOW: breaches marked, their tally and the cases' breach
    fact kept, every due notification created — the state a municipality's pages meet while
    the flow runs every 15 minutes (the generator writes none of it)."""
    from rulebooks import shipped_catalogue
    from sagsflow.context import Context
    from sagsflow.usecases.sweep import sweep

    engine = make_engine(url)
    started = time.perf_counter()
    result = sweep(Context(engine, shipped_catalogue()), NOW)
    engine.dispose()
    log(f"  swept at NOW in {time.perf_counter() - started:.0f} s: {result.as_dict()}")


def _rebuild_read_models(url: str) -> None:
    """The owners and audit trails were written behind the event path's back: fill the read
    models again from the base tables, set-based (the migration's backfill)."""
    from models.readmodels import rebuild

    engine = make_engine(url)
    with engine.begin() as connection:
        tally, stays = rebuild(connection)
    engine.dispose()
    log(f"  read models: {tally:,} tally rows, {stays:,} phase stays")


def prepare(backend: str, args: argparse.Namespace, stores: dict[str, Any]) -> Prepared:
    org = Org(args.teams, args.team_size)
    org_file = RESULTS / f"pages-organisation-{org.teams}x{org.size}.yaml"
    org.write(org_file)
    source_store, store = _stores(backend)
    stores[backend] = (source_store, store)
    name = f"bench_pages_{args.cases}"
    meta_path = CACHE / f"{backend}-{name}.json"
    sweep_args = argparse.Namespace(demo_cases=sweep_bench.DEMO_CASES, seed=args.seed)
    wanted = {
        "format": FORMAT,
        "sweep_format": sweep_bench.FORMAT,
        "cases": args.cases,
        "teams": org.teams,
        "team_size": org.size,
        "demo_cases": sweep_bench.DEMO_CASES,
        "seed": args.seed,
    }
    CACHE.mkdir(parents=True, exist_ok=True)
    if not args.fresh and meta_path.exists() and store.exists(name):
        meta = json.loads(meta_path.read_text())
        if meta.get("key") == wanted:
            log(f"{backend}: reusing the prepared database {name}")
            url = store.url(name)
            migrated(url)
            made = repair_schema(url)
            if made:
                log(f"{backend}: created missing indexes {made}")
            return Prepared(backend, name, url, str(org_file), meta["shape"], True, 0.0)
    started = time.perf_counter()
    meta_path.unlink(missing_ok=True)
    source, _, _ = sweep_bench.ensure_generated(source_store, args.cases, sweep_args)
    log(f"{backend}: copying {source} to {name}")
    _copy(source_store, source, store, name)
    url = store.url(name)
    migrated(url)
    made = repair_schema(url)
    if made:
        log(f"{backend}: {source} lacked indexes its revision declares; created {made}")
    log(f"{backend}: spreading the cases over {org.teams:,} teams of {org.size} caseworkers")
    _assign_owners(store, name, org)
    engine = make_engine(url)
    with engine.begin() as connection:  # the owners changed under the open-caseload read model
        recount_open_caseload(connection)
    engine.dispose()
    templates = sweep_bench.template_database(sweep_bench.DEMO_CASES, args.seed)
    records = _audit_trails(url, org, args.cases, templates)
    log(f"{backend}: {records:,} audit records for team 1's cases; the read models")
    _rebuild_read_models(url)
    _swept(url)
    log(f"{backend}: statistics")
    _finish(store, name)
    shape = _shape(url, org)
    shape["indexes_created"] = made
    prepare_s = time.perf_counter() - started
    meta_path.write_text(json.dumps({"key": wanted, "shape": shape}, indent=2))
    log(f"{backend}: prepared {name} in {prepare_s:.0f} s: {shape}")
    return Prepared(backend, name, url, str(org_file), shape, False, prepare_s)


# --- users, the sample case, the cases to write to -------------------------------------------


@dataclass(frozen=True)
class Visitor:
    label: str
    name: str
    role: str
    team: str | None
    token: str = ""


def users(url: str, org: Org, org_file: str) -> list[Visitor]:
    """The four users, with a password and a fresh bearer token each (made again each run)."""
    from rulebooks import shipped_catalogue
    from sagsflow.context import Context
    from sagsflow.organisation import load_organisation
    from sagsflow.usecases.users import (
        UserInvalid,
        add_user,
        issue_token,
        revoke_tokens,
        set_password,
    )
    from statemachine.phases import Role

    wanted = [
        Visitor("team leader", org.leader(1), Role.TEAM_LEADER.value, org.team(1)),
        Visitor("caseworker", org.worker(1, 1), Role.CASEWORKER.value, org.team(1)),
        Visitor("dept head", org.head, Role.DEPARTMENT_HEAD.value, None),
        # Every case, read-only; the access log is the auditor's.
        Visitor("auditor", "revisor", Role.AUDITOR.value, None),
    ]
    context = Context(make_engine(url), shipped_catalogue())
    organisation = load_organisation(org_file)
    made = []
    for v in wanted:
        try:
            add_user(
                context,
                v.name,
                role=Role(v.role),
                team=v.team,
                now=NOW,
                organisation=organisation,
                password=PASSWORD,
            )
        except UserInvalid:  # made by an earlier run
            set_password(context, v.name, PASSWORD, now=NOW)
            revoke_tokens(context, v.name, now=NOW)
        made.append(Visitor(v.label, v.name, v.role, v.team, issue_token(context, v.name, now=NOW)))
    context.engine.dispose()
    return made


def sample_case(url: str, org: Org) -> int:
    """Caseworker 1 of team 1's case with the most deadlines: the heaviest case page."""
    engine = make_engine(url)
    with engine.connect() as connection:
        query = (
            select(DEADLINE.c.case_id)
            .join(CASE, CASE.c.id == DEADLINE.c.case_id)
            .where(CASE.c.worker == org.worker(1, 1))
            .group_by(DEADLINE.c.case_id)
            .order_by(func.count().desc(), DEADLINE.c.case_id)
            .limit(1)
        )
        found = int(connection.execute(query).scalar_one())
    engine.dispose()
    return found


def writable_cases(url: str, org: Org) -> list[int]:
    """Team 1's open cases with no event after NOW (an event at NOW is not before their last)."""
    engine = make_engine(url)
    with engine.connect() as connection:
        found = list(
            connection.execute(
                select(CASE.c.id)
                .where(
                    CASE.c.team == org.team(1),
                    CASE.c.phase != "closure",
                    CASE.c.last_event_at < NOW,
                )
                .order_by(CASE.c.id)
            ).scalars()
        )
    engine.dispose()
    return found


# --- the application -------------------------------------------------------------------------


def anchored_clock() -> Callable[[], datetime]:
    """NOW, running: the clock of a server that started at the generated caseload's `now`."""
    started = time.monotonic()
    return lambda: NOW + timedelta(seconds=time.monotonic() - started)


def install_clock(app: Any, clock: Callable[[], datetime]) -> None:
    from sagsflow.api import deps

    app.state.dashboard.clock = clock  # (web.Dashboard: "tests may set the clock")
    app.dependency_overrides[deps.clock] = clock


def serve_child(port: int) -> None:
    """The child process: `sagsflow serve`'s application, with the bench's clock."""
    import uvicorn

    from sagsflow.server import create_app

    app = create_app()
    install_clock(app, anchored_clock())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(prepared: Prepared) -> dict[str, str]:
    return {
        "SAGSFLOW_DATABASE_URL": prepared.url,
        "SAGSFLOW_ORG_FILE": prepared.org_file,
        "SAGSFLOW_SECRET_KEY": secrets.token_hex(32),
    }


def wait_up(base: str, alive: Callable[[], bool], timeout: float = 180.0) -> None:
    import httpx

    stop = time.monotonic() + timeout
    while time.monotonic() < stop:
        if not alive():
            raise RuntimeError("the server stopped while starting")
        try:
            if httpx.get(f"{base}/sign-in", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"the server at {base} did not answer within {timeout:.0f} s")


class ChildServer:
    """The measured server: a process of its own, nothing listening to its SQL."""

    def __init__(self, prepared: Prepared, log_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log_path.open("w")
        started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(self.port)],
            env={**os.environ, **server_env(prepared)},
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_up(self.base, lambda: self.process.poll() is None)
        self.start_s = time.perf_counter() - started

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


Statement = tuple[str, Any, bool]  # SQL in the driver's style, its parameters, executemany
COMMIT, ROLLBACK = "-- commit", "-- rollback"  # where a transaction ended


class CaptureServer:
    """The same application in this process, recording the SQL of the request being made."""

    def __init__(self, prepared: Prepared) -> None:
        import uvicorn

        from rulebooks import shipped_catalogue
        from sagsflow.context import Context
        from sagsflow.server import create_app
        from sagsflow.settings import settings

        os.environ.update(server_env(prepared))
        settings.cache_clear()
        self.engine = make_engine(prepared.url)
        self.recording = False
        self.statements: list[Statement] = []
        event.listen(self.engine, "before_cursor_execute", self._record)
        # Where the page's transactions end (on SQLite their BEGINs arrive as statements).
        event.listen(self.engine, "commit", lambda _c: self._mark(COMMIT))
        event.listen(self.engine, "rollback", lambda _c: self._mark(ROLLBACK))
        app = create_app(Context(self.engine, shipped_catalogue()))
        install_clock(app, anchored_clock())
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_up(self.base, self.thread.is_alive)

    def _record(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        if self._mine():
            self.statements.append((statement, parameters, executemany))

    def _mark(self, marker: str) -> None:
        if self._mine():
            self.statements.append((marker, None, False))

    def _mine(self) -> bool:
        """Recording, and not in a thread computing kept figures."""
        name = threading.current_thread().name
        return self.recording and "(_first)" not in name and "(_refresh)" not in name

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.engine.dispose()


# --- the pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    label: str
    path: str
    api: bool = False
    figures: bool = False  # served with kept figures: repeated after the cold request until ready


def pages(visitor: Visitor, org: Org, case_id: int) -> list[Page]:
    found = [
        Page("/", "/"),
        Page("/stuck", "/stuck"),
        Page("/stuck?page=2", "/stuck?page=2"),
        Page(
            "/stuck?phase=…&reason=…",
            "/stuck?phase=investigation&reason=over_phase_norm",
        ),
    ]
    if visitor.team is None:
        found.append(Page("/stuck?team=…", f"/stuck?team={org.team(2)}"))
    found += [
        Page("/cases", "/cases"),
        Page("/caseload", "/caseload"),
        Page("/cases/{id}", f"/cases/{case_id}"),
        Page("/diagram", "/diagram"),
        Page("GET /api/v1/cases", "/api/v1/cases", api=True),
        Page("GET /api/v1/cases/{id}", f"/api/v1/cases/{case_id}", api=True),
        Page("GET /api/v1/cases/{id}/events", f"/api/v1/cases/{case_id}/events", api=True),
        Page("GET /api/v1/stuck?team=…", f"/api/v1/stuck?team={org.team(1)}", api=True),
        Page(
            "GET /api/v1/deadlines?status=upcoming", "/api/v1/deadlines?status=upcoming", api=True
        ),
        Page(
            "GET /api/v1/deadlines?status=breached", "/api/v1/deadlines?status=breached", api=True
        ),
        # The compliance report (issue 9: a quarter under 300 ms at 1M), and a month of it.
        Page(
            "GET /api/v1/compliance?period=quarter", "/api/v1/compliance?period=2026-Q2", api=True
        ),
        Page("GET /api/v1/compliance?period=month", "/api/v1/compliance?period=2026-04", api=True),
        Page("GET /api/v1/me", "/api/v1/me", api=True),
    ]
    if visitor.team is None:
        # The whole municipality's stuck list through the API (no 2,000-case cap any more).
        found.append(Page("GET /api/v1/stuck", "/api/v1/stuck", api=True))
    if visitor.role == "auditor":
        found.append(Page("GET /api/v1/access-log", "/api/v1/access-log", api=True))
    return found


class Session:
    """One user's browser (cookies) and API client (bearer token), over keep-alive connections."""

    def __init__(self, base: str, visitor: Visitor) -> None:
        import httpx

        self.visitor = visitor
        self.browser = httpx.Client(base_url=base, timeout=900, follow_redirects=False)
        self.api = httpx.Client(
            base_url=base,
            timeout=900,
            headers={"Authorization": f"Bearer {visitor.token}"},
        )
        answer = self.browser.get("/sign-in")
        csrf = re.search(r'name="csrf" value="([^"]+)"', answer.text)
        assert csrf, "no CSRF token on /sign-in"
        signed = self.browser.post(
            "/sign-in",
            data={"name": visitor.name, "password": PASSWORD, "csrf": csrf.group(1), "next": "/"},
        )
        if signed.status_code != 303:
            raise RuntimeError(f"sign-in as {visitor.name}: {signed.status_code}")

    def get(self, page: Page) -> tuple[float, Any]:
        client = self.api if page.api else self.browser
        started = time.perf_counter()
        answer = client.get(page.path)
        return time.perf_counter() - started, answer

    def close(self) -> None:
        self.browser.close()
        self.api.close()


def _ready(answer: Any) -> bool:
    # The figures are read models in the database (docs/decisions/010-read-models.md): every
    # answer, the first after a restart included, has them; nothing to wait for.
    return True


@dataclass
class Row:
    role: str
    page: str
    path: str
    status: int
    cold_ms: float
    warm_ms: list[float] = field(default_factory=list)
    ready_s: float | None = None
    kb: float = 0.0
    load1: float = 0.0
    floor_ms: float | None = None
    floor_statements: int | None = None
    note: str = ""
    # The first request of the page after each restart of the server (`--cold-rounds`).
    colds_ms: list[float] = field(default_factory=list)

    @property
    def cold_median_ms(self) -> float:
        return statistics.median(self.colds_ms) if self.colds_ms else self.cold_ms

    @property
    def cold_p95_ms(self) -> float:
        ordered = sorted(self.colds_ms or [self.cold_ms])
        return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.warm_ms) if self.warm_ms else None

    @property
    def p95_ms(self) -> float | None:
        if not self.warm_ms:
            return None
        ordered = sorted(self.warm_ms)
        return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]

    @property
    def verdict(self) -> str:
        median, p95 = self.median_ms, self.p95_ms
        if self.cold_median_ms >= TARGET_MS:
            return "MISS"
        if median is None:
            return "ok"
        if median >= TARGET_MS:
            return "MISS"
        return "p95" if p95 is not None and p95 >= TARGET_MS else "ok"


def measure_page(
    session: Session,
    page: Page,
    requests: int,
    ready_timeout: float,
    floor: Callable[[], float] | None = None,
) -> Row:
    """Cold, then (figures ready) N warm requests; with a floor, each request and one replay of
    the page's SQL back to back, alternating which goes first, so that both meet the same load."""
    cold, answer = session.get(page)
    row = Row(session.visitor.label, page.label, page.path, answer.status_code, cold * 1000)
    if page.figures:
        waited = time.perf_counter()
        while not _ready(answer) and answer.status_code == 200:
            if time.perf_counter() - waited > ready_timeout:
                row.note = f"figures not ready after {ready_timeout:.0f} s"
                break
            time.sleep(1.0)
            _, answer = session.get(page)
        row.ready_s = cold + time.perf_counter() - waited
    session.get(page)  # one untimed request: the page's own first-use costs are the cold's
    floors: list[float] = []
    if floor is not None:
        floor()
    for i in range(requests):
        if floor is not None and i % 2:
            floors.append(floor())
        elapsed, answer = session.get(page)
        row.warm_ms.append(elapsed * 1000)
        if floor is not None and not i % 2:
            floors.append(floor())
        if answer.status_code != row.status:
            row.note = f"status {answer.status_code} on a warm request"
    if floors:
        row.floor_ms = statistics.median(floors) * 1000
    row.kb = len(answer.content) / 1024
    row.load1 = os.getloadavg()[0]
    return row


def measure_posts(session: Session, candidates: Sequence[int], posts: int) -> tuple[Row, list[int]]:
    """POST …/events on `posts` cases with an event the caseworker may record without data."""
    from statemachine.calendar import to_local

    row = Row(session.visitor.label, "POST /api/v1/cases/{id}/events", "", 0, 0.0)
    used: list[int] = []
    times: list[float] = []
    for case_id in candidates:
        if len(used) == posts:
            break
        options = session.api.get(f"/api/v1/cases/{case_id}/events")
        if options.status_code != 200:
            continue
        possible = [o["event"] for o in options.json()["events"] if o["possible"]]
        plain = [e for e in possible if not _needs_data(options.json(), e)]
        if not plain:
            continue
        body = {"event": plain[0], "at": to_local(NOW).isoformat()}
        started = time.perf_counter()
        answer = session.api.post(f"/api/v1/cases/{case_id}/events", json=body)
        times.append((time.perf_counter() - started) * 1000)
        used.append(case_id)
        row.status = answer.status_code
        if answer.status_code != 200:
            row.note = f"{plain[0]} on case {case_id}: {answer.status_code} {answer.text[:200]}"
            break
    if not times:
        row.note = row.note or "no case of team 1 left with an event to record (--fresh)"
        return row, used
    row.path = f"/api/v1/cases/{used[0]}/events"
    row.cold_ms, row.warm_ms = times[0], times[1:]
    row.load1 = os.getloadavg()[0]
    return row, used


def _needs_data(options: dict[str, Any], name: str) -> bool:
    return any(o["event"] == name and o["needs_data"] for o in options["events"])


# --- the floor: the page's SQL on the bare driver --------------------------------------------


def capture(
    prepared: Prepared,
    visitors: Sequence[Visitor],
    plan: dict[str, list[Page]],
    ready_timeout: float,
) -> dict[tuple[str, str], list[Statement]]:
    """The SQL of each page's warm request, recorded in an in-process copy of the application."""
    server = CaptureServer(prepared)
    captured: dict[tuple[str, str], list[Statement]] = {}
    try:
        for visitor in visitors:
            session = Session(server.base, visitor)
            for page in plan[visitor.label]:
                _, answer = session.get(page)
                waited = time.monotonic()
                while page.figures and not _ready(answer) and answer.status_code == 200:
                    if time.monotonic() - waited > ready_timeout:
                        break
                    time.sleep(1.0)
                    _, answer = session.get(page)
                server.statements = []
                server.recording = True
                session.get(page)
                server.recording = False
                captured[(visitor.label, page.label)] = server.statements
            session.close()
            log(f"  floor: recorded the SQL of {visitor.label}'s pages")
    finally:
        server.stop()
    return captured


_QUERY = re.compile(r"^\s*(SELECT|WITH|INSERT INTO access_log)\b", re.IGNORECASE)
_BEGIN = re.compile(r"^\s*BEGIN\b", re.IGNORECASE)


def replayable(statements: Sequence[Statement]) -> tuple[list[Statement], int]:
    """The reads and access-log writes with their transaction boundaries, and how many other
    statements were left out."""
    kept, left_out = [], 0
    for statement in statements:
        sql = statement[0]
        if sql in (COMMIT, ROLLBACK) or _BEGIN.match(sql) or _QUERY.match(sql):
            kept.append(statement)
        else:
            left_out += 1
    return kept, left_out


class Bare:
    """A bare driver connection: sqlite3 with the engine's PRAGMAs, or psycopg."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite:
            self.connection: Any = sqlite3.connect(parsed.database or "", isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
                self.connection.execute(f"PRAGMA {pragma}")
        else:
            import psycopg

            self.connection = psycopg.connect(sweep_bench.psycopg_dsn(url))

    def replay(self, statements: Sequence[Statement]) -> float:
        """The statements, each transaction of the page as one transaction here."""
        started = time.perf_counter()
        cursor = self.connection.cursor()
        for sql, parameters, many in statements:
            if sql in (COMMIT, ROLLBACK):
                if self.sqlite:
                    if self.connection.in_transaction:
                        cursor.execute("COMMIT" if sql == COMMIT else "ROLLBACK")
                else:
                    (self.connection.commit if sql == COMMIT else self.connection.rollback)()
            elif _BEGIN.match(sql):
                if self.sqlite:
                    if self.connection.in_transaction:
                        cursor.execute("COMMIT")
                    cursor.execute(sql)
            elif many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
        if self.sqlite:
            if self.connection.in_transaction:
                cursor.execute("COMMIT")
        else:
            self.connection.commit()
        return time.perf_counter() - started

    def count_cases(self) -> float:
        started = time.perf_counter()
        cursor = self.connection.cursor()
        cursor.execute('SELECT count(*) FROM "case"')
        cursor.fetchall()
        if not self.sqlite:
            self.connection.commit()
        return time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


def floor_of(
    bare: Bare, statements: Sequence[Statement] | None, row: Row
) -> Callable[[], float] | None:
    """A replay of the page's recorded SQL (noting on `row` what it leaves out)."""
    if statements is None:
        return None
    kept, left_out = replayable(statements)
    row.floor_statements = sum(1 for s in kept if _QUERY.match(s[0]))
    if left_out:
        row.note = (row.note + "; " if row.note else "") + f"floor leaves out {left_out} statements"
    return lambda: bare.replay(kept)


# --- one backend -----------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    prepared: Prepared
    rows: list[Row]
    count_ms: float | None
    server_start_s: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    sample_case: int
    posted_cases: list[int]
    wall_s: float


def bench_one(backend: str, args: argparse.Namespace, stores: dict[str, Any]) -> Result:
    started = time.perf_counter()
    prepared = prepare(backend, args, stores)
    org = Org(args.teams, args.team_size)
    visitors = users(prepared.url, org, prepared.org_file)
    case_id = sample_case(prepared.url, org)
    candidates = writable_cases(prepared.url, org)
    plan = {v.label: pages(v, org, case_id) for v in visitors}
    captured: dict[tuple[str, str], list[Statement]] = {}
    bare: Bare | None = None
    count_ms = None
    if args.floor:
        log(f"{backend}: recording each page's SQL (the floor) in an in-process server")
        captured = capture(prepared, visitors, plan, args.ready_timeout)
        bare = Bare(prepared.url)
        count_ms = statistics.median(bare.count_cases() for _ in range(3)) * 1000
    load_before = os.getloadavg()
    log(f"{backend}: starting the server (load {load_before[0]:.1f})")
    server = ChildServer(prepared, RESULTS / f"pages-server-{backend}.log")
    rows: list[Row] = []
    posted: list[int] = []
    try:
        for visitor in visitors:
            session = Session(server.base, visitor)
            for page in plan[visitor.label]:
                row = Row(visitor.label, page.label, page.path, 0, 0.0)
                floor = None
                if bare is not None:
                    floor = floor_of(bare, captured.get((visitor.label, page.label)), row)
                measured = measure_page(session, page, args.requests, args.ready_timeout, floor)
                measured.floor_statements = row.floor_statements
                measured.note = "; ".join(n for n in (measured.note, row.note) if n)
                rows.append(measured)
                row = measured
                log(
                    f"  {backend} {row.role:<12} {row.page:<40} {row.status} cold "
                    f"{row.cold_ms:7.0f} ms, warm {row.median_ms or 0:7.1f} / p95 "
                    f"{row.p95_ms or 0:7.1f} ms"
                    + ("" if row.floor_ms is None else f", floor {row.floor_ms:6.1f} ms")
                    + (f", figures ready after {row.ready_s:.1f} s" if row.ready_s else "")
                    + f" (load {row.load1:.1f}) {row.note}"
                )
            if visitor.role == "caseworker" and args.posts:
                row, posted = measure_posts(session, candidates, args.posts)
                rows.append(row)
                log(
                    f"  {backend} {row.role:<12} {row.page}: {row.cold_ms:.0f} ms, then "
                    f"{[round(t) for t in row.warm_ms]} {row.note}"
                )
            session.close()
    finally:
        server.stop()
        if bare is not None:
            bare.close()
    for row in rows:
        row.colds_ms.append(row.cold_ms)
    by_page = {(row.role, row.path): row for row in rows}
    for round_ in range(2, args.cold_rounds + 1):
        # A restart: each page's first request again, on a server that has answered nothing.
        log(f"{backend}: cold round {round_}/{args.cold_rounds}: restarting the server")
        server = ChildServer(prepared, RESULTS / f"pages-server-{backend}.log")
        try:
            for visitor in visitors:
                session = Session(server.base, visitor)
                for page in plan[visitor.label]:
                    elapsed, _ = session.get(page)
                    by_page[(visitor.label, page.path)].colds_ms.append(elapsed * 1000)
                session.close()
        finally:
            server.stop()
    return Result(
        backend,
        prepared,
        rows,
        count_ms,
        server.start_s,
        load_before,
        os.getloadavg(),
        case_id,
        posted,
        time.perf_counter() - started,
    )


# --- output ----------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def render(results: Sequence[Result]) -> str:
    lines: list[str] = []
    for r in results:
        s = r.prepared.shape
        lines += [
            f"{r.backend}: {s['cases']:,} cases ({s['teams']:,} teams, {s['caseworkers']:,} "
            f"caseworkers; {s['cases_per_team'][0]}–{s['cases_per_team'][1]} cases a team, "
            f"{s['cases_per_caseworker'][0]}–{s['cases_per_caseworker'][1]} a caseworker; "
            f"{s['deadlines']:,} deadlines), {s['size_mb']:,} MB; sample case {r.sample_case}",
            f"load average (1/5/15 min) before {'/'.join(f'{x:.1f}' for x in r.load_before)}, "
            f"after {'/'.join(f'{x:.1f}' for x in r.load_after)}; server up in "
            f"{r.server_start_s:.1f} s; raw SELECT count(*) FROM case: {_ms(r.count_ms)} ms",
            f"{'role':<12} {'page':<38}{'status':>7}{'cold med':>9}{'cold p95':>9}{'warm med':>10}{'p95':>8}"
            f"{'floor':>8}{'sql':>5}{'KB':>7}{'ready s':>9}{'load':>6}  verdict",
        ]
        for row in r.rows:
            lines.append(
                f"{row.role:<12} {row.page:<38}{row.status:>7}{_ms(row.cold_median_ms):>9}"
                f"{_ms(row.cold_p95_ms):>9}"
                f"{_ms(row.median_ms):>10}{_ms(row.p95_ms):>8}{_ms(row.floor_ms):>8}"
                f"{row.floor_statements if row.floor_statements is not None else '-':>5}"
                f"{row.kb:>7.0f}{'-' if row.ready_s is None else f'{row.ready_s:.1f}':>9}"
                f"{row.load1:>6.1f}  {row.verdict}{'  ' + row.note if row.note else ''}"
            )
        missed = [f"{row.role} {row.page}" for row in r.rows if row.verdict == "MISS"]
        tail = [f"{row.role} {row.page}" for row in r.rows if row.verdict == "p95"]
        lines.append(
            f"{r.backend}: {len(missed)} of {len(r.rows)} miss {TARGET_MS:.0f} ms warm (median)"
            + (": " + ", ".join(missed) if missed else "")
        )
        if tail:
            lines.append(f"{r.backend}: p95 over {TARGET_MS:.0f} ms only: " + ", ".join(tail))
        lines.append("")
    lines += [
        "cold med / p95: the first request for that page and user on a freshly started server, "
        "over --cold-rounds starts; warm med / p95: over --requests requests (nearest rank);",
        "floor: the SQL of one warm request replayed on the bare driver "
        "(median), sql: its statements; ready s: unused (no kept figures any more);",
        "load: the 1-minute load average after the page's requests; verdict: MISS when the warm "
        f"or cold median is >= {TARGET_MS:.0f} ms, p95 when only a p95 is",
    ]
    return "\n".join(lines)


def as_json(r: Result) -> dict[str, Any]:
    return {
        "database": r.backend,
        "prepared": {k: v for k, v in asdict(r.prepared).items() if k != "shape"},
        "shape": r.prepared.shape,
        "sample_case": r.sample_case,
        "posted_cases": r.posted_cases,
        "server_start_s": round(r.server_start_s, 2),
        "count_cases_ms": None if r.count_ms is None else round(r.count_ms, 1),
        "load_before": r.load_before,
        "load_after": r.load_after,
        "wall_s": round(r.wall_s, 1),
        "pages": [
            {
                "role": row.role,
                "page": row.page,
                "path": row.path,
                "status": row.status,
                "cold_ms": round(row.cold_ms, 1),
                "cold_median_ms": round(row.cold_median_ms, 1),
                "cold_p95_ms": round(row.cold_p95_ms, 1),
                "colds_ms": [round(t, 1) for t in row.colds_ms],
                "warm_median_ms": None if row.median_ms is None else round(row.median_ms, 1),
                "warm_p95_ms": None if row.p95_ms is None else round(row.p95_ms, 1),
                "warm_ms": [round(t, 1) for t in row.warm_ms],
                "floor_ms": None if row.floor_ms is None else round(row.floor_ms, 2),
                "floor_statements": row.floor_statements,
                "ready_s": None if row.ready_s is None else round(row.ready_s, 2),
                "kb": round(row.kb, 1),
                "load1": round(row.load1, 2),
                "verdict": row.verdict,
                "note": row.note,
            }
            for row in r.rows
        ],
    }


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--serve":
        serve_child(int(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(
        description="Dashboard and API page times over HTTP at a million cases (aim: < 300 ms)."
    )
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=20, help="warm requests per page (20)")
    parser.add_argument(
        "--cold-rounds",
        type=int,
        default=3,
        help="server starts whose first request of each page is timed: cold median, p95 (3)",
    )
    parser.add_argument("--posts", type=int, default=5, help="POSTed events, on as many cases (5)")
    parser.add_argument(
        "--teams", type=int, default=None, help=f"default: cases / {CASES_PER_TEAM}"
    )
    parser.add_argument("--team-size", type=int, default=TEAM_SIZE, help="caseworkers a team (10)")
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=900,
        help="seconds to wait for a page's kept figures (900)",
    )
    parser.add_argument("--no-floor", dest="floor", action="store_false", help="skip the floor")
    parser.add_argument("--fresh", action="store_true", help="prepare the databases again")
    parser.add_argument(
        "--drop", action="store_true", help="drop the prepared databases at the end"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.teams is None:
        args.teams = max(1, round(args.cases / CASES_PER_TEAM))

    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    RESULTS.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    stores: dict[str, Any] = {}
    try:
        for backend in backends:
            results.append(bench_one(backend, args, stores))
    finally:
        for backend, (source_store, store) in stores.items():
            if args.drop:
                store.drop(f"bench_pages_{args.cases}")
                (CACHE / f"{backend}-bench_pages_{args.cases}.json").unlink(missing_ok=True)
            store.close()
            if source_store is not store:
                source_store.close()
    payload = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "target_ms": TARGET_MS,
        "requests": args.requests,
        "clock_from": NOW.isoformat(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "results": [as_json(r) for r in results],
    }
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"pages-{stamp}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
