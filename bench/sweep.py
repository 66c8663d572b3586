"""The deadline sweep at scale: wall time, peak memory, the SQL floor and the Prefect flow.

Not a test (pytest never collects it). Run from the repository root:

    .venv/bin/python bench/sweep.py                         # 100k and 1M cases, SQLite and PostgreSQL
    .venv/bin/python bench/sweep.py --cases 100000 --db sqlite --no-flow
    .venv/bin/python bench/sweep.py --cases 100000 300000 1000000 --keep --json

For every size and backend it

1. generates N open cases (cached: see `--keep`). A few thousand template cases are walked
   through the service layer by the demo loader (`sagsflow.demo.load_demo`: every phase, with
   measures, follow-ups, late and met deadlines, dated around the sweep's `now`); the open ones
   (not in closure) are written to the database as cases 1..T with their measures and deadlines,
   and then copied in SQL (INSERT … SELECT over a generated series) until N cases exist. A copy is
   its template's rows byte for byte — same facts JSON, rulebook version, deadlines with their
   rule ids, statuses and due instants — with its own ids and child reference. No audit records
   (the sweep never reads them), no notifications, nothing marked breached: the state a sweep
   meets on a caseload nobody has swept;
2. copies that database (file copy / `CREATE DATABASE … TEMPLATE`) and, each in a child process
   of its own (peak RSS is the child's `ru_maxrss`), times
   - the floor once to warm the caches, then the sweep (`sagsflow.sweep.sweep(context, now)`) on
     the fresh copy: breaches marked and every due notification created ("first");
   - R rounds of the floor and the sweep again, alternating ("rerun": nothing new to write, what a
     sweep every 15 minutes mostly meets);
   The floor is one hand-written SELECT on the bare driver (sqlite3 / psycopg with a server-side
   cursor) of the deadlines any sweep has to look at — unresolved, of a case not closed, due before
   `now` plus the widest reminder lead of the rulebooks — streamed to the client and counted;
3. unless `--no-flow`, copies the generated database once more and runs the `enforce-deadlines`
   Prefect flow against it in a child process with a temporary Prefect server
   (`prefect_test_harness`, heartbeats off, PREFECT_HOME in a temporary directory): the server's
   start-up and one flow run against an empty database (the fixed cost of any flow run) are timed
   apart from the flow's first run and its reruns.

Results go to stdout (a table, or JSON with `--json`) and to bench/results/sweep-<stamp>.json
(git-ignored), generated databases to bench/results/sweep-cache/ (SQLite) or PostgreSQL databases
`bench_sweep_<N>` (and `_run`, `_flow` copies, always dropped at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from models.database import make_engine, upgrade  # noqa: E402
from models.repository import CASE, DEADLINE, MEASURE, recount_open_caseload  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = RESULTS / "sweep-cache"
POSTGRES_ADMIN_URL = os.environ.get(
    "SAGSFLOW_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# The sweep's `now` (a Monday noon); the template caseload is dated around it.
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=COPENHAGEN).astimezone(UTC)
# Cases the demo loader walks to make the templates (about three in four are still open).
DEMO_CASES = 4000
# Generation format: bump when what `generate` writes changes, so cached databases are redone.
FORMAT = 1
UNRESOLVED = ("open", "breached")
MB = 1024 * 1024


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- where the databases live ------------------------------------------------------------------


class Store:
    """Named databases of one backend: create, copy, drop."""

    backend: str

    def url(self, name: str) -> str:
        raise NotImplementedError

    def exists(self, name: str) -> bool:
        raise NotImplementedError

    def create(self, name: str) -> None:
        raise NotImplementedError

    def copy(self, source: str, target: str) -> None:
        raise NotImplementedError

    def drop(self, name: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class SqliteStore(Store):
    backend = "sqlite"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.db"

    def url(self, name: str) -> str:
        return f"sqlite:///{self.path(name)}"

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def create(self, name: str) -> None:
        self.drop(name)

    def copy(self, source: str, target: str) -> None:
        # Fold the WAL into the main file, then copy one file.
        connection = sqlite3.connect(self.path(source))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        self.drop(target)
        shutil.copyfile(self.path(source), self.path(target))

    def drop(self, name: str) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path(name)}{suffix}").unlink(missing_ok=True)


class PostgresStore(Store):
    backend = "postgresql"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.admin = make_engine(
            admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
        )

    def url(self, name: str) -> str:
        return str(self.admin_url.set(database=name).render_as_string(hide_password=False))

    def execute(self, statement: str, **params: Any) -> Any:
        with self.admin.connect() as connection:
            return connection.execute(text(statement), params).all()

    def exists(self, name: str) -> bool:
        return bool(self.execute("SELECT 1 FROM pg_database WHERE datname = :n", n=name))

    def create(self, name: str) -> None:
        self.drop(name)
        self.admin_exec(f"CREATE DATABASE {name}")

    def admin_exec(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def copy(self, source: str, target: str) -> None:
        self.drop(target)
        self.admin_exec(f"CREATE DATABASE {target} TEMPLATE {source}")

    def drop(self, name: str) -> None:
        self.admin_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self.admin.dispose()


def psycopg_dsn(url: str) -> str:
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


# --- generation ----------------------------------------------------------------------------------


def template_database(demo_cases: int, seed: int) -> Path:
    """A SQLite database of `demo_cases` cases walked by the demo loader (made once, cached)."""
    path = CACHE / f"templates-{demo_cases}-{seed}-{NOW:%Y%m%d}.db"
    if path.exists():
        return path
    from rulebooks import shipped_catalogue
    from sagsflow.context import Context
    from sagsflow.usecases.demo import load_demo

    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{partial}"
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    counts = load_demo(Context(engine, shipped_catalogue()), cases=demo_cases, now=NOW, seed=seed)
    engine.dispose()
    connection = sqlite3.connect(partial)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    partial.rename(path)
    log(f"templates: {demo_cases:,} demo cases in {time.perf_counter() - started:.0f} s: {counts}")
    return path


@dataclass
class Templates:
    """The open template cases renumbered 1..T, their measures and deadlines likewise."""

    cases: list[dict[str, Any]]
    measures: list[dict[str, Any]]
    deadlines: list[dict[str, Any]]


def read_templates(path: Path, limit: int) -> Templates:
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        cases = [
            dict(r._mapping)
            for r in connection.execute(
                select(CASE).where(CASE.c.phase != "closure").order_by(CASE.c.id).limit(limit)
            )
        ]
        new_case = {row["id"]: n for n, row in enumerate(cases, start=1)}
        measures = [
            dict(r._mapping)
            for r in connection.execute(select(MEASURE).order_by(MEASURE.c.id))
            if r.case_id in new_case
        ]
        deadlines = [
            dict(r._mapping)
            for r in connection.execute(select(DEADLINE).order_by(DEADLINE.c.id))
            if r.case_id in new_case
        ]
    engine.dispose()
    for n, row in enumerate(cases, start=1):
        row["id"] = n
        row["child_ref"] = f"SWEEP-{n:07d}"
    for rows in (measures, deadlines):
        for n, row in enumerate(rows, start=1):
            row["id"] = n
            row["case_id"] = new_case[row["case_id"]]
    return Templates(cases, measures, deadlines)


def _columns(table: Any) -> list[str]:
    return [column.name for column in table.columns]


def _replicate_sql(backend: str, table: Any, per_copy: str, case_column: str) -> str:
    """INSERT … SELECT copying the template rows (ids 1..:rows) once per k in :lo..:hi.

    A copy k of template row r gets id r + k·:rows, and its case id (`case_column`) moves by
    k·:cases; only copies whose case id stays within :total are made.
    """
    columns = _columns(table)
    exprs = []
    for column in columns:
        if column == "id":
            exprs.append(f"t.id + s.k * :{per_copy}")
        elif column == case_column:
            exprs.append(f"t.{case_column} + s.k * :cases")
        elif column == "child_ref":
            exprs.append(
                "printf('SWEEP-%07d', t.id + s.k * :cases)"
                if backend == "sqlite"
                else "'SWEEP-' || lpad((t.id + s.k * :cases)::text, 7, '0')"
            )
        else:
            exprs.append(f't."{column}"')
    name = f'"{table.name}"'
    select_part = (
        f"SELECT {', '.join(exprs)} FROM {name} t, s "
        f"WHERE t.id <= :{per_copy} AND t.{case_column} + s.k * :cases <= :total"
    )
    quoted = ", ".join(f'"{c}"' for c in columns)
    if backend == "sqlite":
        series = "WITH RECURSIVE s(k) AS (SELECT :lo UNION ALL SELECT k + 1 FROM s WHERE k < :hi) "
        return f"INSERT INTO {name} ({quoted}) {series}{select_part}"
    return f"INSERT INTO {name} ({quoted}) " + select_part.replace(
        " t, s ", " t, generate_series(CAST(:lo AS integer), CAST(:hi AS integer)) AS s(k) "
    )


@dataclass
class Population:
    cases: int
    deadlines: int
    unresolved: int
    measures: int
    templates: int
    generate_s: float
    size_mb: float | None = None


def generate(store: Store, name: str, count: int, templates_path: Path) -> Population:
    """`count` open cases in database `name`: the templates, then SQL copies of them."""
    started = time.perf_counter()
    store.create(name)
    url = store.url(name)
    upgrade(url)
    tpl = read_templates(templates_path, count)
    t, m, d = len(tpl.cases), len(tpl.measures), len(tpl.deadlines)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(CASE), tpl.cases)
        if tpl.measures:
            connection.execute(insert(MEASURE), tpl.measures)
        connection.execute(insert(DEADLINE), tpl.deadlines)
    engine.dispose()
    copies = -(-count // t)  # copies 1..copies-1 on top of the templates (copy 0)
    statements = [
        (_replicate_sql(store.backend, CASE, "cases", "id"), "case"),
        (_replicate_sql(store.backend, MEASURE, "measures", "case_id"), "measure"),
        (_replicate_sql(store.backend, DEADLINE, "deadlines", "case_id"), "deadline"),
    ]
    chunk = max(1, 100_000 // t)  # about 100k cases per transaction
    params = {"cases": t, "measures": m, "deadlines": d, "total": count}
    if isinstance(store, SqliteStore):
        connection = sqlite3.connect(store.path(name), isolation_level=None)
        # A scratch load: no journal, no fsync, no foreign-key checks (the rows are consistent
        # by construction); WAL again afterwards, as the engine sets it.
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "foreign_keys=OFF",
            "cache_size=-1000000",
        ):
            connection.execute(f"PRAGMA {pragma}")
        for lo in range(1, copies, chunk):
            hi = min(lo + chunk - 1, copies - 1)
            connection.execute("BEGIN")
            for sql, _ in statements:
                connection.execute(sql, {**params, "lo": lo, "hi": hi})
            connection.execute("COMMIT")
            log(f"  {store.backend} {name}: {min((hi + 1) * t, count):,} cases")
        connection.execute("ANALYZE")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.close()
    else:
        import psycopg

        with psycopg.connect(psycopg_dsn(url), autocommit=False) as connection:
            # Skip the foreign-key triggers while loading (consistent by construction).
            connection.execute("SET session_replication_role = replica")
            for lo in range(1, copies, chunk):
                hi = min(lo + chunk - 1, copies - 1)
                for sql, _ in statements:
                    # psycopg's placeholders: %(name)s
                    sql_pg = _pyformat(sql)
                    connection.execute(sql_pg, {**params, "lo": lo, "hi": hi})  # type: ignore[arg-type]
                connection.commit()
                log(f"  {store.backend} {name}: {min((hi + 1) * t, count):,} cases")
            for table in ("case", "measure", "deadline"):
                connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "  # type: ignore[arg-type]
                    f'(SELECT max(id) FROM "{table}"))'
                )
            connection.commit()
        with psycopg.connect(psycopg_dsn(url), autocommit=True) as connection:
            # As autovacuum leaves a table in production: statistics and visibility map.
            connection.execute('VACUUM ANALYZE "case", measure, deadline, notification')
            connection.execute("CHECKPOINT")
    # The rows were copied behind the event path's back: fill the read models from them, as the
    # migration that adds them does (models/readmodels.py).
    from models.readmodels import rebuild

    engine = make_engine(url)
    with engine.begin() as connection:
        rebuild(connection)
        recount_open_caseload(connection)  # decision 011
    engine.dispose()
    generate_s = time.perf_counter() - started
    return population(store, name, t, generate_s)


def _pyformat(sql: str) -> str:
    import re

    return re.sub(r":(\w+)", r"%(\1)s", sql.replace("::text", "\x00")).replace("\x00", "::text")


def population(store: Store, name: str, templates: int, generate_s: float) -> Population:
    engine = make_engine(store.url(name))
    with engine.connect() as connection:
        cases = connection.execute(select(func.count()).select_from(CASE)).scalar_one()
        deadlines = connection.execute(select(func.count()).select_from(DEADLINE)).scalar_one()
        unresolved = connection.execute(
            select(func.count()).where(DEADLINE.c.status.in_(UNRESOLVED))
        ).scalar_one()
        measures = connection.execute(select(func.count()).select_from(MEASURE)).scalar_one()
        if store.backend == "postgresql":
            size = connection.execute(text("SELECT pg_database_size(current_database())"))
            size_mb = size.scalar_one() / MB
        else:
            assert isinstance(store, SqliteStore)
            size_mb = store.path(name).stat().st_size / MB
    engine.dispose()
    return Population(cases, deadlines, unresolved, measures, templates, generate_s, size_mb)


def ensure_generated(
    store: Store, count: int, args: argparse.Namespace
) -> tuple[str, Population, bool]:
    """The generated database for `count` cases: reused from the cache when it matches."""
    name = f"bench_sweep_{count}"
    meta_path = CACHE / f"{store.backend}-{name}.json"
    wanted = {"format": FORMAT, "cases": count, "demo_cases": args.demo_cases, "seed": args.seed}
    if meta_path.exists() and store.exists(name):
        meta = json.loads(meta_path.read_text())
        if meta.get("key") == wanted:
            log(f"{store.backend} {count:,}: reusing the generated database {name}")
            return name, Population(**meta["population"]), True
    templates_path = template_database(args.demo_cases, args.seed)
    log(f"{store.backend} {count:,}: generating {name}")
    generated = generate(store, name, count, templates_path)
    meta_path.write_text(json.dumps({"key": wanted, "population": asdict(generated)}, indent=2))
    log(
        f"{store.backend} {count:,}: generated in {generated.generate_s:.0f} s "
        f"({generated.deadlines:,} deadlines, {generated.unresolved:,} unresolved)"
    )
    return name, generated, False


# --- measurements, each in a child process -------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MB


def _cpu_s() -> float:
    """CPU time of this process (user + system): SQLite's work included, it runs in-process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's
    RSS at the fork (Linux carries the high-water mark across exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def child_sweep(spec: dict[str, Any]) -> dict[str, Any]:
    from rulebooks import shipped_catalogue
    from sagsflow.context import Context
    from sagsflow.usecases.sweep import sweep

    engine = make_engine(spec["url"])
    context = Context(engine, shipped_catalogue())
    with engine.connect():
        pass  # the pool's first connection, as a long-running worker has it
    baseline = _rss_mb()
    cpu = _cpu_s()
    started = time.perf_counter()
    result = sweep(context, NOW)
    wall = time.perf_counter() - started
    cpu = _cpu_s() - cpu
    engine.dispose()
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "result": result.as_dict(),
        "baseline_mb": baseline,
        "peak_mb": _peak_mb(),
    }


