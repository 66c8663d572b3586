"""Cases: list, open, show, the events one may fire now, and firing one (`sagsflow case …`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from sagsflow.api.deps import AskedDep, ContextDep, PrincipalDep, WordsDep
from sagsflow.api.problems import ProblemRoute, refusal_problem, responses
from sagsflow.api.schemas import (
    MAX_ID,
    PRINTABLE,
    Accepted,
    CaseDetail,
    CaseOpen,
    CasePage,
    EventOptionOut,
    EventOptions,
    EventRequest,
)
from sagsflow.present.case import worded_case
from sagsflow.present.refusals import refusal_text
from sagsflow.read.cases import MAX_SEARCH
from sagsflow.read.paging import MAX_LIMIT, MAX_OFFSET
from sagsflow.settings import settings
from sagsflow.usecases import cases as usecases
from sagsflow.usecases.supervision import case_page
from statemachine.errors import EventRefused
from statemachine.phases import Phase

router = APIRouter(route_class=ProblemRoute, tags=["cases"])

CaseId = Annotated[int, Path(ge=1, le=MAX_ID, description="The case id.")]
NameFilter = Annotated[str | None, Query(min_length=1, max_length=64, pattern=PRINTABLE)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Rows per page.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")]
Search = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_SEARCH,
        pattern=PRINTABLE,
        description=(
            "Find cases by number or child reference: a child reference equal to the text or"
            " beginning with it (case-sensitive, as stored: Unicode NFC, outer spaces off), or,"
            " for a number, the case with that number. Within what the caller may see, with"
            " the other filters."
        ),
    ),
]


def _accepted(accepted: usecases.Accepted) -> Accepted:
    return Accepted(
        id=accepted.case_id,
        event=accepted.event,
        from_phase=accepted.from_phase,
        phase=accepted.to_phase,
        version=accepted.version,
        audit_seq=accepted.audit_seq,
    )


@router.get(
    "/cases",
    response_model=CasePage,
    summary="Cases the caller may see, oldest first",
    responses=responses(401, 403, 422),
)
def list_cases(
    principal: PrincipalDep,
    context: ContextDep,
    asked: AskedDep,
    phase: Phase | None = None,
    worker: NameFilter = None,
    team: NameFilter = None,
    municipality: NameFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
    q: Search = None,
) -> Any:
    """Every filter given must match; one page (`limit` from `offset`). `q` finds cases by
    number or child reference (exact or its beginning). Written to the access log as one
    `list` row."""
    page = case_page(
        context,
        principal,
        asked,
        phase=phase.value if phase else None,
        worker=worker,
        team=team,
        municipality=municipality,
        limit=limit,
        offset=offset,
        q=q,
    )
    return {
        "items": page.items,
        "limit": page.limit,
        "offset": page.offset,
        "next_offset": page.next_offset,
    }


@router.post(
    "/cases",
    status_code=201,
    response_model=Accepted,
    summary="Open a case",
    responses=responses(400, 401, 403, 422),
)
def open_case(
    body: CaseOpen,
    response: Response,
    principal: PrincipalDep,
    context: ContextDep,
    asked: AskedDep,
    words: WordsDep,
) -> Any:
    """A caseworker or team leader opens cases in their own team only (the default team); a
    caseworker's new case is their own unless `worker` names another. Facts that cannot be true
    (a CPR-like reference, awareness in the future, …) are a 422 with the domain's reason.
    Written to the access log (`write`), accepted or not."""
    try:
        accepted = usecases.open_case_as(
            context,
            principal,
            asked,
            child_ref=body.child_ref,
            birth_date=body.birth_day,
            birth_expected=body.expected_birth_date is not None,
            aware_at=body.aware_at,
            source=body.source,
            notifier=body.notifier,
            applied_for=body.applied_for,
            worker=body.worker,
            team=body.team,
            municipality=body.municipality or settings().municipality,
            new_case=body.new_case,
        )
    except EventRefused as refused:
        raise refusal_problem(refused, words, "case-refused", 422) from None
    response.headers["Location"] = f"/api/v1/cases/{accepted.case_id}"
    return _accepted(accepted)


@router.get(
    "/cases/{case_id}",
    response_model=CaseDetail,
    summary="A case with its measures, deadlines and history",
    responses=responses(401, 403, 404, 422),
)
def get_case(
    case_id: CaseId, principal: PrincipalDep, context: ContextDep, asked: AskedDep, words: WordsDep
) -> Any:
    """Each deadline explains its arithmetic (in the language `Accept-Language` asks for). A
    case the caller may not see is a 404, like a case that does not exist. Written to the
    access log (`read`), found or not."""
    return worded_case(usecases.read_case(context, principal, asked, case_id), words)


@router.get(
    "/cases/{case_id}/events",
    response_model=EventOptions,
    summary="The events the caller may fire on the case now, and why not",
    responses=responses(401, 403, 404, 422),
)
def get_event_options(
    case_id: CaseId, principal: PrincipalDep, context: ContextDep, asked: AskedDep, words: WordsDep
) -> Any:
    """Every event of the case's phase for the caller's role, tried against the rulebook's
    competence plan and the guards (nothing recorded). Written to the access log (`read`),
    found or not."""
    found = usecases.read_case_options(context, principal, asked, case_id)
    return EventOptions(
        case_id=found.case_id,
        phase=Phase(found.phase),
        version=found.version,
        role=principal.role,
        events=[
            EventOptionOut(
                event=o.event,
                possible=o.possible,
                needs_data=o.needs_data,
                code=o.reason.code.value if o.reason else None,
                params=dict(o.reason.params) if o.reason else None,
                reason=refusal_text(o.reason, words, found.rulebook) if o.reason else None,
            )
            for o in found.options
        ],
    )


@router.post(
    "/cases/{case_id}/events",
    response_model=Accepted,
    summary="Record an event on a case",
    responses=responses(400, 401, 403, 404, 409, 422),
)
def fire_event(
    case_id: CaseId,
    body: EventRequest,
    principal: PrincipalDep,
    context: ContextDep,
    asked: AskedDep,
) -> Any:
    """The token's user is the actor and their role the role: the rulebook's competence plan
    decides whether that role may record the event (and grant the measures in it). A refused
    event writes nothing: 409 with the reason and the allowed events (422 when its data is
    invalid); a stale `expected_version` is a 409 too. Written to the access log (`write`,
    saying accepted, refused, conflict, denied or not found)."""
    accepted = usecases.fire_event_as(
        context,
        principal,
        asked,
        case_id,
        body.event.value,
        at=body.at,
        data=body.data,
        expected_version=body.expected_version,
    )
    return _accepted(accepted)
