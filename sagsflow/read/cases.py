"""A case as people and machines see it (`case show`, `case list`, the case page).

The results are typed dictionaries: their keys and values are the API's JSON for a case (the
contract), and every edge — the API, the CLI's `--json`, the dashboard's templates — reads the
same shape. Instants are Copenhagen local ISO texts (`local_iso`), as the API shows them.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any, TypedDict

from sqlalchemy import ColumnElement, select

from models.database import reading
from models.repository import CASE, MAX_CASE_ID, UnitOfWork
from sagsflow.context import Context
from statemachine.calendar import local_iso
from statemachine.explanation import from_json
from statemachine.phases import Phase
from statemachine.process import allowed_events


class MeasureShown(TypedDict):
    id: str
    type: str
    title: str
    package: str | None
    external: bool
    without_consent: bool
    granted_at: str | None
    started_at: str | None
    ended_at: str | None
    end_reason: str | None
    goals_met: bool | None
    last_follow_up_at: str | None
    follow_ups_held: int
    # Barnets Lov §95 stk. 3: the case's own follow-up interval ({amount, unit}); None: the
    # service level's cadence.
    follow_up_every: dict[str, Any] | None
    active: bool


class DeadlineShown(TypedDict):
    id: int
    key: str
    rule: str
    measure_id: str | None
    due_at: str | None
    status: str
    source: str
    responsible: str
    escalated_to: str | None
    anchor_at: str | None
    explanation: Any  # statemachine.explanation: the arithmetic as data
    closed_at: str | None
    closed_by: str | None
    breached_at: str | None


class RecordShown(TypedDict):
    """One audit record of the case's history."""

    seq: int
    event: str
    from_phase: str | None
    to_phase: str
    at: str | None
    recorded_at: str | None
    actor: str
    role: str
    payload: Any
    legal_basis: str
    rulebook: str
    hash: str


class ComplaintShown(TypedDict):
    """One complaint about one of the case's decisions (retssikkerhedsloven §§ 66–67)."""

    complaint: int  # the audit sequence number of its record_complaint record
    decision_seq: int
    decision: str  # grant | refuse
    received_at: str | None
    late: bool
    direct: bool  # a committee decision: to Ankestyrelsen without reassessment
    status: str
    reassessment_outcome: str | None
    appeal_outcome: str | None


class NotificationShown(TypedDict):
    """A further notification received on the open case (Barnets Lov §136)."""

    notification: int  # the audit sequence number of its receive_notification record
    aware_at: str | None
    notifier: str


class CaseShown(TypedDict):
    """`case show` / `GET /api/v1/cases/{id}`."""

    id: int
    phase: str
    version: int
    rulebook: str
    municipality: str
    child_ref: str
    birth_date: str | None  # None while the child is not yet born
    expected_birth_date: str | None  # the expected date of a child not yet born
    aware_at: str | None
    source: str
    notifier: str | None
    worker: str | None
    team: str | None
    phase_entered_at: str | None
    last_event_at: str | None
    consents: list[str]
    decided_without_consent: bool
    # Whose consent was missing when the investigation opened (None: not opened; []: with it).
    investigation_without_consent_of: list[str] | None
    compulsory_examination_at: str | None
    applied_for: str | None
    applied_for_title: str | None
    decision_expected_by: str | None
    # Barnets Lov §5 stk. 3–4: the last conversation with the child, or the last exception.
    child_conversation_at: str | None
    child_conversation_without_parents: bool | None
    child_conversation_exception_at: str | None
    action_plan: Any
    close_reason: str | None
    complaints: list[ComplaintShown]
    notifications: list[NotificationShown]
    allowed_events: list[str]
    measures: list[MeasureShown]
    deadlines: list[DeadlineShown]
    history: list[RecordShown]


class CaseListed(TypedDict):
    """One row of `case list` / `GET /api/v1/cases`."""

    id: int
    phase: str
    municipality: str
    rulebook: str
    child_ref: str
    worker: str | None
    team: str | None
    aware_at: str | None
    phase_entered_at: str | None
    last_event_at: str | None
    version: int


