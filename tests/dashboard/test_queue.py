""" "Mine frister": a signed-in person's own queue, over HTTP, with rows worked out by hand.

The clock is the suite's NOW, 31 December 2027, 13:00 in Copenhagen. Every case is an
investigation whose provisional assessment is recorded, so that one deadline runs: the
4-month investigation (Barnets Lov §20 stk. 3), due at the end of the day 4 months after
awareness. The sweep runs at NOW; delivery runs once with the mail server down and one
attempt allowed, so every notification it can address is parked with its recipient.
Names come from the demo organisation file (rw1 Rasmus Winther, rw2 Sofie Bach, tl1 Trine
Lund, dh Dorthe Holm).
"""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, select, update

from models.repository import USER
from models.tables import AccessRecord
from sagsflow.context import Context
from sagsflow.organisation import organisation
from sagsflow.settings import Settings
from sagsflow.usecases.delivery import deliver_notifications
from sagsflow.usecases.sweep import sweep
from sagsflow.usecases.users import add_user
from statemachine.phases import Phase, Role

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
ACCESS = AccessRecord.__table__  # type: ignore[attr-defined]
NOW = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)  # the dashboard's clock (tests/dashboard)


@dataclass(frozen=True)
class Desk:
    due_in_5: int  # rw1: due 5 Jan 2028 (aware 5 Sep 2027)
    over_430: int  # rw1: due 27 Oct 2026 (aware 27 Jun 2026)
    over_19: int  # rw1: due 12 Dec 2027 (aware 12 Aug 2027)
    colleague: int  # rw2, t1: due 10 Jan 2028 (aware 10 Sep 2027)
    nobody: int  # no caseworker, t1: due 3 Jan 2028 (aware 3 Sep 2027)
    other_team: int  # rw4, t2: due 30 Dec 2027 (aware 30 Aug 2027)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def desk(context: Context, cases: Any, password_hash: str) -> Desk:
    def investigation(aware: datetime, worker: str | None, team: str) -> int:
        case = cases.at_phase(Phase.INVESTIGATION, worker=worker, team=team, aware_at=aware)
        cases.fire(case, "record_provisional_assessment")
        return int(case.id)

    def aware(year: int, month: int, day: int) -> datetime:
        return datetime(year, month, day, 9, tzinfo=COPENHAGEN)

    made = Desk(
        due_in_5=investigation(aware(2027, 9, 5), "rw1", "t1"),
        over_430=investigation(aware(2026, 6, 27), "rw1", "t1"),
        over_19=investigation(aware(2027, 8, 12), "rw1", "t1"),
        colleague=investigation(aware(2027, 9, 10), "rw2", "t1"),
        nobody=investigation(aware(2027, 9, 3), None, "t1"),
        other_team=investigation(aware(2027, 8, 30), "rw4", "t2"),
    )
    sweep(context, NOW)
    down = Settings(smtp_host="127.0.0.1", smtp_port=_closed_port(), mail_max_attempts=1)
    delivered = deliver_notifications(
        context, now=NOW, organisation=organisation(""), settings=down
    )
    # Three reminders (rw1, rw2, the caseless case's), three breach notices (tl1 twice, tl2)
    # and two escalations of the cases more than 14 days over (dh): all eight parked, the
    # caseless one for want of a caseworker
    assert delivered == {"sent": 0, "failed": 0, "parked": 8, "dropped": 0}
    for name, role, team in (
        ("rw1", Role.CASEWORKER, "t1"),
        ("tl1", Role.TEAM_LEADER, "t1"),
        ("ops", Role.ADMIN, None),
    ):
        add_user(context, name, role=role, team=team, now=NOW)
    with context.engine.begin() as connection:
        connection.execute(update(USER).values(password_hash=password_hash))
    return made


def _text(cell: str) -> str:
    cell = re.sub(r"<br\s*/?>", " / ", cell)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())


def rows_of(page: httpx.Response, section: str) -> list[tuple[str, ...]]:
    """The table rows of the page's section `section` (breached, due, parked), cell texts."""
    found = re.search(rf'<section class="card" id="{section}">(.*?)</section>', page.text, re.S)
    assert found, f"no section {section}"
    return [
        tuple(_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S))
        for row in re.findall(r"<tr data-[a-z]+=\"\d+\">(.*?)</tr>", found.group(1), re.S)
    ]


