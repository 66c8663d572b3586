"""The REST API through real HTTP: uvicorn on a free port over a migrated database, per module.

`database_url` is overridden here to module scope: one SQLite file and one PostgreSQL database
per test module (copied from the session's migrated templates, tests/conftest.py), each served by
its own uvicorn in a background thread. Tests keep out of each other's way by working in teams
of their own (`staff`: one user of every role, with tokens). The root fixtures `engine`,
`context`, `cases` and `rows` work on the same database, so cases are still built through the
service layer and read back raw.

The server's clock — the context's, which the API and the dashboard it also serves both read —
is fixed at `NOW` (tests/conftest.py), the instant the case factory records at: events the API
records come after the factory's, whatever the date the suite runs on.
"""

from __future__ import annotations

import itertools
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, func, select
from testkeys import TEST_KEYS

from models.database import make_engine
from models.tables import AccessRecord
from rulebooks import shipped_catalogue
from sagsflow.context import Context
from sagsflow.server import create_app
from sagsflow.usecases.users import add_user, issue_token
from statemachine.phases import Role
from statemachine.visibility import TEAM_BOUND

ACCESS_LOG = AccessRecord.__table__  # type: ignore[attr-defined]
# The instant the root case factory (tests/conftest.py) records at; the server's clock too.
NOW = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)
ROLES = tuple(Role)
_numbers = itertools.count(1)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgres", marks=pytest.mark.postgres),
    ],
)
def database_url(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """One migrated database per module and backend (the API server's)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("api") / "sagsflow.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    yield server.url(name)
    server.drop_database(name)


@dataclass(frozen=True)
class Caller:
    """Requests to the API with one token (or none), over the module's shared connection pool."""

    http: httpx.Client
    token: str | None
    # The words the tests read are English (the API answers in Danish unless asked otherwise:
    # tests/api/test_language.py).
    language: str = "en"

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Accept-Language": self.language}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return self.http.request(
            method, url, headers={**headers, **kwargs.pop("headers", {})}, **kwargs
        )

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)


@dataclass
class Served:
    """The API on a real port, and the context it serves."""

    base_url: str
    context: Context
    http: httpx.Client

    def client(self, token: str | None = None) -> Caller:
        return Caller(self.http, token)


@pytest.fixture(scope="module")
def api(database_url: str) -> Iterator[Served]:
    """uvicorn serving `create_app` on 127.0.0.1 (a port the OS chose) in a daemon thread."""
    engine = make_engine(database_url)
    context = Context(engine, shipped_catalogue(), clock=lambda: NOW, keys=TEST_KEYS)
    app = create_app(context)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    base_url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base_url, timeout=30) as http:
        yield Served(base_url, context, http)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    engine.dispose()


@pytest.fixture
def context(api: Served) -> Context:
    """The server's own context (the root `cases` factory builds cases through it)."""
    return api.context


@dataclass
class Staff:
    """A team of this test's own (and a second one), with one user of every role."""

    api: Served
    team: str
    other_team: str
    names: dict[Role, str]
    tokens: dict[Role, str]

    def name(self, role: Role) -> str:
        return self.names[role]

    def as_(self, role: Role) -> Caller:
        return self.api.client(self.tokens[role])

    def user(self, role: Role, *, team: str | None) -> tuple[str, Caller]:
        """One more user of `role` (in `team`), and a client with their token."""
        name = f"{role.value.replace('_', '-')}-{next(_numbers)}"
        add_user(self.api.context, name, role=role, team=team, now=NOW)
        return name, self.api.client(issue_token(self.api.context, name, now=NOW))


def _staff(api: Served) -> Staff:
    n = next(_numbers)
    team, other = f"team-{n}", f"team-{n}-other"
    names: dict[Role, str] = {}
    tokens: dict[Role, str] = {}
    for role in ROLES:
        name = f"{role.value.replace('_', '-')}-{n}"
        bound = role in TEAM_BOUND
        add_user(api.context, name, role=role, team=team if bound else None, now=NOW)
        names[role] = name
        tokens[role] = issue_token(api.context, name, now=NOW)
    return Staff(api, team, other, names, tokens)


@pytest.fixture
def staff(api: Served) -> Staff:
    """A team of this test's own."""
    return _staff(api)


@pytest.fixture(scope="module")
def module_staff(api: Served) -> Staff:
    """A team shared by the module's tests (for tests that only read, or open their own case)."""
    return _staff(api)


@dataclass(frozen=True)
class AccessLog:
    """The access log read raw."""

    engine: Engine

    def count(self, **where: Any) -> int:
        query = select(func.count()).select_from(ACCESS_LOG)
        for column, value in where.items():
            query = query.where(ACCESS_LOG.c[column] == value)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def rows(self, **where: Any) -> list[Any]:
        query = select(ACCESS_LOG).order_by(ACCESS_LOG.c.id)
        for column, value in where.items():
            query = query.where(ACCESS_LOG.c[column] == value)
        with self.engine.connect() as connection:
            return list(connection.execute(query).all())


@pytest.fixture
def access_rows(engine: Engine) -> AccessLog:
    return AccessLog(engine)


@pytest.fixture
def problem() -> Any:
    """Check that a response is an RFC 9457 problem of `status` and `kind`; return its body."""

    def check(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body: dict[str, Any] = response.json()
        assert body["type"] == f"urn:sagsflow:problem:{kind}"
        assert body["status"] == status
        assert body["title"]
        return body

    return check


@pytest.fixture
def now() -> datetime:
    """The server's clock (and the case factory's)."""
    return NOW
