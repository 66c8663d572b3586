"""The composition root: the one place that builds what the use cases are given.

Settings (SAGSFLOW_*, `sagsflow.settings`), the database engine, the rulebook catalogue, the
organisation file and the clock become one `Context`. The CLI, the web server and the Prefect
flows ask here; nothing else builds an engine or reads the catalogue.
"""

from __future__ import annotations

from functools import cache

from sagsflow.context import Context, wall_clock
from sagsflow.settings import Settings


@cache
def _context(
    database_url: str,
    rulebook_dirs: tuple[str, ...],
    org_file: str,
    audit_key: str,
    audit_keyed_since: str,
    audit_key_file: str,
    checkpoint_file: str,
    municipality: str,
) -> Context:
    from pathlib import Path

    from models.database import make_engine
    from rulebooks import shipped_catalogue
    from sagsflow.audit_keys import key_ring
    from sagsflow.organisation import OrganisationInvalid, organisation

    try:
        people = organisation(org_file)
    except OrganisationInvalid:
        people = None  # use cases that need it say so; names fall back to ids
    return Context(
        make_engine(database_url),
        shipped_catalogue(rulebook_dirs),
        organisation=people,
        clock=wall_clock,
        keys=key_ring(
            audit_key, Path(audit_key_file), now=wall_clock(), keyed_since=audit_keyed_since
        ),
        checkpoint_file=checkpoint_file or None,
        municipality=municipality,
    )


def context(settings: Settings | None = None) -> Context:
    """The context for `settings` (default: read from the environment now), one per database,
    rulebook directories and organisation file in a process (engines are shared)."""
    config = settings or Settings()
    return _context(
        config.database_url,
        config.rulebook_directories(),
        config.org_file,
        config.audit_key,
        config.audit_keyed_since,
        config.audit_key_file,
        config.checkpoint_file,
        config.municipality,
    )
