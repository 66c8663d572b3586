"""The dashboard through HTTP, as a browser meets it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from conversation import CHILD_CONVERSATION
from sqlalchemy import Engine, select

from models.tables import AccessRecord, AuditRecord
from sagsflow.context import Context
from sagsflow.usecases.users import disable_user, issue_sign_in_link
from statemachine.phases import Phase

ACCESS_LOG = AccessRecord.__table__  # type: ignore[attr-defined]
AUDIT = AuditRecord.__table__  # type: ignore[attr-defined]
SignIn = Callable[..., httpx.Response]
Csrf = Callable[[httpx.Response], str]


def _audit_count(engine: Engine, case_id: int) -> int:
    with engine.connect() as connection:
        return len(connection.execute(select(AUDIT.c.id).where(AUDIT.c.case_id == case_id)).all())


def _access_rows(engine: Engine, case_id: int) -> list[Any]:
    with engine.connect() as connection:
        query = select(ACCESS_LOG).where(ACCESS_LOG.c.case_id == case_id).order_by(ACCESS_LOG.c.id)
        return list(connection.execute(query).all())


def _fire_form(page: httpx.Response, csrf: Csrf, **fields: str) -> dict[str, str]:
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version, "the case page has no event form"
    return {"csrf": csrf(page), "version": version.group(1), "at": "", **fields}


# --- signing in ----------------------------------------------------------------------------------


def test_password_sign_in_starts_a_signed_httponly_samesite_session(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    answer = sign_in("tl1")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("sagsflow_session=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    overview = client.get("/")
    assert overview.status_code == 200
    # the user by the organisation file's name (demo/organisation.yaml: tl1 is Trine Lund)
    assert "Trine Lund" in overview.text and "Teamleder" in overview.text


def test_a_wrong_password_or_unknown_user_gets_no_session(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    for name, password in (("tl1", "not the password"), ("nobody", "correct horse battery")):
        answer = sign_in(name, password)
        assert answer.status_code == 401
        assert "Forkert brugernavn eller adgangskode" in answer.text
    assert client.get("/").status_code == 303


def test_pages_need_a_signed_in_user_and_come_back_after_sign_in(
    world: Any, client: httpx.Client, csrf: Csrf
) -> None:
    for path in ("/", "/stuck", "/caseload", "/diagram", f"/cases/{world.stuck}"):
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/sign-in"), path
    answer = client.get("/stuck?phase=clarification")
    assert answer.headers["location"] == "/sign-in?next=/stuck%3Fphase%3Dclarification"
    form = client.get(answer.headers["location"])
    signed = client.post(
        "/sign-in",
        data={
            "name": "tl1",
            "password": "correct horse battery",
            "csrf": csrf(form),
            "next": "/stuck?phase=clarification",
        },
    )
    assert signed.headers["location"] == "/stuck?phase=clarification"
    # never a redirect off the site
    form = client.get("/sign-in")
    assert client.get("/sign-in?next=//evil.example/").headers["location"] == "/"


def test_a_one_time_sign_in_link_works_once(
    world: Any, context: Context, server: str, csrf: Csrf, now: datetime
) -> None:
    token = issue_sign_in_link(context, "rw1", now=now)
    with httpx.Client(base_url=server) as first:
        landing = first.get(f"/sign-in/{token}")
        assert landing.status_code == 200  # opening the link does not use it
        used = first.post(f"/sign-in/{token}", data={"csrf": csrf(landing)}, follow_redirects=False)
        assert used.status_code == 303 and used.headers["location"] == "/"
        assert "Rasmus Winther" in first.get("/").text  # rw1, by name
    with httpx.Client(base_url=server) as second:
        landing = second.get(f"/sign-in/{token}")
        again = second.post(
            f"/sign-in/{token}", data={"csrf": csrf(landing)}, follow_redirects=False
        )
        assert again.status_code == 400
        assert "Linket er brugt, udløbet eller ugyldigt" in again.text
        assert second.get("/", follow_redirects=False).status_code == 303
    with httpx.Client(base_url=server) as third:
        landing = third.get("/sign-in/sf_made-up")
        made_up = third.post("/sign-in/sf_made-up", data={"csrf": csrf(landing)})
        assert made_up.status_code == 400


def test_sign_out_ends_the_session(
    world: Any, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    sign_in("dh")
    page = client.get("/")
    out = client.post("/sign-out", data={"csrf": csrf(page)})
    assert out.status_code == 303 and out.headers["location"] == "/sign-in?signed_out=1"
    assert client.get("/").status_code == 303
    assert "Du er logget ud" in client.get("/sign-in?signed_out=1").text


def test_a_disabled_user_is_signed_out_at_the_next_request(
    world: Any, context: Context, client: httpx.Client, sign_in: SignIn, now: datetime
) -> None:
    sign_in("rw1")
    assert client.get("/").status_code == 200
    disable_user(context, "rw1", now=now)
    answer = client.get("/")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/sign-in?expired=1"
    notice = client.get(answer.headers["location"]).text
    assert "Din session er udløbet, eller din bruger er spærret" in notice
    assert client.get("/").status_code == 303


def test_a_forged_session_cookie_is_ignored(world: Any, server: str) -> None:
    with httpx.Client(
        base_url=server, cookies={"sagsflow_session": "eyJ1IjoiZGgifQ.forged"}
    ) as http:
        assert http.get("/", follow_redirects=False).status_code == 303


# --- CSRF ----------------------------------------------------------------------------------------


def test_every_form_post_without_the_csrf_token_is_refused(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    # before signing in: the sign-in form itself
    refused = client.post("/sign-in", data={"name": "dh", "password": "correct horse battery"})
    assert refused.status_code == 403
    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")
    before = _audit_count(engine, world.stuck)
    form = _fire_form(
        page, csrf, event="record_consent", data_record_consent='{"by": "custody_holder"}'
    )
    for bad in ("", "not-the-token"):
        answer = client.post(f"/cases/{world.stuck}/events", data={**form, "csrf": bad})
        assert answer.status_code == 403
        assert "CSRF" in answer.text
    without = {k: v for k, v in form.items() if k != "csrf"}
    assert client.post(f"/cases/{world.stuck}/events", data=without).status_code == 403
    assert client.post("/sign-out", data={}).status_code == 403
    assert _audit_count(engine, world.stuck) == before
    assert client.get("/").status_code == 200  # still signed in


def test_the_csrf_token_changes_when_signing_in(
    world: Any, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    anonymous = csrf(client.get("/sign-in"))
    sign_in("dh")
    assert csrf(client.get("/")) != anonymous


# --- language ------------------------------------------------------------------------------------


def test_danish_by_default_english_on_request_and_remembered(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("dh")
    danish = client.get("/")
    assert '<html lang="da">' in danish.text
    assert "Overblik" in danish.text and "Fastlåste sager" in danish.text
    english = client.get("/?lang=en")
    assert '<html lang="en">' in english.text
    assert "Overview" in english.text and "Stuck cases" in english.text
    assert "sagsflow_lang=en" in english.headers["set-cookie"]
    assert "Open cases per phase" in client.get("/").text  # kept by the cookie
    case = client.get(f"/cases/{world.follow_up}")
    assert "Audit trail" in case.text and "Follow-up" in case.text
    assert "Overblik" in client.get("/?lang=da").text
    assert "Revisionsspor" in client.get(f"/cases/{world.follow_up}").text


# --- the pages -----------------------------------------------------------------------------------


def test_the_department_head_sees_every_page_with_the_cases(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("dh")
    overview = client.get("/")
    assert overview.status_code == 200
    for words in ("Åbne sager pr. fase", "Overskredne frister", "Frister de næste 14 dage",
                  "Rettidighed i 2027-Q4", "Frister pr. uge", "<svg"):  # fmt: skip
        assert words in overview.text, words
    stuck = client.get("/stuck")
    assert f'href="/cases/{world.stuck}"' in stuck.text
    assert "Venter på samtykke" in stuck.text and "Over fasens normtid" in stuck.text
    assert f'href="/cases/{world.closed}"' not in stuck.text
    caseload = client.get("/caseload")
    assert "Sagstal pr. rådgiver" in caseload.text and "<svg" in caseload.text
    # rw4 by the organisation file's name (demo/organisation.yaml)
    assert "Jonas Friis" in caseload.text and "højst 22" in caseload.text
    diagram = client.get("/diagram")
    assert "<svg" in diagram.text and "open_investigation" in diagram.text
    assert "<?xml" not in diagram.text
    listing = client.get("/cases?phase=clarification")
    assert f'href="/cases/{world.stuck}"' in listing.text
    case = client.get(f"/cases/{world.follow_up}")
    assert case.status_code == 200
    for words in ("Tidslinje: faser og frister", "Foranstaltninger og opfølgning",
                  "Revisionsspor", "Overskredet", "practical_support"):  # fmt: skip
        assert words in case.text, words


def test_stuck_cases_filter_by_team_worker_phase_and_reason(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("dh")
    link = f'href="/cases/{world.stuck}"'
    assert link in client.get("/stuck?team=t1").text
    assert link not in client.get("/stuck?team=t2").text
    assert link in client.get("/stuck?worker=rw1").text
    assert link not in client.get("/stuck?worker=rw2").text
    assert link in client.get("/stuck?phase=clarification").text
    assert link not in client.get("/stuck?phase=investigation").text
    assert link in client.get("/stuck?reason=waiting_for_consent").text
    breached = client.get("/stuck?reason=breached_deadline").text
    assert link not in breached and f'href="/cases/{world.follow_up}"' in breached
    assert client.get("/stuck?phase=nonsense&reason=nonsense&page=x").status_code == 200


def test_security_headers_on_every_page(world: Any, client: httpx.Client, sign_in: SignIn) -> None:
    sign_in("dh")
    for path in ("/", "/sign-in", f"/cases/{world.stuck}", "/cases/999999"):
        headers = client.get(path).headers
        assert "default-src 'none'" in headers["content-security-policy"], path
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        assert headers["referrer-policy"] == "no-referrer"
    assert client.get("/static/dashboard.css").status_code == 200


# --- who sees what -------------------------------------------------------------------------------


def test_a_caseworker_cannot_open_another_teams_case(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("rw1")
    assert client.get(f"/cases/{world.stuck}").status_code == 200
    assert client.get(f"/cases/{world.follow_up}").status_code == 200  # the team's
    hidden = client.get(f"/cases/{world.other_team}")
    assert hidden.status_code == 404
    assert client.get("/cases/999999").status_code == 404  # the same answer as a missing case
    assert f'href="/cases/{world.other_team}"' not in client.get("/stuck").text
    assert f'href="/cases/{world.other_team}"' not in client.get("/cases").text
    assert f'href="/cases/{world.other_team}"' not in client.get("/").text
    assert "Jonas Friis" not in client.get("/caseload").text  # rw4, of the other team


def test_a_team_leader_sees_the_team_only(
    world: Any, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("tl1")
    assert client.get(f"/cases/{world.other_team}").status_code == 404
    assert "Team Nord" in client.get("/").text


def test_the_auditor_reads_everything_and_writes_nothing(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    sign_in("rev")
    page = client.get(f"/cases/{world.other_team}")
    assert page.status_code == 200
    assert 'name="event"' not in page.text
    assert "Din rolle (Revision) kan kun læse sager" in page.text
    before = _audit_count(engine, world.other_team)
    answer = client.post(
        f"/cases/{world.other_team}/events",
        data={
            "csrf": csrf(page),
            "version": "1",
            "event": "conclude",
            "data_conclude": '{"measures_needed": false}',
        },
    )
    assert answer.status_code == 403
    assert _audit_count(engine, world.other_team) == before


def test_the_admin_sees_no_cases(world: Any, client: httpx.Client, sign_in: SignIn) -> None:
    sign_in("ops")
    overview = client.get("/")
    assert overview.status_code == 200
    assert "Som administrator har du ikke adgang til sager" in overview.text
    assert client.get(f"/cases/{world.stuck}").status_code == 404
    assert 'href="/cases/' not in client.get("/stuck").text


# --- recording events ----------------------------------------------------------------------------


def test_firing_an_event_records_it_and_the_audit_trail_grows(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")
    assert 'value="record_consent"' in page.text
    before = _audit_count(engine, world.stuck)
    rows = page.text.count('class="audit-row"')
    form = _fire_form(
        page, csrf, event="record_consent", data_record_consent='{"by": "custody_holder"}'
    )
    answer = client.post(f"/cases/{world.stuck}/events", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/cases/{world.stuck}?done=record_consent#audit"
    after = client.get(answer.headers["location"])
    assert "Registreret: Registrér samtykke" in after.text
    assert after.text.count('class="audit-row"') == rows + 1
    assert _audit_count(engine, world.stuck) == before + 1
    with engine.connect() as connection:
        last = connection.execute(
            select(AUDIT).where(AUDIT.c.case_id == world.stuck).order_by(AUDIT.c.seq.desc())
        ).first()
    assert last is not None
    assert (last.event, last.actor, last.role) == ("record_consent", "rw1", "caseworker")


def test_a_refused_event_shows_the_guards_reason_and_the_allowed_events(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")
    # the committee's button is disabled for a caseworker, with the guard's reason beside it
    assert re.search(r'value="decide_compulsory_examination"[^>]*disabled', page.text)
    # … in Danish: the domain's code and parameters, worded (issue 9: no English on a Danish page)
    assert "kræver kompetence som Børne- og ungeudvalget" in page.text
    # and the investigation opens without consent (Barnets Lov §20, §22 stk. 2): not disabled
    assert not re.search(r'value="open_investigation"[^>]*disabled', page.text)
    before = _audit_count(engine, world.stuck)
    answer = client.post(
        f"/cases/{world.stuck}/events",
        data=_fire_form(page, csrf, event="decide_compulsory_examination"),
    )
    assert answer.status_code == 409
    assert "Hændelsen blev afvist" in answer.text
    assert "kræver kompetence som Børne- og ungeudvalget" in answer.text
    assert "Registrér samtykke" in answer.text  # record_consent, by its name
    bad_json = client.post(
        f"/cases/{world.stuck}/events",
        data=_fire_form(page, csrf, event="record_consent", data_record_consent="{nope"),
    )
    assert bad_json.status_code == 422 and "ikke gyldig JSON" in bad_json.text
    bad_time = client.post(
        f"/cases/{world.stuck}/events",
        data={**_fire_form(page, csrf, event="accept"), "at": "tomorrow"},
    )
    assert bad_time.status_code == 422
    assert _audit_count(engine, world.stuck) == before


def test_a_stale_version_is_reported_plainly(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")
    form = _fire_form(page, csrf, event="acknowledge")
    first = client.post(f"/cases/{world.stuck}/events", data=form)
    assert first.status_code == 303
    before = _audit_count(engine, world.stuck)
    second = client.post(f"/cases/{world.stuck}/events", data=form)  # the same, older form
    assert second.status_code == 409
    assert "Sagen er ændret, siden du åbnede den" in second.text
    assert _audit_count(engine, world.stuck) == before


# --- the access log ------------------------------------------------------------------------------


def test_each_case_view_and_each_event_is_in_the_access_log(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    sign_in("rw1")
    assert _access_rows(engine, world.stuck) == []
    page = client.get(f"/cases/{world.stuck}")
    client.get(f"/cases/{world.stuck}")
    client.post(
        f"/cases/{world.stuck}/events",
        data=_fire_form(
            page, csrf, event="record_consent", data_record_consent='{"by": "custody_holder"}'
        ),
    )
    rows = _access_rows(engine, world.stuck)
    assert [(r.action, r.channel, r.user_name) for r in rows] == [
        ("read", "dashboard", "rw1"),
        ("read", "dashboard", "rw1"),
        ("write", "dashboard", "rw1"),
    ]
    assert rows[0].what == f"GET /cases/{world.stuck}"
    # a case not shown is not logged as read: the attempt is logged as denied
    client.get(f"/cases/{world.other_team}")
    assert [(r.action, r.what) for r in _access_rows(engine, world.other_team)] == [
        ("read", f"GET /cases/{world.other_team} (denied)")
    ]


def _rows_of(engine: Engine, user: str) -> list[Any]:
    with engine.connect() as connection:
        query = select(ACCESS_LOG).where(ACCESS_LOG.c.user_name == user).order_by(ACCESS_LOG.c.id)
        return list(connection.execute(query).all())


def test_a_denied_attempt_leaves_a_row_naming_the_case(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    # Given a caseworker of t1 with a form of their own case
    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")
    form = _fire_form(page, csrf, event="close", data_close='{"reason": "x"}')

    # When they open another team's case, and post the form to it
    opened = client.get(f"/cases/{world.other_team}")
    posted = client.post(f"/cases/{world.other_team}/events", data=form)

    # Then both are the 404 of a missing case, and both attempts are logged as denied
    assert (opened.status_code, posted.status_code) == (404, 404)
    assert [(r.action, r.channel, r.what) for r in _access_rows(engine, world.other_team)] == [
        ("read", "dashboard", f"GET /cases/{world.other_team} (denied)"),
        ("write", "dashboard", f"POST /cases/{world.other_team}/events (close denied)"),
    ]


def test_a_case_id_beyond_any_case_is_not_found_and_logged_without_a_case(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn
) -> None:
    # Case ids are 32-bit: a larger one, or one beyond what the database can bind, is no case
    sign_in("rw1")
    for case_id in (2**31, 10**20):
        assert client.get(f"/cases/{case_id}").status_code == 404
    assert [(r.case_id, r.what) for r in _rows_of(engine, "rw1")] == [
        (None, f"GET /cases/{2**31} (not found)"),
        (None, f"GET /cases/{10**20} (not found)"),
    ]


def test_a_refused_event_is_one_write_row_saying_refused(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    # Given the case page of a case without consent
    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")

    # When the caseworker tries to decide the committee's compulsory examination
    answer = client.post(
        f"/cases/{world.stuck}/events",
        data=_fire_form(page, csrf, event="decide_compulsory_examination"),
    )

    # Then it is refused, the case is shown again, and the attempt is one write row (the page
    # that shows the refusal is part of the attempt, not a read of its own)
    assert answer.status_code == 409
    rows = _access_rows(engine, world.stuck)
    assert [(r.action, r.what) for r in rows] == [
        ("read", f"GET /cases/{world.stuck}"),
        ("write", f"POST /cases/{world.stuck}/events (decide_compulsory_examination refused)"),
    ]


def test_a_stale_form_is_a_write_row_saying_conflict(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")
    form = _fire_form(page, csrf, event="acknowledge")
    assert client.post(f"/cases/{world.stuck}/events", data=form).status_code == 303
    assert client.post(f"/cases/{world.stuck}/events", data=form).status_code == 409
    writes = [r.what for r in _access_rows(engine, world.stuck) if r.action == "write"]
    assert writes == [
        f"POST /cases/{world.stuck}/events (acknowledge accepted)",
        f"POST /cases/{world.stuck}/events (acknowledge conflict)",
    ]


def test_a_form_that_names_no_instant_is_shown_again_as_a_read(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    # Like an API body that does not validate, it is no attempt at an event; the case it
    # shows again is a read
    sign_in("rw1")
    page = client.get(f"/cases/{world.stuck}")
    form = {**_fire_form(page, csrf, event="accept"), "at": "tomorrow"}
    assert client.post(f"/cases/{world.stuck}/events", data=form).status_code == 422
    assert [(r.action, r.what) for r in _access_rows(engine, world.stuck)] == [
        ("read", f"GET /cases/{world.stuck}"),
        ("read", f"POST /cases/{world.stuck}/events"),
    ]


def test_the_auditors_write_and_the_admins_read_are_logged_as_denied(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    sign_in("rev")
    page = client.get(f"/cases/{world.other_team}")
    form = {"csrf": csrf(page), "version": "1", "event": "conclude", "at": ""}
    assert client.post(f"/cases/{world.other_team}/events", data=form).status_code == 403
    client.post("/sign-out", data={"csrf": csrf(page)})
    sign_in("ops")
    assert client.get(f"/cases/{world.stuck}").status_code == 404
    assert [(r.action, r.case_id, r.what) for r in _rows_of(engine, "rev")] == [
        ("read", world.other_team, f"GET /cases/{world.other_team}"),
        ("write", world.other_team, f"POST /cases/{world.other_team}/events (conclude denied)"),
    ]
    assert [(r.action, r.case_id, r.what) for r in _rows_of(engine, "ops")] == [
        ("read", world.stuck, f"GET /cases/{world.stuck} (denied)")
    ]


def test_every_page_that_lists_cases_is_one_list_row(
    world: Any, engine: Engine, client: httpx.Client, sign_in: SignIn
) -> None:
    sign_in("tl1")
    paths = ["/", "/stuck?team=t1", "/cases", "/caseload", "/diagram"]
    for path in paths:
        assert client.get(path).status_code == 200, path
    # the diagram shows no case: no row
    assert [(r.action, r.case_id, r.what) for r in _rows_of(engine, "tl1")] == [
        ("list", None, f"GET {path}") for path in paths[:-1]
    ]


def test_an_expected_child_shows_its_expected_birth_and_the_birth_is_recorded_by_form(
    world: Any, cases: Any, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    # Given rw1's case for a child expected on 15 June 2026 (issue 10)
    expected = cases.open(
        aware_at=datetime(2026, 2, 1, 9, tzinfo=UTC),
        birth_date=date(2026, 6, 15),
        birth_expected=True,
        worker="rw1",
        team="t1",
    )
    sign_in("rw1")
    page = client.get(f"/cases/{expected.id}")
    # Then the page says the child is not born yet, and when it is expected
    assert "<dt>Født</dt><dd>ikke endnu – forventet fødsel 15. jun. 2026</dd>" in page.text
    # and offers the birth as a form that starts from the expected date
    assert 'value="record_birth"' in page.text
    assert "2026-06-15" in page.text.split('name="data_record_birth"', 1)[1].split("</textarea>")[0]

    # When the caseworker records the birth on 12 June
    form = _fire_form(
        page, csrf, event="record_birth", data_record_birth='{"birth_date": "2026-06-12"}'
    )
    answer = client.post(f"/cases/{expected.id}/events", data=form)
    assert answer.status_code == 303
    # Then the page shows the birth date and the child's age
    after = client.get(answer.headers["location"])
    assert "<dt>Født</dt><dd>12. jun. 2026 (1 år)</dd>" in after.text
    assert 'value="record_birth"' not in after.text


def test_a_complaint_about_a_refusal_is_recorded_and_shown_by_form(
    world: Any, cases: Any, client: httpx.Client, sign_in: SignIn, csrf: Csrf
) -> None:
    # Given rw1's case refused on 2 March 2026, still open for its complaint period (issue 11)
    case = cases.at_phase(Phase.DECISION, worker="rw1", team="t1")
    cases.fire(case, "record_party_hearing")
    cases.fire(case, "record_child_conversation", CHILD_CONVERSATION, at=case.last_at)
    refusal = cases.fire(case, "refuse", {"complaint_guidance": True}).audit_seq
    sign_in("rw1")
    page = client.get(f"/cases/{case.id}")
    # Then the page offers the complaint, its form naming the refusal by its number
    assert 'value="record_complaint"' in page.text
    form_data = page.text.split('name="data_record_complaint"', 1)[1].split("</textarea>")[0]
    assert f"&#34;decision_seq&#34;: {refusal}," in form_data

    # When the complaint received the day after the refusal is recorded
    received = (case.last_at + timedelta(days=1)).isoformat()
    data = json.dumps({"decision_seq": refusal, "received_at": received})
    form = _fire_form(page, csrf, event="record_complaint", data_record_complaint=data)
    form["at"] = (case.last_at + timedelta(days=1, hours=1)).isoformat()
    answer = client.post(f"/cases/{case.id}/events", data=form)
    assert answer.status_code == 303, answer.text
    # Then the page lists it, awaiting reassessment, and offers the reassessment
    after = client.get(answer.headers["location"]).text
    assert "<dt>Klager</dt>" in after
    assert f"Klage {refusal + 1} over afslaget (nr. {refusal})" in after
    assert "afventer genvurdering" in after
    assert 'value="reassess"' in after
    assert "Genvurdering af klage" in after  # its deadline, in the deadlines table
