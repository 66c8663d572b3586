"""What a flow run takes from its environment: the settings, the service layer's context, the clock.

Settings are read afresh when a task asks (SAGSFLOW_*: a served deployment runs each flow run in a
new process, and tests point them at their own database); engines are shared per database URL
within a process. The flows are an edge: only here is the wall clock read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache

from sqlalchemy.engine import make_url

from models.database import make_engine
from rulebooks import shipped_catalogue
from sagsflow.services import Context
from sagsflow.settings import Settings
from statemachine.calendar import COPENHAGEN


def settings() -> Settings:
    return Settings()


@cache
def _context(database_url: str, rulebook_dirs: tuple[str, ...]) -> Context:
    return Context(make_engine(database_url), shipped_catalogue(rulebook_dirs))


def context() -> Context:
    """The service layer's context for the configured database and rulebooks."""
    config = settings()
    return _context(config.database_url, config.rulebook_directories())


def one_writer() -> bool:
    """Whether the configured database takes one writer at a time (SQLite)."""
    return make_url(settings().database_url).get_backend_name() == "sqlite"


def instant(now: str | None) -> datetime:
    """A flow's `now` parameter as an aware UTC instant; None is the wall clock.

    ISO 8601; without an offset the time is Europe/Copenhagen wall-clock time (as on the CLI).
    """
    if now is None:
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(now)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=COPENHAGEN)
    return parsed.astimezone(UTC)