def without_source(rows: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """Deadline rows with the kind cell cut to the kind (the legal source follows it)."""
    return [(r[0], r[1], r[2].split(" / ")[0], *r[3:]) for r in rows]


def child(page: httpx.Response, case_id: int) -> str:
    found = re.search(rf"Sag {case_id} / (BARN-\d+)", _text(page.text))
    assert found, case_id
    return found.group(1)


def test_a_caseworker_sees_their_breached_due_and_parked_worst_first(
    client: httpx.Client,
    sign_in: Callable[..., httpx.Response],
    desk: Desk,
    engine: Engine,
) -> None:
    sign_in("rw1")

    page = client.get("/queue")

    assert page.status_code == 200
    assert '<a href="/queue" class="active" aria-current="page">Mine frister</a>' in page.text
    b, c, a = (child(page, case) for case in (desk.over_430, desk.over_19, desk.due_in_5))
    assert without_source(rows_of(page, "breached")) == [
        (
            f"Sag {desk.over_430} / {b}",
            "Børnefaglig undersøgelse",
            "Lovbestemt",
            "27. okt. 2026 kl. 23.59",
            "overskredet med 430 dage",
            "Din sag",
        ),
        (
            f"Sag {desk.over_19} / {c}",
            "Børnefaglig undersøgelse",
            "Lovbestemt",
            "12. dec. 2027 kl. 23.59",
            "overskredet med 19 dage",
            "Din sag",
        ),
    ]
    assert "Barnets Lov §20 stk. 3" in rows_of(page, "breached")[0][2]
    assert without_source(rows_of(page, "due")) == [
        (
            f"Sag {desk.due_in_5} / {a}",
            "Børnefaglig undersøgelse",
            "Lovbestemt",
            "5. jan. 2028 kl. 23.59",
            "udløber om 5 dage",
            "Din sag",
        ),
    ]
    assert rows_of(page, "parked") == [
        (
            f"Sag {desk.due_in_5} / {a}",
            "Børnefaglig undersøgelse",
            "Påmindelse",
            "rådgiver: Rasmus Winther",
            "5. jan. 2028 kl. 23.59",
            "opgivet efter 1 forsøg",
        ),
    ]
    assert "Beskeder til dig, der ikke kunne sendes" in page.text
    # The read is in the access log, as the principal's one list
    with engine.connect() as connection:
        logged = connection.execute(
            select(ACCESS.c.action, ACCESS.c.channel).where(
                ACCESS.c.user_name == "rw1", ACCESS.c.what == "GET /queue"
            )
        ).all()
    assert [tuple(row) for row in logged] == [("list", "dashboard")]


def test_a_team_leader_sees_what_they_were_told_and_the_teams_parked_notifications(
    client: httpx.Client,
    sign_in: Callable[..., httpx.Response],
    desk: Desk,
) -> None:
    sign_in("tl1")

    page = client.get("/queue")

    assert page.status_code == 200
    b, c, e, a, d = (
        child(page, case)
        for case in (desk.over_430, desk.over_19, desk.nobody, desk.due_in_5, desk.colleague)
    )
    # The breach notices were addressed to the team leader: those deadlines are theirs too
    assert without_source(rows_of(page, "breached")) == [
        (
            f"Sag {desk.over_430} / {b}",
            "Børnefaglig undersøgelse",
            "Lovbestemt",
            "27. okt. 2026 kl. 23.59",
            "overskredet med 430 dage",
            "Rasmus Winther",
        ),
        (
            f"Sag {desk.over_19} / {c}",
            "Børnefaglig undersøgelse",
            "Lovbestemt",
            "12. dec. 2027 kl. 23.59",
            "overskredet med 19 dage",
            "Rasmus Winther",
        ),
    ]
    assert rows_of(page, "due") == []
    # Everything parked in the team's cases, by due time; never team Syd's
    rule = "Børnefaglig undersøgelse"
    gave_up = "opgivet efter 1 forsøg"
    assert rows_of(page, "parked") == [
        (f"Sag {desk.over_430} / {b}", rule, "Frist overskredet", "teamleder: Trine Lund",
         "27. okt. 2026 kl. 23.59", gave_up),
        (f"Sag {desk.over_430} / {b}", rule, "Eskalering", "afdelingsleder: Dorthe Holm",
         "27. okt. 2026 kl. 23.59", gave_up),
        (f"Sag {desk.over_19} / {c}", rule, "Frist overskredet", "teamleder: Trine Lund",
         "12. dec. 2027 kl. 23.59", gave_up),
        (f"Sag {desk.over_19} / {c}", rule, "Eskalering", "afdelingsleder: Dorthe Holm",
         "12. dec. 2027 kl. 23.59", gave_up),
        (f"Sag {desk.nobody} / {e}", rule, "Påmindelse", "rådgiver",
         "3. jan. 2028 kl. 23.59", "ingen modtager: sagen har ingen rådgiver"),
        (f"Sag {desk.due_in_5} / {a}", rule, "Påmindelse", "rådgiver: Rasmus Winther",
         "5. jan. 2028 kl. 23.59", gave_up),
        (f"Sag {desk.colleague} / {d}", rule, "Påmindelse", "rådgiver: Sofie Bach",
         "10. jan. 2028 kl. 23.59", gave_up),
    ]  # fmt: skip
    assert f"Sag {desk.other_team}" not in page.text
    assert "Beskeder i teamets sager, der ikke kunne sendes" in page.text


def test_the_queue_in_english_and_for_a_role_without_cases(
    client: httpx.Client, sign_in: Callable[..., httpx.Response], desk: Desk
) -> None:
    sign_in("rw1")
    english = client.get("/queue?lang=en")
    assert "My deadlines" in english.text
    assert [r[4] for r in rows_of(english, "breached")] == [
        "overdue by 430 days",
        "overdue by 19 days",
    ]

    client.cookies.clear()
    sign_in("ops")
    admin = client.get("/queue")
    assert admin.status_code == 200
    assert 'id="breached"' not in admin.text
