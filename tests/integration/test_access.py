"""Users, credentials and the access log on a real database (sagsflow/usecases/access.py).

Credentials are read back raw from their table: a token or a password must never be stored,
only a hash of it. The access log is append-only in the database itself, and the use cases that
act as a principal write it themselves: every attempt, accepted or stopped, is one row.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from models.repository import CASE
from models.tables import AccessRecord, Credential, User
from sagsflow.organisation import organisation
from sagsflow.read.access_log import access_log
from sagsflow.read.visibility import case_filter
from sagsflow.usecases import cases as cases_usecases
from sagsflow.usecases.access import AccessDenied, Asked, log_access, new_case_owner
from sagsflow.usecases.cases import fire_event_as, read_case, reshow_case, view_case
from sagsflow.usecases.supervision import case_page, list_scope
from sagsflow.usecases.users import (
    UserInvalid,
    add_user,
    authenticate_password,
    authenticate_token,
    disable_user,
    issue_sign_in_link,
    issue_token,
    principal_named,
    redeem_sign_in_link,
    revoke_tokens,
    set_password,
)
from statemachine.errors import CaseNotFound, ConcurrencyConflict, EventRefused
from statemachine.phases import Role
from statemachine.visibility import Action, Channel, Principal, may_see

CREDENTIAL = Credential.__table__  # type: ignore[attr-defined]
USER = User.__table__  # type: ignore[attr-defined]
ACCESS_LOG = AccessRecord.__table__  # type: ignore[attr-defined]
ONLY_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", id="postgres")], indirect=True
)


@pytest.fixture
def now(cases):
    return cases.now


@pytest.fixture
def anna(context, now):
    return add_user(context, "anna", role=Role.CASEWORKER, team="t1", now=now)


def _everything_stored(engine) -> str:
    """Every value of every user and credential row, as one text."""
    with engine.connect() as connection:
        values = [
            str(value)
            for table in (USER, CREDENTIAL)
            for row in connection.execute(select(table))
            for value in row
        ]
    return "\n".join(values)


def test_a_token_is_stored_only_as_its_sha256(context, engine, anna, now):
    # When a token is issued
    token = issue_token(context, "anna", now=now)

    # Then it is 256 random bits behind the prefix, and only its SHA-256 is stored
    assert token.startswith("sf_") and len(token) >= 3 + 43
    with engine.connect() as connection:
        [row] = connection.execute(select(CREDENTIAL)).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert (row.kind, row.expires_at, row.revoked_at) == ("api", None, None)
    assert token not in _everything_stored(engine)
    assert token[3:] not in _everything_stored(engine)
    # and the token authenticates its user
    assert authenticate_token(context, token) == anna


def test_a_sign_in_link_works_once(context, engine, anna, now):
    # Given a one-time sign-in link
    token = issue_sign_in_link(context, "anna", now=now)
    assert token not in _everything_stored(engine)

    # When it is redeemed twice
    first = redeem_sign_in_link(context, token, now=now + timedelta(minutes=1))
    second = redeem_sign_in_link(context, token, now=now + timedelta(minutes=2))

    # Then it signs in the first time only
    assert first == anna
    assert second is None


def test_a_sign_in_link_does_not_work_after_it_expires(context, anna, now):
    # Given a link valid for 15 minutes
    late = issue_sign_in_link(context, "anna", now=now, ttl=timedelta(minutes=15))
    in_time = issue_sign_in_link(context, "anna", now=now, ttl=timedelta(minutes=15))

    # Then it is refused at 15 minutes and accepted just before
    assert redeem_sign_in_link(context, late, now=now + timedelta(minutes=15)) is None
    assert redeem_sign_in_link(context, in_time, now=now + timedelta(minutes=14)) == anna


def test_tokens_and_links_are_not_interchangeable(context, anna, now):
    token = issue_token(context, "anna", now=now)
    link = issue_sign_in_link(context, "anna", now=now)

    assert authenticate_token(context, link) is None
    assert redeem_sign_in_link(context, token, now=now) is None


def test_a_revoked_token_is_refused_and_a_new_one_works(context, anna, now):
    # Given two tokens of a user
    old = [issue_token(context, "anna", now=now) for _ in range(2)]

    # When they are revoked
    assert revoke_tokens(context, "anna", now=now) == 2

    # Then neither authenticates, while a token issued afterwards does
    assert [authenticate_token(context, t) for t in old] == [None, None]
    assert authenticate_token(context, issue_token(context, "anna", now=now)) == anna


def test_a_disabled_user_is_refused_everywhere(context, anna, now):
    # Given a user with a password, a token and an unused sign-in link
    set_password(context, "anna", "korrekt hest batteri", now=now)
    token = issue_token(context, "anna", now=now)
    link = issue_sign_in_link(context, "anna", now=now)

    # When the user is disabled
    disable_user(context, "anna", now=now)

    # Then no credential of theirs works any more, and no new one is issued
    assert authenticate_token(context, token) is None
    assert redeem_sign_in_link(context, link, now=now) is None
    assert authenticate_password(context, "anna", "korrekt hest batteri") is None
    assert principal_named(context, "anna") is None
    with pytest.raises(UserInvalid, match="no active user"):
        issue_token(context, "anna", now=now)


def test_a_password_is_stored_as_scrypt_and_checked(context, engine, anna, now):
    # When a password is set
    set_password(context, "anna", "korrekt hest batteri", now=now)

    # Then only its salted scrypt hash is stored
    stored = _everything_stored(engine)
    assert "korrekt hest batteri" not in stored
    with engine.connect() as connection:
        hashed = connection.execute(select(USER.c.password_hash)).scalar_one()
    assert hashed.startswith("scrypt$16384$8$1$")
    # and the right password signs in, a wrong one or an unknown user does not
    assert authenticate_password(context, "anna", "korrekt hest batteri") == anna
    assert authenticate_password(context, "anna", "korrekt hest batterI") is None
    assert authenticate_password(context, "bo", "korrekt hest batteri") is None


def test_a_user_without_a_password_cannot_sign_in_with_one(context, anna):
    assert authenticate_password(context, "anna", "") is None
    assert authenticate_password(context, "anna", "anything at all") is None


@pytest.mark.parametrize(
    ("name", "role", "team", "password", "reason"),
    [
        pytest.param("bo", Role.CASEWORKER, None, None, "needs --team", id="caseworker-no-team"),
        pytest.param("bo", Role.TEAM_LEADER, "t9", None, "unknown team", id="unknown-team"),
        pytest.param("-bo", Role.AUDITOR, None, None, "user name", id="bad-name"),
        pytest.param("b o", Role.AUDITOR, None, None, "user name", id="space-in-name"),
        pytest.param("bo", Role.AUDITOR, None, "kort", "at least 10", id="short-password"),
        pytest.param("anna", Role.AUDITOR, None, None, "exists already", id="taken"),
    ],
)
def test_users_that_cannot_be_added_say_why(context, anna, now, name, role, team, password, reason):
    with pytest.raises(UserInvalid, match=reason):
        add_user(
            context,
            name,
            role=role,
            team=team,
            now=now,
            organisation=organisation(),
            password=password,
        )


def test_the_access_log_records_who_did_what_to_which_case(context, engine, anna, now):
    # When reads of two cases and a list are recorded
    over_api = Asked(Channel.API, "GET x", now)
    log_access(context, anna, over_api, action=Action.READ, case_id=7)
    log_access(context, anna, over_api, action=Action.READ, case_id=8)
    log_access(context, anna, Asked(Channel.DASHBOARD, "GET /", now), action=Action.LIST)

    # Then there are three rows, newest first, each naming the user, role, case and channel
    rows = access_log(context)
    assert [(r["case_id"], r["action"], r["channel"]) for r in rows] == [
        (None, "list", "dashboard"),
        (8, "read", "api"),
        (7, "read", "api"),
    ]
    assert {(r["user_name"], r["role"]) for r in rows} == {("anna", "caseworker")}
    assert [r["case_id"] for r in access_log(context, case_id=7)] == [7]
    assert len(access_log(context, limit=1, offset=1)) == 1
    assert [r["action"] for r in access_log(context, action=Action.LIST)] == ["list"]


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE access_log SET user_name = 'mallory'", id="update"),
        pytest.param("DELETE FROM access_log", id="delete"),
    ],
)
def test_the_access_log_refuses_rewriting_at_the_database_level(
    context, engine, anna, now, statement
):
    # Given a recorded read
    log_access(context, anna, Asked(Channel.API, "GET x", now), action=Action.READ, case_id=7)

    # When someone rewrites the log with raw SQL
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))

    # Then the database refused it
    assert [(r["user_name"], r["case_id"]) for r in access_log(context)] == [("anna", 7)]


@ONLY_POSTGRES
def test_the_access_log_refuses_truncate_on_postgres(context, engine, anna, now):
    log_access(context, anna, Asked(Channel.API, "GET x", now), action=Action.READ, case_id=7)

    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE access_log"))

    assert len(access_log(context)) == 1


def test_case_filter_and_may_see_agree_for_every_role(engine, cases):
    # Given cases of two teams and workers, one without a worker, one without a team
    for worker, team in [("anna", "t1"), ("bo", "t1"), (None, "t1"), ("anna", "t2"), ("cy", None)]:
        cases.open(worker=worker, team=team)
    principals = [
        Principal("anna", Role.CASEWORKER, "t1"),
        Principal("cy", Role.CASEWORKER, "t2"),
        Principal("tl", Role.TEAM_LEADER, "t1"),
        Principal("tl", Role.TEAM_LEADER, None),
        Principal("dh", Role.DEPARTMENT_HEAD, None),
        Principal("co", Role.COMMITTEE, None),
        Principal("au", Role.AUDITOR, None),
        Principal("ad", Role.ADMIN, None),
    ]
    with engine.connect() as connection:
        every = connection.execute(select(CASE.c.id, CASE.c.worker, CASE.c.team)).all()
        for principal in principals:
            # When visibility is asked of the database and of one case at a time
            filtered = {
                row.id
                for row in connection.execute(select(CASE.c.id).where(case_filter(principal)))
            }
            one_by_one = {r.id for r in every if may_see(principal, worker=r.worker, team=r.team)}

            # Then both answers are the same
            assert filtered == one_by_one, principal
    by_worker = {(r.worker, r.team): r.id for r in every}
    anna = principals[0]
    assert {r.id for r in every if may_see(anna, worker=r.worker, team=r.team)} == {
        by_worker[("anna", "t1")],
        by_worker[("bo", "t1")],
        by_worker[(None, "t1")],
        by_worker[("anna", "t2")],
    }


@pytest.mark.parametrize(
    ("principal", "asked", "owner"),
    [
        pytest.param(
            Principal("anna", Role.CASEWORKER, "t1"), (None, None), ("anna", "t1"), id="cw-own"
        ),
        pytest.param(
            Principal("anna", Role.CASEWORKER, "t1"), ("bo", "t1"), ("bo", "t1"), id="cw-colleague"
        ),
        pytest.param(
            Principal("tl", Role.TEAM_LEADER, "t1"), (None, None), (None, "t1"), id="tl-unassigned"
        ),
        pytest.param(
            Principal("dh", Role.DEPARTMENT_HEAD, None), ("bo", "t2"), ("bo", "t2"), id="dh-any"
        ),
    ],
)
def test_a_new_cases_worker_and_team_default_to_the_principals(principal, asked, owner):
    worker, team = asked
    assert new_case_owner(principal, worker=worker, team=team) == owner


@pytest.mark.parametrize(
    "principal",
    [
        pytest.param(Principal("anna", Role.CASEWORKER, "t1"), id="caseworker"),
        pytest.param(Principal("tl", Role.TEAM_LEADER, "t1"), id="team_leader"),
        pytest.param(Principal("au", Role.AUDITOR, None), id="auditor"),
        pytest.param(Principal("ad", Role.ADMIN, None), id="admin"),
    ],
)
def test_no_one_opens_a_case_in_a_team_not_their_own_and_readers_open_none(principal):
    with pytest.raises(AccessDenied):
        new_case_owner(principal, worker=None, team="t2")


# --- acting as a principal: the use cases write the access log themselves ----------------------

CW_T1 = Principal("anna", Role.CASEWORKER, "t1")


def _asked(now, what="GET /x"):
    return Asked(Channel.API, what, now)


def _log(context):
    """(user, case, action, what) of every row, oldest first."""
    rows = access_log(context)
    return [(r["user_name"], r["case_id"], r["action"], r["what"]) for r in reversed(rows)]


def test_an_accepted_event_and_its_row_commit_together(context, cases, rows, now):
    # Given a case of the team in inquiry
    case = cases.open(worker="anna", team="t1")
    at = case.later(days=1)

    # When the event is accepted
    accepted = fire_event_as(
        context, CW_T1, _asked(now, "POST e"), case.id, "accept", at=at, data=None
    )

    # Then its audit record was written by the principal, with the one row saying accepted
    assert (rows.audit(case.id)[-1].actor, accepted.to_phase) == ("anna", "clarification")
    assert _log(context) == [("anna", case.id, "write", "POST e (accept accepted)")]


def test_an_event_whose_row_cannot_be_written_is_not_recorded(
    context, cases, rows, now, monkeypatch
):
    # Given a case, and an access log that fails on the accepted event's row
    case = cases.open(worker="anna", team="t1")
    before = rows.snapshot(case.id)

    def fails(*args, **kwargs):
        raise RuntimeError("the access log is unavailable")

    monkeypatch.setattr(cases_usecases, "record_access", fails)

    # When the event is fired
    with pytest.raises(RuntimeError, match="unavailable"):
        fire_event_as(
            context, CW_T1, _asked(now), case.id, "accept", at=case.later(days=1), data=None
        )

    # Then the event was rolled back with it: never an event without its row
    assert rows.snapshot(case.id) == before
    assert _log(context) == []


@pytest.mark.parametrize(
    ("principal", "case_of", "event", "error", "ending"),
    [
        pytest.param(CW_T1, ("bo", "t2"), "accept", CaseNotFound, "(accept denied)", id="hidden"),
        pytest.param(
            Principal("au", Role.AUDITOR, None), ("anna", "t1"), "accept", AccessDenied,
            "(accept denied)", id="read-only",
        ),
        pytest.param(
            CW_T1, ("anna", "t1"), "open_investigation", EventRefused,
            "(open_investigation refused)", id="refused",
        ),
    ],
)  # fmt: skip
def test_a_stopped_write_leaves_its_row_and_nothing_else(
    context, cases, rows, now, principal, case_of, event, error, ending
):
    # Given a case in inquiry
    case = cases.open(worker=case_of[0], team=case_of[1])
    before = rows.snapshot(case.id)

    # When the principal's event is stopped
    with pytest.raises(error):
        fire_event_as(
            context,
            principal,
            _asked(now, "POST e"),
            case.id,
            event,
            at=case.later(days=1),
            data=None,
        )

    # Then nothing changed, and the attempt is one row naming the case and how it ended
    assert rows.snapshot(case.id) == before
    assert _log(context) == [(principal.name, case.id, "write", f"POST e {ending}")]


def test_a_stale_version_is_a_conflict_row(context, cases, now):
    case = cases.open(worker="anna", team="t1")
    with pytest.raises(ConcurrencyConflict):
        fire_event_as(
            context, CW_T1, _asked(now), case.id, "accept", at=case.later(days=1), data=None,
            expected_version=case.version - 1,
        )  # fmt: skip
    assert _log(context) == [("anna", case.id, "write", "GET /x (accept conflict)")]


def test_reading_an_unknown_case_names_no_case(context, now):
    with pytest.raises(CaseNotFound):
        read_case(context, CW_T1, _asked(now), 424242)
    assert _log(context) == [("anna", None, "read", "GET /x (not found)")]


def test_a_case_page_is_one_read_row_and_showing_it_again_after_an_attempt_none(
    context, cases, now
):
    # Given a case of the team
    case = cases.open(worker="anna", team="t1")

    # When its page is viewed, then shown again as a refused attempt's answer
    viewed = view_case(context, CW_T1, _asked(now), case.id)
    again = reshow_case(context, CW_T1, case.id, now=now)

    # Then the page has the events the caseworker may fire, and only the view is logged
    assert viewed == again
    assert "accept" in {o.event for o in viewed.options}
    assert _log(context) == [("anna", case.id, "read", "GET /x")]


def test_a_list_is_one_row_and_the_admins_attempt_a_denied_one(context, cases, now):
    # Given cases of two teams
    ours = cases.open(worker="anna", team="t1")
    cases.open(worker="bo", team="t2")

    # When the caseworker lists cases, and the admin tries to
    page = case_page(context, CW_T1, _asked(now, "GET /cases"))
    with pytest.raises(AccessDenied):
        list_scope(context, Principal("ad", Role.ADMIN, None), _asked(now, "GET /cases"))

    # Then the caseworker saw their team's case only, and each asking is one list row
    assert [c["id"] for c in page.items] == [ours.id]
    assert _log(context) == [
        ("anna", None, "list", "GET /cases"),
        ("ad", None, "list", "GET /cases (denied)"),
    ]


def test_what_is_printable_and_keeps_how_it_ended_however_long_the_request(context, cases, now):
    case = cases.open(worker="bo", team="t2")
    with pytest.raises(CaseNotFound):
        read_case(context, CW_T1, _asked(now, "GET /cases/\x00ø" + "x" * 400), case.id)
    [(_, _, _, what)] = _log(context)
    assert len(what) == 255
    assert what.startswith("GET /cases/??x") and what.endswith("x (denied)")
