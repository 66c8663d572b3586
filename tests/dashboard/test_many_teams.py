"""The department head of a large organisation (many teams, hundreds of caseworkers): the
caseload page shows a row and a bar per team, with a drill-down to one team's caseworkers, and
the filters offer caseworkers only for a chosen team. Team leaders see what they always saw."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from sagsflow import dashboard
from sagsflow.context import Context

SignIn = Callable[..., httpx.Response]
TEAMS = 60  # of 10 caseworkers: 600, more than the pages list one by one


def _organisation(path: Path) -> str:
    lines = ["department_head: {name: dh}", "teams:"]
    for number in range(1, TEAMS + 1):
        team = f"t{number}"
        lines += [
            f"  - id: {team}",
            f"    name: Team {number}",
            f"    leader: {{name: tl{number}}}",
        ]
        lines.append("    caseworkers:")
        names = {"t1": ["rw1", "rw2"], "t2": ["rw4"]}.get(team, [])
        names += [f"{team}-cw{i:02d}" for i in range(len(names) + 1, 11)]
        lines += [f"      - {{name: {name}}}" for name in names]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def server(context: Context, tmp_path: Path, now: datetime) -> Iterator[str]:
    """The dashboard, as in conftest.py, with an organisation of TEAMS teams."""
    app = FastAPI()
    app.state.context = context
    dashboard.install(
        app,
        clock=lambda: now,
        key="test-key-" + "x" * 40,
        organisation_file=_organisation(tmp_path / "organisation.yaml"),
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    running = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    running.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_the_department_heads_caseload_shows_teams_and_drills_down(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("dh")
    page = client.get("/caseload")
    assert page.status_code == 200
    assert "Sagstal pr. team" in page.text and "<svg" in page.text
    assert f"{TEAMS} teams" in page.text
    assert page.text.count("data-team=") == 50  # the first page of teams
    assert 'href="/caseload?team=t1"' in page.text  # t1: the most loaded (2 cases, 10 people)
    assert "rw1" not in page.text and "t3-cw05" not in page.text  # no caseworker rows
    second = client.get("/caseload?page=2")
    assert second.text.count("data-team=") == TEAMS - 50
    team = client.get("/caseload?team=t2")
    assert team.status_code == 200
    assert "rw4" in team.text and "t2-cw10" in team.text  # the team's caseworkers, all of them
    assert "rw1" not in team.text and "t3-cw01" not in team.text
    assert "Alle teams" in team.text
    english = client.get("/caseload?lang=en")
    assert "Caseload per team" in english.text and "Choose a team" in english.text


def test_the_filters_offer_caseworkers_for_a_chosen_team(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("dh")
    for path in ("/stuck", "/cases"):
        whole = client.get(path)
        assert 'value="t60"' in whole.text  # every team
        assert 'option value="t3-cw01"' not in whole.text
        assert "Vælg et team for at filtrere på rådgiver" in whole.text
        team = client.get(f"{path}?team=t3")
        assert 'option value="t3-cw01"' in team.text
        assert 'option value="t4-cw01"' not in team.text
        assert "Vælg et team" not in team.text


def test_a_team_leader_still_sees_the_teams_caseworkers(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("tl1")
    for path in ("/caseload", "/caseload?team=t2"):
        page = client.get(path)
        assert "Sagstal pr. rådgiver" in page.text
        assert "rw1" in page.text and "t1-cw10" in page.text and "rw4" not in page.text
    assert 'option value="t1-cw03"' in client.get("/stuck").text
