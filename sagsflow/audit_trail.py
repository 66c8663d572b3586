"""`audit verify`: recompute every case's hash chain and name the first break."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any

from sqlalchemy import Row, select

from models.database import reading
from models.repository import AUDIT, CASE
from sagsflow.services import Context
from statemachine.audit import AuditEntry, ChainBreak, verify_chain

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


def verify_audit(context: Context) -> dict[str, Any]:
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
    return {
        "ok": first_break is None,
        "cases_checked": cases_checked,
        "records_checked": records_checked,
        "first_break": None
        if first_break is None
        else {"case_id": first_break.case_id, "seq": first_break.seq, "reason": first_break.reason},
    }
