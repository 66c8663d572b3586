"""`sagsflow db backup FILE`: a consistent copy of a SQLite database while it is in use.

SQLite's online backup API (Python's `sqlite3.Connection.backup`) copies the database page by
page inside a read transaction, so the copy is one committed state even while the server and
the flows write (under WAL a writer does not block it, and it does not block writers). The copy
is a complete database file — restoring is copying it into place with every process stopped.
PostgreSQL is backed up with its own tools (`pg_dump -Fc`, docs/operations.md). The audit key
and the checkpoint file are not in the database and are backed up apart from it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupRefused(Exception):
    """`reason`: `not_sqlite` (use pg_dump), `exists` (the target is there already) or
    `no_database` (the SQLite file is missing)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def backup_sqlite(database_url: str, target: Path) -> int:
    """Copy the SQLite database at `database_url` to the new file `target` (0600: it holds data
    about children); return how many pages were copied."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupRefused("not_sqlite")
    source = url.database
    if not source or source == ":memory:" or not Path(source).is_file():
        raise BackupRefused("no_database")
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        raise BackupRefused("exists") from None
    try:
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as copy:
            src.execute("PRAGMA busy_timeout=30000")
            src.backup(copy)
            # One self-contained file: the copy keeps a rollback journal, not a WAL.
            copy.execute("PRAGMA journal_mode=DELETE")
            pages = int(copy.execute("PRAGMA page_count").fetchone()[0])
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return pages
