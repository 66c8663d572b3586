"""The supervisor's digest and the compliance report (ledelsestilsyn), on SQLite and PostgreSQL.

Cases are built through the service layer with hand-chosen dates, so that every expected share,
count and median below is worked out by hand in the comments.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert

from models.tables import Notification
from sagsflow.organisation import Organisation, Person, Team
from sagsflow.present.compliance import render_html, report_markdown, row_label
from sagsflow.present.digest import digest_markdown, render_digest
from sagsflow.present.i18n import translator
from sagsflow.read.compliance import ComplianceReport, compliance_report
from sagsflow.read.digest import TeamDigest, supervisor_digest
from sagsflow.usecases.compliance import write_csv, write_html
from sagsflow.usecases.digest import digest_message_id as message_id
from statemachine.periods import PeriodInvalid, parse_period
from statemachine.phases import Notifier, Phase, Source

CPH = ZoneInfo("Europe/Copenhagen")
NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]

ORGANISATION = Organisation(
    department_head=Person(name="dh", email="familiechef@kommune.test"),
    teams=[
        Team(
            id="t1",
            name="Team Nord",
            leader=Person(name="tl1", email="teamleder.nord@kommune.test"),
            caseworkers=[Person(name="rw1"), Person(name="rw2"), Person(name="rw3")],
        ),
        Team(
            id="t2",
            name="Team Syd",
            leader=Person(name="tl2", email="teamleder.syd@kommune.test"),
            caseworkers=[Person(name="rw4")],
        ),
    ],
)
# Monday 15 June 2026, 10:00 summer time.
DIGEST_NOW = datetime(2026, 6, 15, 10, tzinfo=CPH)
CLOSE = {"reason": "Familien er fraflyttet kommunen"}


def at(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=CPH)


# --- the digest --------------------------------------------------------------------------------


@dataclass
class DigestScene:
    stuck_t1: int
    stuck_t2: int
    due_in_10_days: int
    due_in_20_days: int
    due_in_10_days_t2: int
    follow_up_in_7_days: int


def given_two_teams(cases) -> DigestScene:
    # Stuck: in clarification since 6 January without consent (norm 1 month).
    stuck_t1 = cases.open(aware_at=at(1, 5), worker="rw1", team="t1")
    cases.fire(stuck_t1, "accept", at=at(1, 6))
    stuck_t2 = cases.open(aware_at=at(1, 5), worker="rw4", team="t2")
    cases.fire(stuck_t2, "accept", at=at(1, 6))
    # Investigations: 4 months from awareness (Barnets Lov §20 stk. 3).
    # 25 Feb + 4 months = 25 June, 10 days after the digest; 5 Mar → 5 July, 20 days after.
    due_10 = cases.at_phase(Phase.INVESTIGATION, aware_at=at(2, 25), worker="rw1", team="t1")
    due_20 = cases.at_phase(Phase.INVESTIGATION, aware_at=at(3, 5), worker="rw2", team="t1")
    due_10_t2 = cases.at_phase(Phase.INVESTIGATION, aware_at=at(2, 25), worker="rw4", team="t2")
    # Red practical support started 25 May (aware 18 May, events a day apart): first follow-up
    # 4 weeks later (seed 000), 22 June, 7 days after the digest.
    follow_up = cases.at_phase(Phase.FOLLOW_UP, aware_at=at(5, 18), worker="rw2", team="t1")
    # A closed case does not count towards rw2's caseload; a substitute's case does count.
    cases.at_phase(Phase.CLOSURE, aware_at=at(5, 1), worker="rw2", team="t1")
    cases.open(aware_at=at(6, 12), worker="vikar", team="t1")
    return DigestScene(stuck_t1.id, stuck_t2.id, due_10.id, due_20.id, due_10_t2.id, follow_up.id)


def digests_by_team(context) -> dict[str, TeamDigest]:
    digests = supervisor_digest(context, now=DIGEST_NOW, organisation=ORGANISATION)
    return {d.team_id: d for d in digests}


def test_digest_lists_the_teams_stuck_cases_and_not_another_teams(cases, context):
    # Given a stuck case in each team
    scene = given_two_teams(cases)

    # When the digests are made on 15 June
    digests = digests_by_team(context)

    # Then each team leader sees only their own team's stuck case
    [stuck] = digests["t1"].stuck
    assert stuck.case_id == scene.stuck_t1
    assert [s.case_id for s in digests["t2"].stuck] == [scene.stuck_t2]
    # In clarification since 6 Jan: 31+28+31+30+31+9 = 160 days; the 1-month norm ended
    # 6 Feb, 129 days before 15 June. No consent yet (seed 004).
    assert (stuck.phase, stuck.worker, stuck.days_in_phase, stuck.days_over_norm) == (
        "clarification",
        "rw1",
        160,
        129,
    )
    assert stuck.phase_norm is not None and translator("da").span(stuck.phase_norm) == "1 måned"
    assert {"over_phase_norm", "waiting_for_consent"} <= set(stuck.reasons)


def test_digest_lists_deadlines_due_within_14_days_and_not_later(cases, context):
    # Given investigations due in 10 and 20 days and a follow-up due in 7
    scene = given_two_teams(cases)

    # When the digests are made
    digests = digests_by_team(context)

    # Then team 1 sees the follow-up (22 June) and the investigation due 25 June, soonest first
    due = digests["t1"].due_soon
    assert [(d.case_id, d.rule, d.due_at, d.days_left, d.worker) for d in due] == [
        (scene.follow_up_in_7_days, "follow_up", "2026-06-22T23:59:59+02:00", 7, "rw2"),
        (scene.due_in_10_days, "investigation", "2026-06-25T23:59:59+02:00", 10, "rw1"),
        # and its provisional assessment, due with it (Barnets Lov §20 stk. 3, 2. pkt.)
        (scene.due_in_10_days, "provisional_assessment", "2026-06-25T23:59:59+02:00", 10, "rw1"),
    ]
    assert scene.due_in_20_days not in {d.case_id for d in due}
    assert (due[0].measure_id, due[0].measure) == ("m1", "Praktisk pædagogisk støtte")
    assert "§20" in due[1].source and "§20 stk. 3" in due[2].source
    # and team 2 its own investigation (and provisional assessment) due in 10 days only
    assert [d.case_id for d in digests["t2"].due_soon] == [scene.due_in_10_days_t2] * 2


def test_digest_counts_open_cases_per_caseworker_against_the_target(cases, context):
    # Given team 1: rw1 with 2 open cases, rw2 with 2 open and 1 closed, rw3 with none, and a
    # substitute not in the organisation file with 1
    given_two_teams(cases)

    # When the digests are made
    digests = digests_by_team(context)

    # Then every caseworker of the file is listed, with zero too, and the substitute after them
    loads = [(x.worker, x.open_cases, x.in_organisation) for x in digests["t1"].caseload]
    assert loads == [("rw1", 2, True), ("rw2", 2, True), ("rw3", 0, True), ("vikar", 1, False)]
    assert [(x.worker, x.open_cases) for x in digests["t2"].caseload] == [("rw4", 2)]
    # The default rulebook in force in June 2026 (2024.1) sets caseload_target: 22
    assert (digests["t1"].caseload_target, digests["t1"].caseload_source) == (
        22,
        "default@2024.1",
    )


def test_digest_shows_the_teams_parked_notifications(cases, context, rows, engine):
    # Given a reminder for team 1's investigation that delivery parked
    scene = given_two_teams(cases)
    deadline = rows.deadlines(scene.due_in_10_days)["investigation"]
    with engine.begin() as connection:
        connection.execute(
            insert(NOTIFICATION).values(
                deadline_id=deadline.id,
                case_id=scene.due_in_10_days,
                rung=0,
                level="reminder",
                recipient_role="caseworker",
                due_at=deadline.due_at,
                send_after=at(6, 11),
                created_at=at(6, 11),
                status="parked",
                attempts=0,
            )
        )

    # When the digests are made
    digests = digests_by_team(context)

    # Then team 1's leader sees it, team 2's does not
    [parked] = digests["t1"].parked
    assert (parked.case_id, parked.rule, parked.level, parked.recipient_role) == (
        scene.due_in_10_days,
        "investigation",
        "reminder",
        "caseworker",
    )
    assert digests["t2"].parked == ()
    assert "PARKEREDE MEDDELELSER (1)" in render_digest(digests["t1"])[1]


def test_digest_renders_danish_mail_and_markdown_without_external_resources(cases, context):
    # Given the two teams
    scene = given_two_teams(cases)

    # When team 1's digest is rendered
    digest = digests_by_team(context)["t1"]
    subject, text, html = render_digest(digest)
    markdown = digest_markdown(digest)

    # Then it is Danish, names cases by id and pseudonymous reference only
    # (one date format and one label catalogue for every Danish text: issue 9)
    assert subject.startswith("Sagsflow Team Nord 15. jun. 2026: 1 fastlåste sager")
    assert f"Sag {scene.stuck_t1} · Afklaring" in text
    assert "25. jun. 2026 kl. 23.59 (om 10 dage)" in text
    # the follow-up, the investigation and its provisional assessment (due with it)
    assert "FRISTER DE NÆSTE 14 DAGE (3)" in text
    for body in (text, html, markdown):
        assert "2016-05-01" not in body and "01.05.2016" not in body  # the child's birth date
    # and the HTML carries its styles inline and fetches nothing
    assert "<style" not in html and "<link" not in html and "<script" not in html
    assert "http" not in html and "src=" not in html
    assert 'style="' in html and "<td" in html
    # and the mail is recognisable per team and day, whoever sends it
    assert message_id(digest, "Sagsflow <sagsflow@kommune.test>") == (
        "<digest-t1-2026-06-15@kommune.test>"
    )
    # and the artifact is Markdown tables
    assert "| Sag | Fase | Rådgiver |" in markdown
    assert f"| {scene.stuck_t1} | Afklaring | rw1 |" in markdown


# --- compliance ----------------------------------------------------------------------------------

Q2 = (date(2026, 4, 1), date(2026, 6, 30))
# After the quarter: every deadline due in it has fallen due.
COMPLIANCE_NOW = datetime(2026, 7, 15, 12, tzinfo=CPH)


def given_deadlines_due_in_q2(cases) -> None:
    def investigation(aware: datetime, team: str):
        return cases.at_phase(Phase.INVESTIGATION, aware_at=aware, worker="rw1", team=team)

    # Investigations, due 4 months after awareness (Barnets Lov §20 stk. 3).
    # Team 1: due 5 May concluded 20 Apr, due 12 May concluded 1 May (on time); due 19 May
    # concluded 10 June (late) → 2 of 3.
    for aware, concluded in ((at(1, 5), at(4, 20)), (at(1, 12), at(5, 1)), (at(1, 19), at(6, 10))):
        case = investigation(aware, "t1")
        cases.fire(case, "conclude", {"measures_needed": True}, at=concluded)
    # Team 2: due 2 June and never concluded (late, though no sweep marked it breached); due
    # 5 May, case closed 20 May (the breach is not hidden by closing: late); due 26 May, case
    # closed 1 March (cancelled before due: not counted); due 16 July (outside Q2) → 0 of 2.
    investigation(at(2, 2), "t2")
    closed_late = investigation(at(1, 5), "t2")
    cases.fire(closed_late, "close", CLOSE, at=at(5, 20))
    closed_early = investigation(at(1, 26), "t2")
    cases.fire(closed_early, "close", CLOSE, at=at(3, 1))
    investigation(at(3, 16), "t2")

    # Follow-ups of red practical support (seed 000): first 4 weeks after the start.
    # Started 9 Mar → due 6 Apr, held 3 Apr (on time); started 16 Mar → due 13 Apr, held 20 Apr
    # (late). The next ones fall due in July, outside Q2 → team 1: 1 of 2.
    for aware, held in ((at(3, 2), at(4, 3)), (at(3, 9), at(4, 20))):
        case = cases.at_phase(Phase.FOLLOW_UP, aware_at=aware, worker="rw2", team="t1")
        cases.fire(
            case,
            "record_follow_up",
            {
                "measure_id": "m1",
                "spoke_with_provider": True,
                "spoke_with_parents": True,
                "plan_revision_decided": True,
                "next_follow_up": {
                    "as_service_level": True,
                    "reason": "Kommunens kadence passer til sagen",
                },
            },
            at=held,
        )

    # Professionals' notifications: 24-hour assessment and receipt within 6 working days.
    def notification(aware: datetime, team: str):
        return cases.open(
            aware_at=aware,
            source=Source.NOTIFICATION,
            notifier=Notifier.PROFESSIONAL,
            worker="rw3",
            team=team,
        )

    # Tue 7 Apr 10:00: assessed 15:00 the same day (on time); receipt 10 Apr, due 15 Apr
    # (8, 9, 10, 13, 14, 15 April) → on time.
    on_time = notification(at(4, 7, 10), "t1")
    cases.fire(on_time, "assess_urgency", {"acute": False}, at=at(4, 7, 15))
    cases.fire(on_time, "acknowledge", at=at(4, 10))
    # Mon 4 May 09:00: assessed 5 May 12:00, 27 hours on (late); receipt 20 May, beyond the
    # sixth working day (12 May) → late. Team 1: 1 of 2 for each rule.
    late = notification(at(5, 4), "t1")
    cases.fire(late, "assess_urgency", {"acute": False}, at=at(5, 5, 12))
    cases.fire(late, "acknowledge", at=at(5, 20))
    # Team 2, Mon 1 June 09:00: assessed 11:00 (on time); never acknowledged (late).
    unacknowledged = notification(at(6, 1), "t2")
    cases.fire(unacknowledged, "assess_urgency", {"acute": False}, at=at(6, 1, 11))


def q2_report(context) -> ComplianceReport:
    return compliance_report(
        context,
        period_start=Q2[0],
        period_end=Q2[1],
        now=COMPLIANCE_NOW,
        organisation=ORGANISATION,
    )


def counts(report: ComplianceReport, rule: str, team: str | None) -> tuple[int, int, int, int]:
    share = report.row("demo", team).share(rule)
    return share.on_time, share.late, share.pending, share.cancelled


def test_compliance_shares_and_counts_per_team_and_municipality(cases, context):
    # Given the deadlines due in Q2 2026 described in the builder
    given_deadlines_due_in_q2(cases)

    # When the quarter's report is made
    report = q2_report(context)

    # Then the rows are team 1, team 2 and the municipality
    # (teams by their names, not their ids: issue 9)
    assert [(r.scope, r.team, row_label(r, translator("da"))) for r in report.rows] == [
        ("team", "t1", "Team Nord"),
        ("team", "t2", "Team Syd"),
        ("municipality", None, "Hele kommunen (demo)"),
    ]
    # investigations: t1 2/3, t2 0/2 with one cancelled, municipality 2/5
    assert counts(report, "investigation", "t1") == (2, 1, 0, 0)
    assert counts(report, "investigation", "t2") == (0, 2, 0, 1)
    assert counts(report, "investigation", None) == (2, 3, 0, 1)
    assert report.row("demo", "t1").share("investigation").share == pytest.approx(2 / 3)
    assert report.row("demo", None).share("investigation").share == pytest.approx(2 / 5)
    # follow-ups: t1 1/2; team 2 has none due (no share rather than 0 %)
    assert counts(report, "follow_up", "t1") == (1, 1, 0, 0)
    assert report.row("demo", "t2").share("follow_up").share is None
    # 24-hour assessments: t1 1/2, t2 1/1 → 2/3; acknowledgements: t1 1/2, t2 0/1 → 1/3
    assert counts(report, "urgent_assessment", "t1") == (1, 1, 0, 0)
    assert counts(report, "urgent_assessment", None) == (2, 1, 0, 0)
    assert counts(report, "acknowledgement", "t2") == (0, 1, 0, 0)
    assert report.row("demo", None).share("acknowledgement").share == pytest.approx(1 / 3)


def test_compliance_counts_a_deadline_not_yet_due_as_pending(cases, context):
    # Given the Q2 deadlines, and a report made on 20 May, before most of them fall due
    given_deadlines_due_in_q2(cases)

    # When the quarter's report is made mid-quarter
    report = compliance_report(
        context, period_start=Q2[0], period_end=Q2[1], now=datetime(2026, 5, 20, 12, tzinfo=CPH)
    )

    # Then team 2's investigation due 2 June is pending (not counted), the one closed on 20 May
    # after its due date (5 May) is late, and the one closed before its due date cancelled
    assert counts(report, "investigation", "t2") == (0, 1, 1, 1)


def test_compliance_median_days_per_phase(cases, context):
    # Given phase stays (events at 09:00 Copenhagen time):
    # team 1: inquiry 2, 4 and 10 days; clarification 8, 10 days and one of 20 days less an
    # hour (across the change to summer time on 29 March) whose inquiry ended in March (not
    # counted); investigation 30 days
    p1 = cases.open(aware_at=at(4, 1), worker="rw1", team="t1")
    cases.fire(p1, "accept", at=at(4, 3))
    cases.fire(p1, "record_consent", {"by": "custody_holder"}, at=at(4, 5))
    cases.fire(p1, "open_investigation", at=at(4, 11))
    cases.fire(p1, "conclude", {"measures_needed": True}, at=at(5, 11))
    p2 = cases.open(aware_at=at(4, 1), worker="rw1", team="t1")
    cases.fire(p2, "accept", at=at(4, 5))
    cases.fire(p2, "record_consent", {"by": "custody_holder"}, at=at(4, 6))
    cases.fire(p2, "open_investigation", at=at(4, 15))
    p3 = cases.open(aware_at=at(4, 1), worker="rw1", team="t1")
    cases.fire(p3, "accept", at=at(4, 11))
    p5 = cases.open(aware_at=at(3, 10), worker="rw1", team="t1")
    cases.fire(p5, "accept", at=at(3, 20))
    cases.fire(p5, "record_consent", {"by": "custody_holder"}, at=at(3, 21))
    cases.fire(p5, "open_investigation", at=at(4, 9))
    # team 2: inquiry 1 day; a clarification that ends on 2 July, after the quarter
    p4 = cases.open(aware_at=at(4, 2), worker="rw4", team="t2")
    cases.fire(p4, "accept", at=at(4, 3))
    cases.fire(p4, "record_consent", {"by": "custody_holder"}, at=at(4, 4))
    cases.fire(p4, "open_investigation", at=at(7, 2))

    # When Q2's report is made
    report = q2_report(context)

    # Then the medians are the middle stays, or the mean of the two middle ones
    def median(team: str | None, phase: str) -> tuple[float, int] | None:
        found = report.row("demo", team).phase(phase)
        return None if found is None else (round(found.median_days, 6), found.stays)

    assert median("t1", "inquiry") == (4.0, 3)
    assert median("t1", "clarification") == (10.0, 3)
    assert median("t1", "investigation") == (30.0, 1)
    assert median("t2", "inquiry") == (1.0, 1)
    assert median("t2", "clarification") is None
    # municipality: inquiry 1, 2, 4, 10 → (2 + 4) / 2
    assert median(None, "inquiry") == (3.0, 4)
    assert median(None, "clarification") == (10.0, 3)
    assert median(None, "investigation") == (30.0, 1)


def test_compliance_csv_has_a_header_and_a_row_per_team_and_municipality(cases, context, tmp_path):
    # Given the Q2 report
    given_deadlines_due_in_q2(cases)
    report = q2_report(context)

    # When it is written as CSV
    path = write_csv(report, tmp_path / "compliance-2026-Q2.csv")

    # Then there is a header and one row each for t1, t2 and the municipality
    with path.open(encoding="utf-8", newline="") as file:
        table = list(csv.DictReader(file))
    assert [(r["scope"], r["team"]) for r in table] == [
        ("team", "t1"),
        ("team", "t2"),
        ("municipality", ""),
    ]
    t1, _, municipality = table
    assert (t1["investigation_on_time"], t1["investigation_late"]) == ("2", "1")
    assert t1["investigation_share"] == "0.6667"
    assert municipality["investigation_share"] == "0.4000"
    assert (t1["period_start"], t1["period_end"]) == ("2026-04-01", "2026-06-30")


def test_compliance_html_draws_an_inline_svg_chart_and_fetches_nothing(cases, context, tmp_path):
    # Given the Q2 report
    given_deadlines_due_in_q2(cases)
    report = q2_report(context)

    # When it is written as HTML and Markdown
    page = write_html(report, tmp_path / "compliance-2026-Q2.html").read_text(encoding="utf-8")
    markdown = report_markdown(report)

    # Then the page holds its own chart, with a bar per team and the municipality
    assert page == render_html(report)
    assert page.count("<svg") == 1
    assert "66,7 % (2/3)" in page and "40,0 % (2/5)" in page
    # and refers to nothing outside itself: no URL, script, stylesheet link or image
    assert "http" not in page
    assert not re.search(r"<script|<link|<img|@import|url\(|src=|href=", page)
    # and the artifact is Markdown tables with the same figures
    assert "| Team Nord | 66,7 % (2/3) | 50,0 % (1/2) | 50,0 % (1/2) | 50,0 % (1/2) |" in (markdown)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-Q3", (date(2026, 7, 1), date(2026, 9, 30))),
        ("2026-q1", (date(2026, 1, 1), date(2026, 3, 31))),
        ("2026-Q4", (date(2026, 10, 1), date(2026, 12, 31))),
        ("2026-10", (date(2026, 10, 1), date(2026, 10, 31))),
        ("2028-02", (date(2028, 2, 1), date(2028, 2, 29))),
        ("2026", (date(2026, 1, 1), date(2026, 12, 31))),
        ("2026-07-01..2026-09-30", (date(2026, 7, 1), date(2026, 9, 30))),
        (" 2026-07-15..2026-07-15 ", (date(2026, 7, 15), date(2026, 7, 15))),
    ],
)
def test_parse_period_reads_quarters_months_years_and_ranges(text, expected):
    assert parse_period(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-Q5", "2026-13", "2026-09-30..2026-07-01", "2026-02-30..2026-03-31", "Q3", ""]
)
def test_parse_period_refuses_what_is_not_a_period(text):
    with pytest.raises(PeriodInvalid):
        parse_period(text)


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(cases, context, tmp_path):
    # Given a case of a municipality and a team whose names begin like formulas (issue 12:
    # `=HYPERLINK(…)` reached the compliance CSV as a formula)
    formula = '=HYPERLINK("http://example.invalid","klik")'
    case = cases.open(
        aware_at=datetime(2026, 4, 7, 9, tzinfo=CPH),
        source=Source.NOTIFICATION,
        notifier=Notifier.PRIVATE,
        municipality=formula,
        team="+t9",
    )
    cases.fire(case, "assess_urgency", {"acute": False})
    report = q2_report(context)

    # When it is written as CSV
    path = write_csv(report, tmp_path / "compliance-2026-Q2.csv")

    # Then those cells begin with an apostrophe: text to Excel and LibreOffice, not a formula
    with path.open(encoding="utf-8", newline="") as file:
        table = list(csv.DictReader(file))
    rows = [r for r in table if r["municipality"].endswith(formula)]
    assert {r["municipality"] for r in rows} == {"'" + formula}
    assert "'+t9" in {r["team"] for r in rows}
    assert not any(value.startswith(("=", "+", "-", "@")) for r in table for value in r.values())
