"""Session cookies and the signing key, without a server."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sagsflow.dashboard.sessions import Session, SessionCodec, secret_key


def test_the_key_is_made_once_kept_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "state" / "secret_key"
    first = secret_key("", path)
    assert len(first) >= 43
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key("", path) == first
    assert secret_key("configured", path) == "configured"


def test_a_session_round_trips_and_a_tampered_or_foreign_one_does_not() -> None:
    codec = SessionCodec("k" * 40)
    session = Session.anonymous().signed_in("a-session-id")
    value = codec.dumps(session)
    assert codec.loads(value) == session
    # One character of the signature changed (to another than it was: the signature's text
    # depends on the signing time, and may hold any character there).
    tampered = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
    assert tampered != value and codec.loads(tampered) is None
    assert SessionCodec("another key" * 4).loads(value) is None
    assert codec.loads("") is None and codec.loads("garbage") is None


def test_a_session_expires() -> None:
    # Given a session signed at noon by a codec whose clock the test moves
    clock = [datetime(2027, 12, 31, 12, 0, tzinfo=UTC)]
    codec = SessionCodec("k" * 40, max_age=timedelta(seconds=1), clock=lambda: clock[0])
    value = codec.dumps(Session.anonymous().signed_in("a-session-id"))

    # When its age reaches the limit, it still holds; past the limit, it does not
    clock[0] += timedelta(seconds=1)
    assert codec.loads(value) is not None
    clock[0] += timedelta(seconds=1.1)
    assert codec.loads(value) is None


def test_a_session_lasts_a_working_day_by_default() -> None:
    # SESSION_AGE: 12 hours from the sign-in, whatever the requests in between
    clock = [datetime(2027, 12, 31, 7, 0, tzinfo=UTC)]
    codec = SessionCodec("k" * 40, clock=lambda: clock[0])
    value = codec.dumps(Session.anonymous().signed_in("a-session-id"))
    clock[0] += timedelta(hours=12)
    assert codec.loads(value) is not None
    clock[0] += timedelta(seconds=1)
    assert codec.loads(value) is None


def test_signing_in_changes_the_csrf_token() -> None:
    anonymous = Session.anonymous()
    signed = anonymous.signed_in("a-session-id")
    assert signed.csrf != anonymous.csrf
    assert signed.csrf_matches(signed.csrf)
    assert not signed.csrf_matches(anonymous.csrf)
    assert not signed.csrf_matches("")
    assert not signed.csrf_matches(None)


def test_the_cookie_names_a_server_side_session_and_no_user() -> None:
    # A cookie signed before sessions were kept on the server named its user ("u"): it signs
    # no one in now (the session would never end), it is only a CSRF token
    codec = SessionCodec("k" * 40)
    old = codec._serializer.dumps({"c": "token", "u": "dh"})
    assert codec.loads(old) == Session(csrf="token", sid=None)
    value = codec.dumps(Session(csrf="token", sid="a-session-id"))
    assert codec.loads(value) == Session(csrf="token", sid="a-session-id")
