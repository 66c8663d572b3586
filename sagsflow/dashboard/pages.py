"""The dashboard's pages and forms: an edge that reads and writes as a principal through
`sagsflow.usecases` — which decide who may see and do what, and write the access log, as for
the API — and reads figures through `sagsflow.read` within the scope the use cases hand out.

GET pages never change anything but the access log (and a session's last-seen minute). Every
POST carries the session's CSRF token.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from markupsafe import Markup

from sagsflow.context import Context
from sagsflow.dashboard.web import (
    Viewer,
    asked,
    client_of,
    context_of,
    dashboard_of,
    local_path,
    read_viewer,
    redirect,
    render,
    set_session,
)
from sagsflow.present import charts, diagram
from sagsflow.present.case import child_conversation_text, worded_case
from sagsflow.present.i18n import Translator
from sagsflow.present.outbox import parked_reason_text
from sagsflow.present.refusals import refusal_text, refused_text
from sagsflow.read.caseload import (
    Load,
    TeamCounts,
    caseload_target,
    municipality_of,
    open_loads,
    team_counts,
)
from sagsflow.read.cases import SearchInvalid, list_cases, search_text
from sagsflow.read.compliance import Share
from sagsflow.read.deadlines import overview_lists
from sagsflow.read.overview import PhaseCount, overview_figures
from sagsflow.read.stuck import REASONS, StuckFilter, count_stuck_cases, stuck_list
from sagsflow.read.visibility import case_filter
from sagsflow.settings import settings
from sagsflow.usecases import signin
from sagsflow.usecases.access import AccessDenied, Asked
from sagsflow.usecases.cases import CaseView, fire_event_as, reshow_case, view_case
from sagsflow.usecases.queue import my_queue
from sagsflow.usecases.sessions import end_session
from sagsflow.usecases.signin import Outcome, Paused, SignedIn
from sagsflow.usecases.supervision import list_scope
from sagsflow.usecases.users import sign_in_link_user
from statemachine.calendar import InstantInvalid, local_date, parse_instant, to_local
from statemachine.consent import age_on
from statemachine.errors import CaseNotFound, ConcurrencyConflict, EventRefused, Refusal
from statemachine.graph import edges
from statemachine.payloads import MAX_DEPTH, MAX_VALUES, Shape, shape_problem
from statemachine.phases import Event, Phase, Role
from statemachine.rulebook import Rulebook
from statemachine.visibility import Channel, Principal, Scope


async def _no_nul(request: Request) -> None:
    """A NUL in a query parameter, a path segment or a form field is a 400 page, on every page,
    before anything reads it: PostgreSQL cannot store or compare text that holds one (a filter,
    a name at sign-in, a link), and both databases must answer the same."""
    values = [*request.query_params.multi_items(), *request.path_params.items()]
    kind = request.headers.get("content-type", "")
    if request.method == "POST" and kind.startswith(FORM_TYPES):
        values += [(k, v) for k, v in (await request.form()).multi_items() if isinstance(v, str)]
    if any("\x00" in str(key) or "\x00" in str(value) for key, value in values):
        raise Refused(400, "error.bad_input_text")


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
router = APIRouter(include_in_schema=False, dependencies=[Depends(_no_nul)])
ViewerDep = Annotated[Viewer, Depends(read_viewer)]
OPEN_PHASES = [p.value for p in Phase if p is not Phase.CLOSURE]
HORIZON_DAYS = 14  # "due in 14 days" (issue 5), as the supervisor's digest looks ahead
TREND_WEEKS = 12
LISTED = 8  # rows in the overview's short lists
MAX_PAGE = 10_000


class SignInRequired(Exception):
    """No signed-in user: the answer is the sign-in page."""

    def __init__(self, next_path: str, viewer: Viewer) -> None:
        self.next_path = next_path
        self.viewer = viewer


class Refused(Exception):
    """A page the viewer may not have: 403 (forbidden) or 404 (not found, or not visible)."""

    def __init__(self, status_code: int, message_key: str) -> None:
        self.status_code = status_code
        self.message_key = message_key


def signed_in(request: Request, viewer: Viewer) -> Principal:
    if viewer.principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target, viewer)
    return viewer.principal


def check_csrf(viewer: Viewer, submitted: str | None) -> None:
    if not viewer.session.csrf_matches(submitted):
        raise Refused(403, "error.csrf")


# --- who sees what -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    caseworkers: tuple[str, ...]


FEW_WORKERS = 200  # a caseworker filter lists the scope's caseworkers when this few or fewer
TEAMS_PAGE = 50  # the department head's caseload: teams a page, the most loaded first


_TEAMS: dict[int, tuple[Any, list[Team], dict[str, str]]] = {}


def _teams_of(organisation: Any) -> tuple[list[Team], dict[str, str]]:
    """The organisation's teams and their names, built once per organisation object (it never
    changes while the server runs; 4,000 teams of 10 at a million cases)."""
    kept = _TEAMS.get(id(organisation))
    if kept is None or kept[0] is not organisation:
        teams = [
            Team(t.id, t.name, tuple(p.id for p in t.caseworkers))
            for t in (organisation.teams if organisation else [])
        ]
        kept = (organisation, teams, {t.id: t.name for t in teams})
        _TEAMS[id(organisation)] = kept
    return kept[1], kept[2]


def visible_teams(request: Request, principal: Principal) -> list[Team]:
    """The organisation's teams the principal's cases can belong to (for filters and labels)."""
    teams, _ = _teams_of(dashboard_of(request).organisation)
    if principal.scope is Scope.ALL:
        return teams
    if principal.scope is Scope.NONE or principal.team is None:
        return []
    own = [t for t in teams if t.id == principal.team]
    return own or [Team(principal.team, principal.team, ())]


def _person_name(request: Request, person: str | None) -> str | None:
    """The organisation file's name for a person id (the id where it names none)."""
    people = dashboard_of(request).organisation
    return people.display_name(person) if people else person


