"""Problem details (RFC 9457): every error of the API as `application/problem+json`.

`type` is a URN naming the kind of problem (`urn:sagsflow:problem:event-refused`), `title` its
fixed summary, `detail` this occurrence; a refused event adds the domain's `code` and `params`,
its `reason` worded, every reason (`reasons`), the `allowed` events, the `event` and the
`phase`. `title`, `detail` and `reason` are in the language the request's `Accept-Language`
prefers (Danish unless it asks for English); the machine fields stay as they are. Domain errors map here, in one table, so that the
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
from starlette.types import Receive, Scope, Send

from rulebooks import UnknownRulebook
from sagsflow.present.i18n import Translator, negotiate, translator
from sagsflow.present.refusals import refusal_text, refused_text
from sagsflow.read.cases import SearchInvalid
from sagsflow.read.paging import PageInvalid
from sagsflow.read.stuck import CursorInvalid
from sagsflow.usecases.access import AccessDenied
from statemachine.errors import CaseNotFound, ConcurrencyConflict, EventRefused, RefusalCode
from statemachine.periods import PeriodInvalid

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:sagsflow:problem:"
API_PREFIX = "/api/"
log = logging.getLogger("sagsflow.api")

# The kinds of problem (RFC 9457 §3.1.3); each one's title is the catalogue's
# `problem.title.<kind>`.
KINDS: tuple[str, ...] = (
    "bad-request",
    "unauthorized",
    "forbidden",
    "not-found",
    "case-not-found",
    "method-not-allowed",
    "event-refused",
    "version-conflict",
    "invalid-request",
    "invalid-event-data",
    "case-refused",
    "no-rulebook",
    "invalid-period",
    "payload-too-large",
    "database-unavailable",
    "internal",
)


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
    code: str | None = Field(default=None, description="The domain's refusal code (a contract).")
    params: dict[str, Any] | None = Field(default=None, description="The refusal's parameters.")
    reason: str | None = Field(default=None, description="The domain's reason, worded.")
    reasons: list[dict[str, Any]] | None = Field(
        default=None, description="Every reason of a refusal: code, params and text, first first."
    )
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
    """Raised in the API to answer with a problem; `extra` are extension members.

    `detail` is the text itself, or (`key`) a catalogue key worded in the request's language
    with `values`.
    """

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str | None = None,
        *,
        key: str | None = None,
        values: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or key or kind)
        self.status = status
        self.kind = kind
        self.detail = detail
        self.key = key
        self.values = dict(values or {})
        self.headers = dict(headers or {})
        self.extra = extra


class ProblemResponse(Response):
    """JSON, ASCII-escaped: whatever a client sent (a lone surrogate, a NUL) renders safely."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def words_of(request: Request) -> Translator:
    """The request's language: what its `Accept-Language` prefers (Danish by default)."""
    return translator(negotiate(request.headers.get("accept-language")))


def _body(problem: ApiProblem, path: str, t: Translator) -> dict[str, Any]:
    detail = t(problem.key, **problem.values) if problem.key else problem.detail
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{problem.kind}",
        "title": t(f"problem.title.{problem.kind}"),
        "status": problem.status,
        "detail": detail,
        "instance": path,
        **problem.extra,
    }
    return {k: v for k, v in body.items() if v is not None}


def respond(problem: ApiProblem, request: Request) -> ProblemResponse:
    t = words_of(request)
    headers = {**problem.headers, "Content-Language": t.lang}
    return ProblemResponse(
        _body(problem, request.url.path, t), status_code=problem.status, headers=headers
    )


def _field_problems(errors: Sequence[Any], t: Translator) -> list[dict[str, Any]]:
    # The offending input is left out: it may be huge, binary or personal data.
    found = []
    for e in errors:
        kind = str(e.get("type", ""))
        message = str(e.get("msg", ""))
        key = f"pydantic.{kind}"
        if t.lang == "da" and t.has(key):
            context = {k: str(v) for k, v in (e.get("ctx") or {}).items()}
            if "expected" in context:
                context["expected"] = context["expected"].replace(" or ", f" {t('word.or')} ")
            message = t(key, **context)
        found.append(
            {
                "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
                "msg": message,
                "type": kind,
            }
        )
    return found


_HTTP_KINDS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
}


