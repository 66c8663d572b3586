"""The audit trail: every case's hash chain recomputed (`audit verify`), and the records streamed
for export."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any, TypedDict

from sqlalchemy import Row, select

from models.database import reading
from models.repository import AUDIT, CASE, CaseNotFound
from sagsflow.context import Context
from sagsflow.read.visibility import case_filter
from statemachine.audit import AuditEntry, ChainBreak, verify_chain
from statemachine.calendar import local_iso
from statemachine.visibility import Principal, Scope

_BATCH = 5000


def audit_entry(row: Row[Any]) -> tuple[AuditEntry, str, str]:
    """An audit_log row as the chain sees it: the entry, its previous hash and its hash."""
    entry = AuditEntry(
        case_id=row.case_id,
        seq=row.seq,
        event=row.event,
        from_phase=row.from_phase,
        to_phase=row.to_phase,
        event_at=row.event_at,
        recorded_at=row.recorded_at,
        actor=row.actor,
        role=row.role,
        payload=row.payload,
        legal_basis=row.legal_basis,
        rulebook=row.rulebook,
    )
    return entry, row.prev_hash, row.hash


def _stream(context: Context, query: Any) -> Iterator[Row[Any]]:
    with reading(context.engine) as connection:
        result = connection.execution_options(stream_results=True, yield_per=_BATCH).execute(query)
        yield from result


class BreakFound(TypedDict):
    case_id: int
    seq: int
    reason: str


class Verification(TypedDict):
    """`audit verify`'s answer (CLI `--json`, `GET /api/v1/audit/verify`)."""

    ok: bool
    cases_checked: int
    records_checked: int
    first_break: BreakFound | None


class RecordExported(TypedDict):
    """One audit record as the auditor's export gives it (`AUDIT_FIELDS`, in that order)."""

    case_id: int
    seq: int
    event: str
    from_phase: str | None
    to_phase: str
    event_at: str | None
    recorded_at: str | None
    actor: str
    role: str
    legal_basis: str
    rulebook: str
    payload: str  # the canonical JSON text that was hashed
    prev_hash: str
    hash: str


def _verification(checked: int, records: int, found: ChainBreak | None) -> Verification:
    first: BreakFound | None = None
    if found is not None:
        first = {"case_id": found.case_id, "seq": found.seq, "reason": found.reason}
    return {
        "ok": found is None,
        "cases_checked": checked,
        "records_checked": records,
        "first_break": first,
    }


def verify_audit(context: Context) -> Verification:
    """Check every chain, and that each case's head matches its last record (no tail cut off).

    Streams both tables in case order (server-side cursors), so memory stays flat.
    """
    records = _stream(context, select(AUDIT).order_by(AUDIT.c.case_id, AUDIT.c.seq))
    heads = _stream(
        context, select(CASE.c.id, CASE.c.audit_seq, CASE.c.audit_hash).order_by(CASE.c.id)
    )
    chains = groupby(records, key=lambda r: r.case_id)
    cases_checked = records_checked = 0
    first_break: ChainBreak | None = None
    current = next(chains, None)
    for head in heads:
        cases_checked += 1
        rows: list[Row[Any]] = []
        while current is not None and current[0] < head.id:
            first_break = first_break or ChainBreak(
                current[0], 1, "records of a case that does not exist"
            )
            current = next(chains, None)
        if current is not None and current[0] == head.id:
            rows = list(current[1])
            current = next(chains, None)
        records_checked += len(rows)
        if first_break is not None:
            continue
        first_break = verify_chain(audit_entry(r) for r in rows)
        if first_break is None and (len(rows), rows[-1].hash if rows else "") != (
            head.audit_seq,
            head.audit_hash,
        ):
            first_break = ChainBreak(
                head.id,
                len(rows) + 1,
                f"the case records {head.audit_seq} events, the log has {len(rows)}",
            )
    return _verification(cases_checked, records_checked, first_break)


def audit_records(
    context: Context, principal: Principal, *, case_id: int | None = None, batch: int = 1000
) -> Iterator[RecordExported]:
    """The audit records of the cases `principal` may see (one case, or all), in case and
    sequence order, streamed from a server-side cursor: memory stays flat at any size.

    `payload` is the canonical JSON text that was hashed; instants carry the Copenhagen offset.
    """
    query = select(AUDIT).order_by(AUDIT.c.case_id, AUDIT.c.seq)
    if case_id is not None:
        query = query.where(AUDIT.c.case_id == case_id)
    if principal.scope is not Scope.ALL:
        query = query.join(CASE, CASE.c.id == AUDIT.c.case_id).where(case_filter(principal))
    with reading(context.engine) as connection:
        result = connection.execution_options(stream_results=True, yield_per=batch).execute(query)
        for r in result:
            record: RecordExported = {
                "case_id": r.case_id,
                "seq": r.seq,
                "event": r.event,
                "from_phase": r.from_phase,
                "to_phase": r.to_phase,
                "event_at": local_iso(r.event_at),
                "recorded_at": local_iso(r.recorded_at),
                "actor": r.actor,
                "role": r.role,
                "legal_basis": r.legal_basis,
                "rulebook": r.rulebook,
                "payload": r.payload,
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            }
            yield record


AUDIT_FIELDS: tuple[str, ...] = (
    "case_id",
    "seq",
    "event",
    "from_phase",
    "to_phase",
    "event_at",
    "recorded_at",
    "actor",
    "role",
    "legal_basis",
    "rulebook",
    "payload",
    "prev_hash",
    "hash",
)


def verify_case_audit(context: Context, case_id: int) -> Verification:
    """`audit_trail.verify_audit` for one case: its chain, and its head against its last record.

    Raises CaseNotFound. Same answer shape: ok, cases_checked, records_checked, first_break.
    """
    with reading(context.engine) as connection:
        head = connection.execute(
            select(CASE.c.audit_seq, CASE.c.audit_hash).where(CASE.c.id == case_id)
        ).first()
        if head is None:
            raise CaseNotFound(case_id)
        rows = connection.execute(
            select(AUDIT).where(AUDIT.c.case_id == case_id).order_by(AUDIT.c.seq)
        ).all()
    found: ChainBreak | None = verify_chain(audit_entry(r) for r in rows)
    if found is None and (len(rows), rows[-1].hash if rows else "") != (
        head.audit_seq,
        head.audit_hash,
    ):
        found = ChainBreak(
            case_id,
            len(rows) + 1,
            f"the case records {head.audit_seq} events, the log has {len(rows)}",
        )
    return _verification(1, len(rows), found)