def floor_query(backend: str) -> str:
    mark = "?" if backend == "sqlite" else "%s"
    return (
        "SELECT d.id, d.case_id, d.rule, d.due_at, c.rulebook_id, c.rulebook_version "
        'FROM deadline d JOIN "case" c ON c.id = d.case_id '
        f"WHERE d.status IN ('open', 'breached') AND d.due_at <= {mark} "
        "AND c.phase <> 'closure'"
    )


def child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    from rulebooks import shipped_catalogue
    from sagsflow.context import Context
    from sagsflow.usecases.sweep import _widest_horizon

    horizon = _widest_horizon(Context(make_engine("sqlite://"), shipped_catalogue()), NOW)
    assert horizon is not None
    backend = make_url(spec["url"]).get_backend_name()
    rows = 0
    if backend == "sqlite":
        connection = sqlite3.connect(make_url(spec["url"]).database or "")
        baseline = _rss_mb()
        cpu = _cpu_s()
        started = time.perf_counter()
        # The stored text of an instant: naive UTC, as models.types writes it.
        bound = horizon.astimezone(UTC).isoformat(" ", "microseconds")[:26]
        for _ in connection.execute(floor_query(backend), (bound,)):
            rows += 1
        wall = time.perf_counter() - started
        connection.close()
    else:
        import psycopg

        connection = psycopg.connect(psycopg_dsn(spec["url"]))
        baseline = _rss_mb()
        cpu = _cpu_s()
        started = time.perf_counter()
        # Planned to be read to the end (as the sweep's own cursor is), not for its first rows.
        connection.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        with connection.cursor(name="floor") as cursor:  # a server-side cursor
            cursor.itersize = 5000
            cursor.execute(floor_query(backend), (horizon,))
            for _ in cursor:
                rows += 1
        connection.commit()
        wall = time.perf_counter() - started
        connection.close()
    return {
        "wall_s": wall,
        "cpu_s": _cpu_s() - cpu,
        "rows": rows,
        "baseline_mb": baseline,
        "peak_mb": _peak_mb(),
    }


