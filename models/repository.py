"""The only way to the database: a unit of work holding one transaction, and the case repository.

SQLAlchemy Core statements on the SQLModel tables: an event is a handful of indexed statements,
which keeps the per-event cost close to hand-written SQL (see bench/). The statements of the
event path are built once, at import, with bound parameters, and compiled once per dialect
(`models.statements.Prepared`) instead of being built, coerced, cache-keyed and set up again on
every call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from models import readmodels
from models.statements import Prepared, Runner
from models.tables import (
    AccessRecord,
    AuditCheckpoint,
    AuditRecord,
    Case,
    Credential,
    Deadline,
    LogHead,
    Measure,
    Notification,
    OpenCaseload,
    User,
)
from statemachine.audit import GENESIS, AuditEntry, AuditKey, access_digest
from statemachine.case import (
    CaseFile,
    ChildConversation,
    Complaint,
    DeadlineState,
    Decision,
    MeasureState,
    ReceivedNotification,
)
from statemachine.errors import CaseNotFound, ConcurrencyConflict
from statemachine.explanation import from_json
from statemachine.phases import DeadlineStatus, Notifier, Phase, Source
from statemachine.rulebook import Rulebook
from statemachine.stuck import ClockFacts, stuck_clock

__all__ = ["CaseNotFound", "CaseRepository", "ConcurrencyConflict", "StoredCase", "UnitOfWork"]

CASE = Case.__table__  # type: ignore[attr-defined]
MEASURE = Measure.__table__  # type: ignore[attr-defined]
DEADLINE = Deadline.__table__  # type: ignore[attr-defined]
AUDIT = AuditRecord.__table__  # type: ignore[attr-defined]
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
USER = User.__table__  # type: ignore[attr-defined]
CREDENTIAL = Credential.__table__  # type: ignore[attr-defined]
ACCESS_LOG = AccessRecord.__table__  # type: ignore[attr-defined]
OPEN_CASELOAD = OpenCaseload.__table__  # type: ignore[attr-defined]
LOG_HEAD = LogHead.__table__  # type: ignore[attr-defined]
CHECKPOINT = AuditCheckpoint.__table__  # type: ignore[attr-defined]
ACCESS_CHAIN = "access_log"
# Case ids are 32-bit integers (PostgreSQL's `integer`): a larger one names no case, and binding
# it to a statement would fail instead of finding nothing.
MAX_CASE_ID = 2**31 - 1

# The event path's statements, built once. Parameters that are not column values start with `_`
# (an UPDATE's SET clause takes the keys that name columns).
_LOAD_CASE = Prepared(select(CASE).where(CASE.c.id == bindparam("_case_id")))
_LOAD_MEASURES = Prepared(
    select(MEASURE).where(MEASURE.c.case_id == bindparam("_case_id")).order_by(MEASURE.c.id)
)
_LOAD_MEASURE_KEYS = Prepared(
    select(MEASURE.c.key).where(MEASURE.c.case_id == bindparam("_case_id"))
)
_LOAD_DEADLINES = Prepared(
    select(DEADLINE).where(DEADLINE.c.case_id == bindparam("_case_id")).order_by(DEADLINE.c.id)
)
_INSERT_CASE = insert(CASE)
# The version guard: the row changes only if nobody else changed it since it was loaded.
_UPDATE_CASE = Prepared(
    update(CASE).where(
        and_(CASE.c.id == bindparam("_case_id"), CASE.c.version == bindparam("_expected_version"))
    )
)
_INSERT_MEASURE = Prepared(insert(MEASURE))
_UPDATE_MEASURE = Prepared(
    update(MEASURE).where(
        and_(MEASURE.c.case_id == bindparam("_case_id"), MEASURE.c.key == bindparam("_key"))
    )
)
_INSERT_DEADLINE = Prepared(insert(DEADLINE))
_UPDATE_DEADLINE = Prepared(update(DEADLINE).where(DEADLINE.c.id == bindparam("_deadline_id")))
_INSERT_AUDIT = Prepared(insert(AUDIT))
# What the deadline tally counts of each of a case's deadlines, as stored now: read (and on
# PostgreSQL locked) in the writing transaction, so a breach the sweep marked after the case
# was loaded is moved out of the tally, not counted twice.
_LOCK_DEADLINE_COUNTS = Prepared(
    select(
        DEADLINE.c.id, DEADLINE.c.rule, DEADLINE.c.status, DEADLINE.c.due_at, DEADLINE.c.closed_at
    )
    .where(DEADLINE.c.case_id == bindparam("_case_id"))
    .with_for_update()
)
_INSERT_STAY = Prepared(insert(readmodels.STAY))


@dataclass(frozen=True)
class StoredCase:
    """A case as loaded for an event: the domain's CaseFile plus what only persistence knows."""

    file: CaseFile
    worker: str | None
    team: str | None
    opened_at: datetime
    audit_seq: int
    audit_hash: str
    deadline_ids: dict[str, int]
    # Keys of the measures stored for the case (None: not known, ask the database). Kept up to
    # date by `CaseRepository.save`, so saving never re-reads what `get` already read.
    measure_keys: set[str] | None = None
    # How each stored deadline counted in the deadline tally when loaded, by id (None: not
    # known, ask the database). A snapshot: the domain changes the case file's deadlines.
    deadline_counts: dict[int, tuple[str, str, datetime, datetime | None]] | None = None

    def recorded(self, seq: int, digest: str) -> StoredCase:
        """The case as stored once `CaseRepository.record` has written record `seq` (hash
        `digest`) in this transaction, for a second record in the same one (a rulebook move,
        then the event it was made for): its audit head moved on, and how its deadlines
        count in the tally read again, since the record may have rewritten them."""
        return replace(self, audit_seq=seq, audit_hash=digest, deadline_counts=None)


