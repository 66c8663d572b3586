"""The read models behind the aggregated figures: the deadline tally and the ended phase stays
(docs/decisions/010-read-models.md), filled set-based from the base tables.

Revision ID: 0005_read_models
Revises: 0004_stuck_clock
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision = "0005_read_models"
down_revision = "0004_stuck_clock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadline_tally",
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("due_day", sa.Date(), nullable=False),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("municipality", "team", "worker", "rule", "due_day", "outcome"),
    )
    op.create_index("ix_deadline_tally_due_day", "deadline_tally", ["due_day"], unique=False)
    op.create_index(
        "ix_deadline_tally_team_worker_due_day",
        "deadline_tally",
        ["team", "worker", "due_day"],
        unique=False,
    )
    op.create_index(
        "ix_deadline_tally_worker_due_day", "deadline_tally", ["worker", "due_day"], unique=False
    )
    op.create_index("ix_deadline_tally_outcome", "deadline_tally", ["outcome"], unique=False)
    op.create_table(
        "phase_stay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("phase", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entered_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("days", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_phase_stay_case_id", "phase_stay", ["case_id"], unique=False)
    op.create_index("ix_phase_stay_left_at", "phase_stay", ["left_at"], unique=False)
    # Filled from what the base tables hold now (one GROUP BY, one INSERT … SELECT). The fill
    # is the application's own (models/readmodels.py), so the read models start out exactly as
    # the write path would have kept them (without the month and quarter spans: their table
    # comes with 0007_tally_spans, which fills it from this tally).
    from models.readmodels import rebuild

    rebuild(op.get_bind(), spans=False)


def downgrade() -> None:
    op.drop_index("ix_phase_stay_left_at", table_name="phase_stay")
    op.drop_index("ix_phase_stay_case_id", table_name="phase_stay")
    op.drop_table("phase_stay")
    op.drop_index("ix_deadline_tally_outcome", table_name="deadline_tally")
    op.drop_index("ix_deadline_tally_worker_due_day", table_name="deadline_tally")
    op.drop_index("ix_deadline_tally_team_worker_due_day", table_name="deadline_tally")
    op.drop_index("ix_deadline_tally_due_day", table_name="deadline_tally")
    op.drop_table("deadline_tally")
