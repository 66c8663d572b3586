"""Event names up to 64 characters: `record_child_conversation_exception` (35) is an event name
(Barnets Lov §5 stk. 4), and an audit record and a deadline's `closed_by` hold event names.

SQLite does not enforce a VARCHAR length, so only PostgreSQL is altered; widening a varchar
rewrites nothing and fires no row trigger, so the audit log's append-only triggers stay.

Revision ID: 0011_event_names_64
Revises: 0010_open_rulebook_index
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_event_names_64"
down_revision = "0010_open_rulebook_index"
branch_labels = None
depends_on = None

_COLUMNS = (("audit_log", "event", False), ("deadline", "closed_by", True))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, nullable in _COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.String(length=64),
            existing_type=sa.String(length=32),
            existing_nullable=nullable,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, nullable in _COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.String(length=32),
            existing_type=sa.String(length=64),
            existing_nullable=nullable,
        )
