"""Opening cases, recording events and reading one case. Each write opens one unit of work,
calls the domain, and commits — or writes nothing.

Two doors: `open_case` and `fire_event` are the operator's (the CLI, the demo, the flows: an
actor and a role, no access log); `open_case_as`, `fire_event_as`, `read_case`,
`read_case_options` and `view_case` act as a signed-in `Principal` (the API, the dashboard):
they check what the principal may see and do, and write the access log themselves — an
accepted event's row in the event's own transaction, a denied, unknown, refused or conflicting
attempt's in one of its own. Edges call these and only translate; no business rule lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, NotRequired, TypedDict, Unpack

from models.repository import CaseRepository, StoredCase, UnitOfWork
from sagsflow.context import Context
from sagsflow.read.cases import CaseShown, show_case
from sagsflow.usecases.access import (
    Asked,
    Verdict,
    attempted,
    log_access,
    new_case_owner,
    record_access,
    require_cases,
    require_sees,
    require_write,
)
from sagsflow.usecases.migration import due_move, move_for_event
from sagsflow.usecases.signing import signing_of
from statemachine.audit import AuditEntry, Signing, canonical_json
from statemachine.calendar import local_date
from statemachine.case import DeadlineState, MeasureState
from statemachine.errors import (
    ConcurrencyConflict,
    EventRefused,
    Refusal,
    RefusalCode,
)
from statemachine.migration import apply_migration
from statemachine.phases import Event, Notifier, Phase, Role, Source
from statemachine.process import ACTOR_EVENTS, EventOption, Outcome, event_options, fire
from statemachine.process import open_case as open_case_file
from statemachine.rulebook import Rulebook
from statemachine.visibility import Action, Principal


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
    """The rulebook version the case is pinned to."""
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
    rulebook: Rulebook,
    measures: Sequence[MeasureState],
    deadlines: Sequence[DeadlineState],
    signing: Signing,
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
        rulebook=rulebook.key,
        **signing.origin(),
    )
    repo.record(stored, entry, measures, deadlines, rulebook=rulebook, key=signing.key)
    return entry.seq


@dataclass(frozen=True)
class Witness:
    """The principal an operation is done as, and how they asked: its access-log row goes into
    the operation's own transaction."""

    principal: Principal
    asked: Asked


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
    witness: Witness | None = None,
    applied_for: str | None = None,
    birth_expected: bool = False,
    new_case: bool = False,
) -> Accepted:
    """Open a case pinned to the rulebook version in force on its awareness date.

    A notification about a child who has an open case in the municipality is not a second
    case: it is attached to that case as `receive_notification` (Barnets Lov §136: its own
    24-hour assessment; §137 stk. 1: a case with measures is reassessed), unless `new_case`
    asks for a separate case deliberately.

    `birth_expected`: the child is not yet born and `birth_date` is the expected date (support
    to expectant parents; `record_birth` records the birth later).

    Raises EventRefused (the role may not open cases, the municipality, team or worker is not
    one the configuration and the organisation file know: `holder_refusal`, or the facts
    cannot be true) and UnknownRulebook; nothing is written then. With a `witness`, its `write`
    row is committed with the case (`open_case_as`)."""
    refusal = holder_refusal(context, municipality=municipality, worker=worker, team=team)
    if refusal is not None:
        raise EventRefused(Event.OPEN_CASE, "inquiry", refusal, [])
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
        applied_for=applied_for,
        birth_expected=birth_expected,
    )
    # The facts are checked as for a new case first: bad input is refused either way.
    if source is Source.NOTIFICATION and not new_case:
        existing = _open_case_of(context, municipality, case.child_ref)
        if existing is not None:
            return _attach_notification(
                context,
                existing,
                aware_at=aware_at,
                notifier=notifier,
                actor=actor,
                role=role,
                now=now,
                witness=witness,
            )
    # Who holds the case is recorded with its opening, so that a replay of the trail proves the
    # case row's worker and team too (docs/decisions/020-replay-verify.md).
    outcome = replace(outcome, payload={**outcome.payload, "worker": worker, "team": team})
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
            rulebook=rulebook,
            measures=case.measures,
            deadlines=case.deadlines,
            signing=signing_of(context, witness.asked if witness else None),
        )
        if witness is not None:
            _witnessed(context, uow, witness, case_id, Event.OPEN_CASE)
        uow.commit()
    return Accepted(case_id, Event.OPEN_CASE.value, "inquiry", "inquiry", case.version, seq)


