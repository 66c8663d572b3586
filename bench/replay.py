"""Events per second replayed by `audit verify --replay`, against reading the same rows raw.

Not a test (pytest never collects it: no `test_` names, and `bench/` is outside `testpaths`).
Run from the repository root:

    .venv/bin/python bench/replay.py                         # 2,000 demo cases on SQLite
    .venv/bin/python bench/replay.py --cases 5000 --db both  # and on PostgreSQL
    .venv/bin/python bench/replay.py --keep /tmp/replay.db   # keep (or reuse) the SQLite file
    .venv/bin/python bench/replay.py --profile               # cProfile of one replay

For every backend it

1. creates a scratch database (SQLite: a file in a temporary directory, or `--keep`'s; PostgreSQL:
   a database on 127.0.0.1:5432, user postgres, dropped at the end), migrates it with Alembic, and
   loads the demo's cases through the service layer (`usecases.demo.load_demo`, seeded: every
   phase, grants, placements, complaints, further notifications, births), then sweeps at the
   demo's clock (breaches marked, complaint periods ended): the records and rows a municipality
   has;
2. times `read.replay.replay_verify` over every case, R rounds: every record replayed through the
   domain under its rulebook version, every case compared with its rows — and checks that it
   finds no difference;
3. times the "raw floor" in the same rounds, alternating which goes first: the same four queries
   per batch of 500 cases (cases, audit records, measures, deadlines) on the bare driver (sqlite3 /
   psycopg), every payload and facts document decoded from JSON. No domain, no comparison: the
   cost of reading what the replay reads.

Reported: records (events) per second of each side, median over the rounds, and the median of
the per-round ratios replay/floor. Aim (issue 12): at least 5,000 events/s replayed on SQLite.
Results go to `bench/results/replay-<timestamp>.json` (git-ignored).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from models.database import make_engine, upgrade  # noqa: E402
from models.repository import AUDIT  # noqa: E402
from rulebooks import shipped_catalogue  # noqa: E402
from sagsflow.context import Context  # noqa: E402
from sagsflow.read.replay import BATCH, replay_verify  # noqa: E402
from sagsflow.usecases.demo import load_demo  # noqa: E402
from sagsflow.usecases.sweep import sweep  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
POSTGRES_ADMIN_URL = os.environ.get(
    "SAGSFLOW_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# The demo's clock: its cases are dated in the two years before it, the sweep runs at it, and
# the replay verifies at it.
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
AIM = 5000.0


# --- scratch databases -------------------------------------------------------------------------


@dataclass
class Scratch:
    backend: str
    url: str
    drop: Callable[[], None] = lambda: None
    fresh: bool = True  # False: a kept SQLite file that is already loaded


@contextmanager
def scratch(backend: str, keep: Path | None) -> Iterator[Scratch]:
    if backend == "sqlite":
        if keep is not None:
            yield Scratch(backend, f"sqlite:///{keep}", fresh=not keep.exists())
            return
        directory = Path(tempfile.mkdtemp(prefix="sagsflow-replay-"))
        try:
            yield Scratch(backend, f"sqlite:///{directory / 'replay.db'}")
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    from sqlalchemy.engine import make_url

    admin_url = make_url(POSTGRES_ADMIN_URL)
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"sagsflow_replay_{os.getpid()}"

    def execute(statement: str) -> None:
        with admin.connect() as connection:
            connection.execute(text(statement))

    execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    execute(f"CREATE DATABASE {name}")
    try:
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        yield Scratch(backend, url)
    finally:
        execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def populate(url: str, cases: int, seed: int) -> tuple[int, float]:
    """The demo's `cases` through the service layer, swept at NOW; (records, seconds)."""
    started = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    context = Context(engine, shipped_catalogue())
    load_demo(context, cases=cases, now=NOW, seed=seed)
    sweep(context, NOW)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text('ANALYZE "case"; ANALYZE deadline; ANALYZE audit_log'))
        else:
            connection.execute(text("ANALYZE"))
    records = _records(engine)
    engine.dispose()
    return records, time.perf_counter() - started


def _records(engine: Any) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(AUDIT)).scalar_one())


# --- the two sides -------------------------------------------------------------------------------


