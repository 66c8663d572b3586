"""Dashboard sessions that end (issue 12, point 5; docs/decisions/021).

A session is a row of `dashboard_session`; the browser holds its id (256 random bits) inside
the signed cookie, the table only the id's SHA-256, so that a copy of the table signs no one in.
A session is alive while it has not ended, began at most `age` ago (12 hours: a working day)
and was seen within `idle` (`SAGSFLOW_SESSION_IDLE_MINUTES`, 30 by default). Signing out ends
it; changing a user's password, revoking their tokens or disabling them ends all of theirs.
`last_seen_at` is written at most once a minute, so that a page costs one indexed read; the
idle timeout is therefore kept to within that minute.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection, insert, select, update

from models.database import reading
from models.repository import USER
from models.tables import DashboardSession
from sagsflow.context import Context
from statemachine.phases import Role
from statemachine.visibility import Principal

SESSION = DashboardSession.__table__  # type: ignore[attr-defined]
# A working day: after that, sign in again, whatever the requests in between.
SESSION_AGE = timedelta(hours=12)
SESSION_IDLE = timedelta(minutes=30)
# `last_seen_at` is written again only when it is at least this old.
TOUCH_EVERY = timedelta(minutes=1)


class Ended(StrEnum):
    """Why a session ended (`dashboard_session.ended_why`)."""

    SIGN_OUT = "sign_out"
    REVOKED = "revoked"  # `user revoke`
    PASSWORD = "password"  # `user password`
    DISABLED = "disabled"  # `user disable`


@dataclass(frozen=True)
class Lifetime:
    """How long a session lives: at most `age` after it began, `idle` after it was last seen."""

    idle: timedelta = SESSION_IDLE
    age: timedelta = SESSION_AGE

    def alive(self, *, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now - created_at <= self.age and now - last_seen_at <= self.idle


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def start_session(connection: Connection, user_id: int, *, now: datetime) -> str:
    """A new session of the user, in the caller's transaction; returns its id (shown once: only
    its hash is stored)."""
    session_id = secrets.token_urlsafe(32)
    connection.execute(
        insert(SESSION).values(
            user_id=user_id, id_hash=session_hash(session_id), created_at=now, last_seen_at=now
        )
    )
    return session_id


def session_principal(
    context: Context, session_id: str, *, now: datetime, lifetime: Lifetime = Lifetime()
) -> Principal | None:
    """The active user of a live session, or None (no such session, ended, idle too long, too
    old, or its user disabled). Seeing it keeps it alive: `last_seen_at` becomes `now` when it
    is a minute old or more."""
    query = (
        select(
            SESSION.c.id,
            SESSION.c.created_at,
            SESSION.c.last_seen_at,
            USER.c.name,
            USER.c.role,
            USER.c.team,
        )
        .join(USER, USER.c.id == SESSION.c.user_id)
        .where(
            SESSION.c.id_hash == session_hash(session_id),
            SESSION.c.ended_at.is_(None),
            USER.c.disabled_at.is_(None),
        )
    )
    with reading(context.engine) as connection:
        row = connection.execute(query).first()
    if row is None or not lifetime.alive(
        created_at=row.created_at, last_seen_at=row.last_seen_at, now=now
    ):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with context.engine.begin() as connection:
            connection.execute(
                update(SESSION)
                .where(SESSION.c.id == row.id, SESSION.c.last_seen_at < now)
                .values(last_seen_at=now)
            )
    return Principal(row.name, Role(row.role), row.team)


def end_session(context: Context, session_id: str, *, now: datetime) -> bool:
    """Sign out: the session ends now (False: it had ended already, or never was)."""
    with context.engine.begin() as connection:
        result = connection.execute(
            update(SESSION)
            .where(SESSION.c.id_hash == session_hash(session_id), SESSION.c.ended_at.is_(None))
            .values(ended_at=now, ended_why=Ended.SIGN_OUT.value)
        )
    return bool(result.rowcount)


def end_sessions_of(connection: Connection, user_id: int, *, now: datetime, why: Ended) -> int:
    """End every session of the user that has not ended, in the caller's transaction; returns
    how many."""
    result = connection.execute(
        update(SESSION)
        .where(SESSION.c.user_id == user_id, SESSION.c.ended_at.is_(None))
        .values(ended_at=now, ended_why=why.value)
    )
    return int(result.rowcount)