def holder_refusal(
    context: Context, *, municipality: str, worker: str | None, team: str | None
) -> Refusal | None:
    """Why a new case cannot belong where it is asked to (None: it can), as far as the context
    knows: a municipality the configuration (`context.municipality`) or the catalogue's
    municipalities.yaml does not name (it would silently follow the default rulebook); a team
    the organisation file has not; a worker who is none of its people, or, with a team, not its
    leader or one of its caseworkers. A context without a configured municipality or an
    organisation checks nothing against it."""
    if context.municipality is not None:
        known = sorted({context.municipality, *dict(context.catalogue.municipalities)})
        if municipality not in known:
            return Refusal(
                RefusalCode.UNKNOWN_MUNICIPALITY, {"municipality": municipality, "known": known}
            )
    people = context.organisation
    if people is None:
        return None
    if team is not None and people.team(team) is None:
        return Refusal(RefusalCode.UNKNOWN_TEAM, {"team": team})
    if worker is not None:
        home = people.team_of(worker)
        if home is None:
            return Refusal(RefusalCode.UNKNOWN_WORKER, {"worker": worker})
        if team is not None and home.id != team:
            return Refusal(RefusalCode.WORKER_NOT_IN_TEAM, {"worker": worker, "team": team})
    return None


def _open_case_of(context: Context, municipality: str, child_ref: str) -> int | None:
    with UnitOfWork(context.engine, readonly=True) as uow:
        return uow.cases.open_case_of(municipality, child_ref)


def _attach_notification(
    context: Context,
    case_id: int,
    *,
    aware_at: datetime,
    notifier: Notifier | None,
    actor: str,
    role: Role,
    now: datetime,
    witness: Witness | None,
) -> Accepted:
    """The notification as `receive_notification` on the child's open case, recorded when it
    was received (or, received before the case's last event, right after that event)."""
    with UnitOfWork(context.engine, readonly=True) as uow:
        last_event_at = uow.cases.get(case_id).file.last_event_at
    at = aware_at if aware_at.tzinfo is None else max(aware_at, last_event_at)
    data = {
        "notifier": (notifier or Notifier.ANONYMOUS).value,
        "aware_at": aware_at.isoformat(),
    }
    return fire_event(
        context,
        case_id,
        Event.RECEIVE_NOTIFICATION.value,
        at=at,
        data=data,
        actor=actor,
        role=role,
        now=now,
        witness=witness,
        check_sees=False,
    )


class CaseFacts(TypedDict):
    """What a new case is opened with, as `open_case` takes it (besides who holds it)."""

    child_ref: str
    birth_date: date  # with birth_expected, the expected date
    birth_expected: NotRequired[bool]
    aware_at: datetime
    source: Source
    notifier: Notifier | None
    municipality: str
    applied_for: NotRequired[str | None]
    new_case: NotRequired[bool]


