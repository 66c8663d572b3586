"""Dashboard sessions and sign-in pauses on a real database (sagsflow/usecases/sessions.py and
signin.py), read back raw: a session is stored only as the hash of its id, seen at most once a
minute, and ends for the reasons it should; failed sign-ins are counted in the database, so
that every server process sees the same ones.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from models.database import make_engine
from models.tables import DashboardSession
from rulebooks import shipped_catalogue
from sagsflow.context import Context
from sagsflow.usecases.access import Asked
from sagsflow.usecases.sessions import (
    end_session,
    session_principal,
    start_session,
)
from sagsflow.usecases.signin import Failed, Paused, SignedIn, Throttle, sign_in_with_password
from sagsflow.usecases.users import add_user, disable_user, revoke_tokens, set_password
from statemachine.phases import Role
from statemachine.visibility import Channel

SESSION = DashboardSession.__table__  # type: ignore[attr-defined]
PASSWORD = "korrekt hest batteri"
THROTTLE = Throttle(key=b"k" * 32)


@pytest.fixture
def now(cases):
    return cases.now


@pytest.fixture
def anna(context, now):
    return add_user(context, "anna", role=Role.CASEWORKER, team="t1", now=now, password=PASSWORD)


@pytest.fixture
def bo(context, now):
    return add_user(context, "bo", role=Role.TEAM_LEADER, team="t1", now=now, password=PASSWORD)


def _start(context, name, now):
    with context.engine.begin() as connection:
        user_id = connection.execute(
            text("SELECT id FROM app_user WHERE name = :name"), {"name": name}
        ).scalar_one()
        return start_session(connection, user_id, now=now)


def _rows(engine, sql):
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_a_session_is_stored_only_as_the_hash_of_its_id(context, engine, anna, now):
    session_id = _start(context, "anna", now)
    assert len(session_id) >= 43  # 256 random bits
    [(id_hash, created_at, last_seen_at, ended_at)] = _rows(
        engine, "SELECT id_hash, created_at, last_seen_at, ended_at FROM dashboard_session"
    )
    assert id_hash == hashlib.sha256(session_id.encode()).hexdigest()
    assert session_id not in repr(_rows(engine, "SELECT * FROM dashboard_session"))
    assert ended_at is None and created_at is not None and last_seen_at is not None
    assert session_principal(context, session_id, now=now) == anna
    assert session_principal(context, "made-up", now=now) is None


def test_last_seen_is_written_at_most_once_a_minute(context, engine, anna, now):
    session_id = _start(context, "anna", now)

    def last_seen():
        with engine.connect() as connection:
            return connection.execute(select(SESSION.c.last_seen_at)).scalar_one()

    before = last_seen()
    assert session_principal(context, session_id, now=now + timedelta(seconds=59)) == anna
    assert last_seen() == before  # no write
    assert session_principal(context, session_id, now=now + timedelta(seconds=60)) == anna
    assert last_seen() == before + timedelta(seconds=60)


def test_a_session_ends_after_30_idle_minutes_and_12_hours_whatever_the_cookie(context, anna, now):
    # Idle: begun at noon, one session is alive at 12:30 (which keeps it alive until 13:00),
    # another unseen until 12:30:01 has ended
    kept, idle = _start(context, "anna", now), _start(context, "anna", now)
    assert session_principal(context, kept, now=now + timedelta(minutes=30)) == anna
    assert session_principal(context, idle, now=now + timedelta(minutes=30, seconds=1)) is None
    assert session_principal(context, kept, now=now + timedelta(minutes=60)) == anna
    assert session_principal(context, kept, now=now + timedelta(minutes=90, seconds=1)) is None

    # Age: seen every 20 minutes, alive at 12 hours, not a second after
    busy = _start(context, "anna", now)
    at = now
    while at + timedelta(minutes=20) <= now + timedelta(hours=12):
        at += timedelta(minutes=20)
        assert session_principal(context, busy, now=at) == anna
    assert at == now + timedelta(hours=12)
    assert session_principal(context, busy, now=at + timedelta(seconds=1)) is None


def test_signing_out_ends_one_session(context, engine, anna, now):
    first, second = _start(context, "anna", now), _start(context, "anna", now)
    assert end_session(context, first, now=now) is True
    assert end_session(context, first, now=now) is False  # once
    assert session_principal(context, first, now=now) is None
    assert session_principal(context, second, now=now) == anna
    assert _rows(engine, "SELECT ended_why FROM dashboard_session ORDER BY id") == [
        ("sign_out",),
        (None,),
    ]


@pytest.mark.parametrize("act", ["revoke", "password", "disable"])
def test_revoking_a_new_password_and_disabling_end_every_session_of_the_user(
    context, engine, anna, bo, now, act
):
    # Given two sessions of anna and one of bo
    hers = [_start(context, "anna", now), _start(context, "anna", now)]
    his = _start(context, "bo", now)
    later = now + timedelta(minutes=5)

    # When anna's tokens are revoked, her password set, or she is disabled
    if act == "revoke":
        revoke_tokens(context, "anna", now=later)
    elif act == "password":
        set_password(context, "anna", "et helt nyt kodeord", now=later)
    else:
        disable_user(context, "anna", now=later)

    # Then both of hers have ended, at that instant, and his goes on
    assert [session_principal(context, s, now=later) for s in hers] == [None, None]
    assert session_principal(context, his, now=later) == bo
    why = {"revoke": "revoked", "password": "password", "disable": "disabled"}[act]
    rows = _rows(
        engine,
        "SELECT u.name, s.ended_at, s.ended_why FROM dashboard_session s "
        "JOIN app_user u ON u.id = s.user_id ORDER BY s.id",
    )
    assert [(name, why_) for name, _, why_ in rows] == [("anna", why), ("anna", why), ("bo", None)]
    assert rows[0][1] is not None and rows[2][1] is None


def _asked(now):
    return Asked(Channel.DASHBOARD, "POST /sign-in", now)


def test_five_failures_pause_and_the_pause_ends_15_minutes_after_the_fifth(context, anna, now):
    def attempt(password, at, address="10.0.0.1"):
        return sign_in_with_password(
            context, "anna", password, address=address, asked=_asked(at), throttle=THROTTLE
        )

    # Failures a minute apart: the fifth, at 12:04, pauses until 12:19
    outcomes = [attempt("wrong", now + timedelta(minutes=i)) for i in range(5)]
    assert outcomes[:4] == [Failed()] * 4
    assert outcomes[4] == Paused(15 * 60)
    assert attempt(PASSWORD, now + timedelta(minutes=18, seconds=30)) == Paused(30)
    assert attempt(PASSWORD, now + timedelta(minutes=18, seconds=30), "10.9.9.9") == Paused(30)
    signed = attempt(PASSWORD, now + timedelta(minutes=19))
    assert isinstance(signed, SignedIn) and signed.principal == anna
    assert session_principal(context, signed.session_id, now=now + timedelta(minutes=19)) == anna


def test_failures_more_than_15_minutes_apart_do_not_pause(context, anna, now):
    # Five failures spread over 16 minutes: never five within 15
    for minute in (0, 4, 8, 12, 16):
        at = now + timedelta(minutes=minute)
        outcome = sign_in_with_password(
            context, "anna", "wrong", address="10.0.0.1", asked=_asked(at), throttle=THROTTLE
        )
        assert outcome == Failed(), minute


def test_the_counts_are_shared_by_every_server_process(context, database_url, anna, now):
    # Given a second process: its own engine and context over the same database
    engine = make_engine(database_url)
    other = Context(engine, shipped_catalogue(), keys=context.keys)
    try:
        # When four failures reach one and the fifth the other
        for i in range(4):
            sign_in_with_password(
                context,
                "anna",
                "wrong",
                address=f"10.0.0.{i}",
                asked=_asked(now),
                throttle=THROTTLE,
            )
        fifth = sign_in_with_password(
            other, "anna", "wrong", address="10.0.1.1", asked=_asked(now), throttle=THROTTLE
        )
        # Then the fifth pauses anna's account, in both
        assert fifth == Paused(900)
        for ctx in (context, other):
            assert sign_in_with_password(
                ctx, "anna", PASSWORD, address="10.0.2.2", asked=_asked(now), throttle=THROTTLE
            ) == Paused(900)
    finally:
        engine.dispose()


def test_failures_are_counted_by_a_keyed_hash_never_by_the_name(context, engine, anna, now):
    sign_in_with_password(
        context, "anna", "wrong", address="10.0.0.1", asked=_asked(now), throttle=THROTTLE
    )
    sign_in_with_password(
        context, "mit-kodeord", "x", address="10.0.0.1", asked=_asked(now), throttle=THROTTLE
    )
    rows = _rows(engine, "SELECT account, address FROM sign_in_failure ORDER BY id")
    assert rows == [
        (THROTTLE.account("anna"), "10.0.0.1"),
        (THROTTLE.account("mit-kodeord"), "10.0.0.1"),
    ]
    assert all(len(account) == 64 for account, _ in rows)
    assert "anna" not in repr(rows) and "kodeord" not in repr(rows)
    # another installation's key counts another hash
    assert Throttle(key=b"other").account("anna") != THROTTLE.account("anna")
    # the access log names the user, and only the user
    assert _rows(engine, "SELECT user_name, role FROM access_log ORDER BY id") == [
        ("anna", "caseworker"),
        ("(unknown)", "(unknown)"),
    ]


def test_a_disabled_user_with_the_right_password_fails_and_is_logged_by_name(
    context, engine, anna, now
):
    disable_user(context, "anna", now=now)
    outcome = sign_in_with_password(
        context, "anna", PASSWORD, address="10.0.0.1", asked=_asked(now), throttle=THROTTLE
    )
    assert outcome == Failed()
    assert _rows(engine, "SELECT user_name, what FROM access_log") == [
        ("anna", "POST /sign-in (failed; from 10.0.0.1)")
    ]
