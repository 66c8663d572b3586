"""What every dashboard request shares: who is asking, in which language, and how pages render.

A request's `Viewer` is read from its cookies: the session (sagsflow/dashboard/sessions.py),
whose server-side session and user are read again from the database each time, and the
language. Pages render with Jinja2
(autoescaped) and leave with the session and language cookies they need and the security
headers of every dashboard response.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sagsflow.context import Context
from sagsflow.dashboard.sessions import (
    LANGUAGE_COOKIE,
    SESSION_COOKIE,
    Session,
    SessionCodec,
)
from sagsflow.organisation import Organisation
from sagsflow.present.i18n import DEFAULT, Lang, Translator, language, translator
from sagsflow.usecases.access import Asked
from sagsflow.usecases.sessions import Lifetime, session_principal
from sagsflow.usecases.signin import Throttle
from statemachine.calendar import local_date
from statemachine.visibility import Channel, Principal

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANGUAGE_AGE = 365 * 24 * 3600
# Nothing on a page is fetched from elsewhere; no inline script or style; no framing.
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # A sign-in link's token must never leave in a Referer header.
    "Referrer-Policy": "no-referrer",
    # Pages show personal data: no caching anywhere.
    "Cache-Control": "no-store",
}


@dataclass
class Dashboard:
    """The dashboard's configuration, kept on `app.state.dashboard` (tests may set the clock)."""

    codec: SessionCodec
    organisation: Organisation | None
    clock: Callable[[], datetime]
    page_size: int = 25
    lifetime: Lifetime = field(default_factory=Lifetime)  # a session's idle timeout and age
    throttle: Throttle = field(default_factory=Throttle)  # when signing in pauses
    environment: Environment = field(
        default_factory=lambda: Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
    )


@dataclass(frozen=True)
class Viewer:
    """Who asks, in which language, at which instant; and which cookies the answer must set."""

    session: Session
    principal: Principal | None
    lang: Lang
    now: datetime
    new_session: bool = False  # the session cookie must be (re)set
    new_lang: bool = False  # the language cookie must be set
    expired: bool = False  # the cookie named a session that has ended

    @property
    def t(self) -> Translator:
        return translator(self.lang)


def dashboard_of(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found


def context_of(request: Request) -> Context:
    found: Context = request.app.state.context
    return found


def read_viewer(request: Request) -> Viewer:
    """The request's viewer (a FastAPI dependency)."""
    dashboard = dashboard_of(request)
    now = dashboard.clock()
    session = dashboard.codec.loads(request.cookies.get(SESSION_COOKIE))
    new_session = session is None
    if session is None:
        session = Session.anonymous()
    principal = None
    expired = False
    if session.sid is not None:
        principal = session_principal(
            context_of(request), session.sid, now=now, lifetime=dashboard.lifetime
        )
        if principal is None:  # signed out, ended, idle, too old, or its user disabled
            session, new_session, expired = Session.anonymous(), True, True
    asked = language(request.query_params.get("lang"))
    kept = language(request.cookies.get(LANGUAGE_COOKIE))
    lang = asked or kept or DEFAULT
    return Viewer(
        session=session,
        principal=principal,
        lang=lang,
        now=now,
        new_session=new_session,
        new_lang=asked is not None and asked != kept,
        expired=expired,
    )


def asked(request: Request, viewer: Viewer) -> Asked:
    """The request as the access log names it ("GET /cases/7"), at the viewer's instant."""
    return Asked.http(
        Channel.DASHBOARD, request.method, request.url.path, request.url.query, viewer.now
    )


def client_of(request: Request) -> str:
    """The client's address, which failed sign-ins are counted by (behind a proxy: as uvicorn's
    `proxy_headers` and `forwarded_allow_ips` let it read it); "" when unknown."""
    return request.client.host if request.client else ""


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https"


def finish(request: Request, viewer: Viewer, response: Response) -> Response:
    """Set the cookies the viewer needs and the security headers."""
    if viewer.new_session:
        set_session(request, response, viewer.session)
    if viewer.new_lang:
        response.set_cookie(
            LANGUAGE_COOKIE,
            viewer.lang,
            max_age=LANGUAGE_AGE,
            path="/",
            samesite="lax",
            httponly=True,
            secure=secure_cookies(request),
        )
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def set_session(request: Request, response: Response, session: Session) -> None:
    codec = dashboard_of(request).codec
    response.set_cookie(
        SESSION_COOKIE,
        codec.dumps(session),
        max_age=int(codec.max_age.total_seconds()),
        path="/",
        samesite="lax",
        httponly=True,
        secure=secure_cookies(request),
    )


def render(
    request: Request,
    viewer: Viewer,
    template: str,
    status_code: int = 200,
    **values: Any,
) -> Response:
    dashboard = dashboard_of(request)
    page = dashboard.environment.get_template(template)
    people = dashboard.organisation
    body = page.render(
        request=request,
        viewer=viewer,
        t=viewer.t,
        csrf=viewer.session.csrf,
        path=request.url.path,
        lang_url=lambda lang: url_with(request, lang=lang),
        url_with=lambda **changes: url_with(request, **changes),
        local_day=local_date,
        # People and teams by the organisation file's names (their ids where it names none).
        name_of=lambda person: people.display_name(person) if people else person,
        team_name_of=lambda team: people.team_name(team) if people else team,
        measure_ref=lambda key: measure_ref(key, viewer.t),
        **values,
    )
    return finish(request, viewer, HTMLResponse(body, status_code=status_code))


@dataclass(frozen=True)
class _Nobody:
    """The viewer of a page answered before the session is read: signed in as no one."""

    principal: None = None


def render_unread(request: Request, template: str, status_code: int, **values: Any) -> Response:
    """A page for a request the dashboard refuses before reading anything of it (a body above
    the limit): no session or database is read, and no cookie is set; the language is the one
    the query or the language cookie asks for (Danish by default)."""
    dashboard = dashboard_of(request)
    lang = (
        language(request.query_params.get("lang"))
        or language(request.cookies.get(LANGUAGE_COOKIE))
        or DEFAULT
    )
    body = dashboard.environment.get_template(template).render(
        request=request,
        viewer=_Nobody(),
        t=translator(lang),
        csrf="",
        path=request.url.path,
        lang_url=lambda lang: url_with(request, lang=lang),
        url_with=lambda **changes: url_with(request, **changes),
        **values,
    )
    response = HTMLResponse(body, status_code=status_code)
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def measure_ref(key: str | None, t: Translator) -> str:
    """A case's measure by its number as people say it ("indsats 2"), not its key ("m2")."""
    if not key:
        return ""
    number = key[1:] if key.startswith("m") and key[1:].isdigit() else key
    return t("measure.ref", number=number)


def redirect(request: Request, viewer: Viewer, to: str) -> Response:
    return finish(request, viewer, RedirectResponse(to, status_code=303))


def url_with(request: Request, **changes: object) -> str:
    """This page's URL with some query parameters changed (None or "" removes one)."""
    query = {k: v for k, v in request.query_params.items()}
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = str(value)
    return request.url.path + (f"?{urlencode(query)}" if query else "")


def local_path(target: str | None) -> str:
    """`target` if it is a path on this site, else the overview (no open redirects)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"
