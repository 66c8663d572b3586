"""The web application: the REST API under /api/v1 and the dashboard at /.

`sagsflow serve` runs `create_app` under uvicorn. One `Context` (the composition root's:
`sagsflow.bootstrap`) serves every request; the API (sagsflow/api) and the dashboard
(sagsflow/dashboard) are thin edges over the same use cases, reads and visibility rule.
"""

from __future__ import annotations

from fastapi import FastAPI

from sagsflow import api, dashboard
from sagsflow.context import Context


def default_context() -> Context:
    from sagsflow import bootstrap

    return bootstrap.context()


def create_app(context: Context | None = None) -> FastAPI:
    """The whole application over `context` (default: the settings' database and rulebooks)."""
    app = FastAPI(
        title="Sagsflow",
        summary="Case-process engine for Danish municipal child-welfare work",
        version="1",
        openapi_url="/openapi.json",
        # No Swagger UI: it loads its scripts from a CDN, and the product works offline.
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context or default_context()
    api.install(app)
    dashboard.install(app)
    return app
