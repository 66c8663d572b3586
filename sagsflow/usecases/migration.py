"""Moving open cases to another rulebook version: explicit, audited, previewable.

Three doors, one writer (`move_case`, a `migrate_rulebook` audit record per case):
- `migrate` (`rulebook migrate --to`): every open case of a rulebook to the version named.
- `migrate_due` (`rulebook migrate --due`, the enforcement flow's first task): every open case
  that a version in force today takes over (`applies_to_open_cases`, a change of law).
- `move_for_event` (`cases.fire_event`): the case an event is fired on, when a version that
  takes it over is in force on the event's date, in the event's own transaction.
An act is judged under the law in force on its date (docs/decisions/015-law-in-force-on-the-
event-date.md); a municipality's new service level moves nothing by itself (decision 004).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, literal, or_, select

from models.database import reading
from models.repository import CASE, CaseRepository, StoredCase, UnitOfWork
from rulebooks import Catalogue
from sagsflow.context import Context
from sagsflow.progress import Progress, reporting
from sagsflow.usecases.signing import signing_of
from statemachine.audit import AuditEntry, Signing, canonical_json
from statemachine.calendar import local_date
from statemachine.case import CaseFile
from statemachine.errors import ConcurrencyConflict, EventRefused
from statemachine.migration import (
    MigrationPlan,
    apply_migration,
    migration_legal_basis,
    plan_migration,
    plan_view,
)
from statemachine.phases import Event, Phase, Role
from statemachine.rulebook import Rulebook


def _pinned(catalogue: Catalogue, case: CaseFile) -> Rulebook:
    return catalogue.get(case.rulebook_id, case.rulebook_version)


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


def _due_case_ids(
    context: Context, versions: Collection[tuple[str, str]], municipality: str | None
) -> list[int]:
    """The open cases pinned to one of `versions`: one query through the partial index
    `ix_case_open_rulebook` (models/tables.py), which holds open cases only."""
    # 'closure' as a literal: SQLite uses a partial index only for a WHERE that implies its own.
    is_open = CASE.c.phase != literal(Phase.CLOSURE.value, literal_execute=True)
    pinned = or_(
        *(and_(CASE.c.rulebook_id == i, CASE.c.rulebook_version == v) for i, v in versions)
    )
    query = select(CASE.c.id).where(is_open, pinned).order_by(CASE.c.id)
    if municipality is not None:
        query = query.where(CASE.c.municipality == municipality)
    with reading(context.engine) as connection:
        return list(connection.execute(query).scalars())


def _reported(plans: list[MigrationPlan], dry_run: bool) -> dict[str, Any]:
    """What a migration did (or, with `dry_run`, would do): counts, then each case's plan as
    its audit record holds it, with why a blocked case cannot move as a refusal to word."""
    moved = [m for p in plans for m in p.moves if m.days]
    return {
        "dry_run": dry_run,
        "cases": len([p for p in plans if not p.blocked]),
        "blocked": len([p for p in plans if p.blocked]),
        "deadlines_moved": len(moved),
        "deadlines_cancelled": len([m for p in plans for m in p.moves if m.new_due_at is None]),
        "plans": [
            {**plan_view(p), "refusal": p.refusal.as_dict() if p.refusal else None} for p in plans
        ],
    }


def move_case(
    repo: CaseRepository,
    stored: StoredCase,
    plan: MigrationPlan,
    target: Rulebook,
    *,
    at: datetime,
    actor: str,
    role: Role,
    now: datetime,
    signing: Signing,
) -> StoredCase:
    """Re-pin the loaded case to `target` as `plan` says and write its `migrate_rulebook`
    audit record, in the caller's transaction; the case as stored after it.

    The one writer of a rulebook move: `at` is when the case moved (the command's clock, or
    the event that carried the move), `now` when it was recorded; unresolved deadlines are
    re-armed under `target`, and a breached one moved past `now` is open again."""
    case = stored.file
    touched = apply_migration(case, plan, target, at, now)
    entry = AuditEntry(
        case_id=case.id,
        seq=stored.audit_seq + 1,
        event=Event.MIGRATE_RULEBOOK.value,
        from_phase=case.phase.value,
        to_phase=case.phase.value,
        event_at=at,
        recorded_at=now,
        actor=actor,
        role=role.value,
        payload=canonical_json(plan_view(plan)),
        legal_basis=migration_legal_basis(target),
        rulebook=target.key,
        **signing.origin(),
    )
    digest = repo.record(stored, entry, [], touched, rulebook=target, key=signing.key)
    return stored.recorded(entry.seq, digest)


def move_now(
    context: Context,
    repo: CaseRepository,
    stored: StoredCase,
    plan: MigrationPlan,
    target: Rulebook,
    *,
    actor: str,
    role: Role,
    now: datetime,
) -> StoredCase:
    """`move_case` ordered by an operator (`rulebook migrate`, the enforcement flow): the case
    moves when it is recorded, signed as the operator's context says."""
    signing = signing_of(context)
    return move_case(
        repo, stored, plan, target, at=now, actor=actor, role=role, now=now, signing=signing
    )