def child_flow(spec: dict[str, Any]) -> dict[str, Any]:
    """The flow against the database: start-up, one run on an empty database, then the runs."""
    home = tempfile.mkdtemp(prefix="sagsflow-bench-prefect-")
    os.environ.update(
        {
            "PREFECT_HOME": home,
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
            "PREFECT_LOGGING_TO_API_ENABLED": "false",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )
    os.environ.pop("PREFECT_API_URL", None)
    try:
        started = time.perf_counter()
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
        from prefect.testing.utilities import prefect_test_harness

        from flows.enforce import enforce_deadlines

        imported = time.perf_counter() - started
        out: dict[str, Any] = {"import_s": imported, "runs": []}
        with (
            temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
            prefect_test_harness(server_startup_timeout=120),
        ):
            out["server_start_s"] = time.perf_counter() - started - imported
            # The fixed cost of a flow run: the same flow where there is nothing to do. The
            # first such run also pays the process's one-off set-up (client, task machinery).
            os.environ["SAGSFLOW_DATABASE_URL"] = spec["empty_url"]
            empty = []
            for _ in range(3):
                started = time.perf_counter()
                enforce_deadlines(now=NOW.isoformat())
                empty.append(time.perf_counter() - started)
            out["first_empty_s"] = empty[0]
            out["empty_s"] = statistics.median(empty[1:])
            os.environ["SAGSFLOW_DATABASE_URL"] = spec["url"]
            baseline = _rss_mb()
            for _ in range(spec["runs"]):
                started = time.perf_counter()
                totals = enforce_deadlines(now=NOW.isoformat())
                out["runs"].append({"wall_s": time.perf_counter() - started, "result": totals})
            out["baseline_mb"] = baseline
            out["peak_mb"] = _peak_mb()
        return out
    finally:
        shutil.rmtree(home, ignore_errors=True)


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "sweep": child_sweep,
    "floor": child_floor,
    "flow": child_flow,
}


