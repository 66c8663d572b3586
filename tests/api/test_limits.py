"""The body limit and event data's bounds over real HTTP (issue 12, point 7), and the checks of
who and where a new case belongs (point 8) — on both databases.

A body above SAGSFLOW_MAX_BODY_BYTES (1 MiB by default) is refused with 413 before it is read,
signed in or not: with a Content-Length the answer comes before a byte of the body is sent;
chunked, it comes once the count passes the limit. These talk to uvicorn over a raw socket, as an
attacker's client would, so that nothing in between buffers the body first.
"""

from __future__ import annotations

import itertools
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from sagsflow.organisation import DEMO_ORGANISATION, load_organisation
from sagsflow.server import create_app
from sagsflow.settings import settings
from sagsflow.usecases.users import add_user, issue_token
from statemachine.phases import Phase, Role

LIMIT = settings().max_body_bytes
_numbers = itertools.count(1)
CHUNK = 64 * 1024
NEW_CASE = {
    "child_ref": "B-9001",
    "birth_date": "2016-06-01",
    "aware_at": "2027-11-01T09:00:00+01:00",
    "source": "inquiry",
}


def _exchange(base_url: str, head: bytes, chunks: Iterator[bytes] | None = None) -> dict[str, Any]:
    """Send `head`, then the body chunk by chunk until the server answers (past the limit,
    giving it a moment after each chunk); the answer as {status, headers, body, sent} (`sent`:
    body bytes written before it answered)."""
    where = urlsplit(base_url)
    with socket.create_connection((where.hostname, where.port), timeout=20) as sock:
        sock.sendall(head)
        sent = 0
        for chunk in chunks or ():
            if select.select([sock], [], [], 0.2 if sent > LIMIT else 0)[0]:
                break  # answered already
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        received = b""
        while b"\r\n\r\n" not in received:
            part = sock.recv(65536)
            if not part:
                break
            received += part
        top, _, body = received.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            part = sock.recv(65536)
            if not part:
                break
            body += part
    return {"status": int(lines[0].split()[1]), "headers": headers, "body": body, "sent": sent}


