"""The audit trail and the access log as their readers ask for them: verify, export, read.

Who may (`access`): verifying the hash chains — auditor, department head, admin (it shows no
case content); exporting the trail, which holds every event's data — auditor and department
head; the access log — the auditor. Each act is one access-log row, written here; a denied
attempt, or one on an unknown case, leaves its row too.
"""

from __future__ import annotations

from collections.abc import Iterator

from sagsflow.context import Context
from sagsflow.read.access_log import AccessLogged, access_log
from sagsflow.read.audit import (
    RecordExported,
    Verification,
    audit_records,
    verify_audit,
    verify_case_audit,
)
from sagsflow.read.paging import Page, page_of
from sagsflow.usecases.access import (
    Asked,
    attempted,
    log_access,
    require_access_log,
    require_audit_export,
    require_audit_verify,
    require_visible,
)
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
