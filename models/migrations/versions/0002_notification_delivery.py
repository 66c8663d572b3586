"""Notification delivery: recipient, retry schedule, outcome; the deliverer's index.

The composite index (status, next_attempt_at) replaces the single-column index on status: its
leading column serves every query the old one did.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # All columns are nullable: on SQLite the batch adds them with ALTER TABLE, no table copy.
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recipient", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "recipient_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("next_attempt_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_attempt_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sent_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("parked_reason", sa.Text(), nullable=True))
        batch_op.drop_index("ix_notification_status")
        batch_op.create_index(
            "ix_notification_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_status_next_attempt_at")
        batch_op.create_index("ix_notification_status", ["status"], unique=False)
        batch_op.drop_column("parked_reason")
        batch_op.drop_column("last_error")
        batch_op.drop_column("sent_at")
        batch_op.drop_column("last_attempt_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("recipient_email")
        batch_op.drop_column("recipient")
