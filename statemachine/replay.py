"""A case rebuilt from its audit records, pure: every record replayed through the domain under
the rulebook version it names, and every record the domain would not have produced named.

`replay` takes one case's records in sequence order and gives back the case file the events
build (`Replayed.case`) and where a record and the domain disagree (`Replayed.mismatches`): its
phases, event time, payload, legal basis or rulebook, or an event the domain refuses (the
replay stops there: what follows would be built on a state that never was). Comparing the
rebuilt case with the stored rows is the caller's (`sagsflow.read.replay`);
docs/decisions/020-replay-verify.md says what is proved and what is not.

The sweep marks open deadlines breached without an audit record (`usecases.sweep.
mark_breaches`), and an event meeting a breached deadline meets it late even when it is dated
before the due time. The replay takes the sweep's mark from the stored deadline (`breached`:
its `breached_at`): before each record it marks breached every open deadline whose mark falls
after its due time and no later than the record was recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from statemachine.audit import AuditEntry, canonical_json
from statemachine.case import CaseFile
from statemachine.errors import EventRefused
from statemachine.migration import (
    apply_migration,
    migration_legal_basis,
    plan_migration,
    plan_view,
)
from statemachine.payloads import PAYLOADS
from statemachine.phases import DeadlineStatus, Event, Notifier, Role, Source
from statemachine.process import ACTOR_EVENTS, fire, open_case
from statemachine.rulebook import NEVER_BREACHED, Rulebook

# Who holds the case, in the opening record's payload since decision 020 (older records lack it).
OWNER_FIELDS = ("worker", "team")
_EVENT_NAMES = frozenset(e.value for e in Event)


@dataclass(frozen=True)
class Mismatch:
    """Where record `seq` and the domain disagree: `field` of the record as stored, and as the
    domain, replaying it, would have written it."""

    seq: int
    field: str
    stored: Any
    replayed: Any


@dataclass
class Replayed:
    """What replaying one case's records gave: the case file (None: not even its opening could
    be replayed), who held it by its opening record (None: not recorded), how many records were
    replayed, and the mismatches found. `complete`: every record was replayed."""

    case: CaseFile | None = None
    owner: tuple[str | None, str | None] | None = None
    events: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    complete: bool = False
    rulebook: Rulebook | None = None  # the version the last record left the case pinned to
    opened_at: datetime | None = None  # when the opening was recorded


def replay(
    records: Iterable[AuditEntry],
    *,
    case_id: int,
    child_ref: str,
    rulebook_of: Callable[[str], Rulebook | None],
    breached: Mapping[str, datetime] | None = None,
) -> Replayed:
    """Replay one case's records (in sequence order) through the domain.

    `child_ref`: the case row's (it is no event fact); `rulebook_of(key)`: the rulebook version
    a record names ("id@version"; None: unknown here); `breached`: the sweep's marks, by
    deadline key (the stored deadlines' `breached_at`)."""
    found = Replayed()
    marks = breached or {}
    actors: set[str] = set()
    rulebook: Rulebook | None = None
    for record in records:
        case = found.case
        if case is None:
            if record.seq != 1 or record.event != Event.OPEN_CASE.value:
                found.mismatches.append(Mismatch(record.seq, "event", record.event, "open_case"))
                return found
            opened = _open(found, record, case_id, child_ref, rulebook_of)
            if opened is None:
                return found
            rulebook = opened
        else:
            assert rulebook is not None
            if marks:
                _sweep(case, marks, record.recorded_at)
            case.audit_seq = record.seq - 1
            if record.event == Event.MIGRATE_RULEBOOK.value:
                moved = _migrate(found, case, rulebook, record, rulebook_of)
            else:
                moved = _fire(found, case, rulebook, record, rulebook_of, actors)
            if moved is None:
                return found
            rulebook = moved
        actors.add(record.actor)
        found.events += 1
        found.rulebook = rulebook
    if found.case is not None:
        found.case.audit_seq = found.events
    found.complete = found.case is not None
    return found


def _sweep(case: CaseFile, marks: Mapping[str, datetime], before: datetime) -> None:
    """What the sweep had marked before a record recorded at `before`: an open deadline whose
    stored mark falls after its due time and no later than `before`."""
    for deadline in case.deadlines:
        if deadline.status is not DeadlineStatus.OPEN or deadline.rule in NEVER_BREACHED:
            continue
        mark = marks.get(deadline.key)
        if mark is not None and deadline.due_at < mark <= before:
            deadline.status = DeadlineStatus.BREACHED


def _rulebook(
    found: Replayed, record: AuditEntry, rulebook_of: Callable[[str], Rulebook | None]
) -> Rulebook | None:
    rulebook = rulebook_of(record.rulebook)
    if rulebook is None:
        found.mismatches.append(Mismatch(record.seq, "rulebook", record.rulebook, None))
    return rulebook


def _open(
    found: Replayed,
    record: AuditEntry,
    case_id: int,
    child_ref: str,
    rulebook_of: Callable[[str], Rulebook | None],
) -> Rulebook | None:
    rulebook = _rulebook(found, record, rulebook_of)
    if rulebook is None:
        return None
    try:
        facts = json.loads(record.payload)
        expected = "expected_birth_date" in facts
        birth = facts["expected_birth_date" if expected else "birth_date"]
        notifier = facts.get("notifier")
        case, outcome = open_case(
            municipality=facts["municipality"],
            rulebook=rulebook,
            child_ref=child_ref,
            birth_date=date.fromisoformat(birth),
            aware_at=datetime.fromisoformat(facts["aware_at"]),
            source=Source(facts["source"]),
            notifier=Notifier(notifier) if notifier else None,
            now=record.recorded_at,
            applied_for=facts.get("applied_for"),
            birth_expected=expected,
        )
    except EventRefused as refused:
        found.mismatches.append(Mismatch(record.seq, "refused", record.event, refused.code.value))
        return None
    except (KeyError, TypeError, ValueError, AttributeError):
        found.mismatches.append(Mismatch(record.seq, "payload", record.payload, None))
        return None
    case.id = case_id
    owned = {k: facts[k] for k in OWNER_FIELDS if k in facts}
    if len(owned) == len(OWNER_FIELDS):
        found.owner = (owned["worker"], owned["team"])
    _compare(
        found,
        record,
        from_phase=None,
        to_phase=outcome.to_phase.value,
        event_at=outcome.at,
        payload=canonical_json(outcome.payload | owned),
        legal_basis=outcome.legal_basis,
    )
    found.case = case
    found.opened_at = record.recorded_at
    return rulebook


def _migrate(
    found: Replayed,
    case: CaseFile,
    pinned: Rulebook,
    record: AuditEntry,
    rulebook_of: Callable[[str], Rulebook | None],
) -> Rulebook | None:
    target = _rulebook(found, record, rulebook_of)
    if target is None:
        return None
    plan = plan_migration(case, pinned, target)
    if plan.refusal is not None:
        found.mismatches.append(
            Mismatch(record.seq, "refused", record.event, plan.refusal.code.value)
        )
        return None
    _compare(
        found,
        record,
        from_phase=case.phase.value,
        to_phase=case.phase.value,
        event_at=record.event_at,
        payload=canonical_json(plan_view(plan)),
        legal_basis=migration_legal_basis(target),
    )
    apply_migration(case, plan, target, record.event_at, record.recorded_at)
    return target


def _fire(
    found: Replayed,
    case: CaseFile,
    pinned: Rulebook,
    record: AuditEntry,
    rulebook_of: Callable[[str], Rulebook | None],
    actors: set[str],
) -> Rulebook | None:
    rulebook = pinned
    if record.rulebook != pinned.key:
        # Judged under a version the case was not pinned to: the domain would not have. The
        # replay goes on under the version the record names.
        found.mismatches.append(Mismatch(record.seq, "rulebook", record.rulebook, pinned.key))
        named = _rulebook(found, record, rulebook_of)
        if named is None:
            return None
        rulebook = named
    phase = case.phase.value
    model = PAYLOADS.get(Event(record.event)) if record.event in _EVENT_NAMES else None
    if model is None:  # no event a person fires on a case (`CASE_EVENTS`)
        found.mismatches.append(Mismatch(record.seq, "event", record.event, None))
        return None
    try:
        stored = json.loads(record.payload)
        # The recorded payload is the event's data and what the event established besides it
        # (`CaseProcess.recorded`): the data is what the payload model knows.
        data = {k: v for k, v in stored.items() if k in model.model_fields}
        role = Role(record.role)
    except (KeyError, TypeError, ValueError, AttributeError):
        found.mismatches.append(Mismatch(record.seq, "payload", record.payload, None))
        return None
    if record.event in ACTOR_EVENTS:
        case.involved = frozenset(actors)
    try:
        outcome = fire(
            case,
            rulebook,
            record.event,
            data,
            at=record.event_at,
            now=record.recorded_at,
            role=role,
            actor=record.actor,
        )
    except EventRefused as refused:
        found.mismatches.append(Mismatch(record.seq, "refused", record.event, refused.code.value))
        return None
    finally:
        case.involved = frozenset()
    _compare(
        found,
        record,
        from_phase=phase,
        to_phase=outcome.to_phase.value,
        event_at=outcome.at,
        payload=canonical_json(outcome.payload),
        legal_basis=outcome.legal_basis,
    )
    return rulebook


def _compare(
    found: Replayed,
    record: AuditEntry,
    *,
    from_phase: str | None,
    to_phase: str,
    event_at: datetime,
    payload: str,
    legal_basis: str,
) -> None:
    for name, replayed in (
        ("from_phase", from_phase),
        ("to_phase", to_phase),
        ("event_at", event_at),
        ("payload", payload),
        ("legal_basis", legal_basis),
    ):
        stored = getattr(record, name)
        if stored != replayed:
            found.mismatches.append(Mismatch(record.seq, name, stored, replayed))
