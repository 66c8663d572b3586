"""Users of the API and the dashboard: their credentials, and signing in.

Credentials: an API token or a one-time sign-in link is 256 random bits shown once and stored
only as its SHA-256; a password is stored as scrypt. Nothing here logs a token or a password.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, select, update

from models.database import reading
from models.repository import CREDENTIAL, USER
from sagsflow.context import Context
from sagsflow.organisation import Organisation
from sagsflow.usecases.sessions import Ended, end_sessions_of
from statemachine.phases import Role
from statemachine.visibility import TEAM_BOUND, Principal

TOKEN_PREFIX = "sf_"
SIGN_IN_TTL = timedelta(minutes=15)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD = 10
# scrypt's interactive-login parameters (RFC 7914 §2: N=2^14, r=8, p=1): ~50 ms, 16 MiB.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class UserInvalid(ValueError):
    """A user or credential request that cannot be honoured: a code and its parameters
    (worded by the catalogue's `user.<code>`); the message says why in English, for logs."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        self.code = code
        self.params = params
        super().__init__(message)


# --- passwords and tokens --------------------------------------------------------------------


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def password_matches(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        found = hashlib.scrypt(
            password.encode("utf-8"),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(digest) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(found.hex(), digest)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


# --- users -----------------------------------------------------------------------------------


def _principal(row: Any) -> Principal:
    return Principal(row.name, Role(row.role), row.team)


def add_user(
    context: Context,
    name: str,
    *,
    role: Role,
    team: str | None,
    now: datetime,
    organisation: Organisation | None = None,
    password: str | None = None,
) -> Principal:
    """Create a user. Team-bound roles need a team, which must be one of the organisation's."""
    if not NAME.match(name):
        raise UserInvalid(
            "bad_name",
            f"user name {name!r}: 1–64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
            name=name,
        )
    if role in TEAM_BOUND and not team:
        raise UserInvalid("needs_team", f"a {role} needs --team", role=role.value)
    if team and organisation is not None and organisation.team(team) is None:
        known = ", ".join(t.id for t in organisation.teams) or "none"
        raise UserInvalid(
            "unknown_team",
            f"unknown team {team!r} (the organisation file has: {known})",
            team=team,
            known=known,
        )
    if password is not None and len(password) < MIN_PASSWORD:
        raise UserInvalid(
            "short_password",
            f"a password needs at least {MIN_PASSWORD} characters",
            least=MIN_PASSWORD,
        )
    with context.engine.begin() as connection:
        if connection.execute(select(USER.c.id).where(USER.c.name == name)).first():
            raise UserInvalid("exists", f"user {name!r} exists already", name=name)
        connection.execute(
            insert(USER).values(
                name=name,
                role=role.value,
                team=team,
                password_hash=hash_password(password) if password is not None else None,
                created_at=now,
            )
        )
    return Principal(name, role, team)


def _user_id(connection: Connection, name: str) -> int:
    found = connection.execute(
        select(USER.c.id).where(USER.c.name == name, USER.c.disabled_at.is_(None))
    ).scalar()
    if found is None:
        raise UserInvalid("no_such_user", f"no active user {name!r}", name=name)
    return int(found)


def set_password(context: Context, name: str, password: str, *, now: datetime) -> None:
    """A new dashboard password; every dashboard session of the user ends."""
    if len(password) < MIN_PASSWORD:
        raise UserInvalid(
            "short_password",
            f"a password needs at least {MIN_PASSWORD} characters",
            least=MIN_PASSWORD,
        )
    with context.engine.begin() as connection:
        user_id = _user_id(connection, name)
        connection.execute(
            update(USER).where(USER.c.id == user_id).values(password_hash=hash_password(password))
        )
        end_sessions_of(connection, user_id, now=now, why=Ended.PASSWORD)


def disable_user(context: Context, name: str, *, now: datetime) -> None:
    """The user can no longer sign in; every token and dashboard session of theirs stops
    working at once."""
    with context.engine.begin() as connection:
        user_id = _user_id(connection, name)
        connection.execute(update(USER).where(USER.c.id == user_id).values(disabled_at=now))
        connection.execute(
            update(CREDENTIAL)
            .where(CREDENTIAL.c.user_id == user_id, CREDENTIAL.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        end_sessions_of(connection, user_id, now=now, why=Ended.DISABLED)


def list_users(context: Context) -> list[dict[str, Any]]:
    query = select(
        USER.c.name, USER.c.role, USER.c.team, USER.c.created_at, USER.c.disabled_at
    ).order_by(USER.c.name)
    with reading(context.engine) as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def _issue(
    context: Context, name: str, kind: str, *, now: datetime, expires_at: datetime | None
) -> str:
    token = _new_token()
    with context.engine.begin() as connection:
        connection.execute(
            insert(CREDENTIAL).values(
                user_id=_user_id(connection, name),
                kind=kind,
                token_hash=token_hash(token),
                created_at=now,
                expires_at=expires_at,
            )
        )
    return token


def issue_token(context: Context, name: str, *, now: datetime) -> str:
    """A new bearer token for the API. Shown once: only its hash is stored."""
    return _issue(context, name, "api", now=now, expires_at=None)


def issue_sign_in_link(
    context: Context, name: str, *, now: datetime, ttl: timedelta = SIGN_IN_TTL
) -> str:
    """A one-time sign-in token for the dashboard (`/sign-in/<token>`), valid for `ttl`."""
    return _issue(context, name, "sign_in", now=now, expires_at=now + ttl)


def revoke_tokens(context: Context, name: str, *, now: datetime) -> int:
    """Revoke every API token and sign-in link of the user, and end every dashboard session of
    theirs; returns how many tokens and links."""
    with context.engine.begin() as connection:
        user_id = _user_id(connection, name)
        result = connection.execute(
            update(CREDENTIAL)
            .where(CREDENTIAL.c.user_id == user_id, CREDENTIAL.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        end_sessions_of(connection, user_id, now=now, why=Ended.REVOKED)
    return int(result.rowcount)


# --- authentication --------------------------------------------------------------------------


def _usable(token: str, kind: str, now: datetime | None = None) -> list[ColumnElement[bool]]:
    """What makes a credential usable: its hash and kind, not revoked; a one-time sign-in link
    (`now` given) also not used yet and not expired at `now`."""
    conditions = [
        CREDENTIAL.c.token_hash == token_hash(token),
        CREDENTIAL.c.kind == kind,
        CREDENTIAL.c.revoked_at.is_(None),
    ]
    if now is not None:
        conditions += [CREDENTIAL.c.used_at.is_(None), CREDENTIAL.c.expires_at > now]
    return conditions


def _holder(
    context: Context, token: str, kind: str, now: datetime | None = None
) -> Principal | None:
    """The active user a usable credential belongs to, read only; None for any other token."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    query = (
        select(USER.c.name, USER.c.role, USER.c.team)
        .join(CREDENTIAL, CREDENTIAL.c.user_id == USER.c.id)
        .where(*_usable(token, kind, now), USER.c.disabled_at.is_(None))
    )
    with reading(context.engine) as connection:
        row = connection.execute(query).first()
    return _principal(row) if row else None


def authenticate_token(context: Context, token: str) -> Principal | None:
    """The active user a bearer token belongs to, or None."""
    return _holder(context, token, "api")


def redeem_sign_in_link(context: Context, token: str, *, now: datetime) -> Principal | None:
    """The user of a one-time sign-in token, once: a second use, or a late one, gets None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with context.engine.begin() as connection:
        claimed = connection.execute(
            update(CREDENTIAL)
            .where(*_usable(token, "sign_in", now))
            .values(used_at=now)
            .returning(CREDENTIAL.c.user_id)
        ).scalar()
        if claimed is None:
            return None
        row = connection.execute(
            select(USER.c.name, USER.c.role, USER.c.team).where(
                USER.c.id == claimed, USER.c.disabled_at.is_(None)
            )
        ).first()
    return _principal(row) if row else None


def sign_in_link_user(context: Context, token: str, *, now: datetime) -> Principal | None:
    """The active user a one-time sign-in token would sign in now (unused, unexpired, not
    revoked), read only: the link's page names the account before anyone uses the link."""
    return _holder(context, token, "sign_in", now)


def authenticate_password(context: Context, name: str, password: str) -> Principal | None:
    with reading(context.engine) as connection:
        row = connection.execute(
            select(USER.c.name, USER.c.role, USER.c.team, USER.c.password_hash).where(
                USER.c.name == name, USER.c.disabled_at.is_(None)
            )
        ).first()
    if row is None or not row.password_hash:
        # The same work as a real check, so that timing tells neither which names exist nor
        # which of them sign in by link only (no password).
        password_matches(password, _dummy_hash())
        return None
    return _principal(row) if password_matches(password, row.password_hash) else None


def principal_named(context: Context, name: str) -> Principal | None:
    """The active user `name` (a dashboard session re-reads its user on each request)."""
    with reading(context.engine) as connection:
        row = connection.execute(
            select(USER.c.name, USER.c.role, USER.c.team).where(
                USER.c.name == name, USER.c.disabled_at.is_(None)
            )
        ).first()
    return _principal(row) if row else None


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(8))