def team_names(request: Request) -> dict[str, str]:
    return _teams_of(dashboard_of(request).organisation)[1]


def worker_choices(
    teams: Sequence[Team], team: str | None, worker: str | None
) -> tuple[list[str], bool]:
    """The caseworker filter's options: the chosen team's caseworkers, or every visible one when
    they are few (FEW_WORKERS); else only the chosen one, and True: choose a team first."""
    if team:
        chosen = [t for t in teams if t.id == team]
        names = sorted({w for t in chosen for w in t.caseworkers})
        return (names if not worker or worker in names else [*names, worker]), False
    if sum(len(t.caseworkers) for t in teams) <= FEW_WORKERS:
        names = sorted({w for t in teams for w in t.caseworkers})
        return (names if not worker or worker in names else [*names, worker]), False
    return ([worker] if worker else []), True


def scope_label(request: Request, principal: Principal, t: Translator) -> str:
    names = team_names(request)
    team = names.get(principal.team or "", principal.team or "")
    if principal.scope is Scope.ALL:
        return t("overview.scope_all")
    if principal.scope is Scope.TEAM:
        return t("overview.scope_team", team=team)
    return t("overview.scope_own")


def _choice(value: str | None, allowed: Sequence[str]) -> str | None:
    return value if value in allowed else None


def _page_number(value: str | None) -> int:
    try:
        return min(max(int(value or "1"), 1), MAX_PAGE)
    except ValueError:
        return 1


# --- sign-in and sign-out ----------------------------------------------------------------------


@router.get("/sign-in")
def sign_in_page(request: Request, viewer: ViewerDep, next: str = "/") -> Response:
    if viewer.principal is not None:
        return redirect(request, viewer, local_path(next))
    notice = None
    if viewer.expired or request.query_params.get("expired"):
        notice = "signin.expired"
    elif request.query_params.get("signed_out"):
        notice = "signin.signed_out"
    return render(request, viewer, "sign_in.html", next=local_path(next), notice=notice)