def problem_of(error: Exception, t: Translator) -> ApiProblem | None:
    """The problem an exception means, worded in `t`'s language; None for a bug (a 500)."""
    if isinstance(error, ApiProblem):
        return error
    if isinstance(error, RequestValidationError):
        fields = _field_problems(error.errors(), t)
        detail = "; ".join(f"{'.'.join(str(p) for p in f['loc'])}: {f['msg']}" for f in fields[:10])
        return ApiProblem(422, "invalid-request", detail[:2000], errors=fields[:50])
    if isinstance(error, StarletteHTTPException):
        kind = _HTTP_KINDS.get(error.status_code, "bad-request")
        key = f"problem.http.{error.status_code}"
        if t.has(key):
            return ApiProblem(error.status_code, kind, key=key, headers=error.headers)
        detail = error.detail if isinstance(error.detail, str) else None
        return ApiProblem(error.status_code, kind, detail, headers=error.headers)
    if isinstance(error, EventRefused):
        return refusal_problem(error, t)
    if isinstance(error, CaseNotFound):
        return ApiProblem(
            404,
            "case-not-found",
            key="problem.case_not_found",
            values={"case_id": error.case_id},
            case_id=error.case_id,
        )
    if isinstance(error, ConcurrencyConflict):
        return ApiProblem(
            409,
            "version-conflict",
            key="problem.version_conflict",
            values={"case_id": error.case_id, "expected_version": error.expected_version},
            case_id=error.case_id,
            expected_version=error.expected_version,
        )
    if isinstance(error, AccessDenied):
        values = dict(error.params)
        if t.lang == "da":
            values["role"] = t.role(error.params.get("role"))
        return ApiProblem(403, "forbidden", key=f"denied.{error.code}", values=values)
    if isinstance(error, UnknownRulebook):
        key = "problem.no_rulebook_on" if error.on else "problem.no_rulebook"
        values = {"rulebook": error.reference, "on": t.date(error.on) if error.on else ""}
        return ApiProblem(422, "no-rulebook", key=key, values=values)
    if isinstance(error, PeriodInvalid):
        values = {"period": error.period}
        return ApiProblem(422, "invalid-period", key=f"problem.period.{error.kind}", values=values)
    if isinstance(error, CursorInvalid):
        return ApiProblem(422, "invalid-request", key="problem.cursor_invalid")
    if isinstance(error, SearchInvalid):
        return ApiProblem(422, "invalid-request", key="problem.search_invalid")
    if isinstance(error, PageInvalid):
        return ApiProblem(
            422,
            "invalid-request",
            key="problem.page_invalid",
            values={"name": error.name, "value": error.value, "low": error.low, "high": error.high},
        )
    if isinstance(error, OperationalError):
        log.error("database unavailable: %s", type(error).__name__)
        return ApiProblem(503, "database-unavailable", key="problem.database_unavailable")
    return None


async def refuse_too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    """The answer to a request body above the limit (`sagsflow.limits.BodyLimit`): 413, before
    the route, its token check or its body parser ever ran; the connection is closed after it,
    since the rest of the body is not read."""
    request = Request(scope)
    problem = ApiProblem(
        413,
        "payload-too-large",
        key="problem.body_too_large",
        values={"limit": limit},
        headers={"Connection": "close"},
    )
    await respond(problem, request)(scope, receive, send)


def refusal_problem(
    error: EventRefused, t: Translator, kind: str | None = None, status: int | None = None
) -> ApiProblem:
    """A refused event (or case) as a problem: 409 `event-refused`, or 422 `invalid-event-data`
    when its data is invalid; the refusal's code, parameters and every reason worded."""
    invalid = error.code is RefusalCode.INVALID_DATA
    text = refused_text(error, t)
    event = t.event(str(error.event)) if t.lang == "da" else str(error.event)
    return ApiProblem(
        status or (422 if invalid else 409),
        kind or ("invalid-event-data" if invalid else "event-refused"),
        t("problem.event_refused", event=event, reason=text),
        code=error.code.value,
        params=dict(error.params),
        reason=text,
        reasons=[{**r.as_dict(), "text": refusal_text(r, t)} for r in error.refusals],
        allowed=list(error.allowed),
        event=str(error.event),
        phase=str(error.phase),
    )


class ProblemRoute(APIRoute):
    """An API route whose errors, validation included, answer as problem details."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:
                problem = problem_of(error, words_of(request))
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
            problem = problem_of(error, words_of(request))
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
        413: "The request body is larger than the server's limit (SAGSFLOW_MAX_BODY_BYTES)",
        422: "Invalid parameters or body, including event data the event refuses",
    }
    return {s: {"model": Problem, "description": described[s]} for s in statuses}
