"""Dashboard sessions: a signed cookie holding a CSRF token and, once signed in, a session id.

The cookie is signed (itsdangerous, HMAC-SHA1 over a timestamped payload), HttpOnly, SameSite=Lax
and, behind HTTPS, Secure; its timestamp is the sign-in (or first visit), read from the codec's
clock, and it expires `SESSION_AGE` after that, whatever the requests in between. A signed-in
session is a row on the server (`sagsflow.usecases.sessions`), read with its user on every
request: it ends at sign-out, at `user revoke`, `user password` and `user disable`, after the
idle timeout and 12 hours after the sign-in, so a copied cookie stops working then too; a
changed role applies at once. Every visitor, signed in or not, has a session with a random CSRF
token; every POST form carries it and the server compares it with the cookie's (double submit
inside a signed cookie). Signing in starts a new session with a new token (no session fixation).

The signing key is `SAGSFLOW_SECRET_KEY`, else a random key generated once and kept in
`state/secret_key` (mode 0600), so that sessions survive a restart.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from sagsflow.context import wall_clock
from sagsflow.usecases.sessions import SESSION_AGE

SESSION_COOKIE = "sagsflow_session"
LANGUAGE_COOKIE = "sagsflow_lang"
SECRET_FILE = Path("state") / "secret_key"
_SALT = "sagsflow.dashboard.session"


def secret_key(configured: str = "", path: Path = SECRET_FILE) -> str:
    """The configured key, else the one kept in `path`, created (0600) on first use."""
    if configured:
        return configured
    try:
        kept = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        kept = ""
    if kept:
        return kept
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(key + "\n")
    return key


@dataclass(frozen=True)
class Session:
    """What the cookie says: the CSRF token, and the server-side session's id once signed in."""

    csrf: str
    sid: str | None = None

    @staticmethod
    def anonymous() -> Session:
        return Session(csrf=secrets.token_urlsafe(32))

    def signed_in(self, sid: str) -> Session:
        """A fresh session for the server-side session `sid`, with a new CSRF token."""
        return replace(Session.anonymous(), sid=sid)

    def csrf_matches(self, submitted: str | None) -> bool:
        return bool(submitted) and hmac.compare_digest(self.csrf, str(submitted))


class _ClockedSigner(TimestampSigner):
    """itsdangerous' timestamp signer, on a clock of our choosing (tests move it forward)."""

    def __init__(self, *args: Any, clock: Callable[[], datetime], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clock = clock

    def get_timestamp(self) -> int:
        return int(self._clock().timestamp())


class SessionCodec:
    """Signs sessions into cookie values and reads them back (None when forged or expired).

    `clock` stamps each cookie and judges its age (default: the real time)."""

    def __init__(
        self,
        key: str,
        max_age: timedelta = SESSION_AGE,
        *,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self._serializer = URLSafeTimedSerializer(
            key, salt=_SALT, signer=_ClockedSigner, signer_kwargs={"clock": clock}
        )
        self.max_age = max_age

    def dumps(self, session: Session) -> str:
        payload: dict[str, Any] = {"c": session.csrf}
        if session.sid is not None:
            payload["s"] = session.sid
        return str(self._serializer.dumps(payload))

    def loads(self, value: str | None) -> Session | None:
        if not value:
            return None
        try:
            payload = self._serializer.loads(value, max_age=int(self.max_age.total_seconds()))
        except BadSignature:  # also SignatureExpired
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
            return None
        sid = payload.get("s")
        return Session(csrf=payload["c"], sid=sid if isinstance(sid, str) else None)
