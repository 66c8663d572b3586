"""The REST API under /api/v1 (issue 5): the CLI's contract over HTTP, with bearer tokens.

`install(app)` adds the routes, the problem-details answers (sagsflow/api/problems.py), the body
limit (sagsflow/limits.py: 413 above SAGSFLOW_MAX_BODY_BYTES, before the token is checked) and
the OpenAPI touches: the bearer security scheme, every error response as
`application/problem+json` (413 on every operation), and each event's data with its bounds. The routes only translate: they authenticate (deps.py) and call the
use cases (sagsflow/usecases), which decide what the caller may see and do and write the access
log — the same rows as the dashboard's for the same act.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic.json_schema import models_json_schema
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sagsflow.api import audit, cases, me, supervision
from sagsflow.api.problems import (
    PROBLEM_JSON,
    ApiProblem,
    Problem,
    install_handlers,
    refuse_too_large,
)
from sagsflow.limits import BodyLimit
from sagsflow.settings import settings
from statemachine import payloads
from statemachine.phases import CASE_EVENTS

PREFIX = "/api/v1"
EVENT_DATA = "EventData"  # the prefix of each event's data schema among the components


def install(app: FastAPI, *, max_body_bytes: int | None = None) -> None:
    """Add the API's routes, error handlers and body limit (default: SAGSFLOW_MAX_BODY_BYTES)
    to `app`."""
    api = APIRouter(prefix=PREFIX, dependencies=[Depends(one_value_each)])
    for module in (me, cases, supervision, audit):
        api.include_router(module.router)
    app.include_router(api)
    install_handlers(app)
    _document_problems(app)
    # Inside NoStore (added after it, so outside of it in the stack: the 413 says no-store too).
    app.add_middleware(
        BodyLimit,
        limit=max_body_bytes or settings().max_body_bytes,
        applies=lambda path: path.startswith(PREFIX),
        refuse=refuse_too_large,
    )
    app.add_middleware(NoStore)


def one_value_each(request: Request) -> None:
    """A query parameter given twice is a 422: the document gives each one value, and which of
    two the route would read (the last) is not for a client to guess."""
    names = [name for name, _ in request.query_params.multi_items()]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ApiProblem(
            422,
            "invalid-request",
            key="problem.repeated_parameter",
            values={"names": ", ".join(repeated)},
        )


class NoStore:
    """Every answer under /api/v1, the problems included, says `Cache-Control: no-store`: they
    carry data about children, which no browser or proxy may keep. Plain ASGI, so the answer is
    passed on as it is sent (no buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, sending)


def _document_problems(app: FastAPI) -> None:
    """Every 4xx/5xx response of the API is documented as application/problem+json; every
    operation may answer 413 (the body limit); event data is each event's own schema."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        too_large = {
            "description": "The request body is larger than the server's limit "
            "(SAGSFLOW_MAX_BODY_BYTES, default 1 MiB)",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith(PREFIX):
                continue
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.setdefault("413", too_large)
                for status, response in responses.items():
                    content = response.get("content", {})
                    if status[:1] in "45" and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.setdefault("Problem", Problem.model_json_schema(ref_template=_REF))
        _document_event_data(components)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_REF = "#/components/schemas/{model}"


def _document_event_data(components: dict[str, Any]) -> None:
    """`EventRequest.data` as what the server takes: one of the events' data schemas
    (`statemachine.payloads`, with every bound: lengths, list sizes, instants), or null; which
    event takes which is `x-event-data`."""
    models = sorted({payloads.PAYLOADS[e] for e in CASE_EVENTS}, key=lambda m: m.__name__)
    refs, found = models_json_schema(
        [(model, "validation") for model in models],
        ref_template="#/components/schemas/" + EVENT_DATA + "{model}",
    )
    for name, definition in found.get("$defs", {}).items():
        components[EVENT_DATA + name] = definition
    by_model = {model: refs[(model, "validation")] for model in models}
    request = components.get("EventRequest")
    if request is None:
        return
    described = request["properties"]["data"]
    request["properties"]["data"] = {
        "anyOf": [*(by_model[m] for m in models), {"type": "null"}],
        "title": described.get("title", "Data"),
        "description": (
            f"{described.get('description', '')} The data of the event named in `event` "
            f"(`x-event-data`); any event's data is an object of at most 50 fields, "
            f"{payloads.MAX_DEPTH} levels deep and {payloads.MAX_VALUES} values in all."
        ).strip(),
        "x-event-data": {e.value: by_model[payloads.PAYLOADS[e]] for e in CASE_EVENTS},
    }
