"""Back up, restore to a new database, `sagsflow audit verify` ok — as docs/operations.md says,
through the commands an operator runs: SQLite's online backup (`sagsflow db backup`) while the
database is open, PostgreSQL's `pg_dump -Fc` and `pg_restore`. And the deliberate restore of an
older backup: verify names the rollback until a new checkpoint file is started."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.database import make_engine

Env = Callable[..., dict[str, str]]
DEMO_CASES = "12"


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _ok(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = _run(args, env, cwd)
    assert done.returncode == 0, f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def _demo(sagsflow: list[str], env: dict[str, str], cwd: Path) -> None:
    _ok([*sagsflow, "db", "upgrade"], env, cwd)
    _ok([*sagsflow, "demo", "--cases", DEMO_CASES], env, cwd)
    _ok([*sagsflow, "audit", "checkpoint"], env, cwd)


def _verified(sagsflow: list[str], env: dict[str, str], cwd: Path) -> None:
    done = _ok([*sagsflow, "audit", "verify"], env, cwd)
    assert "intact" in done.stdout, done.stdout


def test_sqlite_online_backup_restores_and_verifies(
    tmp_path: Path, operator_env: Env, sagsflow_command: list[str]
) -> None:
    live = tmp_path / "live.db"
    env = operator_env(SAGSFLOW_DATABASE_URL=f"sqlite:///{live}")
    _demo(sagsflow_command, env, tmp_path)

    # The database is in use while it is copied: a reader holds a transaction open, and a
    # checkpoint is written meanwhile, into the write-ahead log the backup must include.
    reader = sqlite3.connect(live)
    try:
        reader.execute("BEGIN")
        cases = reader.execute('SELECT count(*) FROM "case"').fetchone()[0]
        assert cases >= int(DEMO_CASES)
        _ok([*sagsflow_command, "audit", "checkpoint"], env, tmp_path)
        assert live.with_name("live.db-wal").exists()
        backup = tmp_path / "backups" / "sagsflow.db"
        backup.parent.mkdir()
        done = _ok([*sagsflow_command, "db", "backup", str(backup)], env, tmp_path)
        assert "backup written" in done.stderr
        assert backup.stat().st_mode & 0o777 == 0o600
        again = _run([*sagsflow_command, "db", "backup", str(backup)], env, tmp_path)
        assert again.returncode != 0 and "exists already" in again.stderr
    finally:
        reader.close()

    # Restore: the backup file copied into place of a new database.
    restored = tmp_path / "restored" / "sagsflow.db"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)
    restored_env = {**env, "SAGSFLOW_DATABASE_URL": f"sqlite:///{restored}"}
    _verified(sagsflow_command, restored_env, tmp_path)
    with closing(sqlite3.connect(restored)) as copy:
        assert copy.execute('SELECT count(*) FROM "case"').fetchone()[0] == cases
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    # The live database goes on (a checkpoint after the backup); the backup, restored now, is
    # older than what the checkpoint file signed: verify says so ...
    _ok([*sagsflow_command, "audit", "checkpoint"], env, tmp_path)
    behind = _run([*sagsflow_command, "audit", "verify"], restored_env, tmp_path)
    assert behind.returncode == 1, behind.stdout + behind.stderr
    # ... until, the restore being deliberate, the old checkpoint file is kept aside and a new
    # one started with a checkpoint of the restored database (docs/operations.md).
    old = Path(env["SAGSFLOW_CHECKPOINT_FILE"])
    kept = old.with_name("audit-checkpoints.before-restore.jsonl")
    old.rename(kept)
    _ok([*sagsflow_command, "audit", "checkpoint"], restored_env, tmp_path)
    _verified(sagsflow_command, restored_env, tmp_path)
    assert kept.exists()


def test_backup_refuses_postgresql(
    tmp_path: Path, operator_env: Env, sagsflow_command: list[str]
) -> None:
    env = operator_env(SAGSFLOW_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test")
    done = _run([*sagsflow_command, "db", "backup", str(tmp_path / "x.db")], env, tmp_path)
    assert done.returncode == 2
    assert "pg_dump" in done.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.fixture
def postgres_databases(postgres_server: Any) -> Iterator[Callable[[], str]]:
    """Empty PostgreSQL databases of this test's own (dropped afterwards), as libpq URLs."""
    admin_url = make_url(str(postgres_server.url("postgres"))).set(drivername="postgresql")
    admin = make_engine(
        admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    names: list[str] = []

    def create() -> str:
        name = f"sagsflow_ops_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        names.append(name)
        return admin_url.set(database=name).render_as_string(hide_password=False)

    yield create
    with admin.connect() as connection:
        for name in names:
            connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.mark.postgres
def test_postgres_dump_restores_and_verifies(
    tmp_path: Path,
    operator_env: Env,
    sagsflow_command: list[str],
    postgres_databases: Callable[[], str],
) -> None:
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    assert pg_dump and pg_restore, "pg_dump and pg_restore (postgresql-client) are needed"
    source = postgres_databases()
    env = operator_env(SAGSFLOW_DATABASE_URL=source)
    _demo(sagsflow_command, env, tmp_path)

    dump = tmp_path / "sagsflow.dump"
    _ok([pg_dump, "--format=custom", f"--file={dump}", source], env, tmp_path)
    target = postgres_databases()
    _ok(
        [pg_restore, "--no-owner", "--exit-on-error", f"--dbname={target}", str(dump)],
        env,
        tmp_path,
    )
    restored_env = {**env, "SAGSFLOW_DATABASE_URL": target}
    _verified(sagsflow_command, restored_env, tmp_path)
    cases = []
    for url in (source, target):
        engine = make_engine(url)
        with engine.connect() as connection:
            cases.append(connection.execute(text('SELECT count(*) FROM "case"')).scalar_one())
        engine.dispose()
    assert cases[0] == cases[1] >= int(DEMO_CASES)
