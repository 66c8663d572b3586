"""Bringing a database's schema up to date (Alembic migrations): the operator's `db upgrade`."""

from __future__ import annotations

from models.database import upgrade


def upgrade_schema(database_url: str) -> None:
    """Create or upgrade the schema at `database_url` to the newest migration, computing from
    the configured rulebooks (shipped and extra directories) where a migration needs them."""
    from rulebooks import shipped_catalogue
    from sagsflow.settings import settings

    catalogue = shipped_catalogue(settings().rulebook_directories())
    upgrade(database_url, rulebook_of=catalogue.get)