_FACT_INSTANTS = (
    "provisional_assessment_at",
    "party_hearing_at",
    "investigated_at",
    "compulsory_examination_at",
    "last_decision_at",
)


def clock_facts_of(case: CaseFile) -> ClockFacts:
    """What the stuck clock reads of a case file."""
    return ClockFacts(
        phase=case.phase,
        phase_entered_at=case.phase_entered_at,
        last_event_at=case.last_event_at,
        birth_date=case.birth_date,
        consents=frozenset(case.consents),
        without_consent_decided=case.without_consent_decided,
        birth_expected=case.birth_expected,
        child_heard_at=max(
            [*(c.at for c in case.child_conversations), *case.child_conversation_exceptions],
            default=None,
        ),
        last_decision_at=case.last_decision_at,
    )


def breached_since(case: CaseFile) -> datetime | None:
    """The due time of the case's oldest breached deadline; None: none, or the case is closed
    (the stuck rule is about open cases)."""
    if case.phase is Phase.CLOSURE:
        return None
    due = [d.due_at for d in case.deadlines if d.status is DeadlineStatus.BREACHED]
    return min(due, default=None)


def stuck_clock_values(rulebook: Rulebook, facts: ClockFacts) -> dict[str, datetime | None]:
    """The case row's stuck-clock columns for `facts` (statemachine.stuck.stuck_clock)."""
    clock = stuck_clock(rulebook, facts)
    return {
        "over_norm_at": clock.over_norm_at,
        "inactive_at": clock.inactive_at,
        "consent_wait_at": clock.consent_wait_at,
        "conversation_missing_at": clock.conversation_missing_at,
        "stuck_at": clock.stuck_at,
    }


