"""The open-caseload read model: open cases per municipality, team and caseworker, counted
from the case table once here and kept by the audit writer from then on.

Revision ID: 0006_open_caseload
Revises: 0005_read_models
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006_open_caseload"
down_revision = "0005_read_models"
branch_labels = None
depends_on = None

# models.repository.RECOUNT_OPEN_CASELOAD as it was when this revision was written (a migration
# must not change when the code does): one GROUP BY, set-based at any size.
_RECOUNT = (
    "INSERT INTO open_caseload (municipality, team, worker, open_cases) "
    "SELECT municipality, coalesce(team, ''), coalesce(worker, ''), count(*) FROM \"case\" "
    "WHERE phase <> 'closure' GROUP BY municipality, coalesce(team, ''), coalesce(worker, '')"
)


def upgrade() -> None:
    op.create_table(
        "open_caseload",
        sa.Column("municipality", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("team", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("open_cases", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("municipality", "team", "worker"),
    )
    op.execute(_RECOUNT)


def downgrade() -> None:
    op.drop_table("open_caseload")
