"""The operator's endpoints and the request log (issue 13, docs/operations.md).

- `GET /healthz`: the process answers (no database read): 200 `{"status": "ok"}`.
- `GET /readyz`: the database answers, its schema is at the newest migration, and the Prefect
  API answers when `PREFECT_API_URL` is set: 200, else 503 naming each check that failed.
- `GET /metrics`: Prometheus' text format (sagsflow/ops/metrics.py); open on the address
  `serve` binds to unless `SAGSFLOW_METRICS_TOKEN` is set (then `Authorization: Bearer …`).

None needs a sign-in, none writes the access log (the table) or the request log, none says
anything about a case or a person. Every other request is timed, counted by its route
template (`/api/v1/cases/{case_id}`, never the path) and logged as one JSON line
(sagsflow/ops/logs.py) with a request id: the client's `X-Request-ID` when it is a plain token,
else a new one; the answer carries it back in `X-Request-ID`.
"""

from __future__ import annotations

import hmac
import os
import re
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sagsflow.ops.metrics import CACHE_SECONDS, RequestMetrics, registry_for
from sagsflow.read.operations import schema_state
from sagsflow.settings import settings

__all__ = ["PROBES", "install"]

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
REQUEST_ID = "X-Request-ID"
# A request id taken from the client: letters, digits and . _ : - only, at most 128 (a UUID,
# a proxy's or a load balancer's id); anything else (spaces, quotes, a name) is replaced.
_SANE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
UNMATCHED = "<unmatched>"  # the route label of a request no route answers (a 404)
PREFECT_TIMEOUT = 2.0  # seconds
# The methods counted by name (any other is "other": a label's values must stay few).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

access_log = structlog.get_logger("sagsflow.access")


def install(
    app: FastAPI,
    *,
    prefect_api_url: str | None = None,
    metrics_token: str | None = None,
    metrics_cache_seconds: float = CACHE_SECONDS,
) -> None:
    """Add /healthz, /readyz and /metrics and the request log to `app` (last: the request
    log is the outermost middleware, so it times and counts the others' answers too).
    `prefect_api_url` defaults to `PREFECT_API_URL`, `metrics_token` to
    `SAGSFLOW_METRICS_TOKEN` (empty: /metrics is open)."""
    prefect = os.environ.get("PREFECT_API_URL", "") if prefect_api_url is None else prefect_api_url
    token = settings().metrics_token if metrics_token is None else metrics_token
    registry, metrics = registry_for(app.state.context, metrics_cache_seconds)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        checks = _readiness(request.app.state.context, prefect)
        ready = all(check["ok"] for check in checks.values())
        body = {
            "status": "ready" if ready else "not ready",
            "not_ready": sorted(name for name, check in checks.items() if not check["ok"]),
            "checks": checks,
        }
        return JSONResponse(
            body, status_code=200 if ready else 503, headers={"Cache-Control": "no-store"}
        )

    @app.get("/metrics", include_in_schema=False)
    def prometheus(request: Request) -> Response:
        if token and not _bearer_matches(request, token):
            return Response(
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
            )
        return Response(
            generate_latest(registry),
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )

    app.add_middleware(RequestLog, metrics=metrics)


def _bearer_matches(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)


def _readiness(context: Any, prefect_api_url: str) -> dict[str, dict[str, Any]]:
    state = schema_state(context)
    checks: dict[str, dict[str, Any]] = {
        "database": {"ok": state.reachable}
        if state.error is None
        else {"ok": False, "error": state.error},
    }
    if state.reachable:
        migrations: dict[str, Any] = {
            "ok": state.at_head,
            "current": list(state.current),
            "head": list(state.head),
        }
        if not state.at_head:
            migrations["hint"] = "sagsflow db upgrade"
        checks["migrations"] = migrations
    else:
        checks["migrations"] = {"ok": False, "error": "database unreachable"}
    if prefect_api_url:
        checks["prefect"] = _prefect_answers(prefect_api_url)
    return checks


def _prefect_answers(api_url: str) -> dict[str, Any]:
    """GET {PREFECT_API_URL}/health: 200 within PREFECT_TIMEOUT seconds."""
    url = api_url.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=PREFECT_TIMEOUT) as answer:
            return {"ok": answer.status == 200}
    except urllib.error.HTTPError as error:
        return {"ok": False, "error": f"HTTP {error.code}"}
    except (OSError, ValueError) as error:  # refused, timed out, no such host, a bad URL
        return {"ok": False, "error": type(error).__name__}


def request_id(scope: Scope) -> str:
    """The client's X-Request-ID when it is a plain token, else a new random one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            given = bytes(value).decode("latin-1")
            if _SANE_ID.fullmatch(given):
                return given
            break
    return uuid.uuid4().hex


class RouteTemplates:
    """The template of the route that answered a request (`/api/v1/cases/{case_id}`), never
    its path: by the route the router left in the scope (FastAPI leaves an included router's
    route, whose own path lacks the prefix), else by matching the request as it arrived (a
    mount, or a request refused before routing: a body too large). Built on first use, when
    every route is in place."""

    def __init__(self) -> None:
        self._contexts: list[Any] | None = None
        self._by_route: dict[int, str] = {}

    def _index(self, app: Any) -> list[Any]:
        if self._contexts is None:
            contexts = list(iter_route_contexts(getattr(app, "routes", [])))
            self._by_route = {
                id(context.original_route): str(context.path_format)
                for context in contexts
                if context.path_format
            }
            self._contexts = contexts
        return self._contexts

    def of(self, app: Any, arrived: Scope, routed: Scope) -> str:
        contexts = self._index(app)
        route = routed.get("route")
        if route is not None and id(route) in self._by_route:
            return self._by_route[id(route)]
        partial = None
        for context in contexts:
            match, _ = context.matches(arrived)
            if match is Match.FULL:
                return str(context.path_format)
            if match is Match.PARTIAL and partial is None:
                partial = str(context.path_format)
        return partial or UNMATCHED


class RequestLog:
    """Plain ASGI (no buffering): times each HTTP request, counts it by route template and
    status, writes one JSON line (`event: request`) and answers with its `X-Request-ID`.
    The probes are neither logged nor counted (a scrape every few seconds would drown both)."""

    def __init__(self, app: ASGIApp, *, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = RouteTemplates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        arrived = dict(scope)  # the router rewrites the scope as it descends
        rid = request_id(scope)
        status = 500  # unless an answer starts

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID] = rid
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = self.templates.of(scope.get("app"), arrived, scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.observe(method, route, status, seconds)
            access_log.info(
                "request",
                request_id=rid,
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 1),
            )
