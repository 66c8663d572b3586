"""What a principal reads across cases: lists and reports, each within what it may see.

Every function takes the `Principal` and how it asked (`access.Asked`), keeps to what it may
see — the case table filtered by `read.visibility.case_filter`, which `list_scope` hands out
with the act's one `list` row — and answers one `Page` (`read.paging`): `limit` rows from
`offset`, one row more fetched to know whether more follow, so no function loads all cases.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement

from sagsflow.context import Context
from sagsflow.organisation import Organisation
from sagsflow.read.cases import CaseListed, list_cases, search_text
from sagsflow.read.compliance import ComplianceReport, compliance_report
from sagsflow.read.deadlines import DeadlineListed, DeadlineView
from sagsflow.read.deadlines import deadline_page as scoped_deadline_page
from sagsflow.read.paging import Page, check_page, page_of
from sagsflow.read.stuck import StuckFilter, count_stuck_cases, stuck_list
from sagsflow.read.visibility import case_filter
from sagsflow.usecases.access import Asked, attempted, log_access, require_cases
from statemachine.visibility import Action, Principal, visible_teams


def list_scope(context: Context, principal: Principal, asked: Asked) -> ColumnElement[bool]:
    """The cases `principal` may list or report on, as a WHERE clause over the case table
    (`read.visibility.case_filter`), with the act's one `list` row written.

    Call it once per list or report, and read within what it returns. The row is written
    before the read: a report that then fails stays logged as asked. A role that
    sees no case raises AccessDenied, logged as denied."""
    _listed(context, principal, asked)
    return case_filter(principal)


def _listed(context: Context, principal: Principal, asked: Asked) -> None:
    with attempted(context, principal, asked, action=Action.LIST):
        require_cases(principal)
    log_access(context, principal, asked, action=Action.LIST)


def case_page(
    context: Context,
    principal: Principal,
    asked: Asked,
    *,
    phase: str | None = None,
    worker: str | None = None,
    team: str | None = None,
    municipality: str | None = None,
    limit: int = 50,
    offset: int = 0,
    q: str | None = None,
) -> Page[CaseListed]:
    """The cases matching every filter that `principal` may see, by id (`read.cases.list_cases`);
    `q`: a search by case number or child reference (`read.cases.search_text`, which raises
    `SearchInvalid` before anything is read or logged)."""
    check_page(limit, offset)
    search = search_text(q)
    rows = list_cases(
        context,
        phase=phase,
        worker=worker,
        team=team,
        municipality=municipality,
        limit=limit + 1,
        offset=offset,
        scope=list_scope(context, principal, asked),
        q=search,
    )
    return page_of(rows, limit, offset)


def deadline_page(
    context: Context,
    principal: Principal,
    asked: Asked,
    *,
    now: datetime,
    view: DeadlineView,
    within_days: int = 14,
    team: str | None = None,
    worker: str | None = None,
    rule: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[DeadlineListed]:
    """`read.deadlines.deadline_page` over the cases `principal` may see."""
    return scoped_deadline_page(
        context,
        list_scope(context, principal, asked),
        now=now,
        view=view,
        within_days=within_days,
        team=team,
        worker=worker,
        rule=rule,
        limit=limit,
        offset=offset,
    )


def stuck_page(
    context: Context,
    principal: Principal,
    asked: Asked,
    *,
    now: datetime,
    team: str | None = None,
    worker: str | None = None,
    phase: str | None = None,
    reason: str | None = None,
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
) -> Page[dict[str, Any]]:
    """The stuck cases `principal` may see, worst first (`read.stuck`), filtered, for any scope
    size: `limit` rows from `offset`, or after the cursor `after` (keyset paging for deep pages;
    the page's `next_after` continues it). `total`: how many match (indexed counts)."""
    check_page(limit, offset)
    scope = list_scope(context, principal, asked)
    chosen = StuckFilter(team=team, worker=worker, phase=phase, reason=reason)
    found = stuck_list(context, scope, chosen, now, offset=offset, size=limit, after=after)
    total = count_stuck_cases(context, scope, chosen, now)
    return Page(found.rows, limit, offset, found.has_more, total=total, next_after=found.next_after)


def compliance(
    context: Context,
    principal: Principal,
    asked: Asked,
    *,
    period_start: date,
    period_end: date,
    now: datetime,
    organisation: Organisation | None = None,
    municipality: str | None = None,
) -> ComplianceReport:
    """`compliance.compliance_report` with the per-team rows `principal` may see (a team-bound
    role its own team's) and every municipality's totals (figures, no case in them); one `list`
    row."""
    _listed(context, principal, asked)
    teams = visible_teams(principal)
    return compliance_report(
        context,
        period_start=period_start,
        period_end=period_end,
        now=now,
        organisation=organisation,
        municipality=municipality,
        teams=teams,
    )
