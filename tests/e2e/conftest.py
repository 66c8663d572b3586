"""Drive the installed `sagsflow` console script as a subprocess, as an outside check would.

Helpers are fixtures, not imports (every test folder has a conftest.py). Nothing here imports
the code under test: the tests see only exit codes, stdout and stderr.
The database comes from `database_url` (tests/conftest.py): a fresh, migrated SQLite file or
PostgreSQL database per test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def _command() -> list[str]:
    """The console script beside the running interpreter (the venv's), else `python -m`."""
    script = Path(sys.executable).with_name("sagsflow")
    if script.exists():
        return [str(script)]
    found = shutil.which("sagsflow")
    return [found] if found else [sys.executable, "-m", "sagsflow.cli"]


SAGSFLOW = _command()
# The demo organisation and the tests' teams Nord (anna; leader lis) and Syd (bo, cy; leader
# sune), and the committee (udvalg): `case open` and `case fire` check --worker, --team and
# --role against it.
ORGANISATION = Path(__file__).with_name("organisation.yaml")
# Who records an event in a role, by default (the organisation file gives each that role).
ACTORS = {
    "caseworker": "anna",
    "team_leader": "lis",
    "committee": "udvalg",
    "department_head": "dh",
}


@dataclass(frozen=True)
class Sagsflow:
    """The CLI bound to one database, run from a scratch directory with a clean environment."""

    database_url: str
    cwd: Path
    settings: tuple[tuple[str, str], ...] = ()  # further SAGSFLOW_* settings for this test

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        # Only this test's database: no SAGSFLOW_* setting leaks in from the caller.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGSFLOW_")}
        # The tests read English (Danish is the default: tests/e2e/test_cli_language.py).
        env.update(
            SAGSFLOW_DATABASE_URL=self.database_url,
            SAGSFLOW_LANG="en",
            SAGSFLOW_ORG_FILE=str(ORGANISATION),
            COLUMNS="200",
            NO_COLOR="1",
        )
        env.update(dict(self.settings))
        return subprocess.run(
            [*SAGSFLOW, *args],
            cwd=self.cwd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def ok(self, *args: str) -> str:
        """Run; it must exit 0. Returns stdout."""
        done = self.run(*args)
        assert done.returncode == 0, (
            f"sagsflow {' '.join(args)} exited {done.returncode}\n"
            f"stdout: {done.stdout}\nstderr: {done.stderr}"
        )
        return done.stdout

    def json(self, *args: str) -> Any:
        """Run with --json; it must exit 0 and print one JSON document."""
        return json.loads(self.ok(*args, "--json"))

    def fails(self, *args: str) -> str:
        """Run; it must exit non-zero with exactly one line on stderr. Returns that line."""
        done = self.run(*args)
        assert done.returncode != 0, (
            f"sagsflow {' '.join(args)} should have failed\nstdout: {done.stdout}"
        )
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, f"expected a one-line reason on stderr, got: {done.stderr!r}"
        return lines[0]

    # --- the commands the tests use most ---------------------------------------------------

    def open_case(
        self,
        *,
        aware_at: str,
        source: str = "application",
        notifier: str | None = None,
        child_ref: str = "BARN-0001",
        birth_date: str = "2015-06-01",
        worker: str = "anna",
        team: str = "nord",
    ) -> dict[str, Any]:
        args = [
            "case", "open",
            "--child-ref", child_ref,
            "--birth-date", birth_date,
            "--aware-at", aware_at,
            "--source", source,
            "--worker", worker,
            "--team", team,
            "--actor", worker,
        ]  # fmt: skip
        if notifier is not None:
            args += ["--notifier", notifier]
        opened: dict[str, Any] = self.json(*args)
        return opened

    def fire(
        self,
        case_id: int,
        event: str,
        at: str,
        data: dict[str, Any] | None = None,
        *,
        role: str = "caseworker",
        actor: str | None = None,
        operator: bool = False,
    ) -> dict[str, Any]:
        """An event that must be accepted; returns the --json answer. The actor is, by default,
        the organisation file's person of `role` (ACTORS); `operator`: recorded as the operator
        (for a role the organisation file gives no one, an auditor's or an admin's, always)."""
        who, extra = _acting(role, actor, operator)
        result: dict[str, Any] = self.json(
            *self.fire_args(case_id, event, at, data, role, who), *extra
        )
        return result

    def refused(
        self,
        case_id: int | str,
        event: str,
        at: str,
        data: dict[str, Any] | str | None = None,
        *,
        role: str = "caseworker",
        actor: str | None = None,
        operator: bool = False,
    ) -> str:
        """An event that must be refused; returns the one-line reason from stderr (the actor and
        `operator` as for `fire`)."""
        who, extra = _acting(role, actor, operator)
        return self.fails(*self.fire_args(case_id, event, at, data, role, who), *extra)

    @staticmethod
    def fire_args(
        case_id: int | str,
        event: str,
        at: str,
        data: dict[str, Any] | str | None,
        role: str,
        actor: str,
    ) -> list[str]:
        args = ["case", "fire", str(case_id), event, "--at", at, "--actor", actor, "--role", role]
        if data is not None:
            args += ["--data", data if isinstance(data, str) else json.dumps(data)]
        return args

    def show(self, case_id: int) -> dict[str, Any]:
        view: dict[str, Any] = self.json("case", "show", str(case_id))
        return view


def _acting(role: str, actor: str | None, operator: bool) -> tuple[str, list[str]]:
    """Who records in `role` and the options that say so: the given actor, else the organisation
    file's person of that role, else (an auditor, an admin) anna as the operator."""
    if actor is None and role not in ACTORS:
        return "anna", ["--operator"]
    return actor or ACTORS[role], ["--operator"] if operator else []


@pytest.fixture
def sagsflow(database_url: str, tmp_path: Path) -> Sagsflow:
    """The CLI on a fresh, migrated database (SQLite, then PostgreSQL)."""
    return Sagsflow(database_url, tmp_path)


@pytest.fixture
def sagsflow_without_database(tmp_path: Path) -> Sagsflow:
    """The CLI for commands that need no database, pointed at a file that must stay untouched."""
    return Sagsflow(f"sqlite:///{tmp_path / 'unused.db'}", tmp_path)


def _rewrite_audit_payload(database_url: str, case_id: int, seq: int, payload: str) -> None:
    """What a DBA attacker would do: switch off the append-only trigger and rewrite a row.

    Plain driver calls (sqlite3, psycopg), nothing from the code under test.
    """
    if database_url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            connection.execute("DROP TRIGGER audit_log_no_update")
            cursor = connection.execute(
                "UPDATE audit_log SET payload = ? WHERE case_id = ? AND seq = ?",
                (payload, case_id, seq),
            )
            assert cursor.rowcount == 1
            connection.commit()
        finally:
            connection.close()
        return
    import psycopg

    scheme, rest = database_url.split("://", 1)
    assert scheme.startswith("postgresql"), database_url
    with psycopg.connect(f"postgresql://{rest}") as connection:
        connection.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update")
        cursor = connection.execute(
            "UPDATE audit_log SET payload = %s WHERE case_id = %s AND seq = %s",
            (payload, case_id, seq),
        )
        assert cursor.rowcount == 1


@pytest.fixture
def sagsflow_for(tmp_path: Path) -> Callable[[str], Sagsflow]:
    """The CLI on a database URL of the test's choosing."""
    return lambda database_url: Sagsflow(database_url, tmp_path)


@pytest.fixture
def rewrite_audit_payload() -> Callable[[str, int, int, str], None]:
    """`(database_url, case_id, seq, payload)`: tamper with the audit trail as a DBA could."""
    return _rewrite_audit_payload
