"""Opening cases and recording events. Each opens one unit of work, calls the domain, and
commits — or writes nothing.

Edges (CLI, flows, API, dashboard) call these and only translate; no business rule lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from models.repository import CaseRepository, StoredCase, UnitOfWork
from sagsflow.context import Context
from sagsflow.read.cases import case_owner, show_case
from statemachine.audit import AuditEntry, canonical_json
from statemachine.calendar import local_date
from statemachine.case import DeadlineState, MeasureState
from statemachine.errors import (
    CaseNotFound,
    ConcurrencyConflict,
    EventRefused,
    Refusal,
    RefusalCode,
)
from statemachine.phases import Event, Notifier, Role, Source
from statemachine.process import EventOption, Outcome, event_options, fire
from statemachine.process import open_case as open_case_file
from statemachine.rulebook import Rulebook
from statemachine.visibility import Principal, may_see


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
) -> int:
    """Save the case's new state with its audit record, in the caller's transaction; the record's
    sequence number."""
    entry = AuditEntry(
        case_id=stored.file.id,
        seq=stored.audit_seq + 1,
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
    repo.record(stored, entry, measures, deadlines)
    return entry.seq


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
        raise EventRefused(
            Event.OPEN_CASE,
            "inquiry",
            Refusal(RefusalCode.ROLE_MAY_NOT_OPEN, {"role": role.value}),
            [],
        )
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
        seq = _record(
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
    return Accepted(case_id, Event.OPEN_CASE.value, "inquiry", "inquiry", case.version, seq)


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
        seq = _record(
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
        seq,
    )


# --- reading one case as a principal -----------------------------------------------------------


def require_visible(context: Context, principal: Principal, case_id: int) -> None:
    """Raise CaseNotFound unless the case exists and `principal` may see it (before a write)."""
    owner = case_owner(context, case_id)
    if owner is None or not may_see(principal, worker=owner[0], team=owner[1]):
        raise CaseNotFound(case_id)


def read_case(context: Context, principal: Principal, case_id: int) -> dict[str, Any]:
    """`read.cases.show_case` (measures, deadlines, history) if `principal` may see the case."""
    shown = show_case(context, case_id)
    if not may_see(principal, worker=shown["worker"], team=shown["team"]):
        raise CaseNotFound(case_id)
    return shown


@dataclass(frozen=True)
class CaseOptions:
    """The events out of a case's phase as one principal may fire them now."""

    case_id: int
    phase: str
    version: int
    options: list[EventOption]
    rulebook: Rulebook  # the case's: it names the measures a refusal mentions


def read_case_options(
    context: Context, principal: Principal, case_id: int, *, now: datetime
) -> CaseOptions:
    """Every event of the case's phase for the principal's role (`process.event_options`: the
    rulebook's competence plan and the guards). A read-only role may fire none of them,
    whatever the rulebook says."""
    with UnitOfWork(context.engine, readonly=True) as uow:
        stored = uow.cases.get(case_id)
    if not may_see(principal, worker=stored.worker, team=stored.team):
        raise CaseNotFound(case_id)
    case = stored.file
    options = event_options(case, rulebook_of(context, stored), principal.role, at=now)
    if principal.read_only:
        reads_only = Refusal(RefusalCode.READ_ONLY, {"role": principal.role.value})
        options = [EventOption(o.event, False, o.needs_data, reads_only) for o in options]
    return CaseOptions(
        case.id, case.phase.value, case.version, options, rulebook_of(context, stored)
    )