def open_case_as(
    context: Context,
    principal: Principal,
    asked: Asked,
    *,
    worker: str | None,
    team: str | None,
    **facts: Unpack[CaseFacts],
) -> Accepted:
    """Open a case as `principal` at `asked.at`: a team-bound role in its own team only, a
    caseworker's new case their own unless `worker` names another (`access.new_case_owner`).

    The `write` row ("(open_case accepted)") is committed with the case. A denied or refused
    opening (AccessDenied, EventRefused) leaves a `write` row without a case, and nothing else.
    """
    with attempted(context, principal, asked, action=Action.WRITE, event=Event.OPEN_CASE):
        worker, team = new_case_owner(principal, worker=worker, team=team)
        return open_case(
            context,
            worker=worker,
            team=team,
            actor=principal.name,
            role=principal.role,
            now=asked.at,
            witness=Witness(principal, asked),
            **facts,
        )


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
    witness: Witness | None = None,
    check_sees: bool = True,
) -> Accepted:
    """Record one event: phase change, deadlines and the audit record in one transaction.

    When a rulebook version that takes over open cases (`applies_to_open_cases`, a change of
    law) is in force on the event's Copenhagen date, the case is first moved to it with its own
    `migrate_rulebook` record, in the same transaction, and the event is judged under it
    (`migration.move_for_event`); a move that is blocked refuses the event.

    Raises EventRefused (nothing written), CaseNotFound, or ConcurrencyConflict when another
    writer got there first (or `expected_version` is stale). With a `witness`, a case its
    principal may not see raises CaseHidden, and the `write` row is committed with the event
    (`fire_event_as`); `check_sees=False` only for a notification attached to the child's open
    case, which reaches the case whoever receives it.
    """
    with UnitOfWork(context.engine) as uow:
        repo = uow.cases
        stored = repo.get(case_id)
        if witness is not None and check_sees:
            require_sees(witness.principal, case_id, worker=stored.worker, team=stored.team)
        case = stored.file
        if expected_version is not None and expected_version != case.version:
            raise ConcurrencyConflict(case_id, expected_version)
        # An act is judged under the law in force on its date: a case that a newer version
        # takes over by then moves there first, audited, in this transaction (decision 015).
        stored, rulebook = move_for_event(
            context.catalogue,
            repo,
            stored,
            rulebook_of(context, stored),
            event,
            at=at,
            actor=actor,
            role=role,
            now=now,
            signing=signing_of(context, witness.asked if witness else None),
        )
        if event in ACTOR_EVENTS:
            case.involved = repo.actors(case_id)
        outcome = fire(case, rulebook, event, data, at=at, now=now, role=role, actor=actor)
        seq = _record(
            repo,
            stored,
            outcome,
            actor=actor,
            role=role,
            now=now,
            rulebook=rulebook,
            measures=outcome.touched_measures,
            deadlines=outcome.touched_deadlines,
            signing=signing_of(context, witness.asked if witness else None),
        )
        if witness is not None:
            _witnessed(context, uow, witness, case_id, outcome.event)
        uow.commit()
    return Accepted(
        case_id,
        outcome.event.value,
        outcome.from_phase.value,
        outcome.to_phase.value,
        case.version,
        seq,
    )


def fire_event_as(
    context: Context,
    principal: Principal,
    asked: Asked,
    case_id: int,
    event: str,
    *,
    at: datetime,
    data: Mapping[str, Any] | None,
    expected_version: int | None = None,
) -> Accepted:
    """Record one event as `principal` (the actor, and the role the competence plan judges),
    recorded at `asked.at`.

    The `write` row ("(accept accepted)") is committed with the event: never logged as
    accepted when the event was rolled back. Every attempt that stops leaves its `write` row,
    and nothing else: AccessDenied (a role that only reads), CaseNotFound (no such case, or
    CaseHidden: one the principal may not see — the same answer), EventRefused,
    ConcurrencyConflict.
    """
    with attempted(context, principal, asked, action=Action.WRITE, case_id=case_id, event=event):
        require_write(principal)
        return fire_event(
            context,
            case_id,
            event,
            at=at,
            data=data,
            actor=principal.name,
            role=principal.role,
            now=asked.at,
            expected_version=expected_version,
            witness=Witness(principal, asked),
        )


def _witnessed(
    context: Context, uow: UnitOfWork, witness: Witness, case_id: int, event: str
) -> None:
    """The accepted write's access-log row, in the write's transaction."""
    record_access(
        uow.connection,
        witness.principal,
        witness.asked,
        action=Action.WRITE,
        case_id=case_id,
        outcome=f"{event} {Verdict.ACCEPTED}",
        key=context.keys.current,
    )


