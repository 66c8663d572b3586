"""The server-rendered dashboard at / (issue 5): overview, stuck cases, caseload, case pages with
the events a user may record, and the phase diagram — Danish by default, English on request.

Works offline: templates, one stylesheet and inline SVG charts, nothing fetched from elsewhere.
Sign-in, sessions and CSRF: sagsflow/dashboard/sessions.py; who sees and does what, and the
access log: the use cases (sagsflow/usecases), as for the API.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from sagsflow.dashboard.pages import Refused, SignInRequired, router
from sagsflow.dashboard.sessions import SessionCodec, secret_key
from sagsflow.dashboard.web import (
    STATIC,
    Dashboard,
    read_viewer,
    redirect,
    render,
    render_unread,
)
from sagsflow.limits import BodyLimit
from sagsflow.organisation import Organisation, OrganisationInvalid, organisation
from sagsflow.settings import settings
from sagsflow.usecases.sessions import Lifetime
from sagsflow.usecases.signin import Throttle

__all__ = ["install"]


def install(
    app: FastAPI,
    *,
    clock: Callable[[], datetime] | None = None,
    key: str | None = None,
    organisation_file: str | None = None,
    max_body_bytes: int | None = None,
) -> None:
    """Add the dashboard's pages, static files, session handling and body limit to `app`.

    `app.state.context` must hold the service layer's Context. `key` signs the session cookies
    (default: SAGSFLOW_SECRET_KEY, else a key kept in state/secret_key); `organisation_file`
    names teams and caseworkers (default: SAGSFLOW_ORG_FILE, else the demo's); `clock`
    (default: the context's) is for tests; `max_body_bytes` (default: SAGSFLOW_MAX_BODY_BYTES)
    is the largest request body read.
    """
    config = settings()
    clock = clock or app.state.context.clock
    key = key or secret_key(config.secret_key)
    app.state.dashboard = Dashboard(
        codec=SessionCodec(key, clock=clock),
        organisation=_organisation(
            config.org_file if organisation_file is None else organisation_file
        ),
        clock=clock,
        lifetime=Lifetime(idle=timedelta(minutes=config.session_idle_minutes)),
        # Failed sign-ins are counted by an HMAC of the name under a key of the signing key's.
        throttle=Throttle(key=hashlib.sha256(b"sagsflow.sign-in:" + key.encode()).digest()),
    )
    app.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.include_router(router)
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(Refused, _refused)
    # Forms are small: a body above SAGSFLOW_MAX_BODY_BYTES is a page saying so (413), before
    # the session is read or the form parsed. The API's paths have their own limit and answer.
    app.add_middleware(
        BodyLimit,
        limit=max_body_bytes or config.max_body_bytes,
        applies=lambda path: not path.startswith("/api/"),
        refuse=_too_large,
    )


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


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    page = render_unread(
        Request(scope),
        "error.html",
        413,
        title="error.too_large",
        message="error.too_large_text",
        values={"limit": limit},
    )
    page.headers["Connection"] = "close"  # the rest of the body is not read
    await page(scope, receive, send)


_TITLES = {400: "error.bad_request", 404: "error.not_found", 422: "error.bad_request"}


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, Refused)
    viewer = read_viewer(request)
    title = _TITLES.get(error.status_code, "error.forbidden")
    return render(
        request,
        viewer,
        "error.html",
        status_code=error.status_code,
        title=title,
        message=error.message_key,
    )
