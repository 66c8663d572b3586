"""The keyed chain and its anchors (docs/decisions/019-keyed-chain-and-checkpoints.md): each
audit record names the key its MAC was made with (NULL: an unkeyed record from before), where
the event came from (channel, the CLI's operating-system user, acting as operator); the access
log becomes one MACed chain (seq, prev_hash, hash, key_id; NULL on the rows from before) with
its head in `log_head`; signed checkpoints go to `audit_checkpoint`, append-only like the logs.

Plain ADD COLUMN, never a batch (table copy) on SQLite: a copied table would lose the
append-only triggers of 0001 and 0003.

Revision ID: 0013
Revises: 0012_conversation_clock
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision = "0013"
down_revision = "0012_conversation_clock"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE ON audit_checkpoint
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_checkpoint_no_delete BEFORE DELETE ON audit_checkpoint
       BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only: DELETE refused'); END""",
]
_POSTGRES_TRIGGERS = [
    """CREATE FUNCTION audit_checkpoint_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_checkpoint is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER audit_checkpoint_no_update BEFORE UPDATE OR DELETE ON audit_checkpoint
       FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_refuse()""",
    """CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
       FOR EACH STATEMENT EXECUTE FUNCTION audit_checkpoint_refuse()""",
]


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "audit_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("key_id", _text(32), nullable=False),
        sa.Column("mac", _text(64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "log_head",
        sa.Column("name", _text(32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", _text(64), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.add_column("access_log", sa.Column("seq", sa.Integer(), nullable=True))
    op.add_column("access_log", sa.Column("prev_hash", _text(64), nullable=True))
    op.add_column("access_log", sa.Column("hash", _text(64), nullable=True))
    op.add_column("access_log", sa.Column("key_id", _text(32), nullable=True))
    op.create_index("ix_access_log_seq", "access_log", ["seq"], unique=True)
    op.add_column("audit_log", sa.Column("key_id", _text(32), nullable=True))
    op.add_column("audit_log", sa.Column("channel", _text(16), nullable=True))
    op.add_column("audit_log", sa.Column("os_user", _text(64), nullable=True))
    op.add_column("audit_log", sa.Column("as_operator", sa.Boolean(), nullable=True))
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRES_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_truncate ON audit_checkpoint")
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_no_update ON audit_checkpoint")
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoint_refuse()")
    for column in ("as_operator", "os_user", "channel", "key_id"):
        op.drop_column("audit_log", column)
    op.drop_index("ix_access_log_seq", table_name="access_log")
    for column in ("key_id", "hash", "prev_hash", "seq"):
        op.drop_column("access_log", column)
    op.drop_table("log_head")
    op.drop_table("audit_checkpoint")
