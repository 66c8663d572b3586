"""`sagsflow serve` as an operator runs it: its stderr is one JSON object a line, one per
request, with the request id it answers with, and no child's reference anywhere."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from testkeys import TEST_KEYS

from models.database import make_engine
from rulebooks import shipped_catalogue
from sagsflow.context import Context
from sagsflow.usecases.cases import open_case
from sagsflow.usecases.users import add_user, issue_token
from statemachine.phases import Role, Source

CHILD = "BARN-HEMMELIG-4711"


def test_serve_logs_one_json_line_per_request(
    sqlite_template: Path,
    tmp_path: Path,
    operator_env: Callable[..., dict[str, str]],
    sagsflow_command: list[str],
    free_port: Callable[[], int],
) -> None:
    database = tmp_path / "sagsflow.db"
    shutil.copyfile(sqlite_template, database)
    url = f"sqlite:///{database}"
    now = datetime.now(UTC)
    engine = make_engine(url)
    context = Context(engine, shipped_catalogue(), keys=TEST_KEYS)
    case_id = open_case(
        context,
        child_ref=CHILD,
        birth_date=datetime(2016, 5, 1).date(),
        birth_expected=False,
        aware_at=now,
        source=Source.INQUIRY,
        notifier=None,
        worker="rw1",
        team="nord",
        municipality="demo",
        actor="rw1",
        now=now,
    ).case_id
    add_user(context, "dh-ops", role=Role.DEPARTMENT_HEAD, team=None, now=now)
    token = issue_token(context, "dh-ops", now=now)
    engine.dispose()

    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [*sagsflow_command, "serve", "--port", str(port)],
            cwd=tmp_path,
            env=operator_env(SAGSFLOW_DATABASE_URL=url),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        auth = {"Authorization": f"Bearer {token}"}
        shown = httpx.get(
            f"{base}/api/v1/cases/{case_id}",
            headers={**auth, "X-Request-ID": "req-0001"},
            timeout=10,
        )
        assert shown.status_code == 200, shown.text
        assert CHILD in shown.text  # the answer has it; the log must not
        found = httpx.get(f"{base}/api/v1/cases", params={"q": CHILD}, headers=auth, timeout=10)
        assert found.status_code == 200
        page = httpx.get(f"{base}/sign-in", timeout=10)
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)  # as systemd stops it
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)

    text = log.read_text()
    assert CHILD not in text
    lines: list[dict[str, Any]] = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    requests = [line for line in lines if line.get("event") == "request"]
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("GET", "/api/v1/cases/{case_id}", 200),
        ("GET", "/api/v1/cases", 200),
        ("GET", "/sign-in", 200),
    ], text
    first = requests[0]
    assert first["request_id"] == "req-0001" == shown.headers["x-request-id"]
    assert requests[2]["request_id"] == page.headers["x-request-id"]
    assert first["logger"] == "sagsflow.access" and first["level"] == "info"
    assert isinstance(first["duration_ms"], float)
    assert datetime.fromisoformat(first["timestamp"]).tzinfo is not None
    # Only what is chosen: no path, no query string, no client address.
    assert {key for r in requests for key in r} == {
        "event",
        "level",
        "logger",
        "timestamp",
        "request_id",
        "method",
        "route",
        "status",
        "duration_ms",
    }
    # uvicorn's own lines are JSON too (its start-up and shutdown).
    assert any(line.get("logger", "").startswith("uvicorn") for line in lines), text
