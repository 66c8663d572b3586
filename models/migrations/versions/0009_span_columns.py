"""The month and quarter spans of the deadline tally hold a count per outcome as columns: one row
per team and rule instead of one per outcome as well (docs/decisions/014-span-columns.md);
filled from the tally's roll-up rows.

Revision ID: 0009_span_columns
Revises: 0008_notified_rungs
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009_span_columns"
down_revision = "0008_notified_rungs"
branch_labels = None
depends_on = None

# The tally's outcomes (models/readmodels.py SPAN_OUTCOMES), as they are spelt in both shapes.
OUTCOMES = ("on_time", "late", "cancelled", "open", "breached")
KEY = ("span", "first_day", "team", "municipality", "rule")


def _key_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("span", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("rule", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    ]


def upgrade() -> None:
    op.drop_table("deadline_tally_span")
    op.create_table(
        "deadline_tally_span",
        *_key_columns(),
        *(sa.Column(o, sa.Integer(), nullable=False) for o in OUTCOMES),
        sa.PrimaryKeyConstraint(*KEY),
        sqlite_with_rowid=False,
    )
    # Filled from the tally's roll-up rows by the application's own code, so the spans start
    # out as the write path keeps them, with the one month and quarter arithmetic
    # (statemachine.periods).
    from models.readmodels import rebuild_spans

    rebuild_spans(op.get_bind())


def downgrade() -> None:
    # One row per outcome again, each count that is not 0 its own row (as the shape before kept).
    op.rename_table("deadline_tally_span", "deadline_tally_span_columns")
    op.create_table(
        "deadline_tally_span",
        *_key_columns(),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*KEY, "outcome"),
        sqlite_with_rowid=False,
    )
    key = ", ".join(KEY)
    rows = " UNION ALL ".join(
        f"SELECT {key}, '{o}', {o} FROM deadline_tally_span_columns WHERE {o} <> 0"
        for o in OUTCOMES
    )
    op.execute(f"INSERT INTO deadline_tally_span ({key}, outcome, n) {rows}")
    op.drop_table("deadline_tally_span_columns")