def _head(path: str, *, length: int | None, token: str | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    lines.append(
        f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked"
    )
    if token:
        lines.append(f"Authorization: Bearer {token}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _chunked(total: int) -> Iterator[bytes]:
    """A JSON-looking body of `total` bytes in HTTP chunks, then the last chunk."""
    yield b"%x\r\n{\r\n" % 1
    left = total
    while left > 0:
        size = min(CHUNK, left)
        yield b"%x\r\n" % size + b" " * size + b"\r\n"
        left -= size
    yield b"1\r\n}\r\n0\r\n\r\n"


def _too_large(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["status"] == 413, answer
    assert answer["headers"]["content-type"] == "application/problem+json"
    assert answer["headers"]["cache-control"] == "no-store"
    body: dict[str, Any] = json.loads(answer["body"])
    assert body["type"] == "urn:sagsflow:problem:payload-too-large"
    return body


def test_a_declared_50_mb_body_is_refused_before_a_byte_of_it_is_read(api, access_rows):
    # Given no token at all, and a Content-Length of 50 MB
    rows_before = access_rows.count()

    # When only the request's head is sent
    answer = _exchange(api.base_url, _head("/api/v1/cases", length=50 * 1024 * 1024))

    # Then the answer is 413 at once (before: the server waited for the body, to parse it
    # before the token was checked), and the connection closes
    body = _too_large(answer)
    assert str(LIMIT) in body["detail"]
    assert answer["headers"]["connection"] == "close"
    assert access_rows.count() == rows_before


def test_a_chunked_body_is_counted_as_it_streams_and_refused_past_the_limit(api):
    # Given no Content-Length: a chunked body of 3 MB, without a token
    answer = _exchange(api.base_url, _head("/api/v1/cases", length=None), _chunked(3 * LIMIT))

    # Then it is refused once the limit is passed, before the rest is sent
    _too_large(answer)
    assert answer["sent"] < 2 * LIMIT


def test_a_signed_in_caller_s_large_event_is_refused_and_nothing_written(staff, cases, rows):
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)
    before = rows.snapshot(case.id)
    path = f"/api/v1/cases/{case.id}/events"
    token = staff.tokens[Role.CASEWORKER]

    # 5,000 goals of 2,000 characters (the attack of issue 12), declared and chunked
    plan = {"goals": ["g" * 2000] * 5000}
    body = json.dumps({"event": "submit_plan", "at": "2027-12-01T10:00:00Z", "data": plan})
    declared = _exchange(staff.api.base_url, _head(path, length=len(body), token=token))
    chunked = _exchange(
        staff.api.base_url, _head(path, length=None, token=token), _chunked(len(body))
    )

    _too_large(declared)
    _too_large(chunked)
    assert rows.snapshot(case.id) == before


def test_a_body_just_under_the_limit_is_read(staff, cases):
    case = cases.open(worker=staff.name(Role.CASEWORKER), team=staff.team)
    event = json.dumps({"event": "accept", "at": case.later(hours=1).isoformat()})
    padded = event[:-1] + " " * (LIMIT - len(event) - 64) + "}"

    response = staff.as_(Role.CASEWORKER).post(
        f"/api/v1/cases/{case.id}/events",
        content=padded.encode(),
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 200, response.text[:300]


def test_event_data_past_its_bounds_is_refused_and_nothing_written(staff, cases, rows, problem):
    # Given a case in its action-plan phase, where a plan is submitted
    case = cases.at_phase(Phase.ACTION_PLAN, worker=staff.name(Role.CASEWORKER), team=staff.team)
    before = rows.snapshot(case.id)
    client = staff.as_(Role.CASEWORKER)
    base = {"purpose": "Stabil hverdag", "expected_duration_months": 6}

    for goals, field in (
        (["g"] * 101, "goals"),  # a hundred goals at most
        (["g" * 2001], "goals.0"),  # 2,000 characters a goal at most
    ):
        data = {**base, "goals": goals}
        response = client.post(
            f"/api/v1/cases/{case.id}/events",
            json={"event": "submit_plan", "at": case.later(days=1).isoformat(), "data": data},
        )
        found = problem(response, 422, "invalid-event-data")
        assert found["code"] == "invalid_data"
        assert [p["field"] for p in found["params"]["problems"]] == [field]
    assert rows.snapshot(case.id) == before

    # and a plan within them is recorded
    data = {**base, "goals": ["g" * 2000] * 100}
    response = client.post(
        f"/api/v1/cases/{case.id}/events",
        json={"event": "submit_plan", "at": case.later(days=1).isoformat(), "data": data},
    )
    assert response.status_code == 200, response.text[:300]


# --- who and where a new case belongs ----------------------------------------------------------


@pytest.fixture
def configured(api, now) -> Iterator[httpx.Client]:
    """The app over the module's database as `sagsflow serve` builds it — the demo organisation
    and the configured municipality `demo` — on a port of its own; a department head's token."""
    context = replace(
        api.context, organisation=load_organisation(DEMO_ORGANISATION), municipality="demo"
    )
    name = f"dh-holders-{next(_numbers)}"
    add_user(context, name, role=Role.DEPARTMENT_HEAD, team=None, now=now)
    token = issue_token(context, name, now=now)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(create_app(context), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    with httpx.Client(
        base_url=f"http://127.0.0.1:{sock.getsockname()[1]}",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        timeout=30,
    ) as http:
        yield http
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.mark.parametrize(
    ("where", "code"),
    [
        pytest.param({"municipality": "atlantis"}, "unknown_municipality", id="municipality"),
        pytest.param({"team": "t9"}, "unknown_team", id="team"),
        pytest.param({"worker": "mallory", "team": "t1"}, "unknown_worker", id="worker"),
        pytest.param({"worker": "rw4", "team": "t1"}, "worker_not_in_team", id="wrong-team"),
    ],
)
def test_a_case_for_someone_or_somewhere_unknown_is_a_422_and_nothing_is_opened(
    configured, problem, where, code
):
    listed = configured.get("/api/v1/cases?limit=500").json()["items"]

    response = configured.post("/api/v1/cases", json={**NEW_CASE, **where})

    found = problem(response, 422, "case-refused")
    assert found["code"] == code
    assert next(iter(where.values())) in found["reason"]
    assert configured.get("/api/v1/cases?limit=500").json()["items"] == listed


def test_a_case_the_organisation_file_knows_is_opened(configured):
    response = configured.post("/api/v1/cases", json={**NEW_CASE, "worker": "rw4", "team": "t2"})
    assert response.status_code == 201, response.text
