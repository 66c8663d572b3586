"""The stuck clock: the instants from which a case is over its phase norm, inactive, or waiting
for consent, kept on the case row (docs/decisions/009-stuck-clock.md), and their indexes.

Every existing case is backfilled from its stored facts by the domain's own rule
(statemachine.stuck.stuck_clock, models/stuck_clock.py), in id-ordered batches of 20,000 with
one executemany UPDATE each; `breached_since` (the oldest breached deadline's due time) in one
UPDATE over the cases with a breach; the indexes are built after the backfill, once.

Revision ID: 0004_stuck_clock
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import importlib
from typing import Any

import sqlalchemy as sa
from alembic import op

import models.types
from models.repository import CASE, DEADLINE
from models.stuck_clock import CLOCK_0004, recompute_stuck_clock, refresh_breached_since

revision = "0004_stuck_clock"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = ("over_norm_at", "inactive_at", "consent_wait_at", "stuck_at", "breached_since")
_INDEXES = {
    "ix_case_over_norm_at": ["over_norm_at", "id"],
    "ix_case_team_over_norm_at": ["team", "over_norm_at", "id"],
    "ix_case_worker_over_norm_at": ["worker", "over_norm_at", "id"],
    "ix_case_phase_over_norm_at": ["phase", "over_norm_at", "id"],
    "ix_case_stuck_at": ["stuck_at", "inactive_at", "consent_wait_at"],
    "ix_case_team_stuck_at": ["team", "stuck_at", "inactive_at", "consent_wait_at"],
    "ix_case_worker_stuck_at": ["worker", "stuck_at", "inactive_at", "consent_wait_at"],
    "ix_case_phase_stuck_at": ["phase", "stuck_at", "inactive_at", "consent_wait_at"],
    "ix_case_breached_since": ["breached_since", "id", "stuck_at"],
    "ix_case_team_breached_since": ["team", "breached_since", "id", "stuck_at"],
    "ix_case_worker_breached_since": ["worker", "breached_since", "id", "stuck_at"],
    "ix_case_phase_breached_since": ["phase", "breached_since", "id", "stuck_at"],
}


def _rulebook_of() -> Any:
    """The rulebooks the cases are pinned to: the caller's (`models.database.upgrade`'s
    `rulebook_of`, from `sagsflow db upgrade` with the configured directories), else the shipped
    ones. Looked up by name, not imported: persistence does not depend on the rulebook loader
    (pyproject's import contracts); a migration run from Alembic's own CLI has no composition
    root to hand them over."""
    given = op.get_context().config.attributes.get("rulebook_of")
    if given is not None:
        return given
    return importlib.import_module("rulebooks").shipped_catalogue().get


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("case", sa.Column(name, models.types.UTCDateTime(), nullable=True))
    recompute_stuck_clock(op.get_bind(), _rulebook_of(), columns=CLOCK_0004)
    breached = sa.select(DEADLINE.c.case_id).where(DEADLINE.c.status == "breached")
    refresh_breached_since(op.get_bind(), CASE.c.id.in_(breached))
    for name, columns in _INDEXES.items():
        op.create_index(name, "case", columns, unique=False)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="case")
    with op.batch_alter_table("case") as batch:
        for name in _COLUMNS:
            batch.drop_column(name)
