"""Signing in to the dashboard, paused after failures (issue 12, point 6; docs/decisions/021).

A sign-in by password or by one-time link either starts a session (`sessions.start_session`),
fails, or is paused. Five failures within 15 minutes — of one account, or from one client
address, whichever comes first — pause signing in for that account or address for 15
minutes, counted from the fifth; while paused, no sign-in is tried at all, so even the right
password is refused and the answer says nothing about it. The pause does not tell whether the
account exists: a name that is no one's is counted and paused the same way, and is answered
with the same words.

The failures are rows of `sign_in_failure`, so that every server process counts the same
ones. An account is counted by an HMAC of the name typed under a key of the installation
(`Throttle.key`), never by the name: it may be a mistyped password. Every failure and every
paused attempt is an access-log row (`sign_in`, on the dashboard channel): by the user's name
when the name is a user's, else as `access.UNKNOWN_ACCOUNT`.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import sha256

from sqlalchemy import Connection, delete, insert, or_, select

from models.database import reading
from models.repository import CREDENTIAL, USER
from models.tables import SignInFailure
from sagsflow.context import Context
from sagsflow.usecases.access import Asked, log_access, record_access
from sagsflow.usecases.sessions import start_session
from sagsflow.usecases.users import (
    TOKEN_PREFIX,
    authenticate_password,
    redeem_sign_in_link,
    token_hash,
)
from statemachine.phases import Role
from statemachine.visibility import Action, Principal

FAILURE = SignInFailure.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Throttle:
    """How many failures within `window` pause signing in, and for how long. `key` makes the
    account's counting hash (the dashboard's signing key: the same on every server)."""

    key: bytes = field(repr=False, default=b"")
    failures: int = 5
    window: timedelta = timedelta(minutes=15)
    pause: timedelta = timedelta(minutes=15)

    def account(self, name: str) -> str:
        """The name's counting hash (64 hex digits)."""
        return hmac.new(self.key, name.encode("utf-8"), sha256).hexdigest()

    def paused_until(self, failures: Sequence[datetime]) -> datetime | None:
        """When the latest pause the failures (in time order) began ends: a pause begins at a
        failure that is the `failures`-th within `window`, and lasts `pause` from it."""
        until = None
        for i in range(self.failures - 1, len(failures)):
            if failures[i] - failures[i - self.failures + 1] < self.window:
                until = failures[i] + self.pause
        return until


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    session_id: str  # for the cookie only: the database holds its hash


@dataclass(frozen=True)
class Paused:
    """Signing in is paused for this account or address (which, the answer does not say)."""

    seconds: int  # until the pause ends, rounded up (the Retry-After header)

    @property
    def minutes(self) -> int:
        return math.ceil(self.seconds / 60)


@dataclass(frozen=True)
class Failed:
    """A wrong name, password or link (which, the answer does not say)."""


Outcome = SignedIn | Paused | Failed