def in_child(kind: str, **spec: Any) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", kind, json.dumps(spec)],
        stdout=subprocess.PIPE,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({completed.returncode})")
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


# --- driver --------------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    population: Population
    reused: bool
    first: dict[str, Any]
    reruns: list[dict[str, Any]]
    floors: list[dict[str, Any]]
    floor_cold: dict[str, Any]
    due_deadlines: int
    notifications: int
    flow: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rerun_s(self) -> float:
        return statistics.median(r["wall_s"] for r in self.reruns)

    @property
    def floor_s(self) -> float:
        return statistics.median(f["wall_s"] for f in self.floors)

    @property
    def ratio(self) -> float:
        """Sweep rerun / floor, per round (run back to back), then the median."""
        return statistics.median(
            r["wall_s"] / f["wall_s"] for r, f in zip(self.reruns, self.floors, strict=True)
        )

    @property
    def cpu_ratio(self) -> float:
        """The same in the processes' CPU time: the whole of both on SQLite (in-process), only the
        client's on PostgreSQL. Less at the mercy of other load on the machine than wall time."""
        return statistics.median(
            r["cpu_s"] / f["cpu_s"] for r, f in zip(self.reruns, self.floors, strict=True)
        )

    @property
    def first_ratio(self) -> float:
        return float(self.first["wall_s"]) / self.floor_s

    @property
    def peak_mb(self) -> float:
        return max(float(r["peak_mb"]) for r in [self.first, *self.reruns])

    @property
    def growth_mb(self) -> float:
        return max(float(r["peak_mb"] - r["baseline_mb"]) for r in [self.first, *self.reruns])

    def flow_figures(self) -> dict[str, float] | None:
        if self.flow is None:
            return None
        runs = self.flow["runs"]
        first = runs[0]["wall_s"]
        rerun = statistics.median(r["wall_s"] for r in runs[1:]) if len(runs) > 1 else None
        fixed = self.flow["empty_s"]
        figures = {
            "server_start_s": self.flow["server_start_s"],
            "first_empty_s": self.flow["first_empty_s"],
            "fixed_s": fixed,
            "first_s": first,
            "first_ratio": first / self.first["wall_s"],
            "first_ratio_net": (first - fixed) / self.first["wall_s"],
        }
        if rerun is not None:
            figures |= {
                "rerun_s": rerun,
                "rerun_ratio": rerun / self.rerun_s,
                "rerun_ratio_net": (rerun - fixed) / self.rerun_s,
            }
        return figures


