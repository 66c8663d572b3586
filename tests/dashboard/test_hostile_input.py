"""The dashboard answers what an attacker sends with a 4xx page, never a 500 (issue 12, points 7
and 8) — on SQLite and PostgreSQL: instants outside 1900-2999 in forms and query parameters,
event data nested a thousand deep, ids past every integer type, NUL bytes (PostgreSQL refuses
them in text) in filters, forms and paths, and bodies above the limit; and a one-time sign-in
link says whose account it opens and asks before it replaces a session."""

from __future__ import annotations

import re
import select
import socket
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, func
from sqlalchemy import select as sql_select

from models.tables import AuditRecord
from sagsflow.context import Context
from sagsflow.settings import settings
from sagsflow.usecases.users import issue_sign_in_link, sign_in_link_user

AUDIT = AuditRecord.__table__  # type: ignore[attr-defined]
SignIn = Callable[..., httpx.Response]
Csrf = Callable[[httpx.Response], str]
DEEP = '{"a": ' * 1000 + "1" + "}" * 1000
LIMIT = settings().max_body_bytes


def _records(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sql_select(func.count()).select_from(AUDIT)).scalar_one())


def _form(page: httpx.Response, csrf: Csrf, **fields: str) -> dict[str, str]:
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version, "the case page has no event form"
    return {"csrf": csrf(page), "version": version.group(1), "at": "", **fields}


def _a_danish_page(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    assert '<html lang="da">' in answer.text
    return answer.text


# --- instants and event data --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "data"),
    [
        # before: year 1 overflowed in the conversion to UTC (500); year 9999 was "in the future"
        pytest.param("0001-01-01T00:00:00", '{"acute": false}', id="at-year-1"),
        pytest.param("9999-12-31T23:59:59", '{"acute": false}', id="at-year-9999"),
        # before: the JSON parser's RecursionError (500)
        pytest.param("", DEEP, id="data-nested-1000-deep"),
        pytest.param("", '{"acute": ' + "[" * 17 + "]" * 17 + "}", id="data-17-deep"),
    ],
)
def test_an_event_form_past_the_bounds_is_a_422_page_and_writes_nothing(
    world: Any,
    client: httpx.Client,
    sign_in: SignIn,
    csrf: Csrf,
    engine: Engine,
    at: str,
    data: str,
) -> None:
    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")
    before = _records(engine)

    answer = client.post(
        f"/cases/{world.stuck}/events",
        data=_form(page, csrf, event="assess_urgency", at=at, data_assess_urgency=data),
    )

    text = _a_danish_page(answer, 422)
    assert "Tidspunktet kunne ikke læses" in text or "niveauer dybt" in text
    assert _records(engine) == before


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "0.5"])
@pytest.mark.parametrize("page", ["/", "/stuck", "/cases", "/caseload", "/diagram", "CASE"])
def test_an_instant_in_a_query_parameter_is_never_a_500(
    world: Any, client: httpx.Client, sign_in: SignIn, page: str, at: str
) -> None:
    # No page reads an instant from its query: `at` is ignored, the page is as of now
    sign_in("dh")
    path = f"/cases/{world.stuck}" if page == "CASE" else page
    assert client.get(path, params={"at": at, "now": at}).status_code == 200


# --- ids --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/cases/9223372036854775808",  # 2**63: past BIGINT
        "/cases/99999999999999999999",
        "/cases/2147483648",  # 2**31: past INTEGER
        "/cases/-9223372036854775809",
    ],
)
def test_a_huge_case_id_is_a_404_page(
    world: Any, client: httpx.Client, sign_in: SignIn, csrf: Csrf, path: str
) -> None:
    sign_in("dh")
    _a_danish_page(client.get(path), 404)
    page = client.get(f"/cases/{world.stuck}")
    answer = client.post(f"{path}/events", data=_form(page, csrf, event="accept"))
    _a_danish_page(answer, 404)
    jumped = client.get("/cases", params={"go": path.rsplit("/", 1)[1]}, follow_redirects=True)
    assert jumped.status_code in (200, 404)


# --- NUL bytes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/cases?team=a%00b",
        "/cases?worker=a%00b",
        "/stuck?team=a%00b",
        "/stuck?worker=%00",
        "/caseload?team=%00",
        "/cases?phase=inquiry%00",
        "/diagram?rulebook=%00",
        "/?lang=da%00",
    ],
)
def test_a_nul_in_a_filter_is_a_400_page(
    world: Any, client: httpx.Client, sign_in: SignIn, path: str
) -> None:
    # before, on PostgreSQL: "A string literal cannot contain NUL (0x00) characters" (500)
    sign_in("dh")
    text = _a_danish_page(client.get(path), 400)
    assert "nul-tegn" in text


