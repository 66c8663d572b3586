"""What every use case is given: the database, the rulebooks, the organisation and the clock.

Built once per process by the composition root (`sagsflow.bootstrap`); tests build their own.
The clock is for the edges, which read it once per request or command and pass `now` on: no use
case and nothing in the domain reads the time itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from rulebooks import Catalogue
from sagsflow.organisation import Organisation


def wall_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """The database and the rulebooks; the organisation file (teams, leaders, caseworkers) and
    the clock where a use case or an edge needs them."""

    engine: Engine
    catalogue: Catalogue
    organisation: Organisation | None = None
    clock: Callable[[], datetime] = field(default=wall_clock, compare=False)