@router.post("/sign-in")
def sign_in(
    request: Request,
    viewer: ViewerDep,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_csrf(viewer, csrf)
    outcome = signin.sign_in_with_password(
        context_of(request),
        name.strip(),
        password,
        address=client_of(request),
        asked=asked(request, viewer),
        throttle=dashboard_of(request).throttle,
    )
    if isinstance(outcome, SignedIn):
        return _start_session(request, viewer, outcome, local_path(next))
    paused = outcome if isinstance(outcome, Paused) else None
    page = render(
        request,
        viewer,
        "sign_in.html",
        status_code=_status(outcome),
        next=local_path(next),
        error=None if paused else "signin.failed",
        paused=paused,
        name=name,
    )
    return _retry_after(page, outcome)


@router.get("/sign-in/{token}")
def sign_in_link_page(request: Request, viewer: ViewerDep, token: str) -> Response:
    """The page a one-time link opens: which account it signs into, and a button that uses it
    — when someone is signed in here already, a button that asks to replace their session.
    Opening the link neither uses it nor touches the session, so that a mail scanner or a link
    preview cannot spend it, and a link sent to someone signed in cannot switch their session
    behind their back."""
    return _link_page(request, viewer, token)


def _link_page(request: Request, viewer: Viewer, token: str) -> Response:
    holder = sign_in_link_user(context_of(request), token, now=viewer.now)
    return render(request, viewer, "sign_in_link.html", token=token, holder=holder)


@router.post("/sign-in/{token}")
def sign_in_with_link(
    request: Request,
    viewer: ViewerDep,
    token: str,
    csrf: Annotated[str, Form()] = "",
    replace: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(viewer, csrf)
    if viewer.principal is not None and replace != "yes":
        # Signed in already (since the page was opened, maybe): ask before replacing it.
        return _link_page(request, viewer, token)
    outcome = signin.sign_in_with_link(
        context_of(request),
        token,
        address=client_of(request),
        # The access log never holds the link itself.
        asked=Asked(Channel.DASHBOARD, "POST /sign-in/(link)", viewer.now),
        throttle=dashboard_of(request).throttle,
    )
    if isinstance(outcome, SignedIn):
        if viewer.session.sid is not None:  # the session the link replaces ends here
            end_session(context_of(request), viewer.session.sid, now=viewer.now)
        return _start_session(request, viewer, outcome, "/")
    page = render(
        request,
        viewer,
        "sign_in_link.html",
        status_code=_status(outcome, failed=400),
        token=None,
        failed=True,
        paused=outcome if isinstance(outcome, Paused) else None,
    )
    return _retry_after(page, outcome)


def _status(outcome: Outcome, *, failed: int = 401) -> int:
    return 429 if isinstance(outcome, Paused) else failed


def _retry_after(response: Response, outcome: Outcome) -> Response:
    if isinstance(outcome, Paused):
        response.headers["Retry-After"] = str(outcome.seconds)
    return response


def _start_session(request: Request, viewer: Viewer, signed: SignedIn, to: str) -> Response:
    if viewer.session.sid is not None:  # signed in again in this browser: the old one ends
        end_session(context_of(request), viewer.session.sid, now=viewer.now)
    response = redirect(request, viewer, to)
    set_session(request, response, viewer.session.signed_in(signed.session_id))
    return response


@router.post("/sign-out")
def sign_out(request: Request, viewer: ViewerDep, csrf: Annotated[str, Form()] = "") -> Response:
    """Ends the session on the server: a copy of the cookie no longer signs anyone in."""
    check_csrf(viewer, csrf)
    if viewer.session.sid is not None:
        end_session(context_of(request), viewer.session.sid, now=viewer.now)
    response = redirect(request, viewer, "/sign-in?signed_out=1")
    set_session(request, response, viewer.session.anonymous())
    return response


# --- the overview ------------------------------------------------------------------------------


@router.get("/")
def overview(request: Request, viewer: ViewerDep) -> Response:
    principal = signed_in(request, viewer)
    t, now = viewer.t, viewer.now
    values: dict[str, Any] = {"scope_label": scope_label(request, principal, t)}
    if principal.sees_cases:
        scope = list_scope(context_of(request), principal, asked(request, viewer))
        # Straight from the read models on every request, whichever process serves it
        # (docs/decisions/010-read-models.md).
        figures = overview_figures(
            context_of(request), scope, now, horizon_days=HORIZON_DAYS, trend_weeks=TREND_WEEKS
        )
        breached, due = overview_lists(
            context_of(request), scope, now, days=HORIZON_DAYS, limit=LISTED
        )
        open_phases = [p for p in figures.phases if p.phase != Phase.CLOSURE.value]
        values |= {
            "breached": breached,
            "due": due,
            "horizon": HORIZON_DAYS,
            "weeks": TREND_WEEKS,
            "today": local_date(now),
            "phases": open_phases,
            "phase_bars": _phase_bars(open_phases, t),
            "closed": next(p.cases for p in figures.phases if p.phase == Phase.CLOSURE.value),
            "open_total": sum(p.cases for p in open_phases),
            "stuck_total": sum(p.stuck for p in open_phases),
            "breached_total": figures.breached,
            "due_total": figures.due,
            "quarter": figures.quarter,
            "shares": figures.shares,
            "share_bars": _share_bars(figures.shares, t),
            "trend": charts.trend_chart(figures.weeks, t),
        }
    return render(request, viewer, "overview.html", **values)


def warm_reads(context: Context, now: datetime, page_size: int) -> None:
    """The whole municipality's overview and first page of stuck cases (a department head's
    or auditor's first pages), read once and thrown away: `server.warm_up`."""
    whole = case_filter(Principal("", Role.DEPARTMENT_HEAD, None))
    overview_figures(context, whole, now, horizon_days=HORIZON_DAYS, trend_weeks=TREND_WEEKS)
    overview_lists(context, whole, now, days=HORIZON_DAYS, limit=LISTED)
    count_stuck_cases(context, whole, StuckFilter(), now)
    stuck_list(context, whole, StuckFilter(), now, offset=0, size=page_size)


def _phase_bars(phases: Sequence[PhaseCount], t: Translator) -> dict[str, Markup]:
    peak = max((p.cases for p in phases), default=0) or 1
    return {p.phase: charts.bar(p.cases / peak, charts.BLUE) for p in phases}


def _share_bars(shares: Sequence[Share], t: Translator) -> dict[str, Markup]:
    return {
        s.rule: charts.bar(
            s.share or 0.0,
            charts.ON_TIME
            if (s.share or 0) >= 0.9
            else "#d98b00"
            if (s.share or 0) >= 0.6
            else charts.LATE,
        )
        for s in shares
    }


# --- stuck cases -------------------------------------------------------------------------------


@router.get("/stuck")
def stuck(
    request: Request,
    viewer: ViewerDep,
    team: str | None = None,
    worker: str | None = None,
    phase: str | None = None,
    reason: str | None = None,
    page: str | None = None,
) -> Response:
    principal = signed_in(request, viewer)
    teams = visible_teams(request, principal)
    chosen = StuckFilter(
        team=team or None,
        worker=worker or None,
        phase=_choice(phase, OPEN_PHASES),
        reason=_choice(reason, REASONS),
    )
    workers, team_first = worker_choices(teams, chosen.team, chosen.worker)
    size = dashboard_of(request).page_size
    number = _page_number(page)
    values: dict[str, Any] = {
        "workers": workers,
        "team_first": team_first,
        "teams": teams,
        "phases": OPEN_PHASES,
        "reasons": REASONS,
        "chosen": chosen,
        "team_names": team_names(request),
        "rows": [],
        "total": 0,
        "page": number,
        "size": size,
        "has_more": False,
    }
    if principal.sees_cases:
        context = context_of(request)
        scope = list_scope(context, principal, asked(request, viewer))
        total = count_stuck_cases(context, scope, chosen, viewer.now)
        found = stuck_list(
            context, scope, chosen, viewer.now, offset=(number - 1) * size, size=size
        )
        values |= {
            "rows": found.rows,
            "total": total,
            "has_more": found.has_more,
        }
    return render(request, viewer, "stuck.html", **values)


# --- a list of cases -----------------------------------------------------------------------------


@router.get("/cases")
def cases(
    request: Request,
    viewer: ViewerDep,
    phase: str | None = None,
    worker: str | None = None,
    team: str | None = None,
    page: str | None = None,
    go: str | None = None,
    q: str | None = None,
) -> Response:
    principal = signed_in(request, viewer)
    if go and go.strip().isdigit():
        return redirect(request, viewer, f"/cases/{int(go.strip())}")
    try:
        search = search_text(q)
    except SearchInvalid:
        raise Refused(400, "error.bad_input_text") from None
    teams = visible_teams(request, principal)
    workers, team_first = worker_choices(teams, team or None, worker or None)
    size = dashboard_of(request).page_size
    number = _page_number(page)
    chosen_phase = _choice(phase, [p.value for p in Phase])
    rows: Sequence[Mapping[str, Any]] = []
    if principal.sees_cases:
        rows = list_cases(
            context_of(request),
            phase=chosen_phase,
            worker=worker or None,
            team=team or None,
            limit=size + 1,
            offset=(number - 1) * size,
            scope=list_scope(context_of(request), principal, asked(request, viewer)),
            q=search,
        )
    return render(
        request,
        viewer,
        "cases.html",
        rows=rows[:size],
        has_more=len(rows) > size,
        page=number,
        size=size,
        teams=teams,
        workers=workers,
        team_first=team_first,
        phases=[p.value for p in Phase],
        chosen={
            "phase": chosen_phase,
            "worker": worker or None,
            "team": team or None,
            "q": search,
        },
        team_names=team_names(request),
    )


# --- my deadlines ("Mine frister") ----------------------------------------------------------------


@router.get("/queue")
def queue(request: Request, viewer: ViewerDep) -> Response:
    """The signed-in person's own queue: their breached deadlines, those due within
    HORIZON_DAYS, the notifications parked for them (a team leader: for the team's cases)."""
    principal = signed_in(request, viewer)
    values: dict[str, Any] = {"horizon": HORIZON_DAYS, "queue": None}
    if principal.sees_cases:
        found = my_queue(
            context_of(request), principal, asked(request, viewer), within_days=HORIZON_DAYS
        )
        values |= {
            "queue": found,
            "reasons": {
                p.notification_id: parked_reason_text(
                    p.parked_reason, viewer.t, lambda who: _person_name(request, who) or who
                )
                if p.parked_reason
                else None
                for p in found.parked
            },
            "team_leader": principal.role is Role.TEAM_LEADER,
        }
    return render(request, viewer, "queue.html", **values)


# --- caseload ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadRow:
    team: str
    worker: str | None
    open_cases: int
    in_organisation: bool
    team_id: str | None = None


@dataclass(frozen=True)
class TeamLoad:
    """One team's caseload: its caseworkers' open cases, averaged and at most, against the
    target; `unassigned`: the team's cases without a caseworker."""

    team_id: str | None
    name: str
    caseworkers: int
    open_cases: int
    unassigned: int
    average: float
    maximum: int
    over: int  # caseworkers over the target


@router.get("/caseload")
def caseload(
    request: Request, viewer: ViewerDep, team: str | None = None, page: str | None = None
) -> Response:
    principal = signed_in(request, viewer)
    t = viewer.t
    context = context_of(request)
    values: dict[str, Any] = {"rows": [], "chart": None, "team_rows": None}
    if principal.sees_cases:
        scope = list_scope(context, principal, asked(request, viewer))
        target, source = caseload_target(
            context.catalogue,
            municipality_of(context, scope) or settings().municipality,
            viewer.now,
        )
        teams = visible_teams(request, principal)
        names = team_names(request)
        values |= {"target": target, "source": source, "drill": None}
        whole = principal.scope is Scope.ALL
        if whole and not team:
            count, per_team = _team_summary(teams, team_counts(context, scope, target), names)
            if count > FEW_WORKERS:
                # Too many caseworkers for one page: a row and a bar per team instead.
                number = _page_number(page)
                shown = per_team[(number - 1) * TEAMS_PAGE : number * TEAMS_PAGE]
                values |= {
                    "rows": shown,
                    "team_rows": shown,
                    "total": len(per_team),
                    "page": number,
                    "size": TEAMS_PAGE,
                    "has_more": number * TEAMS_PAGE < len(per_team),
                    "chart": charts.team_caseload_chart(shown, target, t) if shown else None,
                }
                return render(request, viewer, "caseload.html", **values)
        if whole and team:
            # The department head's drill-down: one team's caseworkers.
            own = [x for x in teams if x.id == team] or [Team(team, names.get(team, team), ())]
            rows = _load_rows(own, open_loads(context, scope, team), names)
            values["drill"] = own[0]
        else:
            rows = _load_rows(teams, open_loads(context, scope), names)
        bars = [
            charts.CaseloadBar(
                _person_name(request, row.worker) or t("no_worker"),
                row.team,
                Load(row.team, row.worker, row.open_cases),
                row.in_organisation,
            )
            for row in rows
        ]
        values |= {
            "rows": rows,
            "chart": charts.caseload_chart(bars, target, t) if bars else None,
        }
    return render(request, viewer, "caseload.html", **values)


def _by_team(
    teams: Sequence[Team], loads: Sequence[Load]
) -> tuple[dict[str | None, dict[str | None, int]], list[str | None]]:
    """Open cases per team and caseworker, and the teams in order: the organisation file's,
    then any other team holding cases (by id), then cases without a team."""
    by_team: dict[str | None, dict[str | None, int]] = {}
    for load in loads:
        by_team.setdefault(load.team, {})[load.worker] = load.open_cases
    listed = {team.id for team in teams}
    order = [team.id for team in teams] + sorted(
        (k for k in by_team if k not in listed), key=lambda k: k or "~"
    )
    return by_team, order


def _team_summary(
    teams: Sequence[Team], counts: Sequence[TeamCounts], names: Mapping[str, str]
) -> tuple[int, list[TeamLoad]]:
    """How many caseworker rows the whole scope has (`_load_rows`' rows, not built), and its
    per-team loads, from each team's counters (`read.caseload.team_counts`): 40,000
    caseworkers at a million cases are summed per team in SQL on every request.

    A team's caseworkers are the organisation file's (with or without cases) and anyone else
    holding its cases; its unassigned cases count in its total, not in its average."""
    held = {c.team: c for c in counts}
    listed = {team.id: team.caseworkers for team in teams}
    order = list(listed) + sorted((k for k in held if k not in listed), key=lambda k: k or "~")
    total = 0
    found: list[TeamLoad] = []
    for team_id in order:
        acc = held.get(team_id) or TeamCounts(team_id, 0, 0, False, 0, 0, frozenset())
        members = listed.get(team_id or "", ())
        caseworkers = len(members) + len(acc.workers.difference(members))
        rows = caseworkers + (1 if acc.has_unassigned else 0)
        total += rows
        if not rows:
            continue
        found.append(
            TeamLoad(
                team_id,
                names.get(team_id or "", team_id or "–"),
                caseworkers,
                acc.cases + acc.unassigned,
                acc.unassigned,
                acc.cases / caseworkers if caseworkers else 0.0,
                acc.most,
                acc.over,
            )
        )
    found.sort(key=lambda x: (-x.average, -x.maximum, x.name))
    return total, found


def _load_rows(
    teams: Sequence[Team], loads: Sequence[Load], names: Mapping[str, str]
) -> list[LoadRow]:
    """Each team's caseworkers in the organisation file's order (none left out, even with no
    cases), then anyone else holding the team's cases, then cases without a caseworker."""
    by_team, order = _by_team(teams, loads)
    rows: list[LoadRow] = []
    known = {team.id: team.caseworkers for team in teams}
    for team_id in order:
        counts = dict(by_team.get(team_id, {}))
        label = names.get(team_id or "", team_id or "–")
        for name in known.get(team_id or "", ()):
            rows.append(LoadRow(label, name, counts.pop(name, 0), True, team_id))
        for worker, n in sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or "")):
            rows.append(LoadRow(label, worker, n, worker is not None and team_id in known, team_id))
    return rows