def client_address(host: str | None) -> str:
    """The address failures are counted by: an IPv4 address as it is, an IPv6 one by its /64
    (one machine may hold a whole /64), anything else as given (at most 64 characters)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def sign_in_with_password(
    context: Context,
    name: str,
    password: str,
    *,
    address: str,
    asked: Asked,
    throttle: Throttle,
) -> Outcome:
    """Sign in by name and password from the client `address` (as the edge sees it), at
    `asked.at`."""
    address = client_address(address)
    with reading(context.engine) as connection:
        user = connection.execute(
            select(USER.c.name, USER.c.role, USER.c.team).where(USER.c.name == name)
        ).first()
    # For the access log: a user's name (disabled or not) is stored, any other text is not.
    known = Principal(user.name, Role(user.role), user.team) if user else None
    account = throttle.account(name)
    paused = _paused(context, throttle, account, address, asked.at)
    if paused is not None:
        _log(context, known, asked, address, "paused")
        return paused
    principal = authenticate_password(context, name, password)
    if principal is not None:
        return _signed_in(context, principal, asked.at)
    return _failed(context, throttle, known, account, address, asked)


def sign_in_with_link(
    context: Context, token: str, *, address: str, asked: Asked, throttle: Throttle
) -> Outcome:
    """Sign in by a one-time link (spent only when it signs someone in). A link that fails is
    counted against the client address, and against its user's account when it is a link
    of theirs (used, expired or revoked)."""
    address = client_address(address)
    owner = None
    if token.startswith(TOKEN_PREFIX):
        with reading(context.engine) as connection:
            owner = connection.execute(
                select(USER.c.name, USER.c.role, USER.c.team)
                .join(CREDENTIAL, CREDENTIAL.c.user_id == USER.c.id)
                .where(CREDENTIAL.c.token_hash == token_hash(token), CREDENTIAL.c.kind == "sign_in")
            ).first()
    known = Principal(owner.name, Role(owner.role), owner.team) if owner else None
    account = throttle.account(owner.name) if owner else None
    paused = _paused(context, throttle, account, address, asked.at)
    if paused is not None:
        _log(context, known, asked, address, "paused")
        return paused
    principal = redeem_sign_in_link(context, token, now=asked.at)
    if principal is not None:
        return _signed_in(context, principal, asked.at)
    return _failed(context, throttle, known, account, address, asked)


def _signed_in(context: Context, principal: Principal, now: datetime) -> SignedIn:
    with context.engine.begin() as connection:
        user_id = connection.execute(
            select(USER.c.id).where(USER.c.name == principal.name)
        ).scalar_one()
        return SignedIn(principal, start_session(connection, user_id, now=now))


# --- counting --------------------------------------------------------------------------------


def _failures(
    connection: Connection, throttle: Throttle, account: str | None, address: str, now: datetime
) -> tuple[list[datetime], list[datetime]]:
    """The account's and the address's failures that can still bear on a pause, in time
    order."""
    since = now - throttle.window - throttle.pause
    keys = [FAILURE.c.address == address]
    if account is not None:
        keys.append(FAILURE.c.account == account)
    rows = connection.execute(
        select(FAILURE.c.at, FAILURE.c.account, FAILURE.c.address)
        .where(or_(*keys), FAILURE.c.at > since, FAILURE.c.at <= now)
        .order_by(FAILURE.c.at, FAILURE.c.id)
    ).all()
    of_account = [r.at for r in rows if account is not None and r.account == account]
    of_address = [r.at for r in rows if r.address == address]
    return of_account, of_address


def _pause_of(
    throttle: Throttle, failures: tuple[list[datetime], list[datetime]], now: datetime
) -> Paused | None:
    ends = [throttle.paused_until(times) for times in failures]
    until = max((end for end in ends if end is not None), default=None)
    if until is None or until <= now:
        return None
    return Paused(math.ceil((until - now).total_seconds()))


def _paused(
    context: Context, throttle: Throttle, account: str | None, address: str, now: datetime
) -> Paused | None:
    with reading(context.engine) as connection:
        failures = _failures(connection, throttle, account, address, now)
    return _pause_of(throttle, failures, now)


def _failed(
    context: Context,
    throttle: Throttle,
    known: Principal | None,
    account: str | None,
    address: str,
    asked: Asked,
) -> Outcome:
    """Count the failure, forget the key's failures too old to matter, and log it; Paused when
    it is the one that begins a pause."""
    now = asked.at
    since = now - throttle.window - throttle.pause
    with context.engine.begin() as connection:
        connection.execute(insert(FAILURE).values(at=now, account=account, address=address))
        connection.execute(
            delete(FAILURE).where(FAILURE.c.address == address, FAILURE.c.at <= since)
        )
        if account is not None:
            connection.execute(
                delete(FAILURE).where(FAILURE.c.account == account, FAILURE.c.at <= since)
            )
        paused = _pause_of(throttle, _failures(connection, throttle, account, address, now), now)
        outcome = "failed, now paused" if paused else "failed"
        record_access(
            connection,
            known,
            asked,
            action=Action.SIGN_IN,
            outcome=f"{outcome}; from {address}",
            key=context.keys.current,
        )
    return paused or Failed()


def _log(
    context: Context, known: Principal | None, asked: Asked, address: str, outcome: str
) -> None:
    log_access(context, known, asked, action=Action.SIGN_IN, outcome=f"{outcome}; from {address}")
