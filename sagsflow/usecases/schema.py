"""Bringing a database's schema up to date (Alembic migrations): the operator's `db upgrade`."""

from __future__ import annotations

from models.database import upgrade


def upgrade_schema(database_url: str) -> None:
    """Create or upgrade the schema at `database_url` to the newest migration."""
    upgrade(database_url)