def facts_of(case: CaseFile) -> dict[str, Any]:
    facts: dict[str, Any] = {
        # A child not yet born: the row's birth_date is the expected date (no other personal
        # data than a date); `record_birth` replaces it and drops the fact.
        **({"expected": True} if case.birth_expected else {}),
        "consents": sorted(case.consents),
        "without_consent_decided": case.without_consent_decided,
        "acute": case.acute,
        "action_plan": case.action_plan,
        "proposed_measures": case.proposed_measures,
        "close_reason": case.close_reason,
        "investigation_without_consent_of": case.investigation_without_consent_of,
        "follow_up_plans": case.follow_up_plans,
        "applied_for": case.applied_for,
        "decision_expected_by": (
            case.decision_expected_by.isoformat() if case.decision_expected_by else None
        ),
        # Barnets Lov §5: instants and two yes/no facts, never what the child said.
        "child_conversations": [
            {
                "at": c.at.isoformat(),
                "without_parents": c.without_parents,
                "support_person_offered": c.support_person_offered,
            }
            for c in case.child_conversations
        ],
        "child_conversation_exceptions": [
            at.isoformat() for at in case.child_conversation_exceptions
        ],
        # Complaints and further notifications: numbers, instants and outcomes, never a text.
        "decisions": [
            {"seq": d.seq, "event": d.event, "at": d.at.isoformat(), "role": d.role}
            for d in case.decisions
        ],
        "complaints": [
            {
                "number": c.number,
                "decision_seq": c.decision_seq,
                "received_at": c.received_at.isoformat(),
                "late": c.late,
                "direct": c.direct,
                "status": c.status,
                "reassessment_outcome": c.reassessment_outcome,
                "appeal_outcome": c.appeal_outcome,
            }
            for c in case.complaints
        ],
        "notifications": [
            {"number": n.number, "aware_at": n.aware_at.isoformat(), "notifier": n.notifier}
            for n in case.notifications
        ],
    }
    for name in _FACT_INSTANTS:
        value = getattr(case, name)
        facts[name] = value.isoformat() if value else None
    return facts


def _apply_facts(case: CaseFile, facts: dict[str, Any]) -> None:
    case.birth_expected = bool(facts.get("expected", False))
    case.consents = set(facts.get("consents", []))
    case.without_consent_decided = bool(facts.get("without_consent_decided", False))
    case.acute = facts.get("acute")
    case.action_plan = facts.get("action_plan")
    case.proposed_measures = list(facts.get("proposed_measures", []))
    case.close_reason = facts.get("close_reason")
    case.investigation_without_consent_of = facts.get("investigation_without_consent_of")
    case.follow_up_plans = dict(facts.get("follow_up_plans") or {})
    case.applied_for = facts.get("applied_for")
    expected_by = facts.get("decision_expected_by")
    case.decision_expected_by = date.fromisoformat(expected_by) if expected_by else None
    case.child_conversations = [
        ChildConversation(
            at=datetime.fromisoformat(c["at"]),
            without_parents=bool(c["without_parents"]),
            support_person_offered=bool(c["support_person_offered"]),
        )
        for c in facts.get("child_conversations", [])
    ]
    case.child_conversation_exceptions = [
        datetime.fromisoformat(at) for at in facts.get("child_conversation_exceptions", [])
    ]
    case.decisions = [
        Decision(
            seq=int(d["seq"]),
            event=d["event"],
            at=datetime.fromisoformat(d["at"]),
            role=d["role"],
        )
        for d in facts.get("decisions", [])
    ]
    case.complaints = [
        Complaint(
            number=int(c["number"]),
            decision_seq=int(c["decision_seq"]),
            received_at=datetime.fromisoformat(c["received_at"]),
            late=bool(c["late"]),
            direct=bool(c["direct"]),
            status=c["status"],
            reassessment_outcome=c.get("reassessment_outcome"),
            appeal_outcome=c.get("appeal_outcome"),
        )
        for c in facts.get("complaints", [])
    ]
    case.notifications = [
        ReceivedNotification(
            number=int(n["number"]),
            aware_at=datetime.fromisoformat(n["aware_at"]),
            notifier=n["notifier"],
        )
        for n in facts.get("notifications", [])
    ]
    for name in _FACT_INSTANTS:
        value = facts.get(name)
        setattr(case, name, datetime.fromisoformat(value) if value else None)


def _measure_of(row: Row[Any]) -> MeasureState:
    return MeasureState(
        key=row.key,
        type=row.type,
        package=row.package,
        granted_at=row.granted_at,
        external=row.external,
        without_consent=row.without_consent,
        started_at=row.started_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        goals_met=row.goals_met,
        last_follow_up_at=row.last_follow_up_at,
        follow_ups_held=row.follow_ups_held,
    )


def _deadline_of(row: Row[Any]) -> DeadlineState:
    return DeadlineState(
        key=row.key,
        rule=row.rule,
        measure_key=row.measure_key,
        anchor_at=row.anchor_at,
        due_at=row.due_at,
        status=DeadlineStatus(row.status),
        source=row.source,
        responsible=row.responsible,
        escalated_to=row.escalated_to,
        explanation=from_json(row.explanation),
        armed_at=row.armed_at,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
    )