def test_a_nul_in_a_form_or_a_path_is_a_400_page(
    world: Any, client: httpx.Client, sign_in: SignIn, csrf: Csrf, engine: Engine
) -> None:
    landing = client.get("/sign-in")
    # before, on PostgreSQL: the sign-in's look-up of the name (500)
    answer = client.post(
        "/sign-in", data={"name": "d\x00h", "password": "x", "csrf": csrf(landing)}
    )
    _a_danish_page(answer, 400)
    _a_danish_page(client.get("/sign-in/sf_%00"), 400)
    _a_danish_page(client.post("/sign-in/sf_%00", data={"csrf": csrf(landing)}), 400)

    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")
    before = _records(engine)
    for fields in (
        {"event": "close", "data_close": '{"reason": "a\x00b"}'},
        {"event": "accept", "at": "2027-12-01T10:00\x00"},
        {"event": "acc\x00ept"},
    ):
        answer = client.post(f"/cases/{world.stuck}/events", data=_form(page, csrf, **fields))
        _a_danish_page(answer, 400)
    assert _records(engine) == before


# --- the body limit ----------------------------------------------------------------------------


def _raw(server: str, head: str, chunks: Iterator[bytes] | None = None) -> tuple[int, str]:
    """Send a request's head and, chunk by chunk, its body until the server answers; the
    answer's status and text."""
    where = urlsplit(server)
    with socket.create_connection((where.hostname, where.port), timeout=20) as sock:
        sock.sendall(head.encode("latin-1"))
        sent = 0
        for chunk in chunks or ():
            if select.select([sock], [], [], 0.2 if sent > LIMIT else 0)[0]:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        received = b""
        while True:
            part = sock.recv(65536)
            if not part:
                break
            received += part
            if b"</html>" in received:
                break
    text = received.decode("utf-8", "replace")
    return int(text.split()[1]), text


def _chunks(total: int) -> Iterator[bytes]:
    size = 64 * 1024
    for _ in range(total // size):
        yield b"%x\r\n" % size + b"a" * size + b"\r\n"
    yield b"0\r\n\r\n"


def test_a_body_above_the_limit_is_a_413_page_before_it_is_read(
    world: Any, server: str, client: httpx.Client, sign_in: SignIn, engine: Engine
) -> None:
    # Not signed in: 50 MB declared, not a byte sent
    status, text = _raw(
        server,
        "POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 52428800\r\n\r\n",
    )
    assert status == 413
    assert '<html lang="da">' in text and "Formularen er for stor" in text
    assert "connection: close" in text.lower()

    # Signed in: an event form streamed in chunks past the limit
    sign_in("rw1")
    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
    before = _records(engine)
    status, text = _raw(
        server,
        f"POST /cases/{world.stuck}/events HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
        f"Cookie: {cookie}\r\n\r\n",
        _chunks(3 * LIMIT),
    )
    assert status == 413 and "Formularen er for stor" in text
    assert _records(engine) == before


# --- the sign-in link --------------------------------------------------------------------------


def test_a_sign_in_link_names_its_account(
    world: Any, server: str, context: Context, now: datetime
) -> None:
    token = issue_sign_in_link(context, "rw1", now=now)
    with httpx.Client(base_url=server) as browser:
        landing = browser.get(f"/sign-in/{token}")
    assert landing.status_code == 200
    assert "Linket logger ind som Rasmus Winther (rw1)." in landing.text
    assert 'name="replace"' not in landing.text  # no one signed in here: nothing to replace


def test_a_sign_in_link_asks_before_it_replaces_a_session(
    world: Any,
    client: httpx.Client,
    sign_in: SignIn,
    csrf: Csrf,
    context: Context,
    now: datetime,
) -> None:
    # Given tl1 signed in, and a link of rw1's (sent by mistake, or by someone else)
    sign_in("tl1")
    signed_in_as_tl1 = dict(client.cookies.items())
    token = issue_sign_in_link(context, "rw1", now=now)

    # When tl1 opens it
    landing = client.get(f"/sign-in/{token}")

    # Then the page names both accounts and asks, with the CSRF token; the link is not spent
    # and the session is still tl1's
    assert landing.status_code == 200
    assert "Linket logger ind som Rasmus Winther (rw1)." in landing.text
    assert "Du er allerede logget ind som Trine Lund (tl1)." in landing.text
    assert 'name="replace" value="yes"' in landing.text and csrf(landing)
    assert sign_in_link_user(context, token, now=now) is not None
    assert "Trine Lund" in client.get("/").text

    # A post of the link without the answer asks again, and spends nothing
    unasked = client.post(f"/sign-in/{token}", data={"csrf": csrf(landing)})
    assert unasked.status_code == 200 and 'name="replace"' in unasked.text
    assert sign_in_link_user(context, token, now=now) is not None
    assert "Trine Lund" in client.get("/").text

    # When tl1 says yes, the session is rw1's, and tl1's session has ended
    replaced = client.post(f"/sign-in/{token}", data={"csrf": csrf(landing), "replace": "yes"})
    assert replaced.status_code == 303
    assert "Rasmus Winther" in client.get("/").text
    assert sign_in_link_user(context, token, now=now) is None
    with httpx.Client(base_url=str(client.base_url), cookies=signed_in_as_tl1) as old:
        assert old.get("/", follow_redirects=False).status_code == 303  # to the sign-in page
