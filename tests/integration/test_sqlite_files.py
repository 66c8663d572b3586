"""The SQLite files are private to their owner (issue 12, point 8: they were created
world-readable)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import text

from models.database import make_engine


def test_a_new_sqlite_database_and_its_wal_are_readable_by_their_owner_only(
    tmp_path: Path,
) -> None:
    # Given a process whose umask would let everyone read what it creates
    previous = os.umask(0o022)
    try:
        # When a new database is opened and written in WAL mode
        path = tmp_path / "sagsflow.db"
        engine = make_engine(f"sqlite:///{path}")
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 1
            # Then the database, its write-ahead log and its shared memory are 0600
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(f.exists() for f in files)
            assert [stat.S_IMODE(f.stat().st_mode) for f in files] == [0o600, 0o600, 0o600]
        engine.dispose()
    finally:
        os.umask(previous)
