"""Who may see and do what: users, their credentials, case visibility and the access log.

The API and the dashboard authenticate a request to a `Principal` (a user name, a role and a
team) and then ask this module — never their own rules — which cases it may see, whether it may
write at all, and record each read of a case in the append-only access log. Which *events* a
role may fire, and which measures need which role to grant, is the rulebook's competence plan,
enforced by the domain (`statemachine.process.fire`, role from the principal).

Visibility (issue 5, and the principle of least privilege for the rest):

| role | sees | writes |
|---|---|---|
| caseworker | the cases they work on, and their team's | what the rulebook lets a caseworker fire |
| team_leader | the team's cases | as the rulebook says |
| department_head | every case | as the rulebook says |
| committee | every case (it decides on cases brought before it) | as the rulebook says |
| auditor | every case, read-only | nothing, whatever the rulebook says |
| admin | no case (it manages users and runs the system) | users and tokens |

The audit trail holds every event's data, so taking it out (export) is for the auditor and the
department head; verifying the hash chains reveals no case content and is also for the admin
(who runs the system). The access log — who read which case — is the auditor's.

Credentials: an API token or a one-time sign-in link is 256 random bits shown once and stored
only as its SHA-256; a password is stored as scrypt. Nothing here logs a token or a password.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, false, insert, or_, select, true, update

from models.database import reading
from models.repository import CASE
from models.tables import AccessRecord, Credential, User
from sagsflow.organisation import Organisation
from sagsflow.services import Context
from statemachine.phases import Role

USER = User.__table__  # type: ignore[attr-defined]
CREDENTIAL = Credential.__table__  # type: ignore[attr-defined]
ACCESS_LOG = AccessRecord.__table__  # type: ignore[attr-defined]

TOKEN_PREFIX = "sf_"
SIGN_IN_TTL = timedelta(minutes=15)
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD = 10
# scrypt's interactive-login parameters (RFC 7914 §2: N=2^14, r=8, p=1): ~50 ms, 16 MiB.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


class Scope(StrEnum):
    OWN_AND_TEAM = "own_and_team"
    TEAM = "team"
    ALL = "all"
    NONE = "none"


SCOPES: dict[Role, Scope] = {
    Role.CASEWORKER: Scope.OWN_AND_TEAM,
    Role.TEAM_LEADER: Scope.TEAM,
    Role.DEPARTMENT_HEAD: Scope.ALL,
    Role.COMMITTEE: Scope.ALL,
    Role.AUDITOR: Scope.ALL,
    Role.ADMIN: Scope.NONE,
}
READ_ONLY: frozenset[Role] = frozenset({Role.AUDITOR})
TEAM_BOUND: frozenset[Role] = frozenset({Role.CASEWORKER, Role.TEAM_LEADER})
AUDIT_EXPORTERS: frozenset[Role] = frozenset({Role.AUDITOR, Role.DEPARTMENT_HEAD})
AUDIT_VERIFIERS: frozenset[Role] = AUDIT_EXPORTERS | {Role.ADMIN}
ACCESS_LOG_READERS: frozenset[Role] = frozenset({Role.AUDITOR})


class Action(StrEnum):
    READ = "read"  # one case, in full
    LIST = "list"  # a list or report over many cases (case_id empty)
    WRITE = "write"  # an event recorded on a case
    EXPORT = "export"  # the audit trail taken out


class Channel(StrEnum):
    API = "api"
    DASHBOARD = "dashboard"


class UserInvalid(ValueError):
    """A user or credential request that cannot be honoured; the message says why."""


class AccessDenied(PermissionError):
    """The principal may not do this; the message says why (never which cases exist)."""


@dataclass(frozen=True)
class Principal:
    """The signed-in user, as every access decision sees it."""

    name: str
    role: Role
    team: str | None

    @property
    def scope(self) -> Scope:
        return SCOPES[self.role]

    @property
    def read_only(self) -> bool:
        return self.role in READ_ONLY

    @property
    def sees_cases(self) -> bool:
        return self.scope is not Scope.NONE


# --- visibility ----------------------------------------------------------------------------------


def case_filter(principal: Principal, table: Any = CASE) -> ColumnElement[bool]:
    """A WHERE clause over `table` (the case table, or anything with `worker` and `team`)
    that keeps exactly the cases `principal` may see."""
    scope = principal.scope
    if scope is Scope.ALL:
        return true()
    if scope is Scope.TEAM and principal.team:
        return and_(table.c.team == principal.team)
    if scope is Scope.OWN_AND_TEAM:
        own = table.c.worker == principal.name
        return or_(own, table.c.team == principal.team) if principal.team else own
    return false()


def may_see(principal: Principal, *, worker: str | None, team: str | None) -> bool:
    """The same rule as `case_filter`, for one case already read."""
    scope = principal.scope
    if scope is Scope.ALL:
        return True
    if scope is Scope.TEAM:
        return principal.team is not None and team == principal.team
    if scope is Scope.OWN_AND_TEAM:
        return worker == principal.name or (principal.team is not None and team == principal.team)
    return False


def require_write(principal: Principal) -> None:
    """Raise AccessDenied for a role that only reads (the auditor) or has no cases (admin)."""
    if principal.read_only:
        raise AccessDenied(f"role {principal.role} reads only")
    if not principal.sees_cases:
        raise AccessDenied(f"role {principal.role} has no access to cases")


def require_admin(principal: Principal) -> None:
    if principal.role is not Role.ADMIN:
        raise AccessDenied("only an admin manages users")


def new_case_owner(
    principal: Principal, *, worker: str | None, team: str | None
) -> tuple[str | None, str | None]:
    """The (worker, team) of a case `principal` opens: a team-bound role opens only in its own
    team (the default), and a caseworker's new case is their own unless another worker is
    named. Raises AccessDenied for another team, and for a role that does not write."""
    require_write(principal)
    if principal.role in TEAM_BOUND:
        if not principal.team:
            raise AccessDenied(f"a {principal.role} without a team opens no cases")
        if team is not None and team != principal.team:
            raise AccessDenied(
                f"a {principal.role} opens cases only in their own team ({principal.team})"
            )
        team = principal.team
    if worker is None and principal.role is Role.CASEWORKER:
        worker = principal.name
    return worker, team


def require_cases(principal: Principal) -> None:
    """Raise AccessDenied for a role that sees no case at all (admin)."""
    if not principal.sees_cases:
        raise AccessDenied(f"role {principal.role} has no access to cases")


def require_audit_export(principal: Principal) -> None:
    """The audit trail taken out (every event's data): auditor and department head."""
    if principal.role not in AUDIT_EXPORTERS:
        raise AccessDenied(f"role {principal.role} may not export the audit trail")


def require_audit_verify(principal: Principal) -> None:
    """Checking the hash chains (no case content): auditor, department head and admin."""
    if principal.role not in AUDIT_VERIFIERS:
        raise AccessDenied(f"role {principal.role} may not verify the audit trail")


def require_access_log(principal: Principal) -> None:
    """Who read which case: the auditor's."""
    if principal.role not in ACCESS_LOG_READERS:
        raise AccessDenied(f"role {principal.role} may not read the access log")


def visible_teams(principal: Principal) -> frozenset[str] | None:
    """The teams whose figures (per-team rows of a report) `principal` may see; None: every
    team. A team-bound role sees its own team's; admin none."""
    scope = principal.scope
    if scope is Scope.ALL:
        return None
    if scope in (Scope.TEAM, Scope.OWN_AND_TEAM) and principal.team:
        return frozenset({principal.team})
    return frozenset()


# --- the access log --------------------------------------------------------------------------


def record_access(
    connection: Connection,
    principal: Principal,
    *,
    action: Action,
    channel: Channel,
    what: str,
    now: datetime,
    case_ids: Sequence[int | None] = (None,),
) -> None:
    """Append who did `action` on which case(s), in the caller's transaction."""
    connection.execute(
        insert(ACCESS_LOG),
        [
            {
                "at": now,
                "user_name": principal.name,
                "role": principal.role.value,
                "case_id": case_id,
                "action": action.value,
                "channel": channel.value,
                "what": what[:255],
            }
            for case_id in case_ids
        ],
    )


def log_access(
    context: Context,
    principal: Principal,
    *,
    action: Action,
    channel: Channel,
    what: str,
    now: datetime,
    case_ids: Sequence[int | None] = (None,),
) -> None:
    """`record_access` in a transaction of its own."""
    with context.engine.begin() as connection:
        record_access(
            connection,
            principal,
            action=action,
            channel=channel,
            what=what,
            now=now,
            case_ids=case_ids,
        )


def access_log(
    context: Context,
    *,
    case_id: int | None = None,
    user: str | None = None,
    limit: int = 200,
    offset: int = 0,
    action: Action | None = None,
) -> list[dict[str, Any]]:
    """The access log, newest first; `limit`/`offset` page through it."""
    query = select(ACCESS_LOG).order_by(ACCESS_LOG.c.id.desc()).limit(limit)
    if offset:
        query = query.offset(offset)
    if case_id is not None:
        query = query.where(ACCESS_LOG.c.case_id == case_id)
    if user is not None:
        query = query.where(ACCESS_LOG.c.user_name == user)
    if action is not None:
        query = query.where(ACCESS_LOG.c.action == action.value)
    with reading(context.engine) as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


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
            f"user name {name!r}: 1–64 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    if role in TEAM_BOUND and not team:
        raise UserInvalid(f"a {role} needs --team")
    if team and organisation is not None and organisation.team(team) is None:
        known = ", ".join(t.id for t in organisation.teams) or "none"
        raise UserInvalid(f"unknown team {team!r} (the organisation file has: {known})")
    if password is not None and len(password) < MIN_PASSWORD:
        raise UserInvalid(f"a password needs at least {MIN_PASSWORD} characters")
    with context.engine.begin() as connection:
        if connection.execute(select(USER.c.id).where(USER.c.name == name)).first():
            raise UserInvalid(f"user {name!r} exists already")
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
        raise UserInvalid(f"no active user {name!r}")
    return int(found)


def set_password(context: Context, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserInvalid(f"a password needs at least {MIN_PASSWORD} characters")
    with context.engine.begin() as connection:
        user_id = _user_id(connection, name)
        connection.execute(
            update(USER).where(USER.c.id == user_id).values(password_hash=hash_password(password))
        )


def disable_user(context: Context, name: str, *, now: datetime) -> None:
    """The user can no longer sign in; every token of theirs stops working at once."""
    with context.engine.begin() as connection:
        user_id = _user_id(connection, name)
        connection.execute(update(USER).where(USER.c.id == user_id).values(disabled_at=now))
        connection.execute(
            update(CREDENTIAL)
            .where(CREDENTIAL.c.user_id == user_id, CREDENTIAL.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )


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
    with context.engine.begin() as connection:
        user_id = _user_id(connection, name)
        result = connection.execute(
            update(CREDENTIAL)
            .where(CREDENTIAL.c.user_id == user_id, CREDENTIAL.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
    return int(result.rowcount)


# --- authentication --------------------------------------------------------------------------


def authenticate_token(context: Context, token: str) -> Principal | None:
    """The active user a bearer token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    query = (
        select(USER.c.name, USER.c.role, USER.c.team)
        .join(CREDENTIAL, CREDENTIAL.c.user_id == USER.c.id)
        .where(
            CREDENTIAL.c.token_hash == token_hash(token),
            CREDENTIAL.c.kind == "api",
            CREDENTIAL.c.revoked_at.is_(None),
            USER.c.disabled_at.is_(None),
        )
    )
    with reading(context.engine) as connection:
        row = connection.execute(query).first()
    return _principal(row) if row else None


def redeem_sign_in_link(context: Context, token: str, *, now: datetime) -> Principal | None:
    """The user of a one-time sign-in token, once: a second use, or a late one, gets None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with context.engine.begin() as connection:
        claimed = connection.execute(
            update(CREDENTIAL)
            .where(
                CREDENTIAL.c.token_hash == token_hash(token),
                CREDENTIAL.c.kind == "sign_in",
                CREDENTIAL.c.used_at.is_(None),
                CREDENTIAL.c.revoked_at.is_(None),
                CREDENTIAL.c.expires_at > now,
            )
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