def notification_counts(url: str) -> tuple[int, int]:
    engine: Engine = make_engine(url)
    with engine.connect() as connection:
        due, total = connection.execute(
            text("SELECT count(DISTINCT deadline_id), count(*) FROM notification")
        ).one()
    engine.dispose()
    return int(due), int(total)


def empty_database(store: Store) -> str:
    name = "bench_sweep_empty"
    if not store.exists(name):
        store.create(name)
    upgrade(store.url(name))
    return store.url(name)


def bench_one(store: Store, count: int, args: argparse.Namespace) -> Result:
    backend = store.backend
    name, generated, reused = ensure_generated(store, count, args)
    run = f"{name}_run"
    try:
        started = time.perf_counter()
        store.copy(name, run)
        log(f"{backend} {count:,}: fresh copy in {time.perf_counter() - started:.0f} s")
        url = store.url(run)
        # A cached database may be of an older revision: migrated here, on the copy (the read
        # models' migration fills them from the base tables; its time is logged).
        started = time.perf_counter()
        upgrade(url)
        log(f"{backend} {count:,}: migrated the copy in {time.perf_counter() - started:.0f} s")
        floor_cold = in_child("floor", url=url)
        first = in_child("sweep", url=url)
        log(
            f"{backend} {count:,}: floor (cold) {floor_cold['wall_s']:.2f} s "
            f"({floor_cold['rows']:,} rows); sweep first run {first['wall_s']:.2f} s "
            f"{first['result']}, peak RSS {first['peak_mb']:.0f} MB"
        )
        due, notifications = notification_counts(url)
        reruns, floors = [], []
        for r in range(args.rounds):
            order = ("floor", "sweep") if r % 2 == 0 else ("sweep", "floor")
            for kind in order:
                (floors if kind == "floor" else reruns).append(in_child(kind, url=url))
            log(
                f"{backend} {count:,}: round {r + 1}/{args.rounds}: sweep rerun "
                f"{reruns[-1]['wall_s']:.2f} s (peak {reruns[-1]['peak_mb']:.0f} MB), "
                f"floor {floors[-1]['wall_s']:.2f} s"
            )
    finally:
        store.drop(run)
    result = Result(
        backend, generated, reused, first, reruns, floors, floor_cold, due, notifications
    )
    if args.flow:
        flow_db = f"{name}_flow"
        try:
            store.copy(name, flow_db)
            result.flow = in_child(
                "flow",
                url=store.url(flow_db),
                empty_url=empty_database(store),
                runs=1 + args.flow_reruns,
            )
            figures = result.flow_figures()
            assert figures is not None
            log(
                f"{backend} {count:,}: flow: server {figures['server_start_s']:.1f} s, "
                f"empty run {figures['first_empty_s']:.2f} s then {figures['fixed_s']:.2f} s, "
                f"first {figures['first_s']:.2f} s, reruns "
                f"{[round(r['wall_s'], 2) for r in result.flow['runs'][1:]]}"
            )
        finally:
            store.drop(flow_db)
    if not args.keep:
        store.drop(name)
        (CACHE / f"{backend}-{name}.json").unlink(missing_ok=True)
    return result


