"""The rungs notified per deadline, as a bit mask on the deadline row, filled from the
notification table; the unresolved deadlines' covering index holds it too
(docs/decisions/013-notified-rungs.md).

Revision ID: 0008_notified_rungs
Revises: 0007_tally_spans
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_notified_rungs"
down_revision = "0007_tally_spans"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The covering index is dropped first, so the fill below need not maintain it.
    op.drop_index("ix_deadline_unresolved_id_due_at", table_name="deadline")
    op.add_column(
        "deadline",
        sa.Column("notified_rungs", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    # Each deadline with notifications gets the OR of its rungs' bits, by the sweep's own
    # statement (models/readmodels.py), so the column starts out as the sweep keeps it.
    from models.readmodels import keep_notified_rungs

    keep_notified_rungs(op.get_bind(), None)
    _unresolved_index(["id", "due_at", "case_id", "rule", "notified_rungs"])


def _unresolved_index(columns: list[str]) -> None:
    op.create_index(
        "ix_deadline_unresolved_id_due_at",
        "deadline",
        columns,
        unique=False,
        sqlite_where=sa.text("status IN ('open', 'breached')"),
        postgresql_where=sa.text("status IN ('open', 'breached')"),
    )


def downgrade() -> None:
    op.drop_index("ix_deadline_unresolved_id_due_at", table_name="deadline")
    _unresolved_index(["id", "due_at", "case_id", "rule"])
    # In place on both databases (SQLite 3.35+ drops an unindexed column itself; a batch copy
    # of the table would trip the notifications' foreign key).
    op.execute("ALTER TABLE deadline DROP COLUMN notified_rungs")