def measure_values(measure: MeasureState) -> dict[str, Any]:
    return {
        "type": measure.type,
        "package": measure.package,
        "external": measure.external,
        "without_consent": measure.without_consent,
        "granted_at": measure.granted_at,
        "started_at": measure.started_at,
        "ended_at": measure.ended_at,
        "end_reason": measure.end_reason,
        "goals_met": measure.goals_met,
        "last_follow_up_at": measure.last_follow_up_at,
        "follow_ups_held": measure.follow_ups_held,
    }


def deadline_values(deadline: DeadlineState) -> dict[str, Any]:
    return {
        "rule": deadline.rule,
        "measure_key": deadline.measure_key,
        "anchor_at": deadline.anchor_at,
        "due_at": deadline.due_at,
        "status": deadline.status.value,
        "source": deadline.source,
        "responsible": deadline.responsible,
        "escalated_to": deadline.escalated_to,
        "explanation": deadline.explanation.to_json(),
        "armed_at": deadline.armed_at,
        "closed_at": deadline.closed_at,
        "closed_by": deadline.closed_by,
    }


def _rows(rows: list[dict[str, Any]]) -> dict[str, Any] | list[dict[str, Any]]:
    """One row as a plain execute, several as one executemany."""
    return rows[0] if len(rows) == 1 else rows