def render(results: Sequence[Result]) -> str:
    header = (
        f"{'database':<11}{'cases':>10}{'deadlines':>11}{'gen s':>7}{'examined':>10}"
        f"{'due':>9}{'notif':>9}{'first s':>9}{'rerun s':>9}{'floor s':>9}{'ratio':>7}"
        f"{'cpu':>6}{'peak MB':>9}{'flow s':>13}{'flow/plain':>12}"
    )
    lines = [header]
    for r in results:
        flow = r.flow_figures()
        flow_s = f"{flow['first_s']:.1f}" if flow else "-"
        flow_ratio = f"{flow['first_ratio_net']:.2f}" if flow else "-"
        if flow and "rerun_s" in flow:
            flow_s += f"/{flow['rerun_s']:.1f}"
            flow_ratio += f"/{flow['rerun_ratio_net']:.2f}"
        gen = "cache" if r.reused else f"{r.population.generate_s:.0f}"
        cpu = f"{r.cpu_ratio:.2f}" if r.backend == "sqlite" else "-"
        lines.append(
            f"{r.backend:<11}{r.population.cases:>10,}{r.population.deadlines:>11,}{gen:>7}"
            f"{r.first['result']['deadlines_examined']:>10,}{r.due_deadlines:>9,}"
            f"{r.notifications:>9,}{r.first['wall_s']:>9.2f}{r.rerun_s:>9.2f}{r.floor_s:>9.2f}"
            f"{r.ratio:>7.2f}{cpu:>6}{r.peak_mb:>9.0f}{flow_s:>13}{flow_ratio:>12}"
        )
    lines += [
        "",
        "first s: the sweep on a fresh copy (breaches marked, notifications created); rerun s: "
        "again, nothing new (median);",
        "floor s: one hand-written SELECT of the deadlines to examine, streamed (median); "
        "ratio: rerun / floor per round, median (aim <= 2);",
        "cpu: the same ratio in CPU time (SQLite only: the database runs in the process);",
        "peak MB: the sweep child's peak RSS; flow s: enforce-deadlines first/rerun; flow/plain: "
        "(flow - empty flow run) / plain sweep, first/rerun (aim <= 1.2)",
    ]
    return "\n".join(lines)


