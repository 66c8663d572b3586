"""Column types: instants are stored in UTC and always come back timezone-aware."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def _to_utc(value: Any) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise ValueError("instants must be timezone-aware datetimes")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _from_stored(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _sqlite_bind(value: Any) -> str | None:
    # Exactly the text SQLAlchemy's SQLite DATETIME writes ("2026-01-05 08:30:00.000000"), in one
    # step instead of two processors: every event binds about ten instants. The UTC instant's
    # ISO text is that text followed by "+00:00".
    if value is None:
        return None
    return _to_utc(value).isoformat(" ", "microseconds")[:26]


def _sqlite_result(value: Any) -> datetime | None:
    # SQLAlchemy's SQLite DATETIME parses with datetime.fromisoformat as well; the stored text is
    # naive UTC, so reading it with a "+00:00" suffix gives the aware instant in one step.
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value + "+00:00")
    except (TypeError, ValueError):  # text written with an offset, or not by us
        instant = datetime.fromisoformat(value)
    return instant if instant.tzinfo is UTC else _from_stored(instant)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant, stored in UTC (`timestamptz` on PostgreSQL, naive UTC text on SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant = _to_utc(value)
        # SQLite keeps text: naive UTC sorts and compares correctly as text.
        return instant.replace(tzinfo=None) if dialect.name == "sqlite" else instant

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return _from_stored(value)

    # On SQLite, the two processors above composed with the DATETIME type's own (format to
    # text, parse from text) fused into one function each; the stored text is unchanged.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_bind
        return super().bind_processor(dialect)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "sqlite":
            return _sqlite_result
        return super().result_processor(dialect, coltype)
