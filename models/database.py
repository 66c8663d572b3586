"""Engines and the schema: SQLite by default, any SQLAlchemy URL (PostgreSQL first-class)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import make_url
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import FromClause

from models.statements import run_driver_sql


def _sqlite_table_hint(self: SQLCompiler, table: FromClause, text: str | None) -> str | None:
    return text


# SQLAlchemy's SQLite compiler drops table hints (`Select.with_hint`); SQLite's one table hint,
# `INDEXED BY`, is written right after the table's name, which is where a hint's text goes.
# Reads use it where SQLite's averaged statistics cannot see how few rows a partial index holds
# (sagsflow/read/compliance.py).
SQLiteCompiler.get_from_hint_text = _sqlite_table_hint  # type: ignore[method-assign]

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level, so that SQLAlchemy's BEGIN below is the only one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # A write transaction takes the write lock at BEGIN: two writers queue instead of
    # deadlocking on a read-to-write upgrade. Readers (execution option `readonly`) begin
    # deferred and, under WAL, never block a writer.
    readonly = connection.get_execution_options().get("readonly", False)
    run_driver_sql(connection, "BEGIN" if readonly else "BEGIN IMMEDIATE")


def _private_file(database: str | None) -> None:
    """Create a new SQLite database file readable by its owner only (0600): it holds data about
    children. SQLite gives the WAL and shared-memory files the database file's permissions."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.exists() or not path.parent.is_dir():
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`, with SQLite set up for concurrent, durable event writes.

    A statement's parameters are kept out of its errors' messages (`hide_parameters`): those
    reach the operator's log, and a parameter may be a child's reference or an event's data."""
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        _private_file(parsed.database)
        # Every connection is used through a Connection, whose close() already rolls back a
        # transaction left open, and the driver itself never begins one (autocommit above): the
        # pool's own rollback on each return would only repeat that (~6 µs per unit of work).
        kwargs.setdefault("pool_reset_on_return", None)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, **kwargs)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only: no write lock on SQLite, rolled back at the end."""
    with engine.connect() as connection:
        connection.execution_options(readonly=True)
        yield connection


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(
    url: str, revision: str = "head", *, rulebook_of: Callable[[str, str], Any] | None = None
) -> None:
    """Bring the schema at `url` to `revision` with Alembic (the only way the schema changes).

    `rulebook_of(id, version)`: the rulebooks the cases are pinned to, for migrations that
    compute from them (0004_stuck_clock); default: the shipped rulebooks."""
    from alembic import command

    config = alembic_config(url)
    if rulebook_of is not None:
        config.attributes["rulebook_of"] = rulebook_of
    command.upgrade(config, revision)
