"""What an operator's probes read (sagsflow/ops: /readyz and /metrics): whether the database
answers and its schema is at the newest migration, the open deadlines by rule and status, and
the notification outbox by status. No personal data: counts and revision ids only.

Each is one cheap statement: the deadline counts are the deadline tally's municipality
roll-ups (models/readmodels.py: team and worker `*`, the rows that count), not a scan of the
deadline table; the outbox's counts are one grouped read of its (status, next_attempt_at) index.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from models.database import alembic_config, reading
from models.readmodels import ALL, BREACHED, COUNTS, NOTIFICATION, OPEN, TALLY
from sagsflow.context import Context


@dataclass(frozen=True)
class SchemaState:
    """Whether the database answered, and its Alembic revisions against the code's."""

    reachable: bool
    current: tuple[str, ...] = ()
    head: tuple[str, ...] = ()
    # The exception's class name when the database did not answer (never its message: it may
    # quote a URL with a password or a statement's parameters).
    error: str | None = None

    @property
    def at_head(self) -> bool:
        return self.reachable and set(self.current) == set(self.head)


@cache
def head_revisions() -> tuple[str, ...]:
    """The newest migration(s) the code ships (read once: the scripts do not change while the
    process runs)."""
    from alembic.script import ScriptDirectory

    return tuple(sorted(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()))


def schema_state(context: Context) -> SchemaState:
    """One round trip to the database: its current Alembic revision(s)."""
    from alembic.runtime.migration import MigrationContext

    head = head_revisions()
    try:
        with reading(context.engine) as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_heads()
    except SQLAlchemyError as error:
        return SchemaState(False, head=head, error=type(error).__name__)
    return SchemaState(True, current=tuple(sorted(current)), head=head)


def open_deadlines(context: Context) -> dict[tuple[str, str], int]:
    """(rule, status) → how many deadlines are open or breached now (status `open` or
    `breached`), over every municipality of the database: the tally's municipality roll-ups."""
    query = (
        select(TALLY.c.rule, TALLY.c.outcome, func.sum(TALLY.c.n))
        .where(
            TALLY.c.team == ALL,
            TALLY.c.worker == ALL,
            TALLY.c.outcome.in_((OPEN, BREACHED)),
            COUNTS,
        )
        .group_by(TALLY.c.rule, TALLY.c.outcome)
    )
    with reading(context.engine) as connection:
        return {
            (str(rule), str(outcome)): int(n) for rule, outcome, n in connection.execute(query) if n
        }


def notifications_by_status(context: Context) -> dict[str, int]:
    """status → how many notifications the outbox holds (pending, sending, sent, parked,
    dropped): the sweep creates them, delivery moves them on."""
    query = select(NOTIFICATION.c.status, func.count()).group_by(NOTIFICATION.c.status)
    with reading(context.engine) as connection:
        return {str(status): int(n) for status, n in connection.execute(query)}