class Replay:
    """`replay_verify` over every case, as `audit verify --replay` runs it."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.context = Context(self.engine, shipped_catalogue())
        self.last: dict[str, Any] = {}

    def run(self, profile: cProfile.Profile | None = None) -> tuple[int, float]:
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        found = replay_verify(self.context, now=NOW)
        if profile is not None:
            profile.disable()
        elapsed = time.perf_counter() - started
        self.last = dict(found)
        return int(found["events_replayed"]), elapsed

    def close(self) -> None:
        self.engine.dispose()


_CASES = 'SELECT * FROM "case" WHERE id > {p} ORDER BY id LIMIT {batch}'
_RECORDS = (
    "SELECT case_id, seq, event, from_phase, to_phase, event_at, recorded_at, actor, role, "
    "payload, legal_basis, rulebook FROM audit_log WHERE case_id BETWEEN {p} AND {p} "
    "ORDER BY case_id, seq"
)
_MEASURES = "SELECT * FROM measure WHERE case_id BETWEEN {p} AND {p} ORDER BY id"
_DEADLINES = "SELECT * FROM deadline WHERE case_id BETWEEN {p} AND {p} ORDER BY id"


class Floor:
    """The replay's reads on the bare driver: the same four queries per batch of cases, every
    payload and facts document decoded, nothing else."""

    def __init__(self, url: str, backend: str) -> None:
        self.backend = backend
        if backend == "sqlite":
            self.connection: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
            self.mark = "?"
        else:
            import psycopg

            self.connection = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
            self.mark = "%s"

    def _sql(self, template: str) -> str:
        return template.replace("{p}", self.mark).replace("{batch}", str(BATCH))

    def run(self) -> tuple[int, float]:
        started = time.perf_counter()
        records = 0
        cursor = self.connection.cursor()
        after = 0
        while True:
            cursor.execute(self._sql(_CASES), (after,))
            cases = cursor.fetchall()
            if not cases:
                break
            columns = [d[0] for d in cursor.description]
            id_at, facts_at = columns.index("id"), columns.index("facts")
            first, last = after + 1, cases[-1][id_at]
            for row in cases:
                facts = row[facts_at]
                if isinstance(facts, str):
                    json.loads(facts)
            cursor.execute(self._sql(_RECORDS), (first, last))
            for row in cursor.fetchall():
                json.loads(row[9])
                records += 1
            cursor.execute(self._sql(_MEASURES), (first, last))
            cursor.fetchall()
            cursor.execute(self._sql(_DEADLINES), (first, last))
            cursor.fetchall()
            after = last
        cursor.close()
        self.connection.rollback()
        return records, time.perf_counter() - started

    def close(self) -> None:
        self.connection.close()


# --- running -------------------------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    cases: int
    records: int
    populate_s: float
    replay_rates: list[float] = field(default_factory=list)
    floor_rates: list[float] = field(default_factory=list)
    differences: int = 0
    cases_checked: int = 0

    @property
    def replay_eps(self) -> float:
        return statistics.median(self.replay_rates)

    @property
    def floor_eps(self) -> float:
        return statistics.median(self.floor_rates)

    @property
    def ratio(self) -> float:
        return statistics.median(
            r / f for r, f in zip(self.replay_rates, self.floor_rates, strict=True)
        )


def bench_one(backend: str, args: argparse.Namespace, log: Callable[[str], None]) -> Result:
    with scratch(backend, args.keep if backend == "sqlite" else None) as db:
        if db.fresh:
            records, populate_s = populate(db.url, args.cases, args.seed)
            log(f"{backend}: {args.cases:,} demo cases, {records:,} records in {populate_s:.1f} s")
        else:
            engine = make_engine(db.url)
            records, populate_s = _records(engine), 0.0
            engine.dispose()
            log(f"{backend}: reusing {args.keep} ({records:,} records)")
        replay, floor = Replay(db.url), Floor(db.url, backend)
        # Both warm (connections open, statements compiled, the rulebooks' machines built).
        replay.run()
        floor.run()
        result = Result(backend, args.cases, records, populate_s)
        profile = cProfile.Profile() if args.profile else None
        for r in range(args.rounds):
            sides = [("replay", replay), ("floor", floor)]
            for name, side in sides if r % 2 == 0 else sides[::-1]:
                if name == "replay":
                    events, elapsed = replay.run(profile if r == 0 else None)
                    result.replay_rates.append(events / elapsed)
                else:
                    events, elapsed = side.run()
                    result.floor_rates.append(events / elapsed)
            log(
                f"{backend}: round {r + 1}/{args.rounds}: replay {result.replay_rates[-1]:,.0f} "
                f"events/s, floor {result.floor_rates[-1]:,.0f} events/s"
            )
        result.differences = int(replay.last["differences_total"])
        result.cases_checked = int(replay.last["cases_checked"])
        if profile is not None:
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(40)
            path = RESULTS / f"profile-replay-{backend}.txt"
            path.write_text(out.getvalue())
            log(f"{backend}: profile in {path}")
        replay.close()
        floor.close()
    return result


def render(results: Sequence[Result]) -> str:
    lines = [
        f"{'database':<11}{'cases':>8}{'records':>10}{'populate':>10}{'replay ev/s':>13}"
        f"{'floor ev/s':>12}{'ratio':>7}  differences"
    ]
    for r in results:
        lines.append(
            f"{r.backend:<11}{r.cases_checked:>8,}{r.records:>10,}{r.populate_s:>9.1f}s"
            f"{r.replay_eps:>13,.0f}{r.floor_eps:>12,.0f}{r.ratio:>7.2f}  {r.differences}"
        )
    lines += [
        "",
        "events/s: median over the rounds; ratio = replay / floor per round, median",
        f"aim: at least {AIM:,.0f} events/s replayed on SQLite",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Events per second replayed by audit verify --replay, against raw reads."
    )
    parser.add_argument("--cases", type=int, default=2000, help="demo cases (default 2000)")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--keep", type=Path, default=None, help="SQLite: keep the database here (reused if there)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the first round")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    RESULTS.mkdir(parents=True, exist_ok=True)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    results = [bench_one(backend, args, log) for backend in backends]
    payload = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
        },
        "results": [
            {
                "database": r.backend,
                "cases": r.cases_checked,
                "records": r.records,
                "populate_s": round(r.populate_s, 1),
                "replay_events_per_s": round(r.replay_eps, 1),
                "floor_events_per_s": round(r.floor_eps, 1),
                "ratio": round(r.ratio, 3),
                "replay_rounds": [round(x, 1) for x in r.replay_rates],
                "floor_rounds": [round(x, 1) for x in r.floor_rates],
                "differences": r.differences,
            }
            for r in results
        ],
    }
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"replay-{stamp}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(json.dumps(payload, indent=2) if args.json else render(results))
    return 0 if all(r.differences == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