# --- reading one case as a principal -----------------------------------------------------------


def read_case(context: Context, principal: Principal, asked: Asked, case_id: int) -> CaseShown:
    """The case with its measures, deadlines and history (`read.cases.show_case`), and its
    `read` row.

    A role that sees no case (AccessDenied), no such case or one the principal may not see
    (CaseNotFound, the same answer) leaves its `read` row too, showing nothing."""
    with attempted(context, principal, asked, action=Action.READ, case_id=case_id):
        shown = _shown(context, principal, case_id)
    log_access(context, principal, asked, action=Action.READ, case_id=case_id)
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
    context: Context, principal: Principal, asked: Asked, case_id: int
) -> CaseOptions:
    """Every event of the case's phase for the principal's role at `asked.at`
    (`process.event_options`: the rulebook's competence plan and the guards), and its `read`
    row; stopped attempts are logged as `read_case`'s. A read-only role may fire none of them,
    whatever the rulebook says."""
    with attempted(context, principal, asked, action=Action.READ, case_id=case_id):
        require_cases(principal)
        found = _options(context, principal, case_id, now=asked.at)
    log_access(context, principal, asked, action=Action.READ, case_id=case_id)
    return found


@dataclass(frozen=True)
class CaseView:
    """A case as its page shows it: `read.cases.show_case`, and the events the principal may
    fire now (none for a read-only role or a closed case)."""

    case: CaseShown
    options: list[EventOption]
    rulebook: Rulebook  # the case's: it names the measures a refusal mentions


def view_case(context: Context, principal: Principal, asked: Asked, case_id: int) -> CaseView:
    """The case and the events the principal may fire at `asked.at`: one `read` row for both,
    stopped attempts logged as `read_case`'s."""
    with attempted(context, principal, asked, action=Action.READ, case_id=case_id):
        view = reshow_case(context, principal, case_id, now=asked.at)
    log_access(context, principal, asked, action=Action.READ, case_id=case_id)
    return view


def reshow_case(context: Context, principal: Principal, case_id: int, *, now: datetime) -> CaseView:
    """`view_case` without a row of its own: only for the page that answers an attempt
    `fire_event_as` has logged already (refused, or in conflict). Raises as `read_case`."""
    shown = _shown(context, principal, case_id)
    options: list[EventOption] = []
    if not principal.read_only and shown["phase"] != Phase.CLOSURE.value:
        options = _options(context, principal, case_id, now=now).options
    return CaseView(shown, options, context.catalogue.resolve(shown["rulebook"], ""))


def _shown(context: Context, principal: Principal, case_id: int) -> CaseShown:
    require_cases(principal)
    shown = show_case(context, case_id)
    require_sees(principal, case_id, worker=shown["worker"], team=shown["team"])
    return shown


def _options(context: Context, principal: Principal, case_id: int, *, now: datetime) -> CaseOptions:
    with UnitOfWork(context.engine, readonly=True) as uow:
        stored = uow.cases.get(case_id)
        # Barnets Lov §137 stk. 1: who has acted on the case, for the options that ask.
        stored.file.involved = uow.cases.actors(case_id)
    require_sees(principal, case_id, worker=stored.worker, team=stored.team)
    case = stored.file
    rulebook = rulebook_of(context, stored)
    # An event fired now is judged under the version in force now (decision 015): the options
    # are that version's, on the case as it would move (in memory: nothing is written here).
    blocked: Refusal | None = None
    due = due_move(context.catalogue, case, rulebook, now)
    if due is not None:
        target, plan = due
        blocked = plan.refusal
        if blocked is None:
            apply_migration(case, plan, target, now, now)
            rulebook = target
    options = event_options(case, rulebook, principal.role, at=now, actor=principal.name)
    if principal.read_only:
        blocked = Refusal(RefusalCode.READ_ONLY, {"role": principal.role.value})
    if blocked is not None:
        options = [EventOption(o.event, False, o.needs_data, blocked) for o in options]
    return CaseOptions(case.id, case.phase.value, case.version, options, rulebook)
