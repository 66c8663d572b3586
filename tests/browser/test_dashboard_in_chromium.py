"""A supervisor's morning in Chromium: sign in, find the stuck case, open it, record an event,
see the audit trail grow by one. Then a caseworker signs in with a one-time link, in English."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, expect

from sagsflow.usecases.users import issue_sign_in_link


def test_a_supervisor_finds_a_stuck_case_and_records_an_event(
    served: Any, page_context: BrowserContext, artifacts: Path
) -> None:
    page = page_context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # signing in with the password form
    page.goto(served.url + "/")
    expect(page).to_have_url(served.url + "/sign-in")
    page.get_by_label("Brugernavn").fill("tl1")
    page.get_by_label("Adgangskode").fill("correct horse battery")
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Overblik")).to_be_visible()
    expect(page.locator(".tile").first).to_contain_text("Åbne sager")
    page.screenshot(path=artifacts / "overview.png", full_page=True)

    # the stuck case is in the list
    page.get_by_role("link", name="Fastlåste sager", exact=True).click()
    expect(page.get_by_role("heading", name="Fastlåste sager")).to_be_visible()
    row = page.locator(f'tr[data-case="{served.stuck_case}"]')
    expect(row).to_contain_text("Venter på samtykke")
    expect(row).to_contain_text("Over fasens normtid")
    page.screenshot(path=artifacts / "stuck.png", full_page=True)

    # open it
    row.get_by_role("link", name=f"Sag {served.stuck_case}").click()
    expect(page.get_by_role("heading", name=f"Sag {served.stuck_case}")).to_be_visible()
    audit_rows = page.locator("tr.audit-row")
    before = audit_rows.count()
    assert before >= 2  # opened, accepted (and whatever an earlier test recorded)
    # the investigation may open without consent (Barnets Lov §20, §22 stk. 2); the committee's
    # compulsory examination is not the team leader's: disabled, the guard's reason beside it
    expect(page.locator('button[value="open_investigation"]')).to_be_enabled()
    blocked = page.locator('button[value="decide_compulsory_examination"]')
    expect(blocked).to_be_disabled()
    # in Danish: the domain's code and parameters, worded (issue 9)
    expect(page.locator("ul.events")).to_contain_text(
        "kræver kompetence som Børne- og ungeudvalget"
    )
    page.screenshot(path=artifacts / "case-before.png", full_page=True)

    # record the custody holder's consent (the data form holds a valid example)
    page.locator("details", has=page.locator('textarea[name="data_record_consent"]')).locator(
        "summary"
    ).click()
    expect(page.locator('textarea[name="data_record_consent"]')).to_have_value(
        '{\n  "by": "custody_holder"\n}'
    )
    page.locator('button[value="record_consent"]').click()
    expect(page.locator(".success")).to_contain_text("Registreret: Registrér samtykke")
    expect(page.locator(".success")).to_contain_text("fasen er fortsat Afklaring")
    expect(audit_rows).to_have_count(before + 1)
    newest = audit_rows.first
    expect(newest).to_contain_text("Registrér samtykke")  # record_consent, by its name
    expect(newest).to_contain_text("Trine Lund")  # tl1, by the organisation file's name
    expect(page.locator("dl.facts")).to_contain_text("Forældremyndighedsindehaver")
    page.screenshot(path=artifacts / "case-after.png", full_page=True)

    # the overview still answers, and nothing went wrong in the page's console
    page.get_by_role("link", name="Overblik").click()
    expect(page.get_by_role("heading", name="Overblik")).to_be_visible()
    assert errors == []


def test_a_caseworker_signs_in_with_a_one_time_link_and_reads_english(
    served: Any, page_context: BrowserContext, artifacts: Path
) -> None:
    from datetime import UTC, datetime

    token = issue_sign_in_link(served.context, "rw1", now=datetime.now(UTC))
    page = page_context.new_page()
    page.goto(f"{served.url}/sign-in/{token}")
    page.get_by_role("button", name="Log ind").click()
    expect(page.get_by_role("heading", name="Overblik")).to_be_visible()
    expect(page.locator(".who")).to_contain_text("Rasmus Winther")  # rw1, by name
    page.get_by_role("link", name="EN", exact=True).click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    page.get_by_role("link", name="Stuck cases", exact=True).click()
    # still over its phase norm, whichever test ran first
    expect(page.locator(f'tr[data-case="{served.stuck_case}"]')).to_contain_text(
        "Over the phase norm"
    )
    page.screenshot(path=artifacts / "stuck-english.png", full_page=True)
    # the link is spent: a second browser context cannot use it
    other = page_context.browser.new_context()  # type: ignore[union-attr]
    try:
        again = other.new_page()
        again.goto(f"{served.url}/sign-in/{token}")
        again.get_by_role("button").filter(has_text="Log ind").click()
        expect(again.locator(".alert")).to_contain_text("Linket er brugt")
    finally:
        other.close()


def test_a_team_leader_finds_a_case_by_child_reference_and_prints_it_on_few_a4_pages(
    served: Any, page_context: BrowserContext, artifacts: Path
) -> None:
    import re

    from sqlalchemy import func, select

    from models.repository import AUDIT, CASE

    # The demo case with the longest audit trail in team t1 (the most to print)
    with served.context.engine.connect() as connection:
        case_id, child_ref = connection.execute(
            select(CASE.c.id, CASE.c.child_ref)
            .join(AUDIT, AUDIT.c.case_id == CASE.c.id)
            .where(CASE.c.team == "t1")
            .group_by(CASE.c.id, CASE.c.child_ref)
            .order_by(func.count().desc(), CASE.c.id)
            .limit(1)
        ).one()
    page = page_context.new_page()
    page.goto(served.url + "/sign-in")
    page.get_by_label("Brugernavn").fill("tl1")
    page.get_by_label("Adgangskode").fill("correct horse battery")
    page.get_by_role("button", name="Log ind").click()
    # find it by its child reference in the case list's search box
    page.goto(served.url + "/cases")
    page.get_by_label("Søg", exact=True).fill(child_ref)
    page.get_by_role("button", name="Filtrér").click()
    expect(page.get_by_label("Søg", exact=True)).to_have_value(child_ref)
    page.get_by_role("link", name=f"Sag {case_id}", exact=True).click()
    page.get_by_role("link", name="Udskriftsvenlig visning").click()
    expect(page.get_by_role("heading", name="Revisionsspor")).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    page.screenshot(path=artifacts / "case-print.png", full_page=True)
    pdf = page.pdf(format="A4", path=str(artifacts / "case-print.pdf"))
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
    assert 1 <= pages <= 4, pages
