"""What a flow run takes from its environment: the settings, the use cases' context, the clock.

Settings are read afresh when a task asks (SAGSFLOW_*: a served deployment runs each flow run in a
new process, and tests point them at their own database); the context comes from the composition
root (`sagsflow.bootstrap`), shared per database within a process. The flows are an edge: only
here is the wall clock read.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.engine import make_url

from sagsflow import bootstrap
from sagsflow.context import Context, wall_clock
from sagsflow.settings import Settings
from statemachine.calendar import parse_instant


def settings() -> Settings:
    return Settings()


def context() -> Context:
    """The use cases' context for the configured database, rulebooks and organisation; what
    a flow writes is recorded as coming from channel `flow`."""
    return replace(bootstrap.context(settings()), channel="flow")


def one_writer() -> bool:
    """Whether the configured database takes one writer at a time (SQLite)."""
    return make_url(settings().database_url).get_backend_name() == "sqlite"


def instant(now: str | None) -> datetime:
    """A flow's `now` parameter as an aware UTC instant; None is the wall clock.

    ISO 8601; without an offset the time is Europe/Copenhagen wall-clock time (as on the CLI).
    """
    if now is None:
        return wall_clock()
    return parse_instant(now)
