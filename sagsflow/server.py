"""The web application: the REST API under /api/v1 and the dashboard at /.

`sagsflow serve` runs `create_app` under uvicorn. One `Context` (the composition root's:
`sagsflow.bootstrap`) serves every request; the API (sagsflow/api) and the dashboard
(sagsflow/dashboard) are thin edges over the same use cases, reads and visibility rule.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from sagsflow import api, dashboard, ops
from sagsflow.context import Context

log = logging.getLogger("sagsflow.server")


def default_context() -> Context:
    from sagsflow import bootstrap

    return bootstrap.context()


def warm_up(app: FastAPI) -> None:
    """What every first request would otherwise pay, done before the server accepts one: the
    templates compiled and the message catalogues read. Then everything made so far — the
    organisation (tens of thousands of caseworkers' names at a million cases), rulebooks,
    templates, SQLAlchemy's metadata — is frozen out of the garbage collector's generations: a
    page that reads many rows otherwise pays full collections that walk that whole heap
    (bench/README.md, "Issue 9")."""
    from sagsflow.dashboard.web import Dashboard
    from sagsflow.present.i18n import LANGUAGES, translator
    from sagsflow.present.templating import environment

    board: Dashboard = app.state.dashboard
    for env in (board.environment, environment()):
        for name in env.list_templates():
            env.get_template(name)
    for lang in LANGUAGES:
        translator(lang)
    _warm_reads(app.state.context, board.clock(), board.page_size)
    gc.collect()
    gc.freeze()


def _warm_reads(context: Context, now: datetime, page_size: int) -> None:
    """The largest reads run once, their results thrown away: the whole municipality's
    overview, first page of stuck cases and compliance report of today's quarter and month,
    which a department head's or auditor's first requests would otherwise pay for compiling
    their statements (SQLAlchemy's cache), the database's first plans and its first reads of
    those rows from disk (bench/README.md, "Issue 9, third stop"). Nothing is kept: every
    request reads its figures again. A database not yet migrated is left for the first request
    to report."""
    from sqlalchemy.exc import SQLAlchemyError

    from sagsflow.dashboard.pages import warm_reads
    from sagsflow.read.compliance import compliance_report
    from statemachine.calendar import local_date
    from statemachine.periods import month_of, quarter_of

    today = local_date(now)
    try:
        warm_reads(context, now, page_size)
        for span in (quarter_of(today), month_of(today)):
            compliance_report(context, period_start=span.first, period_end=span.last, now=now)
    except SQLAlchemyError as error:
        log.warning("warm-up read failed: %s", type(error).__name__)


@asynccontextmanager
async def _warmed(app: FastAPI) -> AsyncIterator[None]:
    warm_up(app)
    yield


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
        lifespan=_warmed,
    )
    app.state.context = context or default_context()
    api.install(app)
    dashboard.install(app)
    # Last: its request log is the outermost middleware (docs/operations.md).
    ops.install(app)
    return app
