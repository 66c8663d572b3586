"""The access log is the same whichever edge a person uses: the API and the dashboard, served
together over one database, leave the same rows for the same act (only the channel and the
request named in `what` differ)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sagsflow.usecases.users import set_password
from statemachine.phases import Phase, Role

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')


@pytest.fixture
def browser(api: Any) -> Iterator[httpx.Client]:
    """A browser-like client of the dashboard the API's server also serves (its own cookies)."""
    with httpx.Client(base_url=api.base_url, follow_redirects=False, timeout=30) as http:
        yield http


def _csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def _signed_in(browser: httpx.Client, name: str) -> None:
    form = browser.get("/sign-in")
    answer = browser.post(
        "/sign-in", data={"name": name, "password": PASSWORD, "csrf": _csrf(form)}
    )
    assert answer.status_code == 303, answer.text


def _ending(what: str) -> str:
    """How the attempt ended, as `what` says after the request ("(accept refused)")."""
    return what[what.index(" (") + 1 :] if " (" in what else ""


def _acts_over_api(client: Any, case: Any, theirs: Any) -> None:
    url = f"/api/v1/cases/{case.id}"
    version = client.get(url).json()["version"]
    at = case.later(days=1).isoformat()
    fire = f"{url}/events"
    assert (
        client.post(fire, json={"event": "decide_compulsory_examination", "at": at}).status_code
        == 409
    )
    accepted = client.post(
        fire, json={"event": "acknowledge", "at": at, "expected_version": version}
    )
    assert accepted.status_code == 200, accepted.text
    assert client.get(f"/api/v1/cases/{theirs.id}").status_code == 404
    other = {"event": "close", "at": at, "data": {"reason": "x"}}
    assert client.post(f"/api/v1/cases/{theirs.id}/events", json=other).status_code == 404
    assert client.get("/api/v1/cases").status_code == 200


def _acts_over_dashboard(browser: httpx.Client, case: Any, theirs: Any) -> None:
    page = browser.get(f"/cases/{case.id}")
    assert page.status_code == 200
    version = VERSION.search(page.text)
    assert version
    form = {"csrf": _csrf(page), "version": version.group(1), "at": ""}
    fire = f"/cases/{case.id}/events"
    assert (
        browser.post(fire, data={**form, "event": "decide_compulsory_examination"}).status_code
        == 409
    )
    assert browser.post(fire, data={**form, "event": "acknowledge"}).status_code == 303
    assert browser.get(f"/cases/{theirs.id}").status_code == 404
    other = {**form, "event": "close", "data_close": '{"reason": "x"}'}
    assert browser.post(f"/cases/{theirs.id}/events", data=other).status_code == 404
    assert browser.get("/cases").status_code == 200


def test_the_same_acts_leave_the_same_rows_over_the_api_and_the_dashboard(
    staff, cases, browser, access_rows
):
    # Given a caseworker who has a token and a password, a case of theirs in clarification
    # and a case of another team
    name = staff.name(Role.CASEWORKER)
    set_password(staff.api.context, name, PASSWORD, now=staff.api.context.clock())
    _signed_in(browser, name)
    case = cases.at_phase(Phase.CLARIFICATION, worker=name, team=staff.team)
    theirs = cases.open(worker="someone-else", team=staff.other_team)

    # When they do the same things over the API, then over the dashboard: read the case, try
    # an event its state refuses, record one, read and write another team's case, list cases
    _acts_over_api(staff.as_(Role.CASEWORKER), case, theirs)
    _acts_over_dashboard(browser, case, theirs)

    # Then each channel has one row per act, and the rows agree but for channel and request
    rows = access_rows.rows(user_name=name)
    by_channel = {
        channel: [
            (r.at, r.user_name, r.role, r.case_id, r.action, _ending(r.what))
            for r in rows
            if r.channel == channel
        ]
        for channel in ("api", "dashboard")
    }
    assert by_channel["api"] == by_channel["dashboard"]
    assert [
        (case_id, action, ending) for _, _, _, case_id, action, ending in by_channel["api"]
    ] == [
        (case.id, "read", ""),
        (case.id, "write", "(decide_compulsory_examination refused)"),
        (case.id, "write", "(acknowledge accepted)"),
        (theirs.id, "read", "(denied)"),
        (theirs.id, "write", "(close denied)"),
        (None, "list", ""),
    ]
    assert len(rows) == 12
    # and the two accepted `acknowledge` records name the channel each came through, beside
    # the operator's opening and walk of the case (the tests' own, from the CLI's door)
    channels = [(r.event, r.channel) for r in staff_audit(staff, case.id)]
    assert channels[-2:] == [("acknowledge", "api"), ("acknowledge", "dashboard")]
    assert {c for e, c in channels[:-2]} == {"cli"}


def staff_audit(staff: Any, case_id: int) -> list[Any]:
    from sqlalchemy import select

    from models.repository import AUDIT

    with staff.api.context.engine.connect() as connection:
        query = select(AUDIT).where(AUDIT.c.case_id == case_id).order_by(AUDIT.c.seq)
        return list(connection.execute(query))
