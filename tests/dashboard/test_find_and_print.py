"""Finding a case by number or child reference, and printing one (issue 13, point 4)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select

from models.tables import AccessRecord
from sagsflow.context import Context
from sagsflow.read.cases import show_case

ACCESS_LOG = AccessRecord.__table__  # type: ignore[attr-defined]
SignIn = Callable[..., httpx.Response]
CASE_LINK = re.compile(r'href="/cases/(\d+)"')
CSS = Path(__file__).parents[2] / "sagsflow" / "dashboard" / "static" / "dashboard.css"


def _listed(page: httpx.Response) -> list[int]:
    assert page.status_code == 200, page.text
    return [int(n) for n in CASE_LINK.findall(page.text)]


def _ref(context: Context, case_id: int) -> str:
    return show_case(context, case_id)["child_ref"]


def test_a_case_is_found_by_its_child_reference_exact_or_its_beginning(
    world: Any, context: Context, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("rw1")  # own cases and team t1's
    ref = _ref(context, world.stuck)
    page = client.get("/cases", params={"q": ref})
    assert _listed(page) == [world.stuck]
    assert f'name="q" value="{ref}"' in page.text  # the search stays in the box
    # The beginning the world's references share: every case rw1 may see, none of team t2's
    prefix = ref[:-2]
    assert _ref(context, world.other_team).startswith(prefix)
    assert _listed(client.get("/cases", params={"q": prefix})) == sorted(
        [world.stuck, world.follow_up, world.closed]
    )
    # Outer spaces are no part of a reference; a reference is matched as written
    assert _listed(client.get("/cases", params={"q": f"  {ref} "})) == [world.stuck]
    assert _listed(client.get("/cases", params={"q": ref.lower()})) == []
    # The other team's case is not found, and the page says nothing was found for the search
    other = client.get("/cases", params={"q": _ref(context, world.other_team)})
    assert _listed(other) == []
    assert "Ingen sager fundet for" in other.text


def test_a_number_finds_the_case_with_that_number_and_the_filters_still_apply(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("rw1")
    assert _listed(client.get("/cases", params={"q": str(world.follow_up)})) == [world.follow_up]
    assert _listed(client.get("/cases", params={"q": str(world.other_team)})) == []
    # with a phase filter the case must be in it too
    found = client.get("/cases", params={"q": str(world.follow_up), "phase": "closure"})
    assert _listed(found) == []


def test_a_search_is_paged_like_the_list_and_the_pager_keeps_it(
    world: Any, cases: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    opened = [cases.open(child_ref=f"SØG-{i:02d}", worker="rw1", team="t1").id for i in range(27)]
    cases.open(child_ref="SØGX", worker="rw1", team="t1")  # another beginning than "SØG-"
    sign_in("rw1")
    first = client.get("/cases", params={"q": "SØG-"})
    assert _listed(first) == opened[:25]
    assert 'href="/cases?q=S%C3%98G-&amp;page=2"' in first.text
    assert _listed(client.get("/cases", params={"q": "SØG-", "page": "2"})) == opened[25:]


def test_a_search_no_reference_can_match_is_refused(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("rw1")
    assert client.get("/cases", params={"q": "x" * 65}).status_code == 400
    assert client.get("/cases", params={"q": "a\x00b"}).status_code == 400
    assert _listed(client.get("/cases", params={"q": "   "})) == sorted(
        [world.stuck, world.follow_up, world.closed]
    )


def test_the_print_view_shows_the_case_for_paper_and_is_logged_as_a_read(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("rw1")
    case = client.get(f"/cases/{world.follow_up}")
    assert f'href="/cases/{world.follow_up}/print"' in case.text
    page = client.get(f"/cases/{world.follow_up}/print")
    assert page.status_code == 200
    text = page.text
    for heading in ("Oplysninger", "Faser", "Frister og pligter med hjemmel", "Revisionsspor"):
        assert f"<h2>{heading}" in text
    assert "Barnets Lov" in text  # the deadlines' legal sources
    assert 'name="event"' not in text and "<textarea" not in text  # nothing to fire from paper
    assert "nuværende fase" in text  # the phase the case is in
    with engine.connect() as connection:
        rows = connection.execute(
            select(ACCESS_LOG.c.action, ACCESS_LOG.c.what)
            .where(ACCESS_LOG.c.case_id == world.follow_up)
            .order_by(ACCESS_LOG.c.id)
        ).all()
    assert [tuple(r) for r in rows][-1] == ("read", f"GET /cases/{world.follow_up}/print")
    # a case one may not see has no print view either
    assert client.get(f"/cases/{world.other_team}/print").status_code == 404


def test_every_page_prints_without_navigation_buttons_or_forms_on_a4() -> None:
    css = CSS.read_text(encoding="utf-8")
    assert "@page { size: A4;" in css
    printed = css[css.index("@media print {") + len("@media print {") :]
    hidden = printed.split("{", 1)[0]
    assert "display: none" in printed.split("{", 2)[1]
    for part in ("header.top", "nav", "form", "button", "footer.foot"):
        assert part in hidden
    assert "break-inside: avoid" in printed and "tr," in printed
