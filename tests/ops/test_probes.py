"""/healthz, /readyz and /metrics (sagsflow/ops), and the request line each request leaves."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, text
from testkeys import TEST_KEYS

from models.database import make_engine, upgrade
from rulebooks import shipped_catalogue
from sagsflow.context import Context
from sagsflow.read.operations import head_revisions
from sagsflow.usecases.sweep import sweep
from statemachine.phases import Notifier, Source

Client = Callable[[Context], TestClient]


def _context(url: str) -> Context:
    return Context(make_engine(url), shipped_catalogue(), keys=TEST_KEYS)


def test_healthz_answers_without_the_database(client_for: Client, tmp_path: Path) -> None:
    # A database that cannot be opened at all: the process is still up.
    broken = _context(f"sqlite:///{tmp_path}/missing/dir/sagsflow.db")
    answer = client_for(broken).get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer.headers["cache-control"] == "no-store"


def test_ready_on_a_migrated_database(client_for: Client, context: Context) -> None:
    answer = client_for(context).get("/readyz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready"
    assert body["not_ready"] == []
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"]["current"] == list(head_revisions())
    assert "prefect" not in body["checks"]  # not configured


def test_not_ready_on_an_unmigrated_database(client_for: Client, tmp_path: Path) -> None:
    empty = _context(f"sqlite:///{tmp_path}/empty.db")
    answer = client_for(empty).get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not ready"
    assert body["not_ready"] == ["migrations"]
    assert body["checks"]["migrations"]["current"] == []
    assert body["checks"]["migrations"]["hint"] == "sagsflow db upgrade"


def test_not_ready_on_a_database_behind_the_code(client_for: Client, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/behind.db"
    upgrade(url, "0013")
    answer = client_for(_context(url)).get("/readyz")
    assert answer.status_code == 503
    migrations = answer.json()["checks"]["migrations"]
    assert migrations["ok"] is False
    assert migrations["current"] == ["0013"]
    assert migrations["head"] == list(head_revisions())


def test_not_ready_when_the_database_does_not_answer(
    client_for: Client, free_port: Callable[[], int]
) -> None:
    nobody = _context(f"postgresql://postgres@127.0.0.1:{free_port()}/test")
    answer = client_for(nobody).get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["not_ready"] == ["database", "migrations"]
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert "127.0.0.1" not in answer.text  # the class of the error, never its message


class _PrefectHealth(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        ok = self.path == "/api/health"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"true" if ok else b"{}")

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def prefect_api() -> Iterator[str]:
    """A stand-in answering Prefect's GET /api/health."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PrefectHealth)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_readiness_asks_the_prefect_api_when_configured(
    client_for: Client,
    context: Context,
    prefect_api: str,
    free_port: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    answer = client_for(context).get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json()["checks"]["prefect"] == {"ok": True}

    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    answer = client_for(context).get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["not_ready"] == ["prefect"]
    assert body["checks"]["prefect"]["ok"] is False
    assert body["checks"]["database"] == {"ok": True}


# --- /metrics --------------------------------------------------------------------------------


def _samples(text_format: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text_format):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_requests_are_counted_by_route_template(client_for: Client, context: Context) -> None:
    client = client_for(context)
    assert client.get("/api/v1/cases/918273").status_code == 401  # no token
    client.get("/api/v1/cases/918274")
    client.get("/no/such/page/918275")
    client.get("/healthz")
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    route = (("method", "GET"), ("route", "/api/v1/cases/{case_id}"), ("status", "401"))
    assert samples[("sagsflow_http_requests_total", route)] == 2
    assert (
        samples[
            (
                "sagsflow_http_requests_total",
                (("method", "GET"), ("route", "<unmatched>"), ("status", "404")),
            )
        ]
        == 1
    )
    latency = (("method", "GET"), ("route", "/api/v1/cases/{case_id}"))
    assert samples[("sagsflow_http_request_duration_seconds_count", latency)] == 2
    # No path, no id; the probes are not counted.
    assert "918273" not in answer.text and "918275" not in answer.text
    assert "/healthz" not in answer.text and "/metrics" not in answer.text


