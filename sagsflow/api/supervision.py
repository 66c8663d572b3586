"""Supervision (ledelsestilsyn): stuck cases, upcoming and breached deadlines, compliance.

Each answers for the cases the caller may see (sagsflow/access.py). `now` may be given to see
the figures as they stood or will stand (ISO 8601; encode `+` as `%2B`); default: the clock.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic_core import to_json

from sagsflow.api.cases import Limit, NameFilter, Offset
from sagsflow.api.deps import AskedDep, ContextDep, NowDep, PrincipalDep, WordsDep
from sagsflow.api.problems import ProblemRoute, responses
from sagsflow.api.schemas import (
    Compliance,
    DeadlinePage,
    Instant,
    Name,
    StuckPage,
    StuckReason,
)
from sagsflow.organisation import OrganisationInvalid, organisation
from sagsflow.present.compliance import report_as_data
from sagsflow.read.deadlines import DeadlineView
from sagsflow.read.paging import Page
from sagsflow.settings import settings
from sagsflow.usecases import supervision as scoped
from statemachine.periods import PeriodInvalid, parse_period
from statemachine.phases import Phase
from statemachine.rulebook import RuleId

router = APIRouter(route_class=ProblemRoute, tags=["supervision"])

AsOf = Annotated[
    Instant | None,
    Query(description="The report's clock (ISO 8601, default now); no offset: Copenhagen time."),
]


def _page(page: Page[Any]) -> dict[str, Any]:
    return {
        "items": page.items,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": page.next_offset,
    }


@router.get(
    "/stuck",
    response_model=StuckPage,
    summary="Stuck cases, worst first",
    description=(
        "Over the phase norm, with a breached deadline, inactive, or waiting for consent; "
        "worst first: by days over the phase norm (most first), then the cases with a breach "
        "(oldest breach first), then the rest by case number. Any scope size: pages with "
        "`limit`/`offset`, or, for deep pages, with `after` (the previous page's `next_after`). "
        "Written to the access log as one `list` row."
    ),
    responses=responses(401, 403, 422),
)
def stuck(
    principal: PrincipalDep,
    context: ContextDep,
    clock: NowDep,
    asked: AskedDep,
    team: NameFilter = None,
    worker: NameFilter = None,
    phase: Phase | None = None,
    reason: StuckReason | None = None,
    now: AsOf = None,
    limit: Limit = 50,
    offset: Offset = 0,
    after: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[A-Za-z0-9_-]+$",
            description="Keyset paging: the previous page's `next_after` (opaque); "
            "`offset` is then not read.",
        ),
    ] = None,
) -> Any:
    """Stuck: over the phase norm, a breached deadline, inactive, or waiting for consent."""
    page = scoped.stuck_page(
        context,
        principal,
        asked,
        now=now or clock,
        team=team,
        worker=worker,
        phase=phase.value if phase else None,
        reason=reason,
        limit=limit,
        offset=offset,
        after=after,
    )
    return {**_page(page), "total": page.total, "next_after": page.next_after}


@router.get(
    "/deadlines",
    response_model=DeadlinePage,
    summary="Upcoming or breached deadlines of open cases",
    responses=responses(401, 403, 422),
)
def deadlines(
    principal: PrincipalDep,
    context: ContextDep,
    clock: NowDep,
    asked: AskedDep,
    status: Annotated[
        DeadlineView,
        Query(description="upcoming: open, due within `within_days`; breached: past due, not met."),
    ] = DeadlineView.UPCOMING,
    within_days: Annotated[
        int, Query(ge=0, le=366, description="upcoming: through the end of the day this far ahead.")
    ] = 14,
    team: NameFilter = None,
    worker: NameFilter = None,
    rule: RuleId | None = None,
    now: AsOf = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    """Soonest due first (breached: longest overdue first). Written to the access log as one
    `list` row."""
    page = scoped.deadline_page(
        context,
        principal,
        asked,
        now=now or clock,
        view=status,
        within_days=within_days,
        team=team,
        worker=worker,
        rule=rule.value if rule else None,
        limit=limit,
        offset=offset,
    )
    return _page(page)


@router.get(
    "/compliance",
    response_model=Compliance,
    summary="Shares on time and median days per phase, per team and municipality",
    responses=responses(401, 403, 422),
)
def compliance(
    principal: PrincipalDep,
    context: ContextDep,
    clock: NowDep,
    asked: AskedDep,
    words: WordsDep,
    period: Annotated[
        str,
        Query(
            min_length=4,
            max_length=32,
            pattern=r"^[0-9Qq.-]+$",
            description="2026-Q3, 2026-10, 2026 or 2026-07-01..2026-09-30",
            examples=["2026-Q3"],
        ),
    ],
    municipality: Annotated[Name | None, Query()] = None,
    now: AsOf = None,
) -> Any:
    """`sagsflow report compliance`: over the deadlines due in the period, the share met on
    time of investigations, follow-ups, acknowledgements and 24-hour assessments, and the median
    days per phase. A team-bound role sees its own team's rows; every role that sees cases sees
    the municipalities' totals (figures only, no case). Written to the access log as one
    `list` row."""
    start, end = parse_period(period)
    if start.year < 1900 or end.year > 2999:
        raise PeriodInvalid(period, "range")
    try:
        people = organisation(settings().org_file)
    except OrganisationInvalid:
        people = None  # labels fall back to team ids
    report = scoped.compliance(
        context,
        principal,
        asked,
        period_start=start,
        period_end=end,
        now=now or clock,
        organisation=people,
        municipality=municipality,
    )
    # Serialised as it is (pydantic-core's encoder), not validated again against the response
    # model it is documented by: the report is our own typed values, and a department head's
    # quarter has a row for each of thousands of teams (revalidating them cost 100–500 ms).
    return Response(to_json(report_as_data(report, words)), media_type="application/json")
