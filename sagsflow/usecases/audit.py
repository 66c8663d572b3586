"""The audit trail and the access log as their readers ask for them: verify, export, read.

Who may (`access`): verifying the hash chains — auditor, department head, admin (it shows no
case content); exporting the trail, which holds every event's data — auditor and department
head; the access log — the auditor. Each act is one access-log row, written here; a denied
attempt, or one on an unknown case, leaves its row too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from sqlalchemy import insert

from models.repository import CHECKPOINT, UnitOfWork
from sagsflow.audit_keys import AuditKeysInvalid
from sagsflow.context import Context
from sagsflow.read.access_log import AccessLogged, access_log
from sagsflow.read.audit import (
    RecordExported,
    Verification,
    audit_records,
    verify_audit,
    verify_case_audit,
)
from sagsflow.read.checkpoints import (
    access_head,
    current_heads,
    expected_heads,
    table_lines,
    unheeded,
)
from sagsflow.read.paging import Page, page_of
from sagsflow.read.replay import ReplayVerification, replay_verify
from sagsflow.usecases.access import (
    Asked,
    attempted,
    log_access,
    require_access_log,
    require_audit_export,
    require_audit_verify,
    require_visible,
)
from statemachine.audit import advanced, canonical_json, fold, heads_digest, sign_checkpoint
from statemachine.calendar import local_iso
from statemachine.visibility import Action, Principal


def verify_trail(
    context: Context, principal: Principal, asked: Asked, *, case_id: int | None = None
) -> Verification:
    """Every case's hash chain and head (`read.audit.verify_audit`: a full scan), or one
    case's (`verify_case_audit`, CaseNotFound for no such case), and one `list` row: a report
    over the trail that shows no case content, so it names no case."""
    with attempted(context, principal, asked, action=Action.LIST):
        require_audit_verify(principal)
        found = verify_audit(context) if case_id is None else verify_case_audit(context, case_id)
    log_access(context, principal, asked, action=Action.LIST)
    return found


def replay_trail(
    context: Context, principal: Principal, asked: Asked, *, case_id: int | None = None
) -> ReplayVerification:
    """Every case rebuilt from its audit records and compared with its stored rows
    (`read.replay.replay_verify`, verified at `asked.at`), or one case (CaseNotFound for no such
    case). Its differences show stored and replayed case content, so it is the export's: the
    auditor and the department head, and one `export` row, naming the case for one case."""
    with attempted(context, principal, asked, action=Action.EXPORT, case_id=case_id):
        require_audit_export(principal)
        found = replay_verify(context, now=asked.at, case_id=case_id)
    log_access(context, principal, asked, action=Action.EXPORT, case_id=case_id)
    return found


def export_trail(
    context: Context, principal: Principal, asked: Asked, *, case_id: int | None = None
) -> Iterator[RecordExported]:
    """The audit records of the cases `principal` may see, one case's or all
    (`read.audit.audit_records`, streamed), and one `export` row: naming the case for one
    case, none for the whole trail.

    Checked and logged when called, before the first record is read: AccessDenied, and
    CaseNotFound for a case that does not exist or that `principal` may not see."""
    with attempted(context, principal, asked, action=Action.EXPORT, case_id=case_id):
        require_audit_export(principal)
        if case_id is not None:
            require_visible(context, principal, case_id)
    log_access(context, principal, asked, action=Action.EXPORT, case_id=case_id)
    return audit_records(context, principal, case_id=case_id)


def read_access_log(
    context: Context,
    principal: Principal,
    asked: Asked,
    *,
    case_id: int | None = None,
    user: str | None = None,
    action: Action | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[AccessLogged]:
    """One page of the access log, newest first (`read.access_log`), and one `list` row of
    its own, written after the read (a page never shows the row of its own reading)."""
    with attempted(context, principal, asked, action=Action.LIST):
        require_access_log(principal)
    rows = access_log(
        context, case_id=case_id, user=user, action=action, limit=limit + 1, offset=offset
    )
    log_access(context, principal, asked, action=Action.LIST)
    return page_of(rows, limit, offset)


# --- signed checkpoints (docs/decisions/019-keyed-chain-and-checkpoints.md) ----------------------


class CheckpointWritten(TypedDict):
    """`sagsflow audit checkpoint`'s answer, and the enforcement flow's artifact."""

    number: int
    at: str
    cases: int
    records: int
    access_records: int
    changed: int
    heads_digest: str
    key_id: str
    file: str | None


def write_checkpoint(context: Context, *, now: datetime) -> CheckpointWritten:
    """Sign what the database holds now — the number of cases and audit records, the access
    log's head, a digest over every case's chain head, and the heads that advanced since the
    last checkpoint — and write it to the `audit_checkpoint` table and then to the append-only
    file outside the database (`SAGSFLOW_CHECKPOINT_FILE`).

    One transaction, so counts and heads are one snapshot; two writers at once take turns
    (the table is locked on PostgreSQL; SQLite has one writer). A head that went back since
    the last checkpoint is not signed as the new truth (`statemachine.audit.advanced`): it
    stays a finding of `audit verify`. Raises AuditKeysInvalid without a key."""
    key = context.keys.current
    if key is None:
        raise AuditKeysInvalid("no audit key: a checkpoint is signed with the installation's key")
    with UnitOfWork(context.engine) as uow:
        connection = uow.connection
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("LOCK TABLE audit_checkpoint IN EXCLUSIVE MODE")
        # The previous lines' own findings are `audit verify`'s to name.
        previous = table_lines(connection, context.keys, unheeded)
        expected = expected_heads(previous)
        current, records = current_heads(connection)
        changed = advanced(expected, current)
        heads = fold(dict(expected), changed)
        access = access_head(connection)
        number = (previous[-1].number if previous else 0) + 1
        line: dict[str, Any] = {
            "n": number,
            "at": now.astimezone(UTC).isoformat(),
            "prev": previous[-1].mac if previous else "",
            "key_id": key.id,
            "cases": len(current),
            "records": records,
            "access": list(access) if access else None,
            "heads_digest": heads_digest(heads),
            "changed": changed,
        }
        mac = sign_checkpoint(line, key)
        text = canonical_json(line)
        connection.execute(
            insert(CHECKPOINT), {"at": now, "line": text, "key_id": key.id, "mac": mac}
        )
        uow.commit()
    path = context.checkpoint_file
    if path:
        _append_line(Path(path), canonical_json({**line, "mac": mac}))
    return {
        "number": number,
        "at": local_iso(now) or "",
        "cases": len(current),
        "records": records,
        "access_records": access[0] if access else 0,
        "changed": len(changed),
        "heads_digest": line["heads_digest"],
        "key_id": key.id,
        "file": path,
    }


def _append_line(path: Path, text: str) -> None:
    """Append one line to the checkpoint file (made 0600), flushed to disk before returning."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, (text + "\n").encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
