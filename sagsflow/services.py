"""The use cases. Each opens one unit of work, calls the domain, and commits — or writes nothing.

Edges (CLI, flows, API) call these and only translate; no business rule lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from models.repository import CaseRepository, ConcurrencyConflict, StoredCase, UnitOfWork
from rulebooks import Catalogue
from statemachine.audit import GENESIS, AuditEntry, canonical_json
from statemachine.calendar import local_date
from statemachine.case import DeadlineState, MeasureState
from statemachine.errors import EventRefused
from statemachine.phases import Event, Notifier, Role, Source
from statemachine.process import Outcome, fire
from statemachine.process import open_case as open_case_file
from statemachine.rulebook import Rulebook


@dataclass(frozen=True)
class Context:
    """What every use case needs: the database and the rulebooks."""

    engine: Engine
    catalogue: Catalogue


@dataclass(frozen=True)
class Accepted:
    """The result of an accepted event."""

    case_id: int
    event: str
    from_phase: str
    to_phase: str
    version: int
    audit_seq: int


def rulebook_of(context: Context, stored: StoredCase) -> Rulebook:
    case = stored.file
    return context.catalogue.get(case.rulebook_id, case.rulebook_version)


def _record(
    repo: CaseRepository,
    stored: StoredCase,
    outcome: Outcome,
    *,
    actor: str,
    role: str,
    now: datetime,
    rulebook: str,
    measures: Sequence[MeasureState],
    deadlines: Sequence[DeadlineState],
) -> tuple[int, str]:
    """Save the case's new state and append its audit record, in the caller's transaction."""
    seq = stored.audit_seq + 1
    entry = AuditEntry(
        case_id=stored.file.id,
        seq=seq,
        event=outcome.event.value,
        from_phase=None if outcome.event is Event.OPEN_CASE else outcome.from_phase.value,
        to_phase=outcome.to_phase.value,
        event_at=outcome.at,
        recorded_at=now,
        actor=actor,
        role=role,
        payload=canonical_json(outcome.payload),
        legal_basis=outcome.legal_basis,
        rulebook=rulebook,
    )
    prev_hash = stored.audit_hash or GENESIS
    audit = (seq, entry.digest(prev_hash))
    # The version-guarded update of the case row comes first: a second writer that loaded the
    # same version waits on that row and then gets ConcurrencyConflict, instead of colliding
    # with the first writer on audit_log's (case_id, seq) key (an IntegrityError on PostgreSQL).
    repo.save(stored, measures, deadlines, audit)
    repo.append_audit(entry, prev_hash, digest=audit[1])
    return audit


def open_case(
    context: Context,
    *,
    child_ref: str,
    birth_date: date,
    aware_at: datetime,
    source: Source,
    notifier: Notifier | None,
    worker: str | None,
    team: str | None,
    municipality: str,
    actor: str,
    role: Role = Role.CASEWORKER,
    now: datetime,
) -> Accepted:
    """Open a case pinned to the rulebook version in force on its awareness date."""
    catalogue = context.catalogue
    rulebook = catalogue.in_force(catalogue.rulebook_id_for(municipality), local_date(aware_at))
    if not rulebook.competence.may_fire(role, Event.OPEN_CASE):
        raise EventRefused(Event.OPEN_CASE, "inquiry", f"role {role} may not open a case", [])
    case, outcome = open_case_file(
        municipality=municipality,
        rulebook=rulebook,
        child_ref=child_ref,
        birth_date=birth_date,
        aware_at=aware_at,
        source=source,
        notifier=notifier,
        now=now,
    )
    with UnitOfWork(context.engine) as uow:
        repo = uow.cases
        case_id = repo.add(case, worker=worker, team=team, opened_at=now)
        stored = StoredCase(case, worker, team, now, 0, "", {})
        audit = _record(
            repo,
            stored,
            outcome,
            actor=actor,
            role=role,
            now=now,
            rulebook=rulebook.key,
            measures=case.measures,
            deadlines=case.deadlines,
        )
        uow.commit()
    return Accepted(case_id, Event.OPEN_CASE.value, "inquiry", "inquiry", case.version, audit[0])


def fire_event(
    context: Context,
    case_id: int,
    event: str,
    *,
    at: datetime,
    data: Mapping[str, Any] | None,
    actor: str,
    role: Role,
    now: datetime,
    expected_version: int | None = None,
) -> Accepted:
    """Record one event: phase change, deadlines and the audit record in one transaction.

    Raises EventRefused (nothing written), CaseNotFound, or ConcurrencyConflict when another
    writer got there first (or `expected_version` is stale).
    """
    with UnitOfWork(context.engine) as uow:
        repo = uow.cases
        stored = repo.get(case_id)
        case = stored.file
        if expected_version is not None and expected_version != case.version:
            raise ConcurrencyConflict(case_id, expected_version)
        rulebook = rulebook_of(context, stored)
        outcome = fire(case, rulebook, event, data, at=at, now=now, role=role)
        audit = _record(
            repo,
            stored,
            outcome,
            actor=actor,
            role=role,
            now=now,
            rulebook=rulebook.key,
            measures=outcome.touched_measures,
            deadlines=outcome.touched_deadlines,
        )
        uow.commit()
    return Accepted(
        case_id,
        outcome.event.value,
        outcome.from_phase.value,
        outcome.to_phase.value,
        case.version,
        audit[0],
    )