# --- a case ------------------------------------------------------------------------------------


@router.get("/cases/{case_id}")
def case_page(request: Request, viewer: ViewerDep, case_id: int) -> Response:
    principal = signed_in(request, viewer)
    try:
        shown = view_case(context_of(request), principal, asked(request, viewer), case_id)
    except (AccessDenied, CaseNotFound):
        # Never a hint that a case the principal may not see exists.
        raise Refused(404, "error.not_found_text") from None
    done = request.query_params.get("done")
    return _case_response(request, viewer, shown, done=done)


@router.get("/cases/{case_id}/print")
def case_print(request: Request, viewer: ViewerDep, case_id: int) -> Response:
    """The case for paper (A4): facts, phases, deadlines with their sources, measures and the
    audit trail; the case page's read (`view_case`, which logs it as a read of the case)."""
    principal = signed_in(request, viewer)
    try:
        shown = view_case(context_of(request), principal, asked(request, viewer), case_id)
    except (AccessDenied, CaseNotFound):
        raise Refused(404, "error.not_found_text") from None
    t, now = viewer.t, viewer.now
    view = worded_case(shown.case, t)
    born = view["birth_date"]
    return render(
        request,
        viewer,
        "case_print.html",
        view=view,
        age=None if born is None else age_on(date.fromisoformat(born), local_date(now)),
        team_name=team_names(request).get(view["team"] or "", view["team"]),
        phases=_phase_stays(view),
        printed_at=to_local(now).isoformat(timespec="seconds"),
        follow_ups=_follow_ups(view),
        pretty=_pretty,
        child_conversation_text=child_conversation_text,
    )


