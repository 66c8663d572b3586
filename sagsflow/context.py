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
from statemachine.audit import NO_KEYS, KeyRing


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
    # The configured municipality (SAGSFLOW_MUNICIPALITY), set by the composition root: a new
    # case's municipality must then be it or one the catalogue's municipalities.yaml names,
    # and with an organisation, its worker and team must be the file's (usecases.cases). A
    # context built by hand (tests, scripts) sets neither, and nothing is checked against them.
    municipality: str | None = None
    # The audit keys (sagsflow/audit_keys.py): the current one MACs every record written.
    keys: KeyRing = field(default=NO_KEYS, compare=False)
    # The append-only file outside the database that signed checkpoints go to (None: none).
    checkpoint_file: str | None = None
    # Where an operator's event comes from (cli | flow), recorded in its audit record, and,
    # from the CLI, the operating-system user and whether the actor acts as the operator
    # (`--operator`). Events done as a signed-in principal name their own channel.
    channel: str = "cli"
    os_user: str | None = None
    as_operator: bool = False
