"""Make the README's dashboard screenshots from demo data: overview.png, stuck.png, case.png.

    .venv/bin/python docs/screenshots/make.py [--out docs/screenshots] [--cases 300]

Builds a throw-away SQLite database with the demo cases dated around now (as `make run` does),
sweeps it, adds a department head, serves it with `sagsflow serve` and photographs the pages
in Debian's Chromium (/usr/bin/chromium, or SAGSFLOW_CHROMIUM) through Playwright. Nothing is
left behind but the three PNG files.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright

from models.database import make_engine, upgrade
from rulebooks import shipped_catalogue
from sagsflow.context import Context
from sagsflow.usecases.demo import load_demo
from sagsflow.usecases.sweep import sweep
from sagsflow.usecases.users import add_user
from statemachine.phases import Role

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("SAGSFLOW_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=da-DK",
]
PASSWORD = "screenshots only"
WIDTH = 1400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _shoot(page: Page, path: Path, height: int) -> None:
    """The top `height` pixels of the whole page (or all of it, when shorter)."""
    full = int(page.evaluate("document.documentElement.scrollHeight"))
    page.screenshot(
        path=path,
        full_page=True,
        clip={"x": 0, "y": 0, "width": WIDTH, "height": min(full, height)},
    )
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--cases", type=int, default=300)
    options = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sagsflow-shots-") as scratch:
        url = f"sqlite:///{scratch}/demo.db"
        upgrade(url)
        now = datetime.now(UTC)
        context = Context(make_engine(url), shipped_catalogue())
        load_demo(context, cases=options.cases, now=now)
        sweep(context, now)
        add_user(context, "dh", role=Role.DEPARTMENT_HEAD, team=None, now=now, password=PASSWORD)
        context.engine.dispose()

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        environment = {k: v for k, v in os.environ.items() if not k.startswith("SAGSFLOW_")}
        environment |= {"SAGSFLOW_DATABASE_URL": url, "SAGSFLOW_SECRET_KEY": os.urandom(24).hex()}
        script = Path(sys.executable).with_name("sagsflow")
        server = subprocess.Popen(
            [str(script), "serve", "--port", str(port)],
            cwd=scratch,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(150):
                try:
                    if httpx.get(f"{base}/sign-in", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
                page = browser.new_context(
                    viewport={"width": WIDTH, "height": 900},
                    locale="da-DK",
                    timezone_id="Europe/Copenhagen",
                ).new_page()
                page.goto(f"{base}/sign-in")
                page.get_by_label("Brugernavn").fill("dh")
                page.get_by_label("Adgangskode").fill(PASSWORD)
                page.get_by_role("button", name="Log ind").click()
                page.wait_for_url(f"{base}/")
                _shoot(page, options.out / "overview.png", 1560)

                page.goto(f"{base}/stuck")
                _shoot(page, options.out / "stuck.png", 1100)

                # A case with a measure whose follow-up is overdue: the fullest case page.
                page.goto(f"{base}/stuck?phase=follow_up&reason=breached_deadline")
                links = page.locator("a.case-link")
                if links.count() == 0:
                    page.goto(f"{base}/stuck")
                links.first.click()
                page.wait_for_selector("#audit")
                _shoot(page, options.out / "case.png", 1700)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