def _unresolved_by_hand(engine: Engine) -> dict[tuple[str, str], int]:
    """The deadline table itself, not the tally the gauge reads."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT rule, status, count(*) FROM deadline "
                "WHERE status IN ('open', 'breached') GROUP BY rule, status"
            )
        ).all()
    return {(rule, status): n for rule, status, n in rows}


def test_open_deadlines_by_rule_and_status(
    client_for: Client, context: Context, cases: Any, engine: Engine
) -> None:
    # Notifications from a professional arm the 24-hour assessment (urgent_assessment) and the
    # receipt within 6 working days (acknowledgement).
    now = datetime(2026, 3, 2, 12, tzinfo=UTC)
    long_ago = datetime(2026, 1, 5, 9, tzinfo=UTC)
    professional = {"source": Source.NOTIFICATION, "notifier": Notifier.PROFESSIONAL}
    for _ in range(2):  # both deadlines breached at the sweep
        cases.open(aware_at=long_ago, **professional)
    cases.open(aware_at=now - timedelta(hours=2), **professional)  # both still open
    assessed = cases.open(aware_at=long_ago, **professional)  # assessed in time, no receipt
    cases.fire(assessed, "assess_urgency", {"acute": False}, at=long_ago + timedelta(hours=3))
    closed = cases.open(aware_at=long_ago, **professional)  # closing cancels both
    cases.fire(closed, "close", {"reason": "Familien er flyttet"}, at=long_ago + timedelta(hours=1))
    sweep(context, now)

    by_hand = {
        ("urgent_assessment", "breached"): 2,
        ("urgent_assessment", "open"): 1,
        ("acknowledgement", "breached"): 3,
        ("acknowledgement", "open"): 1,
    }
    assert _unresolved_by_hand(engine) == by_hand  # the deadline table says so too
    samples = _samples(client_for(context).get("/metrics").text)
    gauge = {
        (dict(labels)["rule"], dict(labels)["status"]): value
        for (name, labels), value in samples.items()
        if name == "sagsflow_deadlines_open"
    }
    assert gauge == by_hand
    assert samples[("sagsflow_database_up", ())] == 1

    with engine.connect() as connection:
        outbox = dict(
            connection.execute(text("SELECT status, count(*) FROM notification GROUP BY status"))
            .tuples()
            .all()
        )
    notified = {
        dict(labels)["status"]: value
        for (name, labels), value in samples.items()
        if name == "sagsflow_notifications"
    }
    assert notified == outbox
    assert sum(outbox.values()) > 0


def test_metrics_token(context: Context) -> None:
    from fastapi import FastAPI

    from sagsflow import ops

    app = FastAPI()
    app.state.context = context
    ops.install(app, prefect_api_url="", metrics_token="scrape-me")
    with TestClient(app) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert right.status_code == 200
        assert "sagsflow_http_requests" in right.text
        # The health probes stay open.
        assert client.get("/healthz").status_code == 200


# --- the request line ---------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_request_leaves_one_line_with_its_id(client_for: Client, context: Context) -> None:
    client = client_for(context)
    with structlog.testing.capture_logs() as lines:
        given = client.get("/api/v1/cases/5", headers={"X-Request-ID": "lb-7f3a.2"})
        odd = client.get("/api/v1/cases", headers={"X-Request-ID": 'Anna "Barn" Jensen'})
        fresh = client.get("/api/v1/cases?q=BARN-0001")
        client.get("/readyz")
    assert given.headers["x-request-id"] == "lb-7f3a.2"
    assert odd.headers["x-request-id"] != 'Anna "Barn" Jensen'
    assert len(odd.headers["x-request-id"]) == 32
    assert fresh.headers["x-request-id"] != odd.headers["x-request-id"]
    requests = [line for line in lines if line["event"] == "request"]
    assert [line["route"] for line in requests] == [
        "/api/v1/cases/{case_id}",
        "/api/v1/cases",
        "/api/v1/cases",
    ]
    assert [line["request_id"] for line in requests] == [
        "lb-7f3a.2",
        odd.headers["x-request-id"],
        fresh.headers["x-request-id"],
    ]
    first = requests[0]
    assert set(first) == {
        "event",
        "log_level",
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
    }
    assert first["status"] == 401 and first["method"] == "GET"
    assert "BARN-0001" not in repr(lines)
