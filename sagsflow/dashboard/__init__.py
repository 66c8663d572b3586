"""The server-rendered dashboard at / (issue 5): overview, stuck cases, caseload, case pages with
the events a user may record, and the phase diagram — Danish by default, English on request.

Works offline: templates, one stylesheet and inline SVG charts, nothing fetched from elsewhere.
Sign-in, sessions and CSRF: sagsflow/dashboard/sessions.py; who sees and does what, and the
access log: the use cases (sagsflow/usecases), as for the API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from sagsflow.dashboard.pages import Refused, SignInRequired, router
from sagsflow.dashboard.sessions import SessionCodec, secret_key
from sagsflow.dashboard.web import STATIC, Dashboard, read_viewer, redirect, render
from sagsflow.organisation import Organisation, OrganisationInvalid, organisation
from sagsflow.settings import settings

__all__ = ["install"]


def install(
    app: FastAPI,
    *,
    clock: Callable[[], datetime] | None = None,
    key: str | None = None,
    organisation_file: str | None = None,
) -> None:
    """Add the dashboard's pages, static files and session handling to `app`.

    `app.state.context` must hold the service layer's Context. `key` signs the session cookies
    (default: SAGSFLOW_SECRET_KEY, else a key kept in state/secret_key); `organisation_file`
    names teams and caseworkers (default: SAGSFLOW_ORG_FILE, else the demo's); `clock`
    (default: the context's) is for tests.
    """
    config = settings()
    clock = clock or app.state.context.clock
    app.state.dashboard = Dashboard(
        codec=SessionCodec(key or secret_key(config.secret_key), clock=clock),
        organisation=_organisation(
            config.org_file if organisation_file is None else organisation_file
        ),
        clock=clock,
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.include_router(router)
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(Refused, _refused)


def _organisation(path: str) -> Organisation | None:
    try:
        return organisation(path)
    except OrganisationInvalid:
        return None  # team names fall back to their ids


async def _sign_in_first(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    query = [] if error.next_path in ("", "/") else [f"next={quote(error.next_path)}"]
    if error.viewer.expired:
        query.append("expired=1")
    target = "/sign-in" + (f"?{'&'.join(query)}" if query else "")
    return redirect(request, error.viewer, target)


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, Refused)
    viewer = read_viewer(request)
    title = "error.not_found" if error.status_code == 404 else "error.forbidden"
    return render(
        request,
        viewer,
        "error.html",
        status_code=error.status_code,
        title=title,
        message=error.message_key,
    )
