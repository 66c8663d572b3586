"""Scoped reads: one page of what a signed-in user may see, for the API and the dashboard.

Every function takes the `Principal` (sagsflow/access.py) and keeps to what it may see — the
case table filtered by `access.case_filter`, a single case refused as `CaseNotFound` when it is
not the principal's to see (never "forbidden": that would tell that it exists). Lists answer one
`Page`: `limit` rows from `offset`, one row more fetched to know whether more follow, so no
function loads all cases. Instants leave as ISO 8601 with the Europe/Copenhagen offset
(`views.local_iso`); `now` is always an argument.

Recording the read is the edge's, with its channel: `access.log_access(..., action=READ)` for a
case read in full (`read_case`, `read_case_options`, an audit export of one case), one `LIST` row
for a page of a list or report.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, select

from models.database import reading
from models.repository import AUDIT, CASE, DEADLINE, CaseNotFound, UnitOfWork
from sagsflow.access import Principal, Scope, case_filter, may_see, visible_teams
from sagsflow.audit_trail import audit_entry
from sagsflow.compliance import ComplianceReport, compliance_report
from sagsflow.organisation import Organisation
from sagsflow.reports import stuck_cases
from sagsflow.services import Context, rulebook_of
from sagsflow.views import list_cases, local_iso, show_case
from statemachine.audit import ChainBreak, verify_chain
from statemachine.calendar import end_of_local_day, local_date
from statemachine.phases import DeadlineStatus, Phase
from statemachine.process import EventOption, event_options

T = TypeVar("T")

MAX_LIMIT = 500
MAX_OFFSET = 100_000
# The stuck-case report judges every open case of its scope in Python (working-day calendars,
# consent ages): above this many open cases in one report it asks for a narrower filter
# instead of taking seconds. A team (100-300 cases) or a caseworker is far below it.
STUCK_MAX_CASES = 2_000
STUCK_REASONS = ("over_phase_norm", "inactive", "breached_deadline", "waiting_for_consent")


class PageInvalid(ValueError):
    """A limit or offset out of range."""


class TooBroad(ValueError):
    """A report over more open cases than it judges in one request: narrow the filter."""

    def __init__(self, open_cases: int, most: int) -> None:
        self.open_cases = open_cases
        self.most = most
        super().__init__(
            f"more than {most} open cases match: filter by team, worker or phase "
            f"(the stuck-case report judges at most {most} open cases per request)"
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """`items`: at most `limit` rows from `offset`; `has_more`: rows follow after them."""

    items: list[T]
    limit: int
    offset: int
    has_more: bool
    # The number of rows in the whole list, where knowing it cost nothing extra.
    total: int | None = None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise PageInvalid(f"limit {limit}: between 1 and {MAX_LIMIT}")
    if not 0 <= offset <= MAX_OFFSET:
        raise PageInvalid(f"offset {offset}: between 0 and {MAX_OFFSET}")


def _page(rows: list[T], limit: int, offset: int) -> Page[T]:
    """`rows` fetched with limit + 1."""
    return Page(rows[:limit], limit, offset, len(rows) > limit)


# --- one case ----------------------------------------------------------------------------------


def require_visible(context: Context, principal: Principal, case_id: int) -> None:
    """Raise CaseNotFound unless the case exists and `principal` may see it (before a write)."""
    with reading(context.engine) as connection:
        row = connection.execute(
            select(CASE.c.worker, CASE.c.team).where(CASE.c.id == case_id)
        ).first()
    if row is None or not may_see(principal, worker=row.worker, team=row.team):
        raise CaseNotFound(case_id)


def read_case(context: Context, principal: Principal, case_id: int) -> dict[str, Any]:
    """`views.show_case` (measures, deadlines, history) if `principal` may see the case."""
    shown = show_case(context, case_id)
    if not may_see(principal, worker=shown["worker"], team=shown["team"]):
        raise CaseNotFound(case_id)
    return shown


@dataclass(frozen=True)
class CaseOptions:
    """The events out of a case's phase as one principal may fire them now."""

    case_id: int
    phase: str
    version: int
    options: list[EventOption]


