"""A local `prefect server start` as a child process, with its own home and SQLite database.

For one machine: the ephemeral server Prefect starts on its own never schedules runs, so
`sagsflow flows serve` runs a real one under the project's state directory (`state/prefect`:
PREFECT_HOME and the server's database; a PostgreSQL URL already in
PREFECT_API_DATABASE_CONNECTION_URL is kept). No Prefect import here: the environment has to be
set before Prefect is imported in this process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

STARTUP_TIMEOUT = 90.0  # seconds; the first start also migrates the database (~15 s here)
SHUTDOWN_TIMEOUT = 20.0


class ServerFailed(RuntimeError):
    """The Prefect server did not come up; the message ends with the tail of its log."""


def prefect_environment(home: Path) -> dict[str, str]:
    """The variables the server and the serving process share (the caller's own win)."""
    home = home.resolve()
    defaults = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home / 'prefect.db'}",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    return {name: os.environ.get(name, value) for name, value in defaults.items()}


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group (it has workers of its own), then SIGKILL.

    A second Ctrl-C while the server shuts down kills it at once rather than leave it behind.
    """
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired, KeyboardInterrupt):
            server.wait(SHUTDOWN_TIMEOUT)
    with suppress(ProcessLookupError):
        # Whatever of its group is left: the server itself, or a child that outlived it.
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


@contextmanager
def running_server(home: Path, port: int, host: str = "127.0.0.1") -> Iterator[str]:
    """Start `prefect server start`, wait until its API answers, yield its API URL; stop it after.

    While inside, PREFECT_API_URL and the shared variables are set in this process's
    environment too, for Prefect imported afterwards and for the flow runs it starts.
    """
    home.mkdir(parents=True, exist_ok=True)
    api_url = f"http://{host}:{port}/api"
    if _healthy(api_url):
        raise ServerFailed(f"something already answers at {api_url}: choose another --port")
    environment = prefect_environment(home)
    log = home / "server.log"
    with log.open("ab") as output:
        # Its own session: Ctrl-C in the terminal reaches the serving process only, which then
        # stops in order — the runner first (it still talks to the server), the server last.
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                host,
                "--port",
                str(port),
            ],
            env={**os.environ, **environment},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(api_url):
            if server.poll() is not None:
                raise ServerFailed(f"prefect server exited ({server.returncode}):\n{_tail(log)}")
            if time.monotonic() > deadline:
                raise ServerFailed(
                    f"no answer from {api_url} in {STARTUP_TIMEOUT:.0f} s:\n{_tail(log)}"
                )
            time.sleep(0.5)
        os.environ.update(environment, PREFECT_API_URL=api_url)
        yield api_url
    finally:
        _stop(server)
