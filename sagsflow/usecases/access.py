"""What a principal may do besides seeing a case, and the access log every use case writes.

Visibility itself is the domain's rule (`statemachine.visibility`); which events a role may fire
is the rulebook's competence plan. Here: the roles that only read, the audit trail's and the
access log's readers, where a team-bound role may open cases, and the append-only log of who
read or changed which case (a read of a case is itself sensitive).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert

from models.repository import ACCESS_LOG
from sagsflow.context import Context
from statemachine.phases import Role
from statemachine.visibility import (
    ACCESS_LOG_READERS,
    AUDIT_EXPORTERS,
    AUDIT_VERIFIERS,
    TEAM_BOUND,
    Action,
    Channel,
    Principal,
)


class AccessDenied(PermissionError):
    """The principal may not do this (never says which cases exist): a code (`read_only`,
    `no_cases`, `no_team`, `other_team`, `no_audit_export`, `no_audit_verify`, `no_access_log`)
    and its parameters, worded by `sagsflow.present` (catalogue keys `denied.<code>`)."""

    def __init__(self, code: str, **params: str | None) -> None:
        self.code = code
        self.params = params
        super().__init__(f"access denied: {code} {params}")


def require_write(principal: Principal) -> None:
    """Raise AccessDenied for a role that only reads (the auditor) or has no cases (admin)."""
    if principal.read_only:
        raise AccessDenied("read_only", role=principal.role.value)
    if not principal.sees_cases:
        raise AccessDenied("no_cases", role=principal.role.value)


def new_case_owner(
    principal: Principal, *, worker: str | None, team: str | None
) -> tuple[str | None, str | None]:
    """The (worker, team) of a case `principal` opens: a team-bound role opens only in its own
    team (the default), and a caseworker's new case is their own unless another worker is
    named. Raises AccessDenied for another team, and for a role that does not write."""
    require_write(principal)
    if principal.role in TEAM_BOUND:
        if not principal.team:
            raise AccessDenied("no_team", role=principal.role.value)
        if team is not None and team != principal.team:
            raise AccessDenied("other_team", role=principal.role.value, team=principal.team)
        team = principal.team
    if worker is None and principal.role is Role.CASEWORKER:
        worker = principal.name
    return worker, team


def require_cases(principal: Principal) -> None:
    """Raise AccessDenied for a role that sees no case at all (admin)."""
    if not principal.sees_cases:
        raise AccessDenied("no_cases", role=principal.role.value)


def require_audit_export(principal: Principal) -> None:
    """The audit trail taken out (every event's data): auditor and department head."""
    if principal.role not in AUDIT_EXPORTERS:
        raise AccessDenied("no_audit_export", role=principal.role.value)


def require_audit_verify(principal: Principal) -> None:
    """Checking the hash chains (no case content): auditor, department head and admin."""
    if principal.role not in AUDIT_VERIFIERS:
        raise AccessDenied("no_audit_verify", role=principal.role.value)


def require_access_log(principal: Principal) -> None:
    """Who read which case: the auditor's."""
    if principal.role not in ACCESS_LOG_READERS:
        raise AccessDenied("no_access_log", role=principal.role.value)


# --- the access log --------------------------------------------------------------------------


def record_access(
    connection: Connection,
    principal: Principal,
    *,
    action: Action,
    channel: Channel,
    what: str,
    now: datetime,
    case_ids: Sequence[int | None] = (None,),
) -> None:
    """Append who did `action` on which case(s), in the caller's transaction."""
    connection.execute(
        insert(ACCESS_LOG),
        [
            {
                "at": now,
                "user_name": principal.name,
                "role": principal.role.value,
                "case_id": case_id,
                "action": action.value,
                "channel": channel.value,
                "what": what[:255],
            }
            for case_id in case_ids
        ],
    )


def log_access(
    context: Context,
    principal: Principal,
    *,
    action: Action,
    channel: Channel,
    what: str,
    now: datetime,
    case_ids: Sequence[int | None] = (None,),
) -> None:
    """`record_access` in a transaction of its own."""
    with context.engine.begin() as connection:
        record_access(
            connection,
            principal,
            action=action,
            channel=channel,
            what=what,
            now=now,
            case_ids=case_ids,
        )