def as_json(r: Result) -> dict[str, Any]:
    return {
        "database": r.backend,
        "population": asdict(r.population),
        "generated_now": not r.reused,
        "due_deadlines": r.due_deadlines,
        "notifications": r.notifications,
        "first": r.first,
        "reruns": r.reruns,
        "floors": r.floors,
        "floor_cold": r.floor_cold,
        "rerun_s": round(r.rerun_s, 3),
        "floor_s": round(r.floor_s, 3),
        "ratio": round(r.ratio, 3),
        "ratio_rounds": [
            round(x["wall_s"] / f["wall_s"], 3) for x, f in zip(r.reruns, r.floors, strict=True)
        ],
        "cpu_ratio": round(r.cpu_ratio, 3),
        "first_ratio": round(r.first_ratio, 3),
        "peak_rss_mb": round(r.peak_mb, 1),
        "rss_growth_mb": round(r.growth_mb, 1),
        "flow": r.flow,
        "flow_figures": r.flow_figures(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        kind, spec = sys.argv[2], json.loads(sys.argv[3])
        print(json.dumps(CHILDREN[kind](spec)))
        return 0
    parser = argparse.ArgumentParser(
        description="The deadline sweep at scale: wall time, peak RSS, SQL floor, Prefect flow."
    )
    parser.add_argument("--cases", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="rerun/floor rounds (default 3)")
    parser.add_argument("--no-flow", dest="flow", action="store_false", help="skip the flow")
    parser.add_argument(
        "--flow-reruns", type=int, default=2, help="flow reruns after its first run (default 2)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated databases (reused next time)"
    )
    parser.add_argument(
        "--demo-cases",
        type=int,
        default=DEMO_CASES,
        help=f"cases the demo loader walks for templates (default {DEMO_CASES})",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    RESULTS.mkdir(parents=True, exist_ok=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    stores: dict[str, Store] = {}
    try:
        for count in args.cases:
            for backend in backends:
                if backend not in stores:
                    stores[backend] = (
                        SqliteStore(CACHE)
                        if backend == "sqlite"
                        else PostgresStore(POSTGRES_ADMIN_URL)
                    )
                results.append(bench_one(stores[backend], count, args))
    finally:
        for store in stores.values():
            if not args.keep:
                store.drop("bench_sweep_empty")
            store.close()
    payload = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "now": NOW.isoformat(),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "results": [as_json(r) for r in results],
    }
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"sweep-{stamp}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2) if args.json else render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
