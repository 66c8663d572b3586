"""`rulebook migrate`: move open cases to another rulebook version — explicit, audited, previewable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from models.database import reading
from models.repository import CASE, UnitOfWork
from sagsflow.context import Context
from sagsflow.usecases.cases import rulebook_of
from statemachine.audit import AuditEntry, canonical_json
from statemachine.calendar import local_iso
from statemachine.migration import MigrationPlan, apply_migration, plan_migration
from statemachine.phases import Event, Phase, Role
from statemachine.rulebook import Rulebook


def _open_case_ids(context: Context, target: Rulebook) -> list[int]:
    with reading(context.engine) as connection:
        query = (
            select(CASE.c.id)
            .where(
                CASE.c.rulebook_id == target.id,
                CASE.c.rulebook_version != target.version,
                CASE.c.phase != Phase.CLOSURE.value,
            )
            .order_by(CASE.c.id)
        )
        return list(connection.execute(query).scalars())


def _plan_view(plan: MigrationPlan) -> dict[str, Any]:
    return {
        "case_id": plan.case_id,
        "from": plan.old,
        "to": plan.new,
        "blocked": plan.blocked,
        "deadlines": [
            {
                "key": m.key,
                "rule": m.rule,
                "measure_id": m.measure_key,
                "old_due_at": local_iso(m.old_due_at),
                "new_due_at": local_iso(m.new_due_at),
                "days": m.days,
                "cancelled": m.new_due_at is None,
            }
            for m in plan.moves
        ],
    }


def migrate(
    context: Context,
    target: Rulebook,
    *,
    dry_run: bool,
    actor: str,
    now: datetime,
    role: Role = Role.ADMIN,
) -> dict[str, Any]:
    """Move every open case of `target`'s rulebook to `target`; one audited transaction per case.

    With `dry_run`, only reports which open deadlines would move and by how many days. `role`:
    the role of whoever orders it (the operator's, from the CLI), recorded in each audit record.
    """
    plans = []
    for case_id in _open_case_ids(context, target):
        with UnitOfWork(context.engine, readonly=dry_run) as uow:
            repo = uow.cases
            stored = repo.get(case_id)
            old = rulebook_of(context, stored)
            plan = plan_migration(stored.file, old, target)
            plans.append(plan)
            if dry_run or plan.blocked:
                continue
            touched = apply_migration(stored.file, plan, target, now, now)
            payload = _plan_view(plan)
            entry = AuditEntry(
                case_id=case_id,
                seq=stored.audit_seq + 1,
                event=Event.MIGRATE_RULEBOOK.value,
                from_phase=stored.file.phase.value,
                to_phase=stored.file.phase.value,
                event_at=now,
                recorded_at=now,
                actor=actor,
                role=role.value,
                payload=canonical_json(payload),
                legal_basis=f"rulebook {target.key} ({target.law}, effective {target.effective_from})",
                rulebook=target.key,
            )
            repo.record(stored, entry, [], touched, rulebook=target)
            uow.commit()
    moved = [m for p in plans for m in p.moves if m.days]
    return {
        "to": target.key,
        "dry_run": dry_run,
        "cases": len([p for p in plans if not p.blocked]),
        "blocked": len([p for p in plans if p.blocked]),
        "deadlines_moved": len(moved),
        "deadlines_cancelled": len([m for p in plans for m in p.moves if m.new_due_at is None]),
        "plans": [_plan_view(p) for p in plans],
    }
