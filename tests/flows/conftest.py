"""One Prefect test server for the whole session: starting it takes ~15 s here, a flow run far less.

Heartbeats are off (each flow run would otherwise wait up to a second for the heartbeat thread
at its end), Prefect logs only warnings, and its home is a temporary directory, never the
developer's ~/.prefect. The environment is set before Prefect is first imported: it reads its
logging settings once, at import.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from testkeys import TEST_AUDIT_KEY, TEST_KEYED_SINCE

QUIET = {
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every Prefect test on one xdist worker (`--dist loadgroup`): one test server, not one each."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("prefect"))


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as environment:
        for name, value in QUIET.items():
            environment.setenv(name, value)
        environment.setenv("PREFECT_HOME", str(tmp_path_factory.mktemp("prefect-home")))
        environment.delenv("PREFECT_API_URL", raising=False)

        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
        from prefect.testing.utilities import prefect_test_harness

        # None turns heartbeats off; the variable itself cannot say None.
        with (
            temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
            prefect_test_harness(server_startup_timeout=180),
        ):
            yield


@pytest.fixture
def flow_database(
    database_url: str, monkeypatch: pytest.MonkeyPatch, prefect_server: None, tmp_path: Path
) -> str:
    """The flows read SAGSFLOW_DATABASE_URL when their tasks run: point it at this test's one."""
    monkeypatch.setenv("SAGSFLOW_DATABASE_URL", database_url)
    # The tests' own contexts sign with the tests' key: so do the flows.
    monkeypatch.setenv("SAGSFLOW_AUDIT_KEY", TEST_AUDIT_KEY)
    monkeypatch.setenv("SAGSFLOW_AUDIT_KEYED_SINCE", TEST_KEYED_SINCE)
    # … and anchor their checkpoints in this test's own file.
    monkeypatch.setenv("SAGSFLOW_CHECKPOINT_FILE", str(tmp_path / "audit-checkpoints.jsonl"))
    return database_url


@dataclass
class Inbox:
    """A real SMTP server on 127.0.0.1 (aiosmtpd) and what it accepted: (recipients, subject)."""

    port: int
    received: list[tuple[list[str], str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((list(envelope.rcpt_tos), str(message["Subject"])))
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    """SMTP for the flows (SAGSFLOW_SMTP_HOST/PORT), and the demo organisation file."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        collected = Inbox(probe.getsockname()[1])
    controller = Controller(collected, hostname="127.0.0.1", port=collected.port)
    controller.start()
    monkeypatch.setenv("SAGSFLOW_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SAGSFLOW_SMTP_PORT", str(collected.port))
    monkeypatch.setenv("SAGSFLOW_MAIL_FROM", "sagsflow@kommune.test")
    monkeypatch.delenv("SAGSFLOW_ORG_FILE", raising=False)
    yield collected
    controller.stop()
