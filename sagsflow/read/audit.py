"""The audit trail: every case's chain recomputed and checked against the signed checkpoints
(`audit verify`), and the records streamed for export."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from typing import Any, NotRequired, TypedDict

from sqlalchemy import Row, select

from models.database import reading
from models.repository import AUDIT, CASE, CaseNotFound
from sagsflow.context import Context
from sagsflow.read.checkpoints import check_access, load_anchor, unheeded
from sagsflow.read.visibility import case_filter
from statemachine.audit import AuditEntry, ChainBreak, ChainCheck, verify_chain
from statemachine.calendar import local_iso
from statemachine.visibility import Principal, Scope

_BATCH = 5000


def audit_entry(row: Row[Any]) -> tuple[AuditEntry, str, str, str | None]:
    """An audit_log row as the chain sees it: the entry, its previous MAC, its MAC and the id
    of the key that made it (None: an unkeyed record from before keys)."""
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
        channel=row.channel,
        os_user=row.os_user,
        as_operator=bool(row.as_operator),
    )
    return entry, row.prev_hash, row.hash, row.key_id


def _stream(context: Context, query: Any) -> Iterator[Row[Any]]:
    with reading(context.engine) as connection:
        result = connection.execution_options(stream_results=True, yield_per=_BATCH).execute(query)
        yield from result


class BreakFound(TypedDict):
    """One finding: the case (0: the access log or the checkpoints), the record, and what —
    `reason` in English, `code` and `params` for the words people read
    (`audit_finding.<code>`; statemachine.audit.FINDINGS)."""

    case_id: int
    seq: int
    reason: str
    code: NotRequired[str]
    params: NotRequired[dict[str, Any]]


class KeyedRecords(TypedDict):
    """Where the keyed records begin: before them, records are unkeyed SHA-256 (written before
    the installation had a key), which anyone could compute."""

    keyed: int
    unkeyed: int
    keyed_from: str | None  # the first keyed record's recording instant (Copenhagen)


class CheckpointChecked(TypedDict):
    """The latest signed checkpoint that the database was checked against."""

    number: int
    at: str
    source: str  # file | table


class Verification(TypedDict):
    """`audit verify`'s answer (CLI `--json`, `GET /api/v1/audit/verify`).

    `breaks`: every finding (at most `MAX_BREAKS`; `breaks_total` counts them all), each naming
    the case (0: the access log, or the trail as a whole), the record and what is wrong;
    `first_break` is the first of them."""

    ok: bool
    cases_checked: int
    records_checked: int
    first_break: BreakFound | None
    breaks: NotRequired[list[BreakFound]]
    breaks_total: NotRequired[int]
    keys: NotRequired[KeyedRecords]
    checkpoint: NotRequired[CheckpointChecked | None]
    access_records_checked: NotRequired[int]


MAX_BREAKS = 100


class _Findings:
    def __init__(self) -> None:
        self.breaks: list[BreakFound] = []
        self.total = 0

    def add(self, case_id: int, seq: int, code: str, /, **params: Any) -> None:
        self.chain(ChainBreak(case_id, seq, code, params))

    def chain(self, found: ChainBreak | None) -> None:
        if found is None:
            return
        self.total += 1
        if len(self.breaks) < MAX_BREAKS:
            self.breaks.append(
                {
                    "case_id": found.case_id,
                    "seq": found.seq,
                    "reason": found.reason,
                    "code": found.code,
                    "params": dict(found.params),
                }
            )


class _Keyed:
    def __init__(self) -> None:
        self.keyed = self.unkeyed = 0
        self.keyed_from: Any = None

    def count(self, check: ChainCheck, rows: list[Row[Any]]) -> None:
        self.keyed += check.keyed
        self.unkeyed += check.unkeyed
        if check.keyed:
            first = next(r.recorded_at for r in rows if r.key_id is not None)
            if self.keyed_from is None or first < self.keyed_from:
                self.keyed_from = first

    def answer(self) -> KeyedRecords:
        since = None if self.keyed_from is None else local_iso(self.keyed_from)
        return {"keyed": self.keyed, "unkeyed": self.unkeyed, "keyed_from": since}


def verify_audit(context: Context) -> Verification:
    """Check the whole trail, both ways, and against the latest signed checkpoint.

    Every case has its chain from record 1 without a gap, each record's MAC verifies under the
    key it names (or it is an unkeyed record from before keys), and the case row's head is the
    chain's last record; every record's case exists. Then the checkpoints
    (`sagsflow.read.checkpoints.check_against`): what the database held when the latest one was
    signed must still be there — no deleted case, no truncated tail, no rolled-back database.
    Streams both tables in case order (server-side cursors), so memory stays flat but for the
    checkpoint's heads.
    """
    keys = context.keys
    findings, keyed = _Findings(), _Keyed()
    signed = load_anchor(context, findings.add)
    records = _stream(context, select(AUDIT).order_by(AUDIT.c.case_id, AUDIT.c.seq))
    heads = _stream(
        context, select(CASE.c.id, CASE.c.audit_seq, CASE.c.audit_hash).order_by(CASE.c.id)
    )
    chains = groupby(records, key=lambda r: r.case_id)
    cases_checked = records_checked = 0
    current = next(chains, None)

    def orphans(below: int | None) -> None:
        nonlocal current, records_checked
        while current is not None and (below is None or current[0] < below):
            rows = list(current[1])
            records_checked += len(rows)
            findings.add(current[0], rows[0].seq, "orphans", count=len(rows))
            signed.gone(current[0], findings.add)
            current = next(chains, None)

    for head in heads:
        cases_checked += 1
        orphans(head.id)
        rows: list[Row[Any]] = []
        if current is not None and current[0] == head.id:
            rows = list(current[1])
            current = next(chains, None)
        records_checked += len(rows)
        signed.case(head.id, [r.hash for r in rows], findings.add)
        if not rows:
            findings.add(head.id, 1, "no_records")
            continue
        check = verify_chain((audit_entry(r) for r in rows), keys)
        keyed.count(check, rows)
        if check.found is not None:
            findings.chain(check.found)
        elif (len(rows), rows[-1].hash) != (head.audit_seq, head.audit_hash):
            findings.add(
                head.id, len(rows) + 1, "head_mismatch", head=head.audit_seq, records=len(rows)
            )
    orphans(None)
    signed.rest(findings.add)
    access_checked = check_access(context, signed, findings.add)
    checkpoint: CheckpointChecked | None = None
    if signed.number:
        checkpoint = {"number": signed.number, "at": signed.at, "source": signed.source}
    first = findings.breaks[0] if findings.breaks else None
    return {
        "ok": findings.total == 0,
        "cases_checked": cases_checked,
        "records_checked": records_checked,
        "first_break": first,
        "breaks": findings.breaks,
        "breaks_total": findings.total,
        "keys": keyed.answer(),
        "checkpoint": checkpoint,
        "access_records_checked": access_checked,
    }


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
    payload: str  # the canonical JSON text that was MACed
    prev_hash: str
    hash: str
    key_id: str | None  # None: an unkeyed record from before keys
    channel: str | None
    os_user: str | None
    as_operator: bool | None


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
                "key_id": r.key_id,
                "channel": r.channel,
                "os_user": r.os_user,
                "as_operator": r.as_operator,
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
    "key_id",
    "channel",
    "os_user",
    "as_operator",
)


def verify_case_audit(context: Context, case_id: int) -> Verification:
    """`verify_audit` for one case: its chain, its head against its last record, and what the
    latest signed checkpoint signed of it.

    Raises CaseNotFound. Same answer shape; `checkpoint` names the checkpoint checked against.
    """
    with reading(context.engine) as connection:
        head = connection.execute(
            select(CASE.c.audit_seq, CASE.c.audit_hash).where(CASE.c.id == case_id)
        ).first()
        if head is None:
            raise CaseNotFound(case_id)
        rows = list(
            connection.execute(
                select(AUDIT).where(AUDIT.c.case_id == case_id).order_by(AUDIT.c.seq)
            ).all()
        )
    findings, keyed = _Findings(), _Keyed()
    # The checkpoints' own findings are the whole trail's verify's to name.
    signed = load_anchor(context, unheeded)
    signed.case(case_id, [r.hash for r in rows], findings.add)
    check = verify_chain((audit_entry(r) for r in rows), context.keys)
    keyed.count(check, rows)
    findings.chain(check.found)
    if check.found is None and (len(rows), rows[-1].hash if rows else "") != (
        head.audit_seq,
        head.audit_hash,
    ):
        findings.add(
            case_id, len(rows) + 1, "head_mismatch", head=head.audit_seq, records=len(rows)
        )
    return {
        "ok": findings.total == 0,
        "cases_checked": 1,
        "records_checked": len(rows),
        "first_break": findings.breaks[0] if findings.breaks else None,
        "breaks": findings.breaks,
        "breaks_total": findings.total,
        "keys": keyed.answer(),
        "checkpoint": (
            {"number": signed.number, "at": signed.at, "source": signed.source}
            if signed.number
            else None
        ),
    }
