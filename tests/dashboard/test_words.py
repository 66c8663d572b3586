"""A Danish walk through the product as each demo role: no English sentence, no internal id where
a name exists (issue 9).

Over a demo database (the demo loader walks real cases through the use cases), every demo role
signs in and reads every page — the overview, stuck cases, the case list, caseload, the phase
diagram and a case page in each phase — and records a refused event; the mails, the supervisor's
digest and the compliance report are rendered from the same data. The English sentences looked
for are the catalogue's own English texts (their fixed parts), so a text left untranslated
anywhere is caught whatever it says.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import httpx
import pytest

from sagsflow.context import Context
from sagsflow.organisation import organisation
from sagsflow.present.compliance import render_html, report_markdown
from sagsflow.present.digest import digest_markdown, render_digest
from sagsflow.present.i18n import messages
from sagsflow.present.mail import Notice
from sagsflow.present.mail import render as render_mail
from sagsflow.read.cases import list_cases
from sagsflow.read.compliance import compliance_report
from sagsflow.read.digest import supervisor_digest
from sagsflow.usecases.demo import load_demo
from sagsflow.usecases.demo_users import DEMO_PASSWORD, add_demo_users
from sagsflow.usecases.sweep import sweep
from statemachine.phases import Phase

NOW = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)  # the dashboard fixture's clock
# One of each demo role (demo/organisation.yaml, sagsflow/usecases/demo_users.py).
ROLES = {"department_head": "dh", "team_leader": "tl1", "caseworker": "rw1", "auditor": "revisor"}
PEOPLE = [f"rw{n}" for n in range(1, 10)] + ["tl1", "tl2", "tl3"]
# Values that must reach a Danish reader by their names, never as stored.
RAW_VALUES = [
    "custody_holder",
    "professional",
    "green",  # (orange is orange in Danish too)
    "yellow",
    "Team Team",
    "(m1)",
    "(m2)",
    "eed 0",  # "Seed 000", "seed 002": a source must name the document
    "Counted from",
    "calendar month",
    "elapsed hour",
]


class _Text(HTMLParser):
    """The text a person reads on a page: text content and tooltips, each element apart, without
    the audit trail's stored payloads (the hashed data as recorded), the event forms' JSON
    examples (forms replace them: issue 13), scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("style", "script", "textarea") or "payload" in (found.get("class") or ""):
            self._skip += 1
        for name in ("title", "aria-label", "placeholder"):
            if found.get(name):
                self.parts.append(str(found[name]))

    def handle_endtag(self, tag: str) -> None:
        if self._skip and tag in ("style", "script", "code", "textarea"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " | ".join(" ".join(part.split()) for part in parser.parts if part.strip())


def english_fragments() -> list[str]:
    """The fixed parts of every English catalogue text that Danish words differently: three
    words or more each, so that a shared name ("Sagsflow", "CET") does not count."""
    english, danish = messages("en"), messages("da")
    found: set[str] = set()
    for key, text in english.items():
        if text == danish[key]:
            continue
        for literal, *_ in string.Formatter().parse(text):
            for part in re.split(r"[()\[\]:;,.'\"`]", literal):
                part = part.strip()
                if len(part.split()) >= 3 and part not in danish[key]:
                    found.add(part)
    return sorted(found)


def problems_in(text: str, where: str, fragments: Iterable[str]) -> list[str]:
    found = [f"{where}: English {f!r}" for f in fragments if f in text]
    found += [f"{where}: raw {value!r}" for value in RAW_VALUES if value in text]
    found += [
        f"{where}: the id {person!r} where a name exists"
        for person in PEOPLE
        if re.search(rf"(?<![\w/=-]){person}(?![\w-])", text)
    ]
    return found


@pytest.fixture
def demo(context: Context) -> Context:
    """Demo cases around NOW (a year and more of history), swept, with every demo user."""
    load_demo(context, cases=90, now=NOW)
    sweep(context, NOW)
    add_demo_users(context, organisation(""), now=NOW)
    return context


def _sign_in(client: httpx.Client, name: str) -> None:
    form = client.get("/sign-in")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf
    answer = client.post(
        "/sign-in", data={"name": name, "password": DEMO_PASSWORD, "csrf": csrf.group(1)}
    )
    assert answer.status_code == 303, answer.text


def _case_per_phase(context: Context) -> list[int]:
    chosen: dict[str, int] = {}
    for row in list_cases(context):
        chosen.setdefault(row["phase"], row["id"])
    assert set(chosen) == {p.value for p in Phase}, "the demo has a case in every phase"
    return list(chosen.values())


def test_every_page_every_role_reads_is_danish(demo: Context, server: str) -> None:
    fragments = english_fragments()
    assert len(fragments) > 100  # the check has teeth: the catalogue's English is long
    cases = _case_per_phase(demo)
    problems: list[str] = []
    for role, name in ROLES.items():
        with httpx.Client(base_url=server, follow_redirects=False, timeout=30) as client:
            _sign_in(client, name)
            pages = ["/", "/queue", "/stuck", "/stuck?page=2", "/cases", "/caseload", "/diagram"]
            pages += [f"/cases/{case_id}" for case_id in cases]
            pages += [f"/cases/{case_id}/print" for case_id in cases]
            for path in pages:
                page = client.get(path)
                assert page.status_code in (200, 404), (role, path, page.status_code)
                problems += problems_in(visible_text(page.text), f"{role} {path}", fragments)
    assert problems == []


def test_a_refused_event_and_its_reasons_read_danish(demo: Context, server: str) -> None:
    clarification = next(
        r["id"] for r in list_cases(demo, phase=Phase.CLARIFICATION.value) if r["team"] == "t1"
    )
    with httpx.Client(base_url=server, follow_redirects=False, timeout=30) as client:
        _sign_in(client, "tl1")
        page = client.get(f"/cases/{clarification}")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        version = re.search(r'name="version" value="(\d+)"', page.text)
        assert csrf and version
        answer = client.post(
            f"/cases/{clarification}/events",
            data={
                "csrf": csrf.group(1),
                "version": version.group(1),
                "event": "grant",
                "at": "",
                "data_grant": '{"measures": [{"type": "yoga"}]}',
            },
        )
    assert answer.status_code == 409
    text = visible_text(answer.text)
    assert "Hændelsen blev afvist" in text
    assert problems_in(text, "refused grant", english_fragments()) == []


def test_mails_digest_and_report_read_danish(demo: Context) -> None:
    fragments = english_fragments()
    people = organisation("")
    problems: list[str] = []
    for digest in supervisor_digest(demo, now=NOW, organisation=people):
        subject, text, html = render_digest(digest)
        for part, body in (("subject", subject), ("text", text), ("html", visible_text(html))):
            problems += problems_in(body, f"digest {digest.team_id} {part}", fragments)
        problems += problems_in(digest_markdown(digest), f"digest {digest.team_id} md", fragments)
    quarter = date(2027, 10, 1), date(2027, 12, 31)
    report = compliance_report(
        demo, period_start=quarter[0], period_end=quarter[1], now=NOW, organisation=people
    )
    problems += problems_in(visible_text(render_html(report)), "compliance html", fragments)
    problems += problems_in(report_markdown(report), "compliance md", fragments)
    rulebook = demo.catalogue.get("default", "2024.1")
    rules = {**rulebook.deadlines, **rulebook.measure_deadlines}
    for rule, spec in rules.items():
        for level in ("reminder", "breach", "escalation"):
            for role, person in (("caseworker", "rw1"), ("team_leader", "tl1")):
                notice = Notice(
                    id=7,
                    case_id=42,
                    child_ref="BARN-0042",
                    level=level,
                    recipient_role=role,
                    rule=rule.value,
                    title=spec.title,
                    source=spec.source,
                    due_at=NOW + timedelta(days=2),
                    recipient=people.person(person),  # type: ignore[arg-type]
                    attempts=1,
                    statutory=getattr(spec, "statutory", True),
                )
                mail = render_mail(notice, NOW)
                where = f"mail {rule.value} {level}"
                problems += problems_in(mail.subject, f"{where} subject", fragments)
                problems += problems_in(mail.text, f"{where} text", fragments)
                problems += problems_in(visible_text(mail.html), f"{where} html", fragments)
    assert problems == []
    assert report.rows, "the demo has deadlines in the quarter"
