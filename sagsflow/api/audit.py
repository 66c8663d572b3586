"""The audit trail (verify, export as CSV or JSON Lines) and the access log.

Who may, and the access-log row each act leaves, is the use cases' (sagsflow/usecases/audit.py):
verifying the hash chains — auditor, department head, admin (it shows no case content);
exporting the trail, which holds every event's data — auditor and department head; the access
log — the auditor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from sagsflow.api.cases import Limit, NameFilter, Offset
from sagsflow.api.deps import AskedDep, ContextDep, PrincipalDep
from sagsflow.api.problems import ProblemRoute, responses
from sagsflow.api.schemas import MAX_ID, AccessLogPage, AuditReplay, AuditVerification
from sagsflow.present.csvfile import CsvDialect, csv_chunks
from sagsflow.read.audit import AUDIT_FIELDS
from sagsflow.settings import settings
from sagsflow.usecases import audit as usecases
from statemachine.calendar import local_iso
from statemachine.visibility import Action

router = APIRouter(route_class=ProblemRoute, tags=["audit"])

CaseFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this case.")]
# Rows per chunk written to the client: the export streams, it is never held whole.
_CHUNK = 500


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


MEDIA_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8", ExportFormat.JSONL: "application/jsonl"}


def _csv(records: Iterator[Mapping[str, Any]], dialect: CsvDialect) -> Iterator[str]:
    rows = ([row.get(name) for name in AUDIT_FIELDS] for row in records)
    return csv_chunks(AUDIT_FIELDS, rows, dialect, chunk=_CHUNK)


def _jsonl(records: Iterator[Mapping[str, Any]]) -> Iterator[str]:
    lines: list[str] = []
    for row in records:
        # The payload as a JSON value; its hashed text is the canonical form of that value.
        lines.append(json.dumps({**row, "payload": json.loads(row["payload"])}, ensure_ascii=False))
        if len(lines) == _CHUNK:
            yield "\n".join(lines) + "\n"
            lines.clear()
    if lines:
        yield "\n".join(lines) + "\n"


@router.get(
    "/audit/verify",
    response_model=AuditVerification | AuditReplay,
    summary="Recompute the audit trail's hash chains, or replay it",
    responses=responses(401, 403, 404, 422),
)
def verify(
    principal: PrincipalDep,
    context: ContextDep,
    asked: AskedDep,
    case_id: CaseFilter = None,
    replay: Annotated[
        bool,
        Query(
            description="Rebuild every case (or `case_id`) from its audit records and compare "
            "it with the stored rows instead (`AuditReplay`): auditor and department head."
        ),
    ] = False,
) -> Any:
    """`sagsflow audit verify`: every case's chain and head (a full scan: minutes at a million
    cases), or one case's (`case_id`). `ok: false` names the first break. Written to the
    access log as one `list` row.

    `replay=true`: `sagsflow audit verify --replay` — the state the records prove; its
    differences show case content, so it is the export's (auditor, department head) and is
    logged as an `export` row (docs/decisions/020-replay-verify.md)."""
    if replay:
        return usecases.replay_trail(context, principal, asked, case_id=case_id)
    return usecases.verify_trail(context, principal, asked, case_id=case_id)


@router.get(
    "/audit/export",
    summary="The audit trail as CSV or JSON Lines, streamed",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One row per audit record, in case and sequence order.",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/jsonl": {"schema": {"type": "string"}},
            },
        },
        **responses(401, 403, 404, 422),
    },
)
def export(
    principal: PrincipalDep,
    context: ContextDep,
    asked: AskedDep,
    format: Annotated[ExportFormat, Query(description="csv or jsonl")] = ExportFormat.JSONL,
    case_id: CaseFilter = None,
    dialect: Annotated[
        CsvDialect | None,
        Query(
            description="With csv: `standard` (comma, decimal point, UTF-8) or `excel-da` "
            "(semicolon, decimal comma, UTF-8 with BOM: what Danish Excel opens); default: the "
            "setting SAGSFLOW_CSV_DIALECT."
        ),
    ] = None,
) -> StreamingResponse:
    """Every record's fields, its legal basis, payload (the canonical JSON that was hashed) and
    hashes, so that the chains can be checked outside Sagsflow. Written to the access log as an
    `export` row: with the case for one case, without one for the whole trail."""
    records = usecases.export_trail(context, principal, asked, case_id=case_id)
    if format is ExportFormat.CSV:
        body = _csv(records, dialect or CsvDialect(settings().csv_dialect))
    else:
        body = _jsonl(records)
    name = f"audit-{case_id or 'all'}.{format.value}"
    return StreamingResponse(
        body,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get(
    "/access-log",
    response_model=AccessLogPage,
    summary="Who read or changed which case, newest first",
    responses=responses(401, 403, 422),
)
def read_access_log(
    principal: PrincipalDep,
    context: ContextDep,
    asked: AskedDep,
    case_id: CaseFilter = None,
    user: NameFilter = None,
    action: Action | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """The append-only access log (the database refuses UPDATE and DELETE on it): the auditor's.
    Reading it is itself one `list` row (never on the page it is written for)."""
    page = usecases.read_access_log(
        context,
        principal,
        asked,
        case_id=case_id,
        user=user,
        action=action,
        limit=limit,
        offset=offset,
    )
    return {
        "items": [{**r, "at": local_iso(r["at"])} for r in page.items],
        "limit": limit,
        "offset": offset,
        "next_offset": page.next_offset,
    }
