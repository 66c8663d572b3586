"""Signing in pauses after failures (issue 12, point 6), over HTTP on SQLite and PostgreSQL.

Five failed sign-ins within 15 minutes — of one account, or from one client address — pause
signing in for 15 minutes: 429 with `Retry-After` in seconds, and a page that says so; while
paused even the right password is refused. A name that is no one's pauses the same way, with
the same answer. Every failure and every paused attempt is in the access log, by the user's
name only when it is a user's.

The browsers connect from different loopback addresses (127.0.0.2, 127.0.0.3, …) to be
different clients; the server's clock stands still unless the test moves it (`clock`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select, text

from models.tables import AccessRecord
from sagsflow.context import Context
from sagsflow.usecases.users import issue_sign_in_link

ACCESS_LOG = AccessRecord.__table__  # type: ignore[attr-defined]
PASSWORD = "correct horse battery"
WRONG = "not the password"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PAUSED_DA = "Login er sat på pause i 15 minutter efter for mange mislykkede forsøg."
Browser = Callable[[str], httpx.Client]


@pytest.fixture
def browser(server: str) -> Iterator[Browser]:
    """`browser("127.0.0.2")`: a browser whose requests come from that address."""
    made: list[httpx.Client] = []

    def open_from(address: str) -> httpx.Client:
        transport = httpx.HTTPTransport(
            local_address=address, limits=httpx.Limits(max_keepalive_connections=0)
        )
        http = httpx.Client(
            base_url=server, transport=transport, follow_redirects=False, timeout=30
        )
        made.append(http)
        return http

    yield open_from
    for http in made:
        http.close()


def _csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:300]
    return found.group(1)


def _try(http: httpx.Client, name: str, password: str) -> httpx.Response:
    form = http.get("/sign-in")
    return http.post("/sign-in", data={"name": name, "password": password, "csrf": _csrf(form)})


def _page(answer: httpx.Response, name: str) -> str:
    """The answer's page without what differs by browser (its CSRF token) and by what was
    typed (the name, shown again in its field)."""
    page = CSRF.sub('name="csrf" value="…"', answer.text)
    return page.replace(f'value="{name}"', 'value="…"')


def _sign_in_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ACCESS_LOG.c.user_name,
                ACCESS_LOG.c.role,
                ACCESS_LOG.c.case_id,
                ACCESS_LOG.c.channel,
                ACCESS_LOG.c.what,
            )
            .where(ACCESS_LOG.c.action == "sign_in")
            .order_by(ACCESS_LOG.c.id)
        )
        return [tuple(row) for row in rows]


def test_five_wrong_passwords_pause_the_account_even_for_the_right_password(
    world: Any, browser: Browser, clock: Any
) -> None:
    here, elsewhere = browser("127.0.0.2"), browser("127.0.0.3")

    # When tl1's password is wrong five times
    answers = [_try(here, "tl1", WRONG) for _ in range(5)]

    # Then the first four are the usual refusal, and the fifth pauses signing in for 15 minutes
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert "Forkert brugernavn eller adgangskode" in answers[3].text
    assert answers[4].headers["retry-after"] == "900"
    assert PAUSED_DA in answers[4].text

    # And while paused the right password is refused too, from any address, with the time left
    right = _try(here, "tl1", PASSWORD)
    assert (right.status_code, right.headers["retry-after"]) == (429, "900")
    assert "Forkert" not in right.text and PAUSED_DA in right.text
    clock.move(minutes=10)
    right = _try(elsewhere, "tl1", PASSWORD)
    assert (right.status_code, right.headers["retry-after"]) == (429, "300")
    assert "Login er sat på pause i 5 minutter" in right.text
    clock.move(minutes=4, seconds=59)
    assert _try(elsewhere, "tl1", PASSWORD).headers["retry-after"] == "1"
    assert "Login er sat på pause i 1 minut " in _try(elsewhere, "tl1", PASSWORD).text

    # And 15 minutes after the fifth failure, the right password signs in again
    clock.move(seconds=1)
    answer = _try(here, "tl1", PASSWORD)
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert here.get("/").status_code == 200


def test_the_pause_reads_english_with_the_language_switch(world: Any, browser: Browser) -> None:
    here = browser("127.0.0.2")
    here.get("/sign-in?lang=en")
    answers = [_try(here, "tl1", WRONG) for _ in range(5)]
    assert answers[4].status_code == 429
    assert "Signing in is paused for 15 minutes after too many failed attempts." in answers[4].text
    assert '<html lang="en">' in answers[4].text


def test_a_name_that_is_no_ones_pauses_the_same_way_with_the_same_answer(
    world: Any, browser: Browser
) -> None:
    # Given five wrong sign-ins as "nobody" (no such user) from one address, and as tl1 (a
    # team leader) from another
    unknown = [_try(browser("127.0.0.2"), "nobody", WRONG) for _ in range(5)]
    known = [_try(browser("127.0.0.3"), "tl1", WRONG) for _ in range(5)]

    # Then both are answered alike at every step: status, Retry-After and the page's words
    assert [a.status_code for a in unknown] == [a.status_code for a in known]
    assert [a.status_code for a in unknown] == [401, 401, 401, 401, 429]
    assert [_page(a, "nobody") for a in unknown] == [_page(a, "tl1") for a in known]
    assert unknown[4].headers["retry-after"] == known[4].headers["retry-after"] == "900"

    # And from a third address, both names are still paused (per account), alike
    third = browser("127.0.0.4")
    again_unknown, again_known = _try(third, "nobody", PASSWORD), _try(third, "tl1", PASSWORD)
    assert (again_unknown.status_code, again_known.status_code) == (429, 429)
    assert _page(again_unknown, "nobody") == _page(again_known, "tl1")
    assert PAUSED_DA in again_unknown.text


def test_five_failures_from_one_address_pause_it_whatever_the_names(
    world: Any, browser: Browser
) -> None:
    here, elsewhere = browser("127.0.0.2"), browser("127.0.0.3")

    # When five different names fail from one address (each name once)
    names = ["tl1", "rw1", "nobody", "dh", "ghost"]
    answers = [_try(here, name, WRONG) for name in names]

    # Then the fifth pauses the address: another user's right password is refused there
    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    paused = _try(here, "rw4", PASSWORD)
    assert (paused.status_code, paused.headers["retry-after"]) == (429, "900")

    # But not from another address, where the accounts (one failure each) are not paused
    assert _try(elsewhere, "rw4", PASSWORD).status_code == 303
    with httpx.Client(base_url=str(here.base_url), follow_redirects=False) as fresh:
        # 127.0.0.1 is yet another address
        assert _try(fresh, "tl1", PASSWORD).status_code == 303


def test_failing_sign_in_links_pause_the_address_and_a_good_link_is_kept_for_later(
    world: Any, context: Context, browser: Browser, clock: Any, engine: Engine
) -> None:
    here = browser("127.0.0.2")
    link = issue_sign_in_link(context, "rw1", now=clock.now, ttl=timedelta(hours=1))

    def use(token: str) -> httpx.Response:
        landing = here.get(f"/sign-in/{token}")
        return here.post(f"/sign-in/{token}", data={"csrf": _csrf(landing)})

    # When five made-up links fail from one address
    answers = [use(f"sf_made-up-{i}") for i in range(5)]

    # Then the fifth pauses it, and a good link is refused without being spent
    assert [a.status_code for a in answers] == [400, 400, 400, 400, 429]
    assert answers[4].headers["retry-after"] == "900" and PAUSED_DA in answers[4].text
    assert use(link).status_code == 429
    clock.move(minutes=15)
    assert use(link).status_code == 303
    assert here.get("/").status_code == 200

    # And the access log names the link's attempts without the link
    rows = _sign_in_rows(engine)
    assert [what for *_, what in rows] == [
        *["POST /sign-in/(link) (failed; from 127.0.0.2)"] * 4,
        "POST /sign-in/(link) (failed, now paused; from 127.0.0.2)",
        "POST /sign-in/(link) (paused; from 127.0.0.2)",
    ]
    # the good link's paused attempt is rw1's
    assert [name for name, *_ in rows] == ["(unknown)"] * 5 + ["rw1"]
    with engine.connect() as connection:
        stored = repr(connection.execute(text("SELECT * FROM access_log")).all())
    assert link not in stored and "made-up" not in stored


def test_a_spent_link_tried_again_counts_against_its_user(
    world: Any, context: Context, browser: Browser, clock: Any
) -> None:
    # Given rw1's link, used once
    link = issue_sign_in_link(context, "rw1", now=clock.now, ttl=timedelta(hours=1))
    first = browser("127.0.0.2")
    assert (
        first.post(f"/sign-in/{link}", data={"csrf": _csrf(first.get("/sign-in"))}).status_code
        == 303
    )

    # When it is tried five more times, each from another address
    statuses = []
    for n in range(3, 8):
        again = browser(f"127.0.0.{n}")
        answer = again.post(f"/sign-in/{link}", data={"csrf": _csrf(again.get("/sign-in"))})
        statuses.append(answer.status_code)

    # Then the fifth pauses rw1's account: their right password is refused from a new address,
    # another user's is not
    assert statuses == [400, 400, 400, 400, 429]
    assert _try(browser("127.0.0.9"), "rw1", PASSWORD).status_code == 429
    assert _try(browser("127.0.0.9"), "tl1", PASSWORD).status_code == 303


def test_every_failed_and_paused_sign_in_is_in_the_access_log(
    world: Any, engine: Engine, browser: Browser
) -> None:
    here = browser("127.0.0.2")
    # A user's wrong password; a name that is no one's, typed as a password would be
    _try(here, "tl1", WRONG)
    _try(here, "hunter2-secret", PASSWORD)
    # Three more failures pause the address
    _try(here, "rw1", WRONG)
    _try(here, "rw1", WRONG)
    _try(here, "nobody", WRONG)
    # A paused attempt, with the right password; and a sign-in elsewhere, which logs nothing
    _try(here, "dh", PASSWORD)
    assert _try(browser("127.0.0.3"), "rev", PASSWORD).status_code == 303

    failed = "POST /sign-in (failed; from 127.0.0.2)"
    assert _sign_in_rows(engine) == [
        ("tl1", "team_leader", None, "dashboard", failed),
        ("(unknown)", "(unknown)", None, "dashboard", failed),
        ("rw1", "caseworker", None, "dashboard", failed),
        ("rw1", "caseworker", None, "dashboard", failed),
        (
            "(unknown)",
            "(unknown)",
            None,
            "dashboard",
            "POST /sign-in (failed, now paused; from 127.0.0.2)",
        ),
        ("dh", "department_head", None, "dashboard", "POST /sign-in (paused; from 127.0.0.2)"),
    ]
    # The name that is no one's is stored nowhere (it may be a mistyped password)
    with engine.connect() as connection:
        stored = repr(
            [
                connection.execute(text(f"SELECT * FROM {table}")).all()
                for table in ("access_log", "sign_in_failure", "dashboard_session")
            ]
        )
    assert "hunter2" not in stored and "nobody" not in stored
