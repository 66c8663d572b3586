"""The request body limit: a plain ASGI middleware that the API and the dashboard each install
for their own paths (sagsflow/api, sagsflow/dashboard), so that each answers in its own way —
the API with a problem (413 `payload-too-large`), the dashboard with a page.

A body above the limit (SAGSFLOW_MAX_BODY_BYTES, `sagsflow.settings`) is refused before anything
reads it, whoever sends it: a `Content-Length` above the limit is answered at once, without
reading a byte of the body and without calling the application (so before a bearer token or a
session is looked at); a body without one (chunked) is counted as it streams, and the moment it
passes the limit the application is told the client has gone (`http.disconnect`), whatever it
then answers is dropped, and the 413 goes out instead. Nothing is buffered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Answers the refusal for a request (its scope) and the limit in bytes.
Refuse = Callable[[Scope, Receive, Send, int], Awaitable[None]]


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None when it has none (or one that is no number: the
    HTTP server refuses such a request before it gets here)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class BodyLimit:
    """Refuse request bodies above `limit` bytes on the paths `applies` says (`refuse` answers)."""

    def __init__(
        self, app: ASGIApp, *, limit: int, applies: Callable[[str], bool], refuse: Refuse
    ) -> None:
        self.app = app
        self.limit = limit
        self.applies = applies
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(str(scope["path"])):
            await self.app(scope, receive, send)
            return
        declared = declared_length(scope)
        if declared is not None and declared > self.limit:
            await self.refuse(scope, receive, send, self.limit)
            return
        seen = 0
        over = False
        started = False

        async def counting() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the application's answer to a body it never got whole
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting, sending)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self.refuse(scope, receive, send, self.limit)
