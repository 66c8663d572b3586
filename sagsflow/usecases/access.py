"""What a principal may do besides seeing a case, and the access log every use case writes.

Visibility itself is the domain's rule (`statemachine.visibility`); which events a role may fire
is the rulebook's competence plan. Here: the roles that only read, the audit trail's and the
access log's readers, where a team-bound role may open cases, and the append-only log of who
read or changed which case (a read of a case is itself sensitive). The use cases that act as a
principal check these and write the log themselves (`attempted`, `log_access`), so that every
edge leaves the same rows for the same act.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Connection

from models.repository import append_access
from rulebooks import UnknownRulebook
from sagsflow.context import Context
from sagsflow.read.cases import case_owner
from statemachine.audit import AuditKey
from statemachine.errors import CaseNotFound, ConcurrencyConflict, EventRefused
from statemachine.phases import Role
from statemachine.visibility import (
    ACCESS_LOG_READERS,
    AUDIT_EXPORTERS,
    AUDIT_VERIFIERS,
    TEAM_BOUND,
    Action,
    Channel,
    Principal,
    may_see,
)


class AccessDenied(PermissionError):
    """The principal may not do this (never says which cases exist): a code (`read_only`,
    `no_cases`, `no_team`, `other_team`, `no_audit_export`, `no_audit_verify`, `no_access_log`)
    and its parameters, worded by `sagsflow.present` (catalogue keys `denied.<code>`)."""

    def __init__(self, code: str, **params: str | None) -> None:
        self.code = code
        self.params = params
        super().__init__(f"access denied: {code} {params}")


class CaseHidden(CaseNotFound):
    """A case that exists but the principal may not see: answered like no case at all (the
    same message), logged as denied."""


@dataclass(frozen=True)
class Asked:
    """How and when a principal asked: the channel, what for, and the instant.

    `what` names the request as its channel sees it ("GET /api/v1/cases/7", "POST
    /cases/7/events"); the use case adds how it ended ("(denied)", "(accept refused)"). `at` is
    the access-log row's time and the `now` of the read or write done for the request.
    """

    channel: Channel
    what: str
    at: datetime

    @staticmethod
    def http(channel: Channel, method: str, path: str, query: str, at: datetime) -> Asked:
        """An HTTP request as the access log names it: "GET /api/v1/cases?team=t1"."""
        return Asked(channel, f"{method} {path}" + (f"?{query}" if query else ""), at)


class Verdict(StrEnum):
    """How an attempt ended, as the access log's `what` says it after the request."""

    ACCEPTED = "accepted"
    REFUSED = "refused"  # the case's state or the rulebook refused it (or none is in force)
    CONFLICT = "conflict"  # another writer got there first (or the version was stale)
    DENIED = "denied"  # the role may not, or the case is not one the principal may see
    NOT_FOUND = "not found"


def require_write(principal: Principal) -> None:
    """Raise AccessDenied for a role that only reads (the auditor) or has no cases (admin)."""
    if principal.read_only:
        raise AccessDenied("read_only", role=principal.role.value)
    require_cases(principal)


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


def require_sees(
    principal: Principal, case_id: int, *, worker: str | None, team: str | None
) -> None:
    """Raise CaseHidden unless `principal` may see the case of `worker` in `team`."""
    if not may_see(principal, worker=worker, team=team):
        raise CaseHidden(case_id)


def require_visible(context: Context, principal: Principal, case_id: int) -> None:
    """Raise CaseNotFound for no such case, CaseHidden for one `principal` may not see."""
    owner = case_owner(context, case_id)
    if owner is None:
        raise CaseNotFound(case_id)
    require_sees(principal, case_id, worker=owner[0], team=owner[1])


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

_WHAT_LENGTH = 255  # the column's
# The user name and role of a failed sign-in that named no known user (no user name has
# parentheses: `users.NAME`).
UNKNOWN_ACCOUNT = "(unknown)"
_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def _what(asked: Asked, outcome: str) -> str:
    """What the row says: the request, then how it ended, in printable ASCII within the
    column; the ending is kept whole however long the request."""
    tail = _UNPRINTABLE.sub("?", f" ({outcome})")[:96] if outcome else ""
    return _UNPRINTABLE.sub("?", asked.what)[: _WHAT_LENGTH - len(tail)] + tail


def record_access(
    connection: Connection,
    principal: Principal | None,
    asked: Asked,
    *,
    action: Action,
    case_id: int | None = None,
    outcome: str = "",
    key: AuditKey | None = None,
) -> None:
    """Append who did `action` on which case (None: a list, or no case), in the caller's
    transaction; `outcome` follows the request in `what` ("accept accepted", "denied"). The
    row joins the access log's MACed chain under `key` (models.repository.append_access).
    `principal` None: a sign-in that named no known user, logged as `UNKNOWN_ACCOUNT` (the name
    typed is never stored: it may be a mistyped password)."""
    append_access(
        connection,
        {
            "at": asked.at,
            "user_name": principal.name if principal else UNKNOWN_ACCOUNT,
            "role": principal.role.value if principal else UNKNOWN_ACCOUNT,
            "case_id": case_id,
            "action": action.value,
            "channel": asked.channel.value,
            "what": _what(asked, outcome),
        },
        key,
    )


def log_access(
    context: Context,
    principal: Principal | None,
    asked: Asked,
    *,
    action: Action,
    case_id: int | None = None,
    outcome: str = "",
) -> None:
    """`record_access` in a transaction of its own."""
    with context.engine.begin() as connection:
        record_access(
            connection,
            principal,
            asked,
            action=action,
            case_id=case_id,
            outcome=outcome,
            key=context.keys.current,
        )


@contextmanager
def attempted(
    context: Context,
    principal: Principal,
    asked: Asked,
    *,
    action: Action,
    case_id: int | None = None,
    event: str = "",
) -> Iterator[None]:
    """Log the attempt inside if it is stopped — denied, not found, refused or in conflict —
    in a transaction of its own, and let the error go on to the edge.

    Use it outside any unit of work, so that the row is written after the attempt's own
    transaction has rolled back. `event` names the event tried ("(accept refused)"). A case is
    named in the row only when it exists: an unknown id may belong to a case opened later.
    """
    tried = f"{event} " if event else ""

    def log(verdict: Verdict, named: int | None) -> None:
        outcome = f"{tried}{verdict}"
        log_access(context, principal, asked, action=action, case_id=named, outcome=outcome)

    try:
        yield
    except AccessDenied:
        exists = case_id is not None and case_owner(context, case_id) is not None
        log(Verdict.DENIED, case_id if exists else None)
        raise
    except CaseHidden:
        log(Verdict.DENIED, case_id)
        raise
    except CaseNotFound:
        log(Verdict.NOT_FOUND, None)
        raise
    except (EventRefused, UnknownRulebook):
        log(Verdict.REFUSED, case_id)
        raise
    except ConcurrencyConflict:
        log(Verdict.CONFLICT, case_id)
        raise
