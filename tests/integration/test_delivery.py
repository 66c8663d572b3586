"""Delivering the notification outbox to a real SMTP server (aiosmtpd on 127.0.0.1).

The default case (tests/conftest.py) is aware on 5 January 2026 and in investigation: SEL §50
stk. 7 / Barnets Lov §20 stk. 3 give it until 5 May 2026, end of day, Copenhagen time. The
default rulebook's ladder for it: a reminder to the caseworker 14 days before (from 21 April,
23:59:59), the breach notice to the team leader, an escalation to the department head 14 days
after (from 19 May, 23:59:59). Time moves by argument; nothing sleeps.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, Row, select, update

from models.tables import Notification
from sagsflow.context import Context
from sagsflow.organisation import Organisation, Person, Team
from sagsflow.settings import Settings
from sagsflow.usecases import delivery
from sagsflow.usecases.delivery import deliver_notifications, retry_parked
from sagsflow.usecases.sweep import sweep
from statemachine.phases import Phase

NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
COPENHAGEN = ZoneInfo("Europe/Copenhagen")

REMINDER_AT = datetime(2026, 4, 22, 10, 0, tzinfo=COPENHAGEN)  # 13 days before the due date
BREACH_AT = datetime(2026, 5, 6, 10, 0, tzinfo=COPENHAGEN)  # 1 day over
ESCALATION_AT = datetime(2026, 5, 20, 10, 0, tzinfo=COPENHAGEN)  # 15 days over
NOTHING = {"sent": 0, "failed": 0, "parked": 0, "dropped": 0}

ORGANISATION = Organisation(
    department_head=Person(name="dh", email="familiechef@kommune.test"),
    teams=[
        Team(
            id="t1",
            name="Team Nord",
            leader=Person(name="tl1", email="teamleder.nord@kommune.test"),
            caseworkers=[
                Person(name="rw1", email="rw1@kommune.test"),
                Person(name="rw5", email="fratraadt@kommune.test"),  # the server refuses it
                Person(name="rw6"),  # no address
            ],
        )
    ],
)


# --- a real SMTP server, a closed port, a webhook receiver ------------------------------------


def _free_port() -> int:
    """A port nobody listens on (the socket is closed again at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Inbox:
    """What the SMTP server accepted: (envelope recipients, parsed message)."""

    port: int
    refused: str = "fratraadt@kommune.test"
    received: list[tuple[list[str], EmailMessage]] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == self.refused:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "smtp_host": "127.0.0.1",
            "smtp_port": self.port,
            "mail_from": "sagsflow@kommune.test",
            "webhook_url": "",
        }
        return Settings(**(values | overrides))

    def down(self) -> Settings:
        """The same settings, pointing at a port where no server listens."""
        return self.settings(smtp_port=_free_port())

    @property
    def recipients_and_subjects(self) -> list[tuple[list[str], str]]:
        return [(to, str(message["Subject"])) for to, message in self.received]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    collected = Inbox(_free_port())
    controller = Controller(collected, hostname="127.0.0.1", port=collected.port)
    controller.start()
    yield collected
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    posted: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posted.append(json.loads(body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", posted
    server.shutdown()
    server.server_close()


# --- helpers ---------------------------------------------------------------------------------


def deliver(context: Context, now: datetime, settings: Settings, **options: Any) -> dict[str, int]:
    return deliver_notifications(
        context, now=now, organisation=ORGANISATION, settings=settings, **options
    )


def outbox(engine: Engine) -> list[Row[Any]]:
    with engine.connect() as connection:
        return list(connection.execute(select(NOTIFICATION).order_by(NOTIFICATION.c.id)).all())


def only(engine: Engine) -> Row[Any]:
    rows = outbox(engine)
    assert len(rows) == 1, rows
    return rows[0]


def investigation(cases: Any, worker: str = "rw1") -> int:
    """An investigation whose provisional assessment (Barnets Lov §20 stk. 3) is already
    recorded, so that one ladder runs: the investigation's."""
    case = cases.at_phase(Phase.INVESTIGATION, worker=worker, team="t1")
    cases.fire(case, "record_provisional_assessment")
    return int(case.id)


def texts(message: EmailMessage) -> list[str]:
    """The subject and every decoded body part: what a reader (or a leak) could see."""
    parts = [part.get_content() for part in message.walk() if not part.is_multipart()]
    return [str(message["Subject"]), *parts]


# --- sending once, to the right person ---------------------------------------------------------


def test_each_rung_goes_once_to_the_person_the_ladder_names(
    context: Context, cases: Any, inbox: Inbox
) -> None:
    # Given an investigation of caseworker rw1 in team t1
    case_id = investigation(cases)

    # When the sweep and the deliverer run before the due date, after it, and 14 days after
    for at in (REMINDER_AT, BREACH_AT, ESCALATION_AT):
        sweep(context, at)
        assert deliver(context, at, inbox.settings()) == NOTHING | {"sent": 1}

    # Then the caseworker was reminded, the team leader told and the department head escalated to
    assert inbox.recipients_and_subjects == [
        (["rw1@kommune.test"], f"Påmindelse: undersøgelse i sag {case_id}"),
        (["teamleder.nord@kommune.test"], f"Frist overskredet: undersøgelse i sag {case_id}"),
        (["familiechef@kommune.test"], f"Eskalering: undersøgelse i sag {case_id}"),
    ]
    reminder = inbox.received[0][1].get_body(("plain",))
    assert reminder is not None
    assert "Status: Fristen udløber om 13 dage." in reminder.get_content()
    # And running again, later, sends nothing more
    assert deliver(context, ESCALATION_AT + timedelta(hours=1), inbox.settings()) == NOTHING
    assert len(inbox.received) == 3


def test_the_mail_names_case_rule_source_and_due_date_in_danish_without_the_birth_date(
    context: Context, engine: Engine, cases: Any, inbox: Inbox
) -> None:
    case_id = investigation(cases)  # child BARN-0001, born 1 May 2016
    sweep(context, BREACH_AT)

    deliver(context, BREACH_AT, inbox.settings())

    [(_, message)] = inbox.received
    notification_id = only(engine).id
    assert message["From"] == "sagsflow@kommune.test"
    assert message["Message-ID"] == f"<notification-{notification_id}@kommune.test>"
    assert message.get_content_type() == "multipart/alternative"
    plain, rich = message.get_payload()  # type: ignore[misc]
    assert (plain.get_content_type(), rich.get_content_type()) == ("text/plain", "text/html")
    assert plain.get_content_charset() == rich.get_content_charset() == "utf-8"
    text = plain.get_content()
    for line in (
        f"Sag: {case_id} (barnets reference BARN-0001)",
        "Frist: Børnefaglig undersøgelse afsluttet senest 4 måneder efter kendskab",
        "Hjemmel: Barnets Lov §20 stk. 3 (SEL §50 stk. 7): 4 måneder fra kommunen bliver "
        "bekendt med behovet",
        # 1 day past: it ran out ("udløb"), it does not run out ("udløber")
        "Fristen udløb: 5. maj 2026 kl. 23.59",
        "Status: Fristen er overskredet med 1 dag.",
        "Slags frist: Lovbestemt frist",
        "Du får besked som: teamleder",
        f"Link til sagen: http://127.0.0.1:8000/cases/{case_id}",
    ):
        assert line in text
    assert (
        "Børnefaglig undersøgelse afsluttet senest 4 måneder efter kendskab" in rich.get_content()
    )
    assert "BARN-0001" in rich.get_content()
    for shown in texts(message):
        for birth_date in ("2016-05-01", "1. maj 2016", "01.05.2016", "010516", "2016"):
            assert birth_date not in shown


def test_the_webhook_receives_the_same_notice_as_json(
    context: Context,
    cases: Any,
    inbox: Inbox,
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    url, posted = webhook
    case_id = investigation(cases)
    sweep(context, ESCALATION_AT)  # breach and escalation both due: two notices

    assert deliver(context, ESCALATION_AT, inbox.settings(webhook_url=url)) == NOTHING | {"sent": 2}

    assert [(p["case_id"], p["level"], p["recipient_role"]) for p in posted] == [
        (case_id, "breach", "team_leader"),
        (case_id, "escalation", "department_head"),
    ]
    escalation = posted[1]
    assert escalation["child_ref"] == "BARN-0001"
    assert escalation["rule"] == "investigation"
    assert escalation["due_date"] == "2026-05-05"
    assert escalation["days_over"] == 15
    assert escalation["subject"] == f"Eskalering: undersøgelse i sag {case_id}"
    assert "Fristen er overskredet med 15 dage." in escalation["text"]
    assert "2016" not in json.dumps(posted)


# --- who cannot be told ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("worker", "recipient", "reason"),
    [
        ("rw6", "rw6", "no e-mail address for caseworker rw6"),
        ("rw99", None, "no recipient: caseworker rw99 is not in the organisation file"),
    ],
)
def test_a_recipient_without_an_address_is_parked_with_the_reason(
    context: Context,
    engine: Engine,
    cases: Any,
    inbox: Inbox,
    worker: str,
    recipient: str | None,
    reason: str,
) -> None:
    investigation(cases, worker=worker)
    sweep(context, REMINDER_AT)  # the reminder goes to the caseworker

    assert deliver(context, REMINDER_AT, inbox.settings()) == NOTHING | {"parked": 1}

    row = only(engine)
    assert (row.status, row.parked_reason, row.recipient, row.attempts) == (
        "parked",
        reason,
        recipient,
        0,
    )
    assert inbox.received == []
    # Parked stays parked: visible, not retried, not lost
    assert deliver(context, REMINDER_AT + timedelta(days=1), inbox.settings()) == NOTHING
    assert only(engine).status == "parked"


def test_an_address_the_server_refuses_for_good_is_parked_at_once(
    context: Context, engine: Engine, cases: Any, inbox: Inbox
) -> None:
    investigation(cases, worker="rw5")
    sweep(context, REMINDER_AT)

    assert deliver(context, REMINDER_AT, inbox.settings()) == NOTHING | {"parked": 1}

    row = only(engine)
    assert (row.status, row.attempts) == ("parked", 1)
    assert row.parked_reason.startswith("cannot be delivered: SMTPRecipientsRefused")
    assert row.recipient_email == "fratraadt@kommune.test"


# --- SMTP down --------------------------------------------------------------------------------


def test_mail_waits_while_smtp_is_down_and_goes_once_when_it_is_back(
    context: Context, engine: Engine, cases: Any, inbox: Inbox
) -> None:
    investigation(cases)
    sweep(context, BREACH_AT)

    # SMTP down: counted as failed, kept pending, next attempt 5 seconds on
    assert deliver(context, BREACH_AT, inbox.down()) == NOTHING | {"failed": 1}
    row = only(engine)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == BREACH_AT + timedelta(seconds=5)
    assert row.last_error.startswith("Unreachable: 127.0.0.1:")

    # Back up: not before the next attempt is due, then exactly once
    assert deliver(context, BREACH_AT + timedelta(seconds=4), inbox.settings()) == NOTHING
    assert deliver(context, BREACH_AT + timedelta(seconds=5), inbox.settings()) == NOTHING | {
        "sent": 1
    }
    assert deliver(context, BREACH_AT + timedelta(hours=1), inbox.settings()) == NOTHING
    assert [to for to, _ in inbox.received] == [["teamleder.nord@kommune.test"]]
    row = only(engine)
    assert (row.status, row.attempts, row.sent_at) == (
        "sent",
        2,
        BREACH_AT + timedelta(seconds=5),
    )


def test_a_notification_that_keeps_failing_is_parked_after_twelve_attempts(
    context: Context, engine: Engine, cases: Any, inbox: Inbox
) -> None:
    investigation(cases)
    sweep(context, BREACH_AT)
    down = inbox.down()
    # Seconds first, then minutes, then every 15 minutes (after attempts 1 to 11)
    waits = [5, 15, 45, 120, 300, 600, 900, 900, 900, 900, 900]

    at = BREACH_AT
    for attempt, wait in enumerate(waits, start=1):
        assert deliver(context, at, down) == NOTHING | {"failed": 1}, attempt
        row = only(engine)
        assert (row.attempts, row.next_attempt_at) == (attempt, at + timedelta(seconds=wait))
        at = row.next_attempt_at
    assert deliver(context, at, down) == NOTHING | {"parked": 1}

    row = only(engine)
    assert (row.status, row.attempts, row.parked_reason) == (
        "parked",
        12,
        "gave up after 12 attempts",
    )
    assert row.last_error.startswith("Unreachable: ")
    assert deliver(context, at + timedelta(days=1), inbox.settings()) == NOTHING
    assert inbox.received == []


def test_the_attempts_before_parking_come_from_the_settings(
    context: Context, engine: Engine, cases: Any, inbox: Inbox
) -> None:
    investigation(cases)
    sweep(context, BREACH_AT)
    down = inbox.settings(smtp_port=_free_port(), mail_max_attempts=2)

    assert deliver(context, BREACH_AT, down) == NOTHING | {"failed": 1}
    assert deliver(context, BREACH_AT + timedelta(seconds=5), down) == NOTHING | {"parked": 1}
    assert (only(engine).status, only(engine).parked_reason) == (
        "parked",
        "gave up after 2 attempts",
    )


def test_a_parked_notification_put_back_by_hand_goes_out_once(
    context: Context, engine: Engine, cases: Any, inbox: Inbox
) -> None:
    # Given a breach notice parked after the relay refused it twice
    investigation(cases)
    other = investigation(cases)
    sweep(context, BREACH_AT)
    down = inbox.settings(smtp_port=_free_port(), mail_max_attempts=1)
    assert deliver(context, BREACH_AT, down) == NOTHING | {"parked": 2}
    # When the operator puts one case's back, once the relay is fixed
    later = BREACH_AT + timedelta(hours=2)
    assert retry_parked(context, now=later, case_id=other) == 1
    assert retry_parked(context, now=later, case_id=other) == 0  # no longer parked
    # Then it goes out once with the working settings; the other stays parked
    assert deliver(context, later, inbox.settings()) == NOTHING | {"sent": 1}
    assert deliver(context, later + timedelta(days=1), inbox.settings()) == NOTHING
    assert len(inbox.received) == 1
    statuses = {row.case_id: (row.status, row.attempts) for row in outbox(engine)}
    assert statuses[other] == ("sent", 1)
    assert [status for case, status in statuses.items() if case != other] == [("parked", 1)]
    # And a retry of everything takes the rest
    assert retry_parked(context, now=later) == 1


# --- no longer relevant ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "data"),
    [
        ("close", {"reason": "Familien er flyttet til en anden kommune"}),
        ("conclude", {"measures_needed": True}),  # the investigation is finished (late)
    ],
)
def test_a_case_closed_or_deadline_met_after_the_sweep_gets_no_mail(
    context: Context,
    engine: Engine,
    cases: Any,
    inbox: Inbox,
    event: str,
    data: dict[str, Any],
) -> None:
    case = cases.at_phase(Phase.INVESTIGATION, worker="rw1", team="t1")
    cases.fire(case, "record_provisional_assessment")  # one ladder: the investigation's
    sweep(context, BREACH_AT)
    cases.fire(case, event, data, at=BREACH_AT + timedelta(minutes=30))

    assert deliver(context, BREACH_AT + timedelta(hours=1), inbox.settings()) == NOTHING | {
        "dropped": 1
    }

    row = only(engine)
    assert (row.status, row.parked_reason) == (
        "dropped",
        "no longer relevant: deadline met/case closed",
    )
    assert inbox.received == []


# --- claims: crashes and concurrent deliverers ----------------------------------------------------


def test_a_notification_left_sending_by_a_crash_is_sent_after_the_lease(
    context: Context, engine: Engine, cases: Any, inbox: Inbox
) -> None:
    investigation(cases)
    sweep(context, BREACH_AT)
    # What a deliverer killed between its claim and SMTP leaves behind
    with engine.begin() as connection:
        connection.execute(
            update(NOTIFICATION).values(status="sending", attempts=1, last_attempt_at=BREACH_AT)
        )

    # Within the 5-minute lease nobody touches it; after it, it goes once
    assert deliver(context, BREACH_AT + timedelta(minutes=4), inbox.settings()) == NOTHING
    assert deliver(context, BREACH_AT + timedelta(minutes=5), inbox.settings()) == NOTHING | {
        "sent": 1
    }
    assert (only(engine).status, only(engine).attempts) == ("sent", 2)
    assert len(inbox.received) == 1


def test_a_claim_held_for_half_its_lease_is_given_back_unsent(
    context: Context, engine: Engine, cases: Any, inbox: Inbox
) -> None:
    investigation(cases)
    sweep(context, BREACH_AT)

    # A lease of zero has run out before the first message
    assert deliver(context, BREACH_AT, inbox.settings(), lease=timedelta(0)) == NOTHING

    row = only(engine)
    assert (row.status, row.attempts) == ("pending", 0)
    assert inbox.received == []
    assert deliver(context, BREACH_AT, inbox.settings()) == NOTHING | {"sent": 1}


def test_deliverers_running_at_once_send_each_notification_once(
    context: Context, cases: Any, inbox: Inbox
) -> None:
    case_ids = [investigation(cases) for _ in range(20)]
    sweep(context, BREACH_AT)
    results: list[dict[str, int]] = []
    start = threading.Barrier(4)

    def deliverer() -> None:
        start.wait()
        results.append(deliver(context, BREACH_AT, inbox.settings(), batch_size=1))

    threads = [threading.Thread(target=deliverer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(r["sent"] for r in results) == 20
    assert sorted(str(message["Subject"]) for _, message in inbox.received) == sorted(
        f"Frist overskredet: undersøgelse i sag {case_id}" for case_id in case_ids
    )


# --- one mail per person, worst first, each case linked ---------------------------------------

BASE_URL = "https://sagsflow.kommune.test"
NAMED = Organisation(
    department_head=Person(id="dh", name="Dorthe Holm", email="familiechef@kommune.test"),
    teams=[
        Team(
            id="t1",
            name="Team Nord",
            leader=Person(id="tl1", name="Trine Lund", email="teamleder.nord@kommune.test"),
            caseworkers=[Person(id="rw1", name="Rasmus Winther", email="rw1@kommune.test")],
        )
    ],
)


def deliver_named(context: Context, now: datetime, settings: Settings) -> dict[str, int]:
    return deliver_notifications(context, now=now, organisation=NAMED, settings=settings)


def three_breaches(cases: Any) -> tuple[int, int, int]:
    """Three investigations of rw1 (team t1) whose 4-month deadline (Barnets Lov §20 stk. 3)
    is, at BREACH_AT (6 May 2026), over by 1 day (due 5 May 2026), 19 days (due 17 April 2026)
    and 430 days (due 2 March 2025): opened in that order, so ids and due dates disagree."""
    made = []
    for aware in (
        datetime(2026, 1, 5, 9, tzinfo=COPENHAGEN),
        datetime(2025, 12, 17, 9, tzinfo=COPENHAGEN),
        datetime(2024, 11, 2, 9, tzinfo=COPENHAGEN),
    ):
        case = cases.at_phase(Phase.INVESTIGATION, worker="rw1", team="t1", aware_at=aware)
        cases.fire(case, "record_provisional_assessment")
        made.append(int(case.id))
    return made[0], made[1], made[2]


def plain_text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def test_a_person_with_three_due_notifications_gets_one_mail_listing_them_worst_first(
    context: Context, engine: Engine, cases: Any, inbox: Inbox
) -> None:
    one_day, nineteen, old = three_breaches(cases)
    sweep(context, BREACH_AT)  # three breach notices to tl1, two escalations (over 14 days) to dh

    assert deliver_named(context, BREACH_AT, inbox.settings(base_url=BASE_URL)) == NOTHING | {
        "sent": 5
    }

    # One mail to each person
    assert [to for to, _ in inbox.received] == [
        ["teamleder.nord@kommune.test"],
        ["familiechef@kommune.test"],
    ]
    leader = inbox.received[0][1]
    assert str(leader["Subject"]) == ("Sagsflow: 3 frister i 3 sager (3 overskredet)")
    text = plain_text(leader)
    assert text.startswith("Kære Trine Lund\n")
    assert "tl1" not in text
    # Worst first: 430 days over, then 19, then 1; each with its link
    positions = [
        text.index(f"Link til sagen: {BASE_URL}/cases/{case}\n")
        for case in (old, nineteen, one_day)
    ]
    assert positions == sorted(positions)
    statuses = [line for line in text.splitlines() if line.startswith("Status: ")]
    assert statuses == [
        "Status: Fristen er overskredet med 430 dage.",
        "Status: Fristen er overskredet med 19 dage.",
        "Status: Fristen er overskredet med 1 dag.",
    ]
    # A deadline 430 days past never "udløber": it "udløb"
    assert "udløber" not in text
    assert "Fristen udløb: 2. mar. 2025 kl. 23.59" in text
    # The law's deadline, cited from the deadline row
    assert text.count("Slags frist: Lovbestemt frist") == 3
    assert text.count("Hjemmel: Barnets Lov §20 stk. 3") == 3
    html = leader.get_body(("html",))
    assert html is not None
    assert f'<a href="{BASE_URL}/cases/{old}">Åbn sagen i Sagsflow</a>' in html.get_content()
    # One Message-ID for the mail, from its rows
    assert str(leader["Message-ID"]).startswith("<notifications-")
    # Every row sent, once
    assert {row.status for row in outbox(engine)} == {"sent"}
    head = plain_text(inbox.received[1][1])
    assert head.startswith("Kære Dorthe Holm\n")
    assert head.index(f"/cases/{old}\n") < head.index(f"/cases/{nineteen}\n")
    assert f"/cases/{one_day}\n" not in head  # 1 day over: not escalated yet


def test_with_bundling_off_each_notification_is_its_own_mail(
    context: Context, cases: Any, inbox: Inbox
) -> None:
    one_day, nineteen, old = three_breaches(cases)
    sweep(context, BREACH_AT)

    settings = inbox.settings(base_url=BASE_URL, mail_bundle=False)
    assert deliver_named(context, BREACH_AT, settings) == NOTHING | {"sent": 5}

    to_leader = [m for to, m in inbox.received if to == ["teamleder.nord@kommune.test"]]
    assert sorted(str(m["Subject"]) for m in to_leader) == sorted(
        f"Frist overskredet: undersøgelse i sag {case}" for case in (one_day, nineteen, old)
    )
    for message in to_leader:
        text = plain_text(message)
        assert text.startswith("Kære Trine Lund\n")
        case = int(str(message["Subject"]).rsplit(" ", 1)[1])
        assert f"Link til sagen: {BASE_URL}/cases/{case}\n" in text
        assert str(message["Message-ID"]).startswith("<notification-")
    assert len(inbox.received) == 5


def test_a_reminder_reads_as_due_and_a_municipal_deadline_as_the_service_level(
    context: Context, cases: Any, inbox: Inbox
) -> None:
    # A reminder 13 days ahead to the caseworker: "udløber om", the law cited
    investigation(cases)
    sweep(context, REMINDER_AT)
    deliver_named(context, REMINDER_AT, inbox.settings(base_url=BASE_URL))
    [(to, message)] = inbox.received
    text = plain_text(message)
    assert to == ["rw1@kommune.test"]
    assert text.startswith("Kære Rasmus Winther\n")
    assert "Fristen udløber: 5. maj 2026 kl. 23.59" in text
    assert "Status: Fristen udløber om 13 dage." in text
    assert "Slags frist: Lovbestemt frist" in text


def test_a_rerun_after_a_crash_between_send_and_mark_resends_the_same_mail_once(
    context: Context, engine: Engine, cases: Any, inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    three_breaches(cases)
    sweep(context, BREACH_AT)
    settings = inbox.settings(base_url=BASE_URL)

    # The deliverer dies after SMTP's "250", before its commit
    def killed(*args: Any, **kwargs: Any) -> None:
        raise SystemExit("killed between send and mark")

    monkeypatch.setattr(delivery, "_mark_sent", killed)
    with pytest.raises(SystemExit):
        deliver_named(context, BREACH_AT, settings)
    monkeypatch.undo()
    first = [str(m["Message-ID"]) for _, m in inbox.received]
    assert len(first) == 1  # the team leader's mail went; the deliverer died before the next
    assert {row.status for row in outbox(engine)} == {"sending"}

    # Within the lease nobody touches the claimed rows; after it, each row goes out once more
    # at most, in the same mail under the same Message-ID (the receiver drops the copy), and
    # every row ends `sent` exactly once
    assert deliver_named(context, BREACH_AT + timedelta(minutes=4), settings) == NOTHING
    assert deliver_named(context, BREACH_AT + timedelta(minutes=5), settings) == NOTHING | {
        "sent": 5
    }
    ids = [str(m["Message-ID"]) for _, m in inbox.received]
    assert len(ids) == 3 and ids.count(first[0]) == 2
    assert len(set(ids)) == 2  # what a receiver keeps: one mail to each person
    assert {(row.status, row.attempts) for row in outbox(engine)} == {("sent", 2)}
    # And nothing more, ever
    assert deliver_named(context, BREACH_AT + timedelta(hours=1), settings) == NOTHING
    assert len(inbox.received) == 3
