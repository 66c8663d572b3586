"""Core statements compiled once per dialect and run straight on the driver's cursor.

Recording an event is eight statements (BEGIN, three reads, three writes, COMMIT). Through
`Connection.execute` each costs ~30 µs of SQLAlchemy bookkeeping on top of the driver (execution
context, compiled-cache lookup, parameter and result set-up): on SQLite that was more than the
statements themselves, and together more than the whole hand-written-SQL floor (see bench/).

`Prepared` does once what SQLAlchemy would redo per call — compile the Core statement for the
connection's dialect, look up each column type's bind and result processors — and a `Runner`
runs the SQL on the DBAPI cursor inside its connection's transaction. The SQL, the parameter
processing (UTC instants, JSON) and the result processing are SQLAlchemy's own; driver errors come
out as SQLAlchemy's exceptions, and a lost connection is invalidated, as from `Connection.execute`.

When someone watches the SQL — `echo`, SQL logging, a `before/after_(cursor_)execute` or
`handle_error` listener on the engine — statements go through `Connection.execute` instead, so
logging and instrumentation see every one of them.
"""

from __future__ import annotations

import logging
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Delete, Insert, Select, Update

Processor = Callable[[Any], Any]
Params = Mapping[str, Any]


def runs_direct(connection: Connection) -> bool:
    """Whether statements on `connection` may skip `Connection.execute` (nobody watches the SQL)."""
    engine = connection.engine
    dispatch = engine.dispatch
    return not (
        engine.logger.isEnabledFor(logging.INFO)
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
        or dispatch.before_execute
        or dispatch.after_execute
        or connection.dialect.dispatch.handle_error
    )


def run_driver_sql(connection: Connection, sql: str) -> None:
    """`Connection.exec_driver_sql(sql)` without its per-call set-up, for BEGIN and the like."""
    if not runs_direct(connection):
        connection.exec_driver_sql(sql)
        return
    driver: Any = connection.connection.driver_connection
    cursor = driver.cursor()
    try:
        cursor.execute(sql)
    except connection.dialect.loaded_dbapi.Error as error:
        raise _translated(connection, sql, (), error, driver, cursor) from error
    finally:
        cursor.close()


def _translated(
    connection: Connection, sql: str, arguments: Any, error: Any, driver: Any, cursor: Any
) -> exc.StatementError:
    """The driver's error as SQLAlchemy's exception; a lost connection is invalidated."""
    dialect = connection.dialect
    invalidated = bool(dialect.is_disconnect(error, driver, cursor))
    if invalidated:
        connection.invalidate(error)
    translated: exc.StatementError = exc.DBAPIError.instance(
        sql,
        arguments,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=invalidated,
        dialect=dialect,
    )
    return translated


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    # (name the driver sees, name in the caller's parameters, bind processor or None), in order.
    binds: tuple[tuple[str, str, Processor | None], ...]

    def arguments(self, params: Params) -> Any:
        if self.positional:
            return tuple(
                [
                    params[key] if processor is None else processor(params[key])
                    for _, key, processor in self.binds
                ]
            )
        return {
            name: params[key] if processor is None else processor(params[key])
            for name, key, processor in self.binds
        }


