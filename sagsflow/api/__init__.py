"""The REST API under /api/v1 (issue 5): the CLI's contract over HTTP, with bearer tokens.

`install(app)` adds the routes, the problem-details answers (sagsflow/api/problems.py) and the
OpenAPI touches: the bearer security scheme, and every error response as
`application/problem+json`. The routes only translate: they authenticate (deps.py) and call the
use cases (sagsflow/usecases), which decide what the caller may see and do and write the access
log — the same rows as the dashboard's for the same act.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sagsflow.api import audit, cases, me, supervision
from sagsflow.api.problems import PROBLEM_JSON, install_handlers

PREFIX = "/api/v1"


def install(app: FastAPI) -> None:
    """Add the API's routes and error handlers to `app`."""
    api = APIRouter(prefix=PREFIX)
    for module in (me, cases, supervision, audit):
        api.include_router(module.router)
    app.include_router(api)
    install_handlers(app)
    _document_problems(app)
    app.add_middleware(NoStore)


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
    """Every 4xx/5xx response of the API is documented as application/problem+json."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith(PREFIX):
                continue
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if status[:1] in "45" and "application/json" in content:
                        content[PROBLEM_JSON] = content.pop("application/json")
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
