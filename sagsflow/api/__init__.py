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
