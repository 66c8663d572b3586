"""Problem details (RFC 9457): every error of the API as `application/problem+json`.

`type` is a URN naming the kind of problem (`urn:sagsflow:problem:event-refused`), `title` its
fixed summary, `detail` this occurrence; a refused event adds the domain's `reason`, the
`allowed` events, the `event` and the `phase`. Domain errors map here, in one table, so that the
routes only call the service layer: a case one may not see is the same 404 as no case at all,
and nothing the client sends is ever a 500.

The API's routes use `ProblemRoute`, which turns what a route raises — validation errors
included — into a problem response itself, so the dashboard's own error pages never meet the
API's. Paths no route matches (404, 405 under /api/) are answered by `install_handlers`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rulebooks import UnknownRulebook
from sagsflow.read.paging import PageInvalid, TooBroad
from sagsflow.usecases.access import AccessDenied
from statemachine.errors import CaseNotFound, ConcurrencyConflict, EventRefused
from statemachine.periods import PeriodInvalid

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:sagsflow:problem:"
API_PREFIX = "/api/"
log = logging.getLogger("sagsflow.api")

# kind → title: the fixed summaries (RFC 9457 §3.1.3).
TITLES: Mapping[str, str] = {
    "bad-request": "The request could not be read",
    "unauthorized": "A valid bearer token is needed",
    "forbidden": "Your role may not do this",
    "not-found": "No such resource",
    "case-not-found": "No such case",
    "method-not-allowed": "Method not allowed",
    "event-refused": "The event was refused",
    "version-conflict": "The case was changed by someone else",
    "invalid-request": "The request is not valid",
    "invalid-event-data": "The event's data is not valid",
    "case-refused": "The case cannot be opened with these facts",
    "no-rulebook": "No rulebook is in force for this case",
    "invalid-period": "The period is not valid",
    "too-broad": "Too many cases for one report: narrow the filter",
    "database-unavailable": "The database cannot be reached",
    "internal": "Internal error",
}


class FieldProblem(BaseModel):
    """One invalid part of the request."""

    loc: list[str | int] = Field(description="Where: `body`, `query`, `path` and the field.")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, with Sagsflow's extension members where they apply."""

    type: str = Field(examples=["urn:sagsflow:problem:event-refused"])
    title: str
    status: int
    detail: str | None = None
    instance: str | None = Field(default=None, description="The request path.")
    reason: str | None = Field(default=None, description="The domain's reason for a refusal.")
    allowed: list[str] | None = Field(
        default=None, description="The events the case's phase allows now."
    )
    event: str | None = None
    phase: str | None = None
    case_id: int | None = None
    expected_version: int | None = None
    errors: list[FieldProblem] | None = Field(
        default=None, description="Each invalid field (422 invalid-request)."
    )


class ApiProblem(Exception):
    """Raised in the API to answer with a problem; `extra` are extension members."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or kind)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra


class ProblemResponse(Response):
    """JSON, ASCII-escaped: whatever a client sent (a lone surrogate, a NUL) renders safely."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _body(problem: ApiProblem, path: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{problem.kind}",
        "title": TITLES.get(problem.kind, problem.kind),
        "status": problem.status,
        "detail": problem.detail,
        "instance": path,
        **problem.extra,
    }
    return {k: v for k, v in body.items() if v is not None}


def respond(problem: ApiProblem, request: Request) -> ProblemResponse:
    return ProblemResponse(
        _body(problem, request.url.path), status_code=problem.status, headers=problem.headers
    )


def _field_problems(errors: Sequence[Any]) -> list[dict[str, Any]]:
    # The offending input is left out: it may be huge, binary or personal data.
    return [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]


_HTTP_KINDS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
}


def problem_of(error: Exception) -> ApiProblem | None:
    """The problem an exception means, or None for one that is a bug (a 500)."""
    if isinstance(error, ApiProblem):
        return error
    if isinstance(error, RequestValidationError):
        fields = _field_problems(error.errors())
        detail = "; ".join(f"{'.'.join(str(p) for p in f['loc'])}: {f['msg']}" for f in fields[:10])
        return ApiProblem(422, "invalid-request", detail[:2000], errors=fields[:50])
    if isinstance(error, StarletteHTTPException):
        kind = _HTTP_KINDS.get(error.status_code, "bad-request")
        detail = error.detail if isinstance(error.detail, str) else None
        return ApiProblem(error.status_code, kind, detail, headers=error.headers)
    if isinstance(error, EventRefused):
        invalid = error.reason.startswith("invalid data")
        return ApiProblem(
            422 if invalid else 409,
            "invalid-event-data" if invalid else "event-refused",
            str(error),
            reason=error.reason,
            allowed=list(error.allowed),
            event=str(error.event),
            phase=str(error.phase),
        )
    if isinstance(error, CaseNotFound):
        return ApiProblem(404, "case-not-found", str(error), case_id=error.case_id)
    if isinstance(error, ConcurrencyConflict):
        return ApiProblem(
            409,
            "version-conflict",
            str(error),
            case_id=error.case_id,
            expected_version=error.expected_version,
        )
    if isinstance(error, AccessDenied):
        return ApiProblem(403, "forbidden", str(error))
    if isinstance(error, UnknownRulebook):
        return ApiProblem(422, "no-rulebook", str(error))
    if isinstance(error, PeriodInvalid):
        return ApiProblem(422, "invalid-period", str(error))
    if isinstance(error, TooBroad):
        return ApiProblem(422, "too-broad", str(error))
    if isinstance(error, PageInvalid):
        return ApiProblem(422, "invalid-request", str(error))
    if isinstance(error, OperationalError):
        log.error("database unavailable: %s", error)
        return ApiProblem(503, "database-unavailable", "try again later")
    return None


class ProblemRoute(APIRoute):
    """An API route whose errors, validation included, answer as problem details."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:
                problem = problem_of(error)
                if problem is None:
                    log.exception("unexpected error on %s %s", request.method, request.url.path)
                    problem = ApiProblem(500, "internal")
                return respond(problem, request)

        return answer


def install_handlers(app: FastAPI) -> None:
    """Problems for requests under /api/ that no route takes (unknown path, wrong method);
    everything else keeps FastAPI's default answers."""

    async def on_http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if request.url.path.startswith(API_PREFIX):
            problem = problem_of(error)
            assert problem is not None
            return respond(problem, request)
        return await http_exception_handler(request, error)

    app.add_exception_handler(StarletteHTTPException, on_http_error)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of a route's problems (rendered as application/problem+json by
    `sagsflow.api.openapi`)."""
    described = {
        400: "The body is not JSON",
        401: "Missing, invalid or revoked bearer token",
        403: "The role may not do this",
        404: "No such case, or not one the caller may see",
        409: "Refused by the case's state (reason, allowed events), or a stale version",
        422: "Invalid parameters or body, including event data the event refuses",
    }
    return {s: {"model": Problem, "description": described[s]} for s in statuses}
