"""The deadline tally's team and municipality roll-ups per calendar month and quarter
(docs/decisions/012-tally-spans.md), filled by migration 0009; the tally's outcome index also
orders by due day, and holds only the rows that count.

Revision ID: 0007_tally_spans
Revises: 0006_open_caseload
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0007_tally_spans"
down_revision = "0006_open_caseload"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadline_tally_span",
        sa.Column("span", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("span", "first_day", "team", "municipality", "rule", "outcome"),
        sqlite_with_rowid=False,
    )
    # Left empty: migration 0009 gives the spans their count columns and fills them from the
    # tally's roll-up rows by the application's own code (`readmodels.rebuild_spans`), which
    # writes that shape only (docs/decisions/014-span-columns.md).
    op.drop_index("ix_deadline_tally_outcome", table_name="deadline_tally")
    # Partial: a deadline that moved on leaves its old row at 0 (models/tables.py).
    op.create_index(
        "ix_deadline_tally_outcome_due_day",
        "deadline_tally",
        ["outcome", "due_day"],
        unique=False,
        sqlite_where=sa.text("n <> 0"),
        postgresql_where=sa.text("n <> 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_deadline_tally_outcome_due_day", table_name="deadline_tally")
    op.create_index("ix_deadline_tally_outcome", "deadline_tally", ["outcome"], unique=False)
    op.drop_table("deadline_tally_span")