def show_case(context: Context, case_id: int) -> CaseShown:
    """A case with its measures, deadlines (with their explanations, as data:
    `statemachine.explanation`) and history."""
    with UnitOfWork(context.engine, readonly=True) as uow:
        repo = uow.cases
        stored = repo.get(case_id)
        deadlines = repo.deadline_rows(case_id)
        measures = repo.measure_rows(case_id)
        history = repo.history(case_id)
    case = stored.file
    rulebook = context.catalogue.get(case.rulebook_id, case.rulebook_version)
    last_talk = max(case.child_conversations, key=lambda c: c.at, default=None)
    return {
        "id": case.id,
        "phase": case.phase.value,
        "version": case.version,
        "rulebook": rulebook.key,
        "municipality": case.municipality,
        "child_ref": case.child_ref,
        "birth_date": None if case.birth_expected else case.birth_date.isoformat(),
        "expected_birth_date": case.birth_date.isoformat() if case.birth_expected else None,
        "aware_at": local_iso(case.aware_at),
        "source": case.source.value,
        "notifier": case.notifier.value if case.notifier else None,
        "worker": stored.worker,
        "team": stored.team,
        "phase_entered_at": local_iso(case.phase_entered_at),
        "last_event_at": local_iso(case.last_event_at),
        "consents": sorted(case.consents),
        "decided_without_consent": case.without_consent_decided,
        "investigation_without_consent_of": case.investigation_without_consent_of,
        "compulsory_examination_at": local_iso(case.compulsory_examination_at),
        "applied_for": case.applied_for,
        "applied_for_title": (
            rulebook.measures[case.applied_for].title
            if case.applied_for in rulebook.measures
            else case.applied_for
        ),
        "decision_expected_by": (
            case.decision_expected_by.isoformat() if case.decision_expected_by else None
        ),
        "child_conversation_at": local_iso(last_talk.at) if last_talk else None,
        "child_conversation_without_parents": last_talk.without_parents if last_talk else None,
        "child_conversation_exception_at": local_iso(
            max(case.child_conversation_exceptions, default=None)
        ),
        "action_plan": case.action_plan,
        "close_reason": case.close_reason,
        "complaints": [
            {
                "complaint": c.number,
                "decision_seq": c.decision_seq,
                "decision": decision.event if (decision := case.decision(c.decision_seq)) else "",
                "received_at": local_iso(c.received_at),
                "late": c.late,
                "direct": c.direct,
                "status": c.status,
                "reassessment_outcome": c.reassessment_outcome,
                "appeal_outcome": c.appeal_outcome,
            }
            for c in case.complaints
        ],
        "notifications": [
            {"notification": n.number, "aware_at": local_iso(n.aware_at), "notifier": n.notifier}
            for n in case.notifications
        ],
        "allowed_events": []
        if case.phase is Phase.CLOSURE
        else allowed_events(rulebook, case.phase, case),
        "measures": [
            {
                "id": m.key,
                "type": m.type,
                "title": rulebook.measures[m.type].title if m.type in rulebook.measures else m.type,
                "package": m.package,
                "external": m.external,
                "without_consent": m.without_consent,
                "granted_at": local_iso(m.granted_at),
                "started_at": local_iso(m.started_at),
                "ended_at": local_iso(m.ended_at),
                "end_reason": m.end_reason,
                "goals_met": m.goals_met,
                "last_follow_up_at": local_iso(m.last_follow_up_at),
                "follow_ups_held": m.follow_ups_held,
                "follow_up_every": case.follow_up_plans.get(m.key),
                "active": m.ended_at is None,
            }
            for m in measures
        ],
        "deadlines": [
            {
                "id": d.id,
                "key": d.key,
                "rule": d.rule,
                "measure_id": d.measure_key,
                "due_at": local_iso(d.due_at),
                "status": d.status,
                "source": d.source,
                "responsible": d.responsible,
                "escalated_to": d.escalated_to,
                "anchor_at": local_iso(d.anchor_at),
                "explanation": from_json(d.explanation),
                "closed_at": local_iso(d.closed_at),
                "closed_by": d.closed_by,
                "breached_at": local_iso(d.breached_at),
            }
            for d in deadlines
        ],
        "history": [
            {
                "seq": h.seq,
                "event": h.event,
                "from_phase": h.from_phase,
                "to_phase": h.to_phase,
                "at": local_iso(h.event_at),
                "recorded_at": local_iso(h.recorded_at),
                "actor": h.actor,
                "role": h.role,
                "payload": json.loads(h.payload),
                "legal_basis": h.legal_basis,
                "rulebook": h.rulebook,
                "hash": h.hash,
            }
            for h in history
        ],
    }


def list_cases(
    context: Context,
    *,
    phase: str | None = None,
    worker: str | None = None,
    team: str | None = None,
    municipality: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    scope: ColumnElement[bool] | None = None,
    q: str | None = None,
) -> list[CaseListed]:
    """Cases matching every filter given, oldest first; `scope`: a further WHERE clause over the
    case table (the signed-in user's visibility, sagsflow/access.py); `q`: a search by case
    number or child reference, exact or its beginning (`search_text` first;
    `models.repository.case_search`)."""
    with UnitOfWork(context.engine, readonly=True) as uow:
        rows = uow.cases.list(
            phase=phase,
            worker=worker,
            team=team,
            municipality=municipality,
            limit=limit,
            offset=offset,
            scope=scope,
            q=q,
        )
    return [
        {
            "id": r.id,
            "phase": r.phase,
            "municipality": r.municipality,
            "rulebook": f"{r.rulebook_id}@{r.rulebook_version}",
            "child_ref": r.child_ref,
            "worker": r.worker,
            "team": r.team,
            "aware_at": local_iso(r.aware_at),
            "phase_entered_at": local_iso(r.phase_entered_at),
            "last_event_at": local_iso(r.last_event_at),
            "version": r.version,
        }
        for r in rows
    ]


MAX_SEARCH = 64  # a child reference's length (models/tables.py)


class SearchInvalid(ValueError):
    """A search text no case can match by design: too long, or with a control character."""


def search_text(q: str | None) -> str | None:
    """A search as the stored child references are written (Unicode NFC, outer spaces off,
    `statemachine.process.pseudonymous_child_ref`); None: no search (absent or blank).
    Raises `SearchInvalid` above `MAX_SEARCH` characters or with a control character (NUL
    included)."""
    if q is None:
        return None
    text = unicodedata.normalize("NFC", q).strip()
    if len(text) > MAX_SEARCH or any(unicodedata.category(ch) == "Cc" for ch in text):
        raise SearchInvalid(q[:80])
    return text or None


def case_owner(context: Context, case_id: int) -> tuple[str | None, str | None] | None:
    """The (worker, team) of a case, which visibility is decided on; None: no such case."""
    if not 1 <= case_id <= MAX_CASE_ID:
        return None
    with reading(context.engine) as connection:
        row = connection.execute(
            select(CASE.c.worker, CASE.c.team).where(CASE.c.id == case_id)
        ).first()
    return None if row is None else (row.worker, row.team)
