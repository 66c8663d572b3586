"""Sessions that end (issue 12, point 5), over HTTP on SQLite and PostgreSQL.

A copy of a signed-in cookie — what a thief of the cookie holds — stops working when the session
ends: at sign-out; when the operator runs `sagsflow user revoke`, `user password` or `user
disable` (the console script, on the same database), for every session of that user while
another user's goes on; after 30 minutes without a request; and 12 hours after signing in,
however busy. The server's clock is the test's (`clock`); the CLI stamps the real time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

SignIn = Callable[..., httpx.Response]
Csrf = Callable[[httpx.Response], str]
COOKIE = "sagsflow_session"


@pytest.fixture
def copy_of(server: str) -> Iterator[Callable[[httpx.Client], httpx.Client]]:
    """`copy_of(client)`: another browser holding a copy of the client's session cookie."""
    made: list[httpx.Client] = []

    def copy(client: httpx.Client) -> httpx.Client:
        thief = httpx.Client(
            base_url=server,
            cookies={COOKIE: client.cookies[COOKIE]},
            follow_redirects=False,
            timeout=30,
        )
        made.append(thief)
        return thief

    yield copy
    for client in made:
        client.close()


@pytest.fixture
def second(server: str) -> Iterator[httpx.Client]:
    """A second person's browser."""
    with httpx.Client(base_url=server, follow_redirects=False, timeout=30) as http:
        yield http


def _sign_in(http: httpx.Client, csrf: Csrf, name: str) -> None:
    form = http.get("/sign-in")
    answer = http.post(
        "/sign-in",
        data={"name": name, "password": "correct horse battery", "csrf": csrf(form)},
    )
    assert answer.status_code == 303, answer.text


def _signed_out(answer: httpx.Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"] == "/sign-in?expired=1"


def _sagsflow(database_url: str, cwd: Path, *args: str, stdin: str | None = None) -> None:
    """The operator's command, as a subprocess on the test's database."""
    script = Path(sys.executable).with_name("sagsflow")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "sagsflow.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGSFLOW_")}
    env |= {"SAGSFLOW_DATABASE_URL": database_url, "SAGSFLOW_LANG": "en"}
    done = subprocess.run(
        [*command, *args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _sessions(engine: Engine) -> list[tuple[Any, ...]]:
    """(user, ended, why) of every session row, raw."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT u.name, s.ended_at IS NOT NULL, s.ended_why FROM dashboard_session s "
                "JOIN app_user u ON u.id = s.user_id ORDER BY s.id"
            )
        )
        return [(name, bool(ended), why) for name, ended, why in rows]


def test_a_copied_cookie_is_refused_after_sign_out(
    world: Any,
    engine: Engine,
    client: httpx.Client,
    sign_in: SignIn,
    csrf: Csrf,
    copy_of: Callable[[httpx.Client], httpx.Client],
) -> None:
    # Given a signed-in department head, and a copy of their cookie that works as well
    sign_in("dh")
    stolen = copy_of(client)
    assert stolen.get("/").status_code == 200

    # When they sign out
    out = client.post("/sign-out", data={"csrf": csrf(client.get("/"))})
    assert out.status_code == 303

    # Then the copy is signed out too, and the session row says why
    assert _signed_out(stolen.get("/"))
    assert stolen.get("/").status_code == 303  # and stays so
    assert _sessions(engine) == [("dh", True, "sign_out")]


@pytest.mark.parametrize(
    ("command", "stdin", "why"),
    [
        (("user", "revoke", "tl1"), None, "revoked"),
        (("user", "password", "tl1"), "a brand new passphrase\n", "password"),
        (("user", "disable", "tl1"), None, "disabled"),
    ],
    ids=["revoke", "password", "disable"],
)
def test_the_operators_commands_end_every_session_of_the_user_only(
    world: Any,
    database_url: str,
    engine: Engine,
    tmp_path: Path,
    client: httpx.Client,
    second: httpx.Client,
    csrf: Csrf,
    copy_of: Callable[[httpx.Client], httpx.Client],
    command: tuple[str, ...],
    stdin: str | None,
    why: str,
) -> None:
    # Given tl1 signed in twice (two browsers, one cookie copied) and dh signed in
    _sign_in(client, csrf, "tl1")
    stolen = copy_of(client)
    with httpx.Client(base_url=str(client.base_url), follow_redirects=False) as other_browser:
        _sign_in(other_browser, csrf, "tl1")
        _sign_in(second, csrf, "dh")
        assert [b.get("/").status_code for b in (client, stolen, other_browser, second)] == [
            200
        ] * 4

        # When the operator runs the command for tl1
        _sagsflow(database_url, tmp_path, *command, stdin=stdin)

        # Then every session of tl1 ends, the copy's too; dh's goes on
        assert [_signed_out(b.get("/")) for b in (client, stolen, other_browser)] == [True] * 3
    assert second.get("/").status_code == 200
    assert _sessions(engine) == [("tl1", True, why), ("tl1", True, why), ("dh", False, None)]


def test_a_session_unused_for_more_than_30_minutes_ends(
    world: Any,
    client: httpx.Client,
    sign_in: SignIn,
    clock: Any,
    copy_of: Callable[[httpx.Client], httpx.Client],
) -> None:
    # Given rw1 signed in at noon
    sign_in("rw1")
    stolen = copy_of(client)

    # Then a request 29 minutes later is fine, and keeps the session alive another 29
    clock.move(minutes=29)
    assert client.get("/").status_code == 200
    clock.move(minutes=29)
    assert client.get("/").status_code == 200

    # But 31 minutes without a request end it, for the copy as for the browser
    clock.move(minutes=31)
    assert _signed_out(stolen.get("/"))
    assert client.get("/").status_code == 303


def test_a_session_ends_12_hours_after_signing_in_however_busy(
    world: Any, client: httpx.Client, sign_in: SignIn, clock: Any
) -> None:
    # Given rw1 signed in at noon and busy every 29 minutes until 23:36
    sign_in("rw1")
    for _ in range(24):
        clock.move(minutes=29)
        assert client.get("/").status_code == 200, clock.now
    # Then at midnight — 12 hours — the session still holds; a minute later it has ended
    clock.move(minutes=24)
    assert client.get("/").status_code == 200
    clock.move(minutes=1)
    answer = client.get("/")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in")


def test_signing_in_again_in_a_browser_ends_its_earlier_session(
    world: Any,
    engine: Engine,
    client: httpx.Client,
    sign_in: SignIn,
    csrf: Csrf,
    copy_of: Callable[[httpx.Client], httpx.Client],
) -> None:
    sign_in("dh")
    earlier = copy_of(client)
    again = client.post(
        "/sign-in",
        data={"name": "tl1", "password": "correct horse battery", "csrf": csrf(client.get("/"))},
    )
    assert again.status_code == 303
    assert "Trine Lund" in client.get("/").text
    assert _signed_out(earlier.get("/"))
    assert _sessions(engine) == [("dh", True, "sign_out"), ("tl1", False, None)]
