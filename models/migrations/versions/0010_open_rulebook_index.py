"""The open cases by rulebook version: a partial index for the moves a change of law asks for
(`rulebook migrate --due`, the enforcement flow's first task;
docs/decisions/015-law-in-force-on-the-event-date.md).

Revision ID: 0010_open_rulebook_index
Revises: 0009_span_columns
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_open_rulebook_index"
down_revision = "0009_span_columns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_case_open_rulebook",
        "case",
        ["rulebook_id", "rulebook_version", "id"],
        unique=False,
        sqlite_where=sa.text("phase <> 'closure'"),
        postgresql_where=sa.text("phase <> 'closure'"),
    )


def downgrade() -> None:
    op.drop_index("ix_case_open_rulebook", table_name="case")