class CaseRepository:
    """Cases, their measures and deadlines, and their audit records, inside one transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._run = Runner(connection)

    def add(
        self, case: CaseFile, *, worker: str | None, team: str | None, opened_at: datetime
    ) -> int:
        result = self.connection.execute(
            _INSERT_CASE,
            {
                "municipality": case.municipality,
                "rulebook_id": case.rulebook_id,
                "rulebook_version": case.rulebook_version,
                "child_ref": case.child_ref,
                "birth_date": case.birth_date,
                "source": case.source.value,
                "notifier": case.notifier.value if case.notifier else None,
                "worker": worker,
                "team": team,
                "phase": case.phase.value,
                "aware_at": case.aware_at,
                "phase_entered_at": case.phase_entered_at,
                "last_event_at": case.last_event_at,
                "opened_at": opened_at,
                "version": case.version,
                "facts": facts_of(case),
                "audit_seq": 0,
                "audit_hash": "",
            },
        )
        key = result.inserted_primary_key
        assert key is not None
        case_id = int(key[0])
        case.id = case_id
        if case.phase is not Phase.CLOSURE:
            count_open_case(self.connection, case.municipality, team, worker, +1)
        return case_id

    def open_case_of(self, municipality: str, child_ref: str) -> int | None:
        """The child's open case in the municipality (the newest, should there be several)."""
        query = (
            select(CASE.c.id)
            .where(
                CASE.c.municipality == municipality,
                CASE.c.child_ref == child_ref,
                CASE.c.phase != Phase.CLOSURE.value,
            )
            .order_by(CASE.c.id.desc())
            .limit(1)
        )
        found = self.connection.execute(query).scalar()
        return None if found is None else int(found)

    def actors(self, case_id: int) -> frozenset[str]:
        """Everyone the case's audit trail names as having acted on it."""
        query = select(AUDIT.c.actor).where(AUDIT.c.case_id == case_id).distinct()
        return frozenset(self.connection.execute(query).scalars())

    def get(self, case_id: int) -> StoredCase:
        if not 1 <= case_id <= MAX_CASE_ID:
            raise CaseNotFound(case_id)
        params = {"_case_id": case_id}
        run = self._run
        row = run.first(_LOAD_CASE, params)
        if row is None:
            raise CaseNotFound(case_id)
        case = CaseFile(
            id=row.id,
            municipality=row.municipality,
            rulebook_id=row.rulebook_id,
            rulebook_version=row.rulebook_version,
            child_ref=row.child_ref,
            birth_date=row.birth_date,
            aware_at=row.aware_at,
            source=Source(row.source),
            notifier=Notifier(row.notifier) if row.notifier else None,
            phase=Phase(row.phase),
            phase_entered_at=row.phase_entered_at,
            last_event_at=row.last_event_at,
            version=row.version,
            audit_seq=row.audit_seq,
        )
        _apply_facts(case, row.facts)
        measures = run.rows(_LOAD_MEASURES, params)
        case.measures = [_measure_of(m) for m in measures]
        deadlines = run.rows(_LOAD_DEADLINES, params)
        case.deadlines = [_deadline_of(d) for d in deadlines]
        return StoredCase(
            file=case,
            worker=row.worker,
            team=row.team,
            opened_at=row.opened_at,
            audit_seq=row.audit_seq,
            audit_hash=row.audit_hash,
            deadline_ids={d.key: d.id for d in deadlines},
            measure_keys={m.key for m in measures},
            deadline_counts={d.id: (d.rule, d.status, d.due_at, d.closed_at) for d in deadlines},
        )

    def record(
        self,
        stored: StoredCase,
        entry: AuditEntry,
        measures: Sequence[MeasureState],
        deadlines: Sequence[DeadlineState],
        *,
        rulebook: Rulebook,
        key: AuditKey | None = None,
    ) -> str:
        """The one audit writer: save the case's new state, then append its audit record,
        MACed with `key` (statemachine.audit; None: an unkeyed record, as before keys).

        `entry.seq` must follow the stored head (`stored.audit_seq + 1`). The version-guarded
        update of the case row comes first: a second writer that loaded the same version waits
        on that row and then gets ConcurrencyConflict, instead of colliding with the first on
        audit_log's (case_id, seq) key (an IntegrityError on PostgreSQL). Returns the record's
        hash, the case's new audit head.

        `rulebook`: the version the case is pinned to after the event; the case row's stuck
        clock (`stuck_clock_values`) is computed from it and the case's new facts, so the
        stored instants are true after every event and every rulebook migration.
        """
        if entry.seq != stored.audit_seq + 1 or entry.case_id != stored.file.id:
            raise ValueError(f"audit record {entry.seq} does not follow the case's head")
        prev_hash = stored.audit_hash or GENESIS
        digest = entry.digest(prev_hash, key)
        self._save(stored, measures, deadlines, (entry.seq, digest), rulebook)
        if entry.from_phase is not None and entry.from_phase != entry.to_phase:
            self._end_stay(stored, entry)
        self._append_audit(entry, prev_hash, digest, None if key is None else key.id)
        stored.file.audit_seq = entry.seq
        closure = Phase.CLOSURE.value
        if (entry.from_phase == closure) != (entry.to_phase == closure):
            # Into closure the case leaves the open caseload; out of it, it comes back.
            delta = -1 if entry.to_phase == closure else +1
            count_open_case(
                self.connection, stored.file.municipality, stored.team, stored.worker, delta
            )
        return digest

    def _end_stay(self, stored: StoredCase, entry: AuditEntry) -> None:
        """A phase change ends the stay the case's previous phase change began (the phase stay
        read model; the compliance report's median days per phase)."""
        began = readmodels.last_phase_change(self._run, entry.case_id)
        if began is None:
            return
        phase, entered_at = began
        self._run.write(
            _INSERT_STAY,
            {
                "case_id": entry.case_id,
                "municipality": stored.file.municipality,
                "team": stored.team,
                "worker": stored.worker,
                "phase": phase,
                "entered_at": entered_at,
                "left_at": entry.event_at,
                "days": readmodels.days_between(entry.event_at, entered_at),
            },
        )

    def _save(
        self,
        stored: StoredCase,
        measures: Sequence[MeasureState],
        deadlines: Sequence[DeadlineState],
        audit: tuple[int, str],
        rulebook: Rulebook,
    ) -> None:
        """Write the case's new state; the case row's version guards against a lost update."""
        case = stored.file
        if (case.rulebook_id, case.rulebook_version) != (rulebook.id, rulebook.version):
            raise ValueError(f"case {case.id} is not pinned to rulebook {rulebook.key}")
        values: dict[str, Any] = {
            **stuck_clock_values(rulebook, clock_facts_of(case)),
            "breached_since": breached_since(case),
            "_case_id": case.id,
            "_expected_version": case.version,
            "phase": case.phase.value,
            "phase_entered_at": case.phase_entered_at,
            "last_event_at": case.last_event_at,
            # record_birth replaces an expected date with the birth date.
            "birth_date": case.birth_date,
            "facts": facts_of(case),
            "version": case.version + 1,
            "rulebook_id": case.rulebook_id,
            "rulebook_version": case.rulebook_version,
        }
        values["audit_seq"], values["audit_hash"] = audit
        if self._run.write(_UPDATE_CASE, values) != 1:
            raise ConcurrencyConflict(case.id, case.version)
        case.version += 1
        self._save_measures(stored, measures)
        self._save_deadlines(stored, deadlines)

    def _save_measures(self, stored: StoredCase, measures: Sequence[MeasureState]) -> None:
        if not measures:
            return
        case_id = stored.file.id
        known = stored.measure_keys
        if known is None:
            rows = self._run.rows(_LOAD_MEASURE_KEYS, {"_case_id": case_id})
            known = {row.key for row in rows}
        fresh = [
            {"case_id": case_id, "key": m.key, **measure_values(m)}
            for m in measures
            if m.key not in known
        ]
        changed = [
            {"_case_id": case_id, "_key": m.key, **measure_values(m)}
            for m in measures
            if m.key in known
        ]
        if fresh:
            # In the case's order: `get` reads measures back by id.
            self._run.write(_INSERT_MEASURE, _rows(fresh))
        if changed:
            self._run.write(_UPDATE_MEASURE, _rows(changed))
        if stored.measure_keys is not None:
            stored.measure_keys.update(m["key"] for m in fresh)

    def _save_deadlines(self, stored: StoredCase, deadlines: Sequence[DeadlineState]) -> None:
        case_id, ids = stored.file.id, stored.deadline_ids
        self._tally(stored, deadlines)
        fresh = [
            # A new deadline has no notification yet (the sweep keeps its rungs' mask).
            {"case_id": case_id, "key": d.key, "notified_rungs": 0, **deadline_values(d)}
            for d in deadlines
            if d.key not in ids
        ]
        changed = [
            {"_deadline_id": ids[d.key], **deadline_values(d)} for d in deadlines if d.key in ids
        ]
        if fresh:
            self._run.write(_INSERT_DEADLINE, _rows(fresh))
        if changed:
            self._run.write(_UPDATE_DEADLINE, _rows(changed))

    def _tally(self, stored: StoredCase, deadlines: Sequence[DeadlineState]) -> None:
        """Move each written deadline in the deadline tally from how it counted as stored to how
        it counts as written (the read model; models/readmodels.py)."""
        if not deadlines:
            return
        ids = stored.deadline_ids
        owner = (stored.file.municipality, stored.team, stored.worker)
        counts: dict[int, tuple[str, str, datetime, datetime | None]] = {}
        if any(d.key in ids for d in deadlines):
            counts = stored.deadline_counts or {}
            if stored.deadline_counts is None or self.connection.dialect.name == "postgresql":
                # PostgreSQL reads committed rows: the sweep may have breached one of these
                # since the case was loaded, so they are read again, locked. On SQLite a writing
                # transaction begins IMMEDIATE (models/database.py), before the case is loaded:
                # what was loaded is what is stored.
                rows = self._run.rows(_LOCK_DEADLINE_COUNTS, {"_case_id": stored.file.id})
                counts = {r.id: (r.rule, r.status, r.due_at, r.closed_at) for r in rows}
        deltas: defaultdict[readmodels.TallyKey, int] = defaultdict(int)
        for d in deadlines:
            now_counted = (d.rule, d.status.value, d.due_at, d.closed_at)
            was = counts.get(ids[d.key]) if d.key in ids else None
            if was == now_counted:
                continue  # written unchanged: counts where it counted
            before = None if was is None else readmodels.tally_key(owner, *was)
            readmodels.moved(deltas, before, readmodels.tally_key(owner, *now_counted))
        readmodels.add_to_tally(self.connection, deltas, self._run)

    def _append_audit(
        self, entry: AuditEntry, prev_hash: str, digest: str, key_id: str | None
    ) -> None:
        self._run.write(
            _INSERT_AUDIT,
            {
                "case_id": entry.case_id,
                "seq": entry.seq,
                "event": entry.event,
                "from_phase": entry.from_phase,
                "to_phase": entry.to_phase,
                "event_at": entry.event_at,
                "recorded_at": entry.recorded_at,
                "actor": entry.actor,
                "role": entry.role,
                "payload": entry.payload,
                "legal_basis": entry.legal_basis,
                "rulebook": entry.rulebook,
                "prev_hash": prev_hash,
                "hash": digest,
                "key_id": key_id,
                "channel": entry.channel,
                "os_user": entry.os_user,
                "as_operator": entry.as_operator if key_id is not None else None,
            },
        )

    def history(self, case_id: int) -> list[Row[Any]]:
        return list(
            self.connection.execute(
                select(AUDIT).where(AUDIT.c.case_id == case_id).order_by(AUDIT.c.seq)
            ).all()
        )

    def deadline_rows(self, case_id: int) -> list[Row[Any]]:
        return list(
            self.connection.execute(
                select(DEADLINE).where(DEADLINE.c.case_id == case_id).order_by(DEADLINE.c.due_at)
            ).all()
        )

    def measure_rows(self, case_id: int) -> list[Row[Any]]:
        return list(
            self.connection.execute(
                select(MEASURE).where(MEASURE.c.case_id == case_id).order_by(MEASURE.c.id)
            ).all()
        )

    def list(
        self,
        *,
        phase: str | None = None,
        worker: str | None = None,
        team: str | None = None,
        municipality: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        scope: ColumnElement[bool] | None = None,
        q: str | None = None,
    ) -> list[Row[Any]]:
        """Cases matching every filter, by id; `scope` is a further WHERE clause over the case
        table (the signed-in user's visibility, sagsflow/access.py); `q`: a search
        (`case_search`)."""
        query = select(CASE).order_by(CASE.c.id)
        if scope is not None:
            query = query.where(scope)
        if q is not None:
            query = query.where(case_search(q))
        if offset:
            query = query.offset(offset)
        for column, value in (
            (CASE.c.phase, phase),
            (CASE.c.worker, worker),
            (CASE.c.team, team),
            (CASE.c.municipality, municipality),
        ):
            if value is not None:
                query = query.where(column == value)
        if limit is not None:
            query = query.limit(limit)
        return list(self.connection.execute(query).all())

    def count(self) -> int:
        return int(self.connection.execute(select(func.count()).select_from(CASE)).scalar_one())