def _phase_stays(view: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The phases the case has been in, in order: each with when it was entered, when it was
    left (None: the case is in it) and the event that moved it there."""
    stays: list[dict[str, Any]] = []
    for h in view["history"]:
        if h["from_phase"] is None or h["from_phase"] != h["to_phase"]:
            if stays:
                stays[-1]["left_at"] = h["at"]
            stays.append(
                {"phase": h["to_phase"], "at": h["at"], "left_at": None, "event": h["event"]}
            )
    return stays


def _case_response(
    request: Request,
    viewer: Viewer,
    shown: CaseView,
    *,
    status_code: int = 200,
    done: str | None = None,
    refused: EventRefused | None = None,
    stale: int | None = None,  # the version the form was made from, when out of date
    problem: str | None = None,
    entered: Mapping[str, str] | None = None,
) -> Response:
    t, now = viewer.t, viewer.now
    view, options = worded_case(shown.case, t), shown.options

    def say(refusal: Refusal | None) -> str:
        return "" if refusal is None else refusal_text(refusal, t, shown.rulebook)

    last = view["history"][-1] if view["history"] else None
    done_record = last if done and last and last["event"] == done else None
    active = [m["id"] for m in view["measures"] if m["active"]]
    examples = {
        o.event: (entered or {}).get(o.event)
        or example_data(
            o.event,
            active,
            expected_birth=view["expected_birth_date"],
            decision=_last_decision(view),
            complaint=_open_complaint(view),
        )
        for o in options
        if o.needs_data
    }
    born = view["birth_date"]
    age = None if born is None else age_on(date.fromisoformat(born), local_date(now))
    return render(
        request,
        viewer,
        "case.html",
        status_code=status_code,
        view=view,
        age=age,
        team_name=team_names(request).get(view["team"] or "", view["team"]),
        timeline=charts.timeline_chart(view, now, t),
        options=options,
        examples=examples,
        at_value=(entered or {}).get("__at__") or to_local(now).strftime("%Y-%m-%dT%H:%M:%S"),
        done=done_record,
        refused=refused,
        refused_words=refused_text(refused, t, shown.rulebook) if refused else None,
        say=say,
        stale=stale,
        problem=problem,
        statuses=list(charts.STATUS_FILL),
        status_fill=charts.STATUS_FILL,
        follow_ups=_follow_ups(view),
        pretty=_pretty,
        child_conversation_text=child_conversation_text,
    )


def _follow_ups(view: Mapping[str, Any]) -> dict[str, list[Mapping[str, Any]]]:
    found: dict[str, list[Mapping[str, Any]]] = {}
    for d in view["deadlines"]:
        if d["measure_id"]:
            found.setdefault(d["measure_id"], []).append(d)
    return found


def _pretty(payload: Any) -> str:
    if not payload:
        return ""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True)


# What a data form starts with: a valid example of each event's data, for a person to adjust.
EXAMPLES: Mapping[str, Any] = {
    Event.ASSESS_URGENCY: {"acute": False},
    Event.RECORD_CONSENT: {"by": "custody_holder"},
    Event.PROPOSE_PREVENTIVE: {"measures": [{"type": "preventive_talks"}]},
    Event.CONCLUDE: {"measures_needed": True},
    Event.SUBMIT_PLAN: {
        "purpose": "",
        "goals": [""],
        "expected_duration_months": 6,
    },
    Event.GRANT: {"measures": [{"type": "practical_support", "package": "yellow"}]},
    Event.REFUSE: {"complaint_guidance": True, "complaint_guidance_child": False},
    Event.RECORD_FOLLOW_UP: {
        "measure_id": "m1",
        "spoke_with_provider": True,
        "spoke_with_parents": True,
        "child_heard": True,
        "plan_revision_decided": True,
        # Barnets Lov §95 stk. 3: the service level's cadence is what the form proposes.
        "next_follow_up": {"as_service_level": True, "reason": ""},
    },
    Event.END_MEASURE: {"measure_id": "m1", "reason": "", "goals_met": True},
    Event.RECORD_SUPERVISION_VISIT: {
        "measure_id": "m1",
        "child_conversation": True,
        "without_staff": True,
    },
    Event.RENEW_PLACEMENT_WITHOUT_CONSENT: {"measure_id": "m1"},
    # Barnets Lov §5: facts only, never what the child said.
    Event.RECORD_CHILD_CONVERSATION: {"without_parents": False, "support_person_offered": True},
    Event.RECORD_CHILD_CONVERSATION_EXCEPTION: {"reason": ""},
    # The case's expected date, for the person to correct to the day the child was born.
    Event.RECORD_BIRTH: {"birth_date": None},
    Event.CLOSE: {"reason": ""},
    Event.SCREEN: {"outcome": "afdaekning", "reason": ""},
    Event.NOTIFY_APPLICANT_OF_DELAY: {"expected_by": ""},
    Event.DECIDE_YOUNG_PERSON_SUPPORT: {"outcome": "granted", "measures": []},
    # Retssikkerhedsloven §§ 66–67: the decision by its number in the audit trail below.
    Event.RECORD_COMPLAINT: {"decision_seq": None, "received_at": ""},
    Event.REASSESS: {"complaint": None, "outcome": "upheld", "reason": ""},
    Event.FORWARD_COMPLAINT: {"complaint": None},
    Event.RECORD_APPEAL_DECISION: {"complaint": None, "outcome": "upheld"},
    Event.RECEIVE_NOTIFICATION: {"notifier": "professional", "aware_at": ""},
}


def _last_decision(view: Mapping[str, Any]) -> int | None:
    """The audit number of the case's last grant or refusal (what a complaint names)."""
    seqs = [r["seq"] for r in view["history"] if r["event"] in ("grant", "refuse")]
    return max(seqs, default=None)


def _open_complaint(view: Mapping[str, Any]) -> int | None:
    numbers = [
        c["complaint"] for c in view["complaints"] if c["status"] not in ("changed", "decided")
    ]
    return numbers[0] if numbers else None


def example_data(
    event: str,
    active_measures: Sequence[str],
    *,
    expected_birth: str | None = None,
    decision: int | None = None,
    complaint: int | None = None,
) -> str:
    example = dict(EXAMPLES.get(event, {}))
    if "decision_seq" in example:
        example["decision_seq"] = decision
    if "complaint" in example:
        example["complaint"] = complaint
    if "measure_id" in example and active_measures:
        example["measure_id"] = active_measures[0]
    if "birth_date" in example:
        example["birth_date"] = expected_birth
    return json.dumps(example, ensure_ascii=False, indent=2)


def parse_at(value: str, now: datetime) -> datetime | None:
    """The form's time: empty is now; a time without an offset is Copenhagen time; None: it
    names no instant (or two)."""
    if not value.strip():
        return now
    try:
        return parse_instant(value)
    except InstantInvalid:
        return None


@router.post("/cases/{case_id}/events")
async def fire(request: Request, case_id: int) -> Response:
    # The form's fields are named per event (data_<event>), so it is read whole here; the work
    # itself runs in a thread, like every other (synchronous) page.
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return await run_in_threadpool(_fire, request, case_id, fields)


def _fire(request: Request, case_id: int, form: Mapping[str, str]) -> Response:
    viewer = read_viewer(request)
    principal = signed_in(request, viewer)
    check_csrf(viewer, form.get("csrf"))
    try:
        return _attempt(request, viewer, principal, case_id, form)
    except AccessDenied:
        raise Refused(403, "error.forbidden") from None
    except CaseNotFound:
        raise Refused(404, "error.not_found_text") from None


def _attempt(
    request: Request, viewer: Viewer, principal: Principal, case_id: int, form: Mapping[str, str]
) -> Response:
    """The event the form asks for, through `fire_event_as` (which logs the attempt); a form
    that names no instant or no data, like an API body that does not validate, is not an
    attempt: the case is shown again as a read."""
    context = context_of(request)
    event = form.get("event", "")
    raw_data = form.get(f"data_{event}", "").strip()
    entered = {event: raw_data, "__at__": form.get("at", "")}
    t = viewer.t

    def unread(**why: Any) -> Response:
        shown = view_case(context, principal, asked(request, viewer), case_id)
        return _case_response(request, viewer, shown, status_code=422, entered=entered, **why)

    def again(**why: Any) -> Response:
        shown = reshow_case(context, principal, case_id, now=viewer.now)
        return _case_response(request, viewer, shown, status_code=409, entered=entered, **why)

    at = parse_at(form.get("at", ""), viewer.now)
    if at is None:
        return unread(problem=t("case.bad_at", value=form.get("at", "")))
    data: dict[str, Any] | None = None
    if raw_data:
        try:
            parsed = json.loads(raw_data)
        except json.JSONDecodeError as error:
            return unread(problem=t("case.bad_data", error=error.msg))
        except RecursionError:  # nested too deep for the parser (a thousand levels)
            parsed = None
            shape: Shape | None = Shape.TOO_DEEP
        else:
            shape = shape_problem(parsed)
        if shape is not None:
            return unread(
                problem=t(f"case.data_shape.{shape.value}", depth=MAX_DEPTH, values=MAX_VALUES)
            )
        if not isinstance(parsed, dict):
            return unread(problem=t("case.bad_data", error="{…}"))
        data = parsed
    expected = form.get("version", "")
    try:
        accepted = fire_event_as(
            context,
            principal,
            asked(request, viewer),
            case_id,
            event,
            at=at,
            data=data,
            expected_version=int(expected) if expected.isdigit() else None,
        )
    except EventRefused as error:
        return again(refused=error)
    except ConcurrencyConflict as conflict:
        return again(stale=conflict.expected_version)
    return redirect(request, viewer, f"/cases/{case_id}?done={accepted.event}#audit")


# --- the phase diagram -------------------------------------------------------------------------


@router.get("/diagram")
def phase_diagram(request: Request, viewer: ViewerDep, rulebook: str | None = None) -> Response:
    signed_in(request, viewer)
    catalogue = context_of(request).catalogue
    known = sorted(catalogue.rulebooks, key=lambda r: r.key)
    chosen = next((r for r in known if r.key == rulebook), None)
    if chosen is None:
        chosen = catalogue.in_force(
            catalogue.rulebook_id_for(settings().municipality), local_date(viewer.now)
        )
    drawing, events = _drawing(chosen, viewer.t)
    return render(
        request,
        viewer,
        "diagram.html",
        rulebooks=[r.key for r in known],
        chosen=chosen.key,
        drawing=Markup(drawing),
        phases=[p.value for p in Phase],
        events=events,
    )


_DRAWINGS: dict[tuple[str, str], tuple[str, list[str]]] = {}


def _drawing(rulebook: Rulebook, t: Translator) -> tuple[str, list[str]]:
    """The rulebook's phase diagram in `t`'s words (SVG, without its XML prolog) and its events,
    in order.

    Drawn once per rulebook version, language and process: the layout search takes a while,
    and a rulebook version never changes."""
    key = (rulebook.key, t.lang)
    if key not in _DRAWINGS:
        drawing = diagram.svg(rulebook, t)
        events = {e.event.value for e in edges(rulebook)}
        _DRAWINGS[key] = (
            drawing[drawing.index("<svg") :],
            [e.value for e in Event if e.value in events],
        )
    return _DRAWINGS[key]
