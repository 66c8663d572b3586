"""The operator's kit (issue 13, docs/operations.md): probes, metrics, the request log, backups.

In-process tests serve `create_app` through Starlette's test client over the root fixtures'
database (SQLite, then PostgreSQL); the request log and the backups are tested as an operator
meets them, through `sagsflow serve`, `sagsflow db backup`, `pg_dump`/`pg_restore` and
`sagsflow audit verify` as subprocesses.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from testkeys import TEST_AUDIT_KEY, TEST_KEYED_SINCE

from sagsflow.context import Context
from sagsflow.server import create_app

BIN = Path(sys.executable).parent
SAGSFLOW = (
    [str(BIN / "sagsflow")]
    if (BIN / "sagsflow").exists()
    else [sys.executable, "-m", "sagsflow.cli"]
)


@pytest.fixture(autouse=True)
def _no_prefect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flow tests' Prefect test server may have set PREFECT_API_URL in this process."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)


@pytest.fixture
def client_for() -> Iterator[Callable[[Context], TestClient]]:
    """A test client over `create_app(context)` (no lifespan: no warm-up)."""
    made: list[TestClient] = []

    def make(context: Context) -> TestClient:
        client = TestClient(create_app(context), raise_server_exceptions=False)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture
def sagsflow_command() -> list[str]:
    return list(SAGSFLOW)


@pytest.fixture
def operator_env(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """This process's environment less every PREFECT_* and SAGSFLOW_* variable, with the one
    audit key every process of the installation shares, and the given settings."""

    def environment(**settings: str) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "SAGSFLOW_"))}
        return {
            **clean,
            "SAGSFLOW_LANG": "en",
            "SAGSFLOW_AUDIT_KEY": TEST_AUDIT_KEY,
            "SAGSFLOW_AUDIT_KEYED_SINCE": TEST_KEYED_SINCE,
            "SAGSFLOW_CHECKPOINT_FILE": str(tmp_path / "audit-checkpoints.jsonl"),
            "SAGSFLOW_SECRET_KEY": "ops-test-secret-key-0123456789abcdef",
            **settings,
        }

    return environment