def _prefix_end(prefix: str) -> str | None:
    """The least text above every text that begins with `prefix` (code point order, which is
    SQLite's BINARY and PostgreSQL's C collation); None: there is none (the prefix is all
    U+10FFFF)."""
    text = prefix.rstrip(chr(0x10FFFF))
    if not text:
        return None
    last = ord(text[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # no surrogates in a stored text
        last = 0xE000
    return text[:-1] + chr(last)


def case_search(q: str) -> ColumnElement[bool]:
    """The cases a search `q` finds: the child reference is `q` or begins with it, or — when
    `q` is a number — the case number is `q`. `q` as the child reference is stored (NFC, outer
    spaces off: `statemachine.process.pseudonymous_child_ref`).

    The prefix is a range over the indexed `child_ref` (`>= q AND < the next text`), not a
    LIKE: SQLite's LIKE is case-insensitive and ignores the index, PostgreSQL's uses a B-tree
    only under the C collation or `text_pattern_ops`. The range is exact in code point order
    (SQLite's BINARY; PostgreSQL's C collation, which the deployment's databases use); under
    another PostgreSQL collation a prefix might be missed, never a text without it found, as
    `substr` keeps exactly the texts that begin with `q`."""
    if not q:
        return and_(CASE.c.child_ref == q)
    found: list[ColumnElement[bool]] = []
    end = _prefix_end(q)
    prefix = and_(
        CASE.c.child_ref >= q,
        *([CASE.c.child_ref < end] if end is not None else []),
        func.substr(CASE.c.child_ref, 1, len(q)) == q,
    )
    found.append(prefix)
    if q.isascii() and q.isdigit() and 1 <= int(q) <= MAX_CASE_ID:
        found.append(CASE.c.id == int(q))
    return or_(*found)


class UnitOfWork:
    """One transaction: everything inside commits together or not at all."""

    def __init__(self, engine: Engine, *, readonly: bool = False) -> None:
        self.engine = engine
        self.readonly = readonly
        self._connection: Connection | None = None

    def __enter__(self) -> UnitOfWork:
        self._connection = self.engine.connect()
        if self.readonly:
            self._connection.execution_options(readonly=True)
        self._connection.begin()
        return self

    @property
    def connection(self) -> Connection:
        assert self._connection is not None, "use the unit of work as a context manager"
        return self._connection

    @property
    def cases(self) -> CaseRepository:
        return CaseRepository(self.connection)

    def commit(self) -> None:
        self.connection.commit()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection = self.connection
        try:
            if connection.in_transaction():
                connection.rollback()
        finally:
            connection.close()
            self._connection = None


# --- the open-caseload read model (models.tables.OpenCaseload) ---------------------------------


def count_open_case(
    connection: Connection, municipality: str, team: str | None, worker: str | None, delta: int
) -> None:
    """Add `delta` to the open cases of (municipality, team, worker), in the caller's
    transaction: one upsert, so two first cases of a caseworker opened at once both count."""
    key = {"municipality": municipality, "team": team or "", "worker": worker or ""}
    added = {"open_cases": OPEN_CASELOAD.c.open_cases + delta}
    statement: Any
    if connection.dialect.name == "postgresql":
        statement = postgresql_insert(OPEN_CASELOAD).values(**key, open_cases=delta)
        statement = statement.on_conflict_do_update(index_elements=list(key), set_=added)
    else:
        statement = sqlite_insert(OPEN_CASELOAD).values(**key, open_cases=delta)
        statement = statement.on_conflict_do_update(index_elements=list(key), set_=added)
    connection.execute(statement)


RECOUNT_OPEN_CASELOAD = (
    "INSERT INTO open_caseload (municipality, team, worker, open_cases) "
    "SELECT municipality, coalesce(team, ''), coalesce(worker, ''), count(*) FROM \"case\" "
    "WHERE phase <> 'closure' GROUP BY municipality, coalesce(team, ''), coalesce(worker, '')"
)


def recount_open_caseload(connection: Connection) -> None:
    """Count the open caseload afresh from the case table (the migration that made the read
    model, and loaders that write case rows in bulk without the repository)."""
    connection.execute(OPEN_CASELOAD.delete())
    connection.exec_driver_sql(RECOUNT_OPEN_CASELOAD)


# --- the access log's chain (statemachine.audit.access_digest) ----------------------------------


def _locked_head(connection: Connection, name: str) -> tuple[int, str]:
    """The head of chain `name`, locked for the caller's transaction (PostgreSQL: the row;
    SQLite: a writing transaction is the database's only writer already)."""
    query = select(LOG_HEAD.c.seq, LOG_HEAD.c.hash).where(LOG_HEAD.c.name == name)
    row = connection.execute(query.with_for_update()).first()
    if row is None:
        statement: Any
        if connection.dialect.name == "postgresql":
            statement = postgresql_insert(LOG_HEAD).on_conflict_do_nothing()
        else:
            statement = sqlite_insert(LOG_HEAD).on_conflict_do_nothing()
        connection.execute(statement, {"name": name, "seq": 0, "hash": GENESIS})
        row = connection.execute(query.with_for_update()).first()
    assert row is not None
    return int(row.seq), str(row.hash)


def append_access(connection: Connection, values: dict[str, Any], key: AuditKey | None) -> None:
    """Append one access-log row to the log's one chain, MACed with `key`, in the caller's
    transaction: the head is locked, so rows join the chain one at a time."""
    seq, prev_hash = _locked_head(connection, ACCESS_CHAIN)
    seq += 1
    digest = access_digest(values, seq, prev_hash, key)
    connection.execute(
        insert(ACCESS_LOG),
        {
            **values,
            "seq": seq,
            "prev_hash": prev_hash,
            "hash": digest,
            "key_id": None if key is None else key.id,
        },
    )
    connection.execute(
        update(LOG_HEAD).where(LOG_HEAD.c.name == ACCESS_CHAIN), {"seq": seq, "hash": digest}
    )
