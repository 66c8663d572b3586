"""Sessions that end, and sign-in throttling (docs/decisions/021, issue 12 points 5 and 6):
`dashboard_session` holds each signed-in dashboard session by the SHA-256 of its id (never the
id), when it began, was last seen (to the minute) and ended, and why; `sign_in_failure` holds
the failed sign-ins the pause counts, by a keyed hash of the account name and the client
address.

Sessions signed before this migration carried the user name in the cookie; they name no
session row, so everyone signs in again once.

Revision ID: 0014_sessions
Revises: 0013
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision = "0014_sessions"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_why", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash"),
    )
    op.create_index("ix_dashboard_session_user_id", "dashboard_session", ["user_id"], unique=False)
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("account", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_sign_in_failure_account_at", "sign_in_failure", ["account", "at"], unique=False
    )
    op.create_index(
        "ix_sign_in_failure_address_at", "sign_in_failure", ["address", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_sign_in_failure_address_at", table_name="sign_in_failure")
    op.drop_index("ix_sign_in_failure_account_at", table_name="sign_in_failure")
    op.drop_table("sign_in_failure")
    op.drop_index("ix_dashboard_session_user_id", table_name="dashboard_session")
    op.drop_table("dashboard_session")