def read_case_options(
    context: Context, principal: Principal, case_id: int, *, now: datetime
) -> CaseOptions:
    """Every event of the case's phase for the principal's role (`process.event_options`: the
    rulebook's competence plan and the guards). A read-only role may fire none of them,
    whatever the rulebook says."""
    with UnitOfWork(context.engine, readonly=True) as uow:
        stored = uow.cases.get(case_id)
    if not may_see(principal, worker=stored.worker, team=stored.team):
        raise CaseNotFound(case_id)
    case = stored.file
    options = event_options(case, rulebook_of(context, stored), principal.role, at=now)
    if principal.read_only:
        options = [
            EventOption(o.event, False, o.needs_data, f"role {principal.role} reads only")
            for o in options
        ]
    return CaseOptions(case.id, case.phase.value, case.version, options)


# --- cases -------------------------------------------------------------------------------------


def case_page(
    context: Context,
    principal: Principal,
    *,
    phase: str | None = None,
    worker: str | None = None,
    team: str | None = None,
    municipality: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[dict[str, Any]]:
    """The cases matching every filter that `principal` may see, by id (`views.list_cases`)."""
    _check_page(limit, offset)
    rows = list_cases(
        context,
        phase=phase,
        worker=worker,
        team=team,
        municipality=municipality,
        limit=limit + 1,
        offset=offset,
        scope=case_filter(principal),
    )
    return _page(rows, limit, offset)


# --- deadlines ---------------------------------------------------------------------------------


class DeadlineView(StrEnum):
    UPCOMING = "upcoming"  # open, due after now and by the end of the day `within_days` ahead
    BREACHED = "breached"  # not met and past due: marked breached, or still open after due


_DEADLINE_COLUMNS = (
    DEADLINE.c.id,
    DEADLINE.c.case_id,
    DEADLINE.c.key,
    DEADLINE.c.rule,
    DEADLINE.c.measure_key,
    DEADLINE.c.due_at,
    DEADLINE.c.status,
    DEADLINE.c.source,
    DEADLINE.c.responsible,
    DEADLINE.c.escalated_to,
    CASE.c.phase,
    CASE.c.worker,
    CASE.c.team,
    CASE.c.municipality,
    CASE.c.child_ref,
)


def _deadlines(
    principal: Principal,
    *where: ColumnElement[bool],
    team: str | None,
    worker: str | None,
    rule: str | None,
) -> Select[Any]:
    query = (
        select(*_DEADLINE_COLUMNS)
        .join(CASE, CASE.c.id == DEADLINE.c.case_id)
        .where(*where, CASE.c.phase != Phase.CLOSURE.value, case_filter(principal))
        .order_by(DEADLINE.c.due_at, DEADLINE.c.id)
    )
    for column, value in ((CASE.c.team, team), (CASE.c.worker, worker), (DEADLINE.c.rule, rule)):
        if value is not None:
            query = query.where(column == value)
    return query


def deadline_page(
    context: Context,
    principal: Principal,
    *,
    now: datetime,
    view: DeadlineView,
    within_days: int = 14,
    team: str | None = None,
    worker: str | None = None,
    rule: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[dict[str, Any]]:
    """Deadlines of open cases `principal` may see, soonest (or longest overdue) first.

    `upcoming`: still open and due after `now`, at the latest at the end of the Copenhagen day
    `within_days` after today. `breached`: due at or before `now` and not met — the sweep's
    `breached`, and `open` ones the sweep has not reached yet. Both walk the (status, due_at)
    index in due order.
    """
    _check_page(limit, offset)
    filters: dict[str, Any] = {"team": team, "worker": worker, "rule": rule}
    wanted = offset + limit + 1
    with reading(context.engine) as connection:
        if view is DeadlineView.UPCOMING:
            horizon = end_of_local_day(local_date(now) + timedelta(days=within_days))
            query = _deadlines(
                principal,
                DEADLINE.c.status == DeadlineStatus.OPEN.value,
                DEADLINE.c.due_at > now,
                DEADLINE.c.due_at <= horizon,
                **filters,
            )
            rows = list(connection.execute(query.limit(limit + 1).offset(offset)))
        else:
            # One ordered index range per status, merged: no sort of every breach.
            marked, late = (
                connection.execute(
                    _deadlines(
                        principal,
                        DEADLINE.c.status == status.value,
                        DEADLINE.c.due_at <= now,
                        **filters,
                    ).limit(wanted)
                ).all()
                for status in (DeadlineStatus.BREACHED, DeadlineStatus.OPEN)
            )
            merged = heapq.merge(marked, late, key=lambda r: (r.due_at, r.id))
            rows = list(merged)[offset:wanted]
    today = local_date(now)
    items = [
        {
            "id": r.id,
            "case_id": r.case_id,
            "key": r.key,
            "rule": r.rule,
            "measure_id": r.measure_key,
            "due_at": local_iso(r.due_at),
            "status": r.status,
            "days_left": (local_date(r.due_at) - today).days,
            "source": r.source,
            "responsible": r.responsible,
            "escalated_to": r.escalated_to,
            "phase": r.phase,
            "worker": r.worker,
            "team": r.team,
            "municipality": r.municipality,
            "child_ref": r.child_ref,
        }
        for r in rows
    ]
    return _page(items, limit, offset)


# --- stuck cases -------------------------------------------------------------------------------


def stuck_page(
    context: Context,
    principal: Principal,
    *,
    now: datetime,
    team: str | None = None,
    worker: str | None = None,
    phase: str | None = None,
    reason: str | None = None,
    limit: int = 50,
    offset: int = 0,
    most: int = STUCK_MAX_CASES,
) -> Page[dict[str, Any]]:
    """The stuck cases `principal` may see (`reports.stuck_cases`: worst first), filtered.

    The report judges each open case of its scope, so it refuses (TooBroad) a scope of more
    than `most` open cases: a department head over a whole large municipality filters by team.
    """
    _check_page(limit, offset)
    clauses = [case_filter(principal)]
    for column, value in ((CASE.c.team, team), (CASE.c.worker, worker), (CASE.c.phase, phase)):
        if value is not None:
            clauses.append(column == value)
    scope = and_(*clauses)
    with reading(context.engine) as connection:
        capped = (
            select(CASE.c.id)
            .where(CASE.c.phase != Phase.CLOSURE.value, scope)
            .limit(most + 1)
            .subquery()
        )
        open_cases = int(connection.execute(select(func.count()).select_from(capped)).scalar_one())
    if open_cases > most:
        raise TooBroad(open_cases, most)
    rows = stuck_cases(context, now, scope=scope)
    if reason is not None:
        rows = [r for r in rows if reason in r["reasons"]]
    end = offset + limit
    return Page(rows[offset:end], limit, offset, len(rows) > end, total=len(rows))


# --- compliance --------------------------------------------------------------------------------


def compliance(
    context: Context,
    principal: Principal,
    *,
    period_start: date,
    period_end: date,
    now: datetime,
    organisation: Organisation | None = None,
    municipality: str | None = None,
) -> ComplianceReport:
    """`compliance.compliance_report` with the per-team rows `principal` may see (a team-bound
    role its own team's) and every municipality's totals (figures, no case in them)."""
    report = compliance_report(
        context,
        period_start=period_start,
        period_end=period_end,
        now=now,
        organisation=organisation,
        municipality=municipality,
    )
    teams = visible_teams(principal)
    if teams is None:
        return report
    rows = tuple(r for r in report.rows if r.scope == "municipality" or r.team in teams)
    return replace(report, rows=rows)


# --- the audit trail ---------------------------------------------------------------------------


def audit_records(
    context: Context, principal: Principal, *, case_id: int | None = None, batch: int = 1000
) -> Iterator[dict[str, Any]]:
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
            yield {
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


def verify_case_audit(context: Context, case_id: int) -> dict[str, Any]:
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
    return {
        "ok": found is None,
        "cases_checked": 1,
        "records_checked": len(rows),
        "first_break": None
        if found is None
        else {"case_id": found.case_id, "seq": found.seq, "reason": found.reason},
    }
