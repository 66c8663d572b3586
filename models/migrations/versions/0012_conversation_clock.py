"""The stuck clock's fourth instant: from when a case in decision waits for the child
conversation its grant or refusal needs (Barnets Lov §5 stk. 3; statemachine.stuck
`conversation_missing_from`), kept on the case row like the other three
(docs/decisions/009-stuck-clock.md).

Every case's clock is computed again from its stored facts by the domain's own rule
(models/stuck_clock.py), so `stuck_at` counts the new instant too. No index of its own: the
stuck list reaches the reason through `stuck_at`'s indexes, and the reason decides.

Revision ID: 0012_conversation_clock
Revises: 0011_event_names_64
Create Date: 2026-12-04
"""

from __future__ import annotations

import importlib
from typing import Any

import sqlalchemy as sa
from alembic import op

import models.types
from models.stuck_clock import CLOCK, recompute_stuck_clock

revision = "0012_conversation_clock"
down_revision = "0011_event_names_64"
branch_labels = None
depends_on = None


def _rulebook_of() -> Any:
    """The rulebooks the cases are pinned to, as in 0004_stuck_clock."""
    given = op.get_context().config.attributes.get("rulebook_of")
    if given is not None:
        return given
    return importlib.import_module("rulebooks").shipped_catalogue().get


def upgrade() -> None:
    op.add_column(
        "case", sa.Column("conversation_missing_at", models.types.UTCDateTime(), nullable=True)
    )
    recompute_stuck_clock(op.get_bind(), _rulebook_of(), columns=CLOCK)


def downgrade() -> None:
    # In place on both databases (SQLite 3.35+ drops an unindexed column itself; a batch copy
    # of the table would trip the foreign keys that point at it), as in 0008.
    op.execute('ALTER TABLE "case" DROP COLUMN conversation_missing_at')
