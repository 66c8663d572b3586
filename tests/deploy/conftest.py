"""The deployment as an operator runs it: real commands as subprocesses, real servers.

`sagsflow flows serve`, `prefect server start`, `prefect deploy` and `prefect worker start` run as
the documentation says, against a demo database, with a real SMTP server (aiosmtpd) for the mail.
The tests see only what an operator sees: exit codes, logs, the Prefect API over HTTP, the rows
in the case database and the messages in the inbox. Nothing of Prefect is imported here: the
flow tests' session server (tests/flows) may share this process.

Every process starts in a session of its own; at teardown, pass or fail, each one's whole tree
(the Prefect server that `flows serve` starts has a session of its own too) is stopped: SIGTERM,
then SIGKILL to every process group in it. The tests here are slow (a Prefect server takes ~15 s
to start): under xdist they share one worker (`--dist loadgroup`, group "deploy").
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg
import pytest
from aiosmtpd.controller import Controller
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from testkeys import TEST_AUDIT_KEY, TEST_KEYED_SINCE

ROOT = Path(__file__).resolve().parents[2]
# Where the processes' signed checkpoints go: outside the checkout.
CHECKPOINTS = Path(tempfile.mkdtemp(prefix="sagsflow-checkpoints-"))
BIN = Path(sys.executable).parent
SAGSFLOW = (
    [str(BIN / "sagsflow")]
    if (BIN / "sagsflow").exists()
    else [sys.executable, "-m", "sagsflow.cli"]
)
PREFECT = (
    [str(BIN / "prefect")] if (BIN / "prefect").exists() else [sys.executable, "-m", "prefect"]
)
POSTGRES_ADMIN_URL = os.environ.get(
    "SAGSFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """All of this folder on one xdist worker, one test at a time: each starts Prefect servers."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("deploy"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` now (as servers do, despite TIME_WAIT leftovers)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def environment(**settings: str) -> dict[str, str]:
    """This process's environment less every PREFECT_* and SAGSFLOW_* variable, plus `settings`.

    The flow tests' Prefect test server sets PREFECT_* in this process; none of it may leak.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SAGSFLOW_"))}
    # The tests read the CLI's English (Danish is its default: tests/e2e/test_cli_language.py).
    english = {"SAGSFLOW_LANG": "en"}
    # Every process of one installation signs with the same audit key, whatever its working
    # directory (the workers run from the checkout), and anchors its checkpoints outside it.
    audit = {
        "SAGSFLOW_AUDIT_KEY": TEST_AUDIT_KEY,
        "SAGSFLOW_AUDIT_KEYED_SINCE": TEST_KEYED_SINCE,
        "SAGSFLOW_CHECKPOINT_FILE": str(CHECKPOINTS / f"{uuid.uuid4().hex}.jsonl"),
    }
    return {
        **clean,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        **english,
        **audit,
        **settings,
    }


def eventually(check: Callable[[], T], timeout: float, what: str, every: float = 0.5) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` s.

    A request to a busy server that times out or fails to connect counts as "not yet".
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except httpx.TransportError:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {what}", pytrace=False)
        time.sleep(every)


# --- processes -----------------------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, int]]:
    """pid → (parent pid, process group), from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), int(fields[2]))
    return table


def process_tree(pid: int) -> dict[int, int]:
    """`pid` and all its descendants still alive: pid → process group."""
    table = _process_table()
    if pid not in table:
        return {}
    tree, frontier = {pid: table[pid][1]}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, group) in table.items():
            if ppid == parent and child not in tree:
                tree[child] = group
                frontier.append(child)
    return tree


def ignores_sigint(pid: int) -> bool:
    """Whether the process ignores SIGINT (Ctrl-C), from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


@contextlib.contextmanager
def _children_take_ctrl_c() -> Iterator[None]:
    """Children started inside get SIGINT's default action, as from a terminal.

    An ignored signal stays ignored across exec: pytest started as a background job (or by a
    runner that ignores SIGINT) would pass that on, and Ctrl-C could not be tested. A handler of
    this process, unlike SIG_IGN, is reset to the default in the child.
    """
    if (
        signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"  # a zombie has exited; its parent reaps it


@dataclass
class Started:
    """A command started in its own session, its output in a log file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name} ({self.log}), last lines:\n" + "\n".join(
            self.output().splitlines()[-lines:]
        )

    def succeeds(self, timeout: float) -> None:
        """Wait for it to exit; it must exit 0."""
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} still running after {timeout:.0f} s:\n{self.tail()}")
        assert code == 0, f"{self.name} exited {code}:\n{self.tail()}"

    def wait_for(self, text: str, timeout: float) -> None:
        """Until `text` appears in the log; fail with the log's tail if it exits or times out."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None:
                pytest.fail(
                    f"{self.name} exited ({self.process.returncode}) before "
                    f"{text!r}:\n{self.tail()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(f"no {text!r} from {self.name} in {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.2)


@dataclass
class Processes:
    """The processes a test starts, and their stop at teardown, whatever happened."""

    logs: Path
    started: list[Started] = field(default_factory=list)

    def start(
        self, name: str, args: list[str], *, env: dict[str, str], cwd: Path = ROOT
    ) -> Started:
        log = self.logs / f"{name}.log"
        with log.open("wb") as output, _children_take_ctrl_c():
            process = subprocess.Popen(
                args,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = Started(name, process, log)
        self.started.append(started)
        return started

    def interrupt(self, started: Started) -> None:
        """Ctrl-C in the terminal: SIGINT to the command's process group."""
        os.killpg(started.pid, signal.SIGINT)

    def tails(self) -> str:
        return "\n".join(started.tail() for started in self.started)

    def stop_all(self) -> None:
        trees = {s.pid: process_tree(s.pid) for s in self.started}
        for started in reversed(self.started):  # workers before the server they talk to
            if started.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(started.pid, signal.SIGTERM)
        for started in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                started.process.wait(20)
        groups = {group for tree in trees.values() for group in tree.values()}
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        for started in self.started:
            started.process.wait(10)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    logs = tmp_path / "logs"
    logs.mkdir()
    started = Processes(logs)
    try:
        yield started
    finally:
        started.stop_all()


