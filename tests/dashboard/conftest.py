"""The dashboard over HTTP: a real uvicorn server on a free port per test, over a fresh database
(SQLite, then PostgreSQL: `database_url` in tests/conftest.py) with a few cases and users.

The server's clock is the suite's fixed `NOW`, unless a test moves it (`clock`). Helpers are
fixtures, not imports.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import update

from models.repository import USER
from sagsflow import dashboard
from sagsflow.context import Context
from sagsflow.usecases.sweep import sweep
from sagsflow.usecases.users import add_user, hash_password
from statemachine.phases import Phase, Role

NOW = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
USERS = {
    "tl1": (Role.TEAM_LEADER, "t1"),
    "rw1": (Role.CASEWORKER, "t1"),
    "rw4": (Role.CASEWORKER, "t2"),
    "dh": (Role.DEPARTMENT_HEAD, None),
    "rev": (Role.AUDITOR, None),
    "ops": (Role.ADMIN, None),
}
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class World:
    """The cases the tests talk about, by what they are."""

    stuck: int  # t1, rw1: in clarification for two years, no consent: stuck three ways
    follow_up: int  # t1, rw2: a measure running, follow-ups breached
    other_team: int  # t2, rw4: in investigation
    closed: int  # t1, rw1: closed


@pytest.fixture
def now() -> datetime:
    """The server's clock: the suite's fixed instant."""
    return NOW


@dataclass
class Clock:
    """The server's clock: `NOW` until a test moves it on."""

    now: datetime = NOW

    def move(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(context: Context, cases: Any, password_hash: str) -> World:
    """Four cases walked through the service layer, swept at NOW, and the users of USERS."""
    stuck = cases.at_phase(Phase.CLARIFICATION, worker="rw1", team="t1")
    follow_up = cases.at_phase(Phase.FOLLOW_UP, worker="rw2", team="t1")
    other = cases.at_phase(Phase.INVESTIGATION, worker="rw4", team="t2")
    closed = cases.at_phase(Phase.CLOSURE, worker="rw1", team="t1")
    sweep(context, NOW)
    for name, (role, team) in USERS.items():
        add_user(context, name, role=role, team=team, now=NOW)
    # One scrypt hash for the whole session (~0.1 s each): the same password for everyone.
    with context.engine.begin() as connection:
        connection.execute(update(USER).values(password_hash=password_hash))
    return World(stuck.id, follow_up.id, other.id, closed.id)


@pytest.fixture(scope="session")
def password_hash() -> str:
    return hash_password(PASSWORD)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def server(context: Context, clock: Clock) -> Iterator[str]:
    """The dashboard served by uvicorn on a free port, on the `clock`; yields its base URL."""
    app = FastAPI()
    app.state.context = context
    dashboard.install(
        app, clock=lambda: clock.now, key="test-key-" + "x" * 40, organisation_file=""
    )
    sock = _free_socket()
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    running.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    """A browser-like HTTP client: keeps cookies, does not follow redirects by itself.

    A new connection per request: on a kept-alive one, Nagle and delayed ACKs between httpx and
    uvicorn add ~40 ms to every request here (a browser sets TCP_NODELAY)."""
    no_keep_alive = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(
        base_url=server, follow_redirects=False, timeout=30, limits=no_keep_alive
    ) as http:
        yield http


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token in {page.request.url}"
    return found.group(1)


def _sign_in(http: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    form = http.get("/sign-in")
    return http.post("/sign-in", data={"name": name, "password": password, "csrf": csrf_of(form)})


@pytest.fixture
def sign_in(client: httpx.Client) -> Callable[..., httpx.Response]:
    """`sign_in(name)`: the password form, as a person fills it in; returns the answer."""
    return lambda name, password=PASSWORD: _sign_in(client, name, password)


@pytest.fixture
def csrf() -> Callable[[httpx.Response], str]:
    return csrf_of
