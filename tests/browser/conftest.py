"""The dashboard in a real browser: Debian's Chromium driven by Playwright for Python, against
`sagsflow serve` (a real uvicorn) over a fresh database (SQLite, then PostgreSQL) with demo data
dated around now and one case known to be stuck.

Playwright's own browser download does not work on these machines, so the suite launches
/usr/bin/chromium (`apt-get install -y chromium`; `make chromium`). When it is missing the tests
FAIL with that message — they are never skipped: CI must prove the dashboard in a browser.
One browser per test session; each test gets a fresh browser context (no cookies carried over).
Screenshots go to test-artifacts/browser/<test>/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from testkeys import TEST_AUDIT_KEY, TEST_KEYED_SINCE, TEST_KEYS

from models.database import make_engine
from rulebooks import shipped_catalogue
from sagsflow.context import Context
from sagsflow.usecases.cases import fire_event, open_case
from sagsflow.usecases.demo import load_demo
from sagsflow.usecases.sweep import sweep
from sagsflow.usecases.users import add_user
from statemachine.phases import Role, Source

CHROMIUM = os.environ.get("SAGSFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PASSWORD = "correct horse battery"
DEMO_CASES = 30


def _sagsflow() -> list[str]:
    script = Path(sys.executable).with_name("sagsflow")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sagsflow.cli"]


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; the test fails (never skips) when it is not installed."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: the browser tests need Debian's Chromium "
            "(apt-get install -y chromium, or `make chromium`; Playwright's own browser "
            "download does not work here). Set SAGSFLOW_CHROMIUM to use another binary.",
            pytrace=False,
        )
    launched = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture
def page_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(
        viewport={"width": 1400, "height": 900}, locale="da-DK", timezone_id="Europe/Copenhagen"
    )
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go (emptied first)."""
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@dataclass(frozen=True)
class Served:
    url: str
    stuck_case: int  # team t1, caseworker rw1: in clarification for 60 days, no consent
    context: Context


def _stuck_case(context: Context, now: datetime) -> int:
    aware = now - timedelta(days=60)
    opened = open_case(
        context,
        child_ref="BROWSER-STUCK",
        birth_date=date(aware.year - 8, 3, 14),
        aware_at=aware,
        source=Source.APPLICATION,
        notifier=None,
        worker="rw1",
        team="t1",
        municipality="demo",
        actor="rw1",
        now=now,
    )
    fire_event(
        context,
        opened.case_id,
        "accept",
        at=aware + timedelta(days=2),
        data=None,
        actor="rw1",
        role=Role.CASEWORKER,
        now=now,
    )
    return opened.case_id


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every browser test on one xdist worker (`--dist loadgroup`): one Chromium, one server
    per database."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgres", marks=pytest.mark.postgres),
    ],
)
def served(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    """Demo data around now, a stuck case and users, served by `sagsflow serve` — one server
    per database for the module's tests (which leave the stuck case stuck)."""
    folder = tmp_path_factory.mktemp(f"served-{request.param}")
    dropped = None
    if request.param == "sqlite":
        shutil.copyfile(sqlite_template, folder / "sagsflow.db")
        database_url = f"sqlite:///{folder / 'sagsflow.db'}"
    else:
        postgres = request.getfixturevalue("postgres_server")
        dropped = postgres.create_database()
        database_url = postgres.url(dropped)
    now = datetime.now(UTC)
    engine = make_engine(database_url)
    context = Context(engine, shipped_catalogue(), keys=TEST_KEYS)
    load_demo(context, cases=DEMO_CASES, now=now, seed=11)
    stuck = _stuck_case(context, now)
    sweep(context, now)
    add_user(context, "tl1", role=Role.TEAM_LEADER, team="t1", now=now, password=PASSWORD)
    add_user(context, "rw1", role=Role.CASEWORKER, team="t1", now=now)
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SAGSFLOW_")}
    environment |= {
        "SAGSFLOW_DATABASE_URL": database_url,
        "SAGSFLOW_SECRET_KEY": "browser-test-" + "k" * 40,
        "SAGSFLOW_AUDIT_KEY": TEST_AUDIT_KEY,
        "SAGSFLOW_AUDIT_KEYED_SINCE": TEST_KEYED_SINCE,
        "SAGSFLOW_BASE_URL": f"http://127.0.0.1:{port}",
    }
    log = folder / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [*_sagsflow(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=folder,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                pytest.fail(f"sagsflow serve exited {server.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/sign-in", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"sagsflow serve did not answer within 30 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield Served(url, stuck, context)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        engine.dispose()
        if dropped is not None:
            postgres.drop_database(dropped)
