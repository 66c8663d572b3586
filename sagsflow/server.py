"""The web application: the REST API under /api/v1 and the dashboard at /.

`sagsflow serve` runs `create_app` under uvicorn. One `Context` (engine and rulebooks) serves
every request; the API (sagsflow/api) and the dashboard (sagsflow/dashboard) are thin edges over
the same service layer and the same access rules (sagsflow/access.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from sagsflow import api, dashboard
from sagsflow.services import Context


def default_context() -> Context:
    from models.database import make_engine
    from rulebooks import shipped_catalogue
    from sagsflow.settings import settings

    config = settings()
    return Context(
        make_engine(config.database_url), shipped_catalogue(config.rulebook_directories())
    )


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