class Prepared:
    """A Core statement, compiled per dialect and per set of parameter names on first use."""

    def __init__(self, statement: Select[Any] | Insert | Update | Delete) -> None:
        self.statement = statement
        self._compiled: WeakKeyDictionary[Dialect, dict[tuple[str, ...], _Compiled]] = (
            WeakKeyDictionary()
        )
        # Per dialect: the (position, processor) of each result column that has a processor.
        self._results: WeakKeyDictionary[Dialect, tuple[tuple[int, Processor], ...]] = (
            WeakKeyDictionary()
        )
        # The last dialect's entries, without a weak-reference lookup (one engine is the rule).
        self._last: tuple[Dialect | None, dict[tuple[str, ...], _Compiled]] = (None, {})
        if isinstance(statement, Select):
            keys = [str(c.key) for c in statement.selected_columns]
            self._row: Any = namedtuple("Row", keys, rename=True)  # type: ignore[misc]

    def compiled(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        last_dialect, by_keys = self._last
        if dialect is not last_dialect:
            by_keys = self._compiled.get(dialect)  # type: ignore[assignment]
            if by_keys is None:
                by_keys = self._compiled[dialect] = {}
            self._last = (dialect, by_keys)
        found = by_keys.get(keys)
        if found is None:
            found = by_keys[keys] = self._compile(dialect, keys)
        return found

    def _compile(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        # `column_keys`: the columns an INSERT writes or an UPDATE sets, as Connection.execute
        # derives them from the parameters.
        compiled: Any = self.statement.compile(dialect=dialect, column_keys=list(keys))
        positional = bool(dialect.positional)
        names = compiled.positiontup if positional else list(compiled.binds)
        escaped = getattr(compiled, "escaped_bind_names", None) or {}
        binds = []
        for name in names:
            bind = compiled.binds[name]
            if bind.key not in keys:
                # A value SQLAlchemy would fill in itself (a column default): not supported here.
                raise ValueError(f"{self.statement}: parameter {bind.key!r} not given")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            binds.append((escaped.get(name, name), bind.key, processor))
        return _Compiled(compiled.string, positional, tuple(binds))

    def result_processors(
        self, dialect: Dialect, description: Sequence[Any]
    ) -> tuple[tuple[int, Processor], ...]:
        processors = self._results.get(dialect)
        if processors is None:
            assert isinstance(self.statement, Select)
            columns = self.statement.selected_columns
            found = [
                (i, column.type.dialect_impl(dialect).result_processor(dialect, entry[1]))
                for i, (column, entry) in enumerate(zip(columns, description, strict=True))
            ]
            processors = self._results[dialect] = tuple((i, p) for i, p in found if p)
        return processors

    def make_row(self, values: list[Any]) -> Any:
        return self._row._make(values)


class Runner:
    """Runs `Prepared` statements on one connection (one unit of work)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.direct = runs_direct(connection)
        self._driver: Any = None

    def write(self, prepared: Prepared, params: Params | Sequence[Params]) -> int:
        """Run an INSERT/UPDATE/DELETE (a list of parameter sets: executemany); the row count."""
        if not self.direct:
            result: Any = self.connection.execute(prepared.statement, params)
            return int(result.rowcount)
        return int(self._run(prepared, params, False))

    def rows(self, prepared: Prepared, params: Params) -> list[Any]:
        """Run a SELECT; its rows, with attribute access by column key."""
        if not self.direct:
            return list(self.connection.execute(prepared.statement, params).all())
        rows: list[Any] = self._run(prepared, params, True)
        return rows

    def first(self, prepared: Prepared, params: Params) -> Any | None:
        """Run a SELECT; its first row or None."""
        found = self.rows(prepared, params)
        return found[0] if found else None

    def _run(self, prepared: Prepared, params: Params | Sequence[Params], fetch: bool) -> Any:
        connection, dialect = self.connection, self.dialect
        if isinstance(params, Mapping):
            single = True
            compiled = prepared.compiled(dialect, tuple(params))
            arguments: Any = compiled.arguments(params)
        else:
            single = False
            compiled = prepared.compiled(dialect, tuple(params[0]))
            arguments = [compiled.arguments(p) for p in params]
        if not connection.in_transaction():
            connection.begin()  # what Connection.execute's autobegin does
            self._driver = None
        driver = self._driver
        if driver is None:
            driver = self._driver = connection.connection.driver_connection
        cursor = driver.cursor()
        try:
            if single:
                cursor.execute(compiled.sql, arguments)
            else:
                cursor.executemany(compiled.sql, arguments)
            if not fetch:
                return cursor.rowcount
            raw = cursor.fetchall()
            if not raw:
                return []
            processors = prepared.result_processors(dialect, cursor.description)
            rows = []
            for values in raw:
                values = list(values)
                for i, processor in processors:
                    values[i] = processor(values[i])
                rows.append(prepared.make_row(values))
            return rows
        except dialect.loaded_dbapi.Error as error:
            self._driver = None  # ask the connection again: it may have been invalidated
            raise _translated(connection, compiled.sql, arguments, error, driver, cursor) from error
        finally:
            cursor.close()
