"""`sagsflow user …` (issue 5): users of the API and dashboard, created by an operator.

The organisation file is the shipped demo one (teams t1, t2, t3). What the database holds is read
back raw, so the test sees that a token is stored only as a hash, whatever the code says.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sqlalchemy import text

from models.database import make_engine

if TYPE_CHECKING:  # for the reader only: helpers come as fixtures (see conftest.py)
    from tests.e2e.conftest import Sagsflow


def _rows(database_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_a_user_gets_a_token_that_is_stored_only_as_its_hash(sagsflow: Sagsflow) -> None:
    # Given a team leader of t1
    assert sagsflow.json("user", "add", "tl1", "--role", "team_leader", "--team", "t1") == {
        "name": "tl1",
        "role": "team_leader",
        "team": "t1",
    }
    # When two tokens are asked for
    first = sagsflow.ok("user", "token", "tl1").strip()
    second = sagsflow.json("user", "token", "tl1")["token"]
    # Then each is printed once, differs, and only its SHA-256 is in the database
    assert first.startswith("sf_") and second.startswith("sf_") and first != second
    stored = _rows(sagsflow.database_url, "SELECT kind, token_hash FROM credential ORDER BY id")
    assert stored == [
        ("api", hashlib.sha256(first.encode()).hexdigest()),
        ("api", hashlib.sha256(second.encode()).hexdigest()),
    ]
    dump = repr(_rows(sagsflow.database_url, "SELECT * FROM credential"))
    assert first not in dump and second not in dump
    # And revoking takes both back
    assert sagsflow.json("user", "revoke", "tl1") == {"name": "tl1", "revoked": 2}


def test_a_sign_in_link_points_at_the_dashboard(sagsflow: Sagsflow) -> None:
    sagsflow.ok("user", "add", "rw1", "--role", "caseworker", "--team", "t1")
    link = sagsflow.ok("user", "link", "rw1").strip()
    assert link.startswith("http://127.0.0.1:8000/sign-in/sf_")
    token = link.rsplit("/", 1)[1]
    [(kind, expires_at, created_at)] = _rows(
        sagsflow.database_url, "SELECT kind, expires_at, created_at FROM credential"
    )
    assert kind == "sign_in"
    assert _rows(sagsflow.database_url, "SELECT token_hash FROM credential") == [
        (hashlib.sha256(token.encode()).hexdigest(),)
    ]
    assert expires_at is not None and created_at is not None


def test_a_password_is_read_from_stdin_and_stored_as_scrypt(sagsflow: Sagsflow) -> None:
    done = sagsflow.run(
        "user",
        "add",
        "revisor",
        "--role",
        "auditor",
        "--password-stdin",
        stdin="et langt kodeord\n",
    )
    assert done.returncode == 0, done.stderr
    [(role, team, stored)] = _rows(
        sagsflow.database_url, "SELECT role, team, password_hash FROM app_user"
    )
    assert (role, team) == ("auditor", None)
    assert str(stored).startswith("scrypt$") and "et langt kodeord" not in str(stored)


def test_bad_user_requests_are_refused_with_a_reason_and_change_nothing(
    sagsflow: Sagsflow,
) -> None:
    sagsflow.ok("user", "add", "tl1", "--role", "team_leader", "--team", "t1")
    refusals = {
        ("user", "add", "rw9", "--role", "caseworker"): "a caseworker needs --team",
        ("user", "add", "rw9", "--role", "caseworker", "--team", "t9"): "unknown team 't9'",
        ("user", "add", "rw9", "--role", "boss", "--team", "t1"): "--role: 'boss' is not one of",
        ("user", "add", "tl1", "--role", "team_leader", "--team", "t1"): "exists already",
        ("user", "add", "a b", "--role", "auditor"): "user name 'a b'",
        ("user", "token", "nobody"): "no active user 'nobody'",
        ("user", "link", "nobody"): "no active user 'nobody'",
    }
    for args, reason in refusals.items():
        assert reason in sagsflow.fails(*args), args
        assert sagsflow.run(*args).returncode == 2, args
    assert _rows(sagsflow.database_url, "SELECT name FROM app_user") == [("tl1",)]
    assert _rows(sagsflow.database_url, "SELECT count(*) FROM credential") == [(0,)]


def test_a_disabled_user_gets_no_new_token(sagsflow: Sagsflow) -> None:
    sagsflow.ok("user", "add", "rw2", "--role", "caseworker", "--team", "t1")
    sagsflow.ok("user", "token", "rw2")
    sagsflow.ok("user", "disable", "rw2")
    assert "no active user 'rw2'" in sagsflow.fails("user", "token", "rw2")
    [(revoked,)] = _rows(sagsflow.database_url, "SELECT revoked_at FROM credential")
    assert revoked is not None
    listed = sagsflow.json("user", "list")
    assert [(u["name"], u["disabled_at"] is not None) for u in listed] == [("rw2", True)]


def test_the_demo_adds_everyone_of_the_organisation_as_users(sagsflow: Sagsflow) -> None:
    sagsflow.ok("demo", "--cases", "5")
    users = {(u["name"], u["role"], u["team"]) for u in sagsflow.json("user", "list")}
    # demo/organisation.yaml: dh heads the department; t1 = tl1 + rw1..rw3 (and so on)
    assert {("dh", "department_head", None), ("tl1", "team_leader", "t1")} <= users
    assert {("rw1", "caseworker", "t1"), ("rw6", "caseworker", "t2")} <= users
    assert {("revisor", "auditor", None), ("admin", "admin", None)} <= users
    # A second demo adds no one twice
    sagsflow.ok("demo", "--cases", "1")
    assert len(sagsflow.json("user", "list")) == len(users)
