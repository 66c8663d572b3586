"""The enforcement commands as an operator runs them: sweep, deliver mail, digest, compliance.

A real SMTP server (aiosmtpd) listens on 127.0.0.1; the shipped demo organisation file says who is
told (team t1's leader tl1 is teamleder.nord@kommune.test; the department head is
familiechef@kommune.test).
"""

from __future__ import annotations

import csv
import dataclasses
import socket
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller


class Inbox:
    """Collects every message the SMTP server accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    collected, port = Inbox(), _free_port()
    controller = Controller(collected, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield collected, port
    finally:
        controller.stop()


@pytest.mark.parametrize("database_url", [pytest.param("sqlite", id="sqlite")], indirect=True)
def test_a_breached_notification_reaches_the_team_leader_once(
    sagsflow: Any, tmp_path: Path, inbox: tuple[Inbox, int]
) -> None:
    collected, port = inbox
    mail = (("SAGSFLOW_SMTP_HOST", "127.0.0.1"), ("SAGSFLOW_SMTP_PORT", str(port)))
    cli = dataclasses.replace(sagsflow, settings=mail)
    # given a professional's notification of Friday 27 March 2026 that nobody assessed or
    # acknowledged: assessment due 28 March 10:00, receipt due 9 April (6 working days, Easter)
    case = cli.open_case(
        aware_at="2026-03-27T10:00:00+01:00",
        source="notification",
        notifier="professional",
        worker="rw1",
        team="t1",
    )["id"]
    cli.fire(case, "accept", "2026-03-27T14:00:00+01:00", actor="rw1")
    now = "2026-05-04T12:00:00+02:00"

    # when the sweep runs on 4 May: both deadlines breached; each gets its breach notice (team
    # leader) and its escalation (department head: +1 day and +3 working days, both passed)
    swept = cli.json("sweep", "--now", now)
    assert (swept["breached"], swept["notifications_created"]) == (2, 4)

    # then delivery sends the four notifications in one mail to each person, and a second
    # delivery sends nothing more
    delivered = cli.json("notify", "deliver", "--now", now)
    assert (delivered["sent"], delivered["failed"], delivered["parked"]) == (4, 0, 0)
    again = cli.json("notify", "deliver", "--now", now)
    assert (again["sent"], again["failed"], again["parked"]) == (0, 0, 0)
    recipients = sorted(to for tos, _ in collected.messages for to in tos)
    assert recipients == ["familiechef@kommune.test", "teamleder.nord@kommune.test"]
    # in Danish, naming the case; the child's birth date never leaves the system
    subjects = [str(message["Subject"]) for _, message in collected.messages]
    assert all(f"sag {case}" in subject for subject in subjects), subjects
    bodies = " ".join(
        part.get_payload(decode=True).decode("utf-8")
        for _, message in collected.messages
        for part in message.walk()
        if part.get_content_maintype() == "text"
    )
    assert "2015-06-01" not in bodies and "01.06.2015" not in bodies

    # and the team leader's digest lists the case as stuck, with both breaches
    digest = cli.json("report", "digest", "--now", now, "--team", "t1")["digests"][0]
    assert [s["case_id"] for s in digest["stuck"]] == [case]
    assert sorted(b["rule"] for b in digest["stuck"][0]["breached_deadlines"]) == [
        "acknowledgement",
        "urgent_assessment",
    ]

    # and March's compliance report counts the one 24-hour assessment due then as late
    out = tmp_path / "reports"
    cli.json("report", "compliance", "--period", "2026-03", "--out", str(out), "--now", now)
    with (out / "compliance-2026-03.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the CSV has a header and a row per team and for the municipality"
    assert "<svg" in (out / "compliance-2026-03.html").read_text(encoding="utf-8")