def due_move(
    catalogue: Catalogue, case: CaseFile, pinned: Rulebook, at: datetime
) -> tuple[Rulebook, MigrationPlan] | None:
    """The version an event at `at` on `case` must be judged under, when it is not `pinned`
    (one that takes over open cases in force on the event's Copenhagen date), and the plan
    that moves the case there; None: the case keeps `pinned` for it.

    A closed case takes no event, so it is never moved; an instant without an offset is
    refused by the event itself (`process.fire`)."""
    if case.phase is Phase.CLOSURE or at.tzinfo is None:
        return None
    target = catalogue.taking_over(pinned, local_date(at))
    if target is None:
        return None
    return target, plan_migration(case, pinned, target)


def move_for_event(
    catalogue: Catalogue,
    repo: CaseRepository,
    stored: StoredCase,
    pinned: Rulebook,
    event: str,
    *,
    at: datetime,
    actor: str,
    role: Role,
    now: datetime,
    signing: Signing,
) -> tuple[StoredCase, Rulebook]:
    """Before an event at `at`: move the case to the version in force on that date that takes
    it over (`due_move`), in the event's transaction, recorded as the event's actor and role;
    the case as stored and the version to judge the event under.

    Raises EventRefused (`migration_blocked`) when the case cannot move, e.g. an active measure
    whose type the new version does not know. The caller's transaction then writes nothing, as
    it writes nothing when the event itself is refused after the move."""
    due = due_move(catalogue, stored.file, pinned, at)
    if due is None:
        return stored, pinned
    target, plan = due
    if plan.refusal is not None:
        raise EventRefused(event, stored.file.phase.value, plan.refusal, [])
    moved_at = at.astimezone(UTC)  # UTC between layers, as `process.fire` records the event
    moved = move_case(
        repo, stored, plan, target, at=moved_at, actor=actor, role=role, now=now, signing=signing
    )
    return moved, target


def migrate(
    context: Context,
    target: Rulebook,
    *,
    dry_run: bool,
    actor: str,
    now: datetime,
    role: Role = Role.ADMIN,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Move every open case of `target`'s rulebook to `target`; one audited transaction per case.

    With `dry_run`, only reports which open deadlines would move and by how many days. `role`:
    the role of whoever orders it (the operator's, from the CLI), recorded in each audit record.
    `progress(done, total)`: after each case (`sagsflow.progress`).
    """
    plans = []
    for case_id in reporting(_open_case_ids(context, target), progress):
        with UnitOfWork(context.engine, readonly=dry_run) as uow:
            repo = uow.cases
            stored = repo.get(case_id)
            plan = plan_migration(stored.file, _pinned(context.catalogue, stored.file), target)
            plans.append(plan)
            if dry_run or plan.blocked:
                continue
            move_now(context, repo, stored, plan, target, actor=actor, role=role, now=now)
            uow.commit()
    return {"to": target.key, **_reported(plans, dry_run)}


def migrate_due(
    context: Context,
    *,
    dry_run: bool,
    actor: str,
    now: datetime,
    role: Role = Role.ADMIN,
    municipality: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Move every open case that a version in force on `now`'s Copenhagen date takes over
    (`Catalogue.taking_over`), over every rulebook; one audited transaction per case.

    Cheap when nothing is due: no query at all while no change of law is in force, and one
    lookup of an index of open cases otherwise. With `dry_run`, only reports. `municipality`:
    only its cases (default: all). A case an event moved (or closed) after the lookup is left
    as it is; so is one a concurrent event got to first (the event moved it itself).
    `progress(done, total)`: after each case looked at (`sagsflow.progress`).
    """
    catalogue = context.catalogue
    day = local_date(now)
    taken_over = catalogue.taken_over(day)
    plans = []
    due_ids = _due_case_ids(context, taken_over, municipality) if taken_over else []
    for case_id in reporting(due_ids, progress):
        try:
            with UnitOfWork(context.engine, readonly=dry_run) as uow:
                repo = uow.cases
                stored = repo.get(case_id)
                due = due_move(catalogue, stored.file, _pinned(catalogue, stored.file), now)
                if due is None:
                    continue
                target, plan = due
                if not (dry_run or plan.blocked):
                    move_now(context, repo, stored, plan, target, actor=actor, role=role, now=now)
                    uow.commit()
        except ConcurrencyConflict:
            continue
        plans.append(plan)
    return {"on": day.isoformat(), **_reported(plans, dry_run)}