def run_any(
    args: list[str], *, env: dict[str, str], cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A command to completion, whatever its exit code."""
    return subprocess.run(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run(
    args: list[str], *, env: dict[str, str], cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A command that must exit 0; its output is in the failure message when it does not."""
    done = run_any(args, env=env, cwd=cwd, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(args)} exited {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
    )
    return done


class Operator:
    """The commands and checks the tests use besides fixtures (helpers are fixtures, not imports)."""

    root = ROOT
    sagsflow = SAGSFLOW
    prefect = PREFECT
    python = sys.executable
    free_port = staticmethod(free_port)
    port_is_free = staticmethod(port_is_free)
    environment = staticmethod(environment)
    eventually = staticmethod(eventually)
    run = staticmethod(run)
    run_any = staticmethod(run_any)
    process_tree = staticmethod(process_tree)
    alive = staticmethod(alive)
    ignores_sigint = staticmethod(ignores_sigint)


@pytest.fixture
def operator() -> type[Operator]:
    return Operator


# --- mail ------------------------------------------------------------------------------------------


@dataclass
class Inbox:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) and every message it accepted."""

    port: int
    messages: list[dict[str, Any]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(
            {
                "to": list(envelope.rcpt_tos),
                "message_id": str(message["Message-ID"]),
                "subject": str(message["Subject"]),
                # The notifications a mail carries (one, or a person's bundle)
                "notifications": [
                    int(i)
                    for i in str(message["X-Sagsflow-Notifications"] or "").split(",")
                    if i.strip()
                ],
            }
        )
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        return [m["message_id"] for m in list(self.messages)]

    def notification_ids(self) -> list[int]:
        """Every notification id the mails carried, as often as they carried it."""
        return [i for m in list(self.messages) for i in m["notifications"]]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    collected = Inbox(free_port())
    controller = Controller(collected, hostname="127.0.0.1", port=collected.port)
    controller.start()
    try:
        yield collected
    finally:
        controller.stop()


# --- the Prefect API over HTTP -----------------------------------------------------------------------


@dataclass
class PrefectApi:
    """The few REST calls the tests make (a Prefect server's /api)."""

    url: str

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.post(f"{self.url}{path}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def patch(self, path: str, body: dict[str, Any]) -> None:
        httpx.patch(f"{self.url}{path}", json=body, timeout=30).raise_for_status()

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.url}{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def deployments(self) -> dict[str, dict[str, Any]]:
        return {d["name"]: d for d in self.post("/deployments/filter")}

    def flow_runs(self, deployment_id: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.post(
            "/flow_runs/filter",
            {"flow_runs": {"deployment_id": {"any_": [deployment_id]}}, "sort": "START_TIME_ASC"},
        )
        return runs

    def states(self, flow_run_id: str) -> list[dict[str, Any]]:
        history: list[dict[str, Any]] = self.get(f"/flow_run_states/?flow_run_id={flow_run_id}")
        return sorted(history, key=lambda state: state["timestamp"])


@pytest.fixture
def prefect_api() -> type[PrefectApi]:
    """`prefect_api(url)`: the REST calls against the Prefect server at `url`."""
    return PrefectApi


# --- PostgreSQL ----------------------------------------------------------------------------------


@dataclass
class Postgres:
    """Scratch databases on the test PostgreSQL server, dropped at teardown."""

    admin_url: str
    created: list[str] = field(default_factory=list)

    def _execute(self, statement: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(statement)

    def create(self, prefix: str) -> str:
        """A new empty database named `<prefix>_<random>`; returns its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        self._execute(f"CREATE DATABASE {name}")
        self.created.append(name)
        return name

    def url(self, name: str, scheme: str = "postgresql") -> str:
        """A URL for database `name` (`scheme` e.g. postgresql+asyncpg for Prefect's server)."""
        parts = conninfo_to_dict(self.admin_url)
        user, host = parts.get("user", "postgres"), parts.get("host", "127.0.0.1")
        password = f":{parts['password']}" if parts.get("password") else ""
        return f"{scheme}://{user}{password}@{host}:{parts.get('port', 5432)}/{name}"

    def query(self, name: str, sql: str) -> list[tuple[Any, ...]]:
        conninfo = make_conninfo(self.admin_url, dbname=name)
        with psycopg.connect(conninfo, connect_timeout=5) as connection:
            return list(connection.execute(sql).fetchall())

    def drop_all(self) -> None:
        for name in self.created:
            self._execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    server = Postgres(POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"))
    try:
        server._execute("SELECT 1")
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (set SAGSFLOW_TEST_POSTGRES_URL, "
            f"or start the server): {str(error).strip().splitlines()[0]}. The several-machines "
            "deployment needs it; this test fails rather than skips.",
            pytrace=False,
        )
    try:
        yield server
    finally:
        server.drop_all()
