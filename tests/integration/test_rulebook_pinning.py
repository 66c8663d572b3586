"""A case is pinned to the rulebook version in force on its awareness date, and keeps it until a
version that takes over open cases is in force on an event's date (test_law_in_force.py).

The default rulebook has version 2014.1 (SEL, effective 2014-01-01) and 2024.1 (Barnets Lov,
effective 2024-01-01). The awareness date is the Copenhagen calendar date.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sagsflow.read.cases import show_case
from statemachine.phases import Phase

CPH = ZoneInfo("Europe/Copenhagen")


def test_case_aware_on_new_years_eve_2023_follows_the_sel_rulebook(cases, rows):
    # Given awareness at 23:30 on 31 December 2023, Copenhagen time
    case = cases.open(aware_at=datetime(2023, 12, 31, 23, 30, tzinfo=CPH))

    # Then the case is pinned to the version in force then
    stored = rows.case(case.id)
    assert (stored.rulebook_id, stored.rulebook_version) == ("default", "2014.1")


def test_case_aware_on_new_years_day_2024_follows_barnets_lov(cases, rows):
    # Given awareness at 00:30 on 1 January 2024 in Copenhagen, which is still 2023 in UTC
    aware_at = datetime(2024, 1, 1, 0, 30, tzinfo=CPH)
    assert aware_at.astimezone(UTC).year == 2023
    case = cases.open(aware_at=aware_at)

    # Then the Copenhagen date decides: Barnets Lov's version
    stored = rows.case(case.id)
    assert (stored.rulebook_id, stored.rulebook_version) == ("default", "2024.1")


def test_pinned_case_keeps_its_rulebook_for_events_before_the_new_law(cases, context, rows):
    # Given a case aware in December 2023, under SEL
    case = cases.open(aware_at=datetime(2023, 12, 20, 9, tzinfo=CPH))

    # When it is worked on up to New Year's Eve, 23:30 in Copenhagen, before Barnets Lov took
    # effect (an event from 1 January 2024 moves it: tests/integration/test_law_in_force.py)
    cases.fire(case, "accept", at=datetime(2023, 12, 27, 9, tzinfo=CPH))
    cases.fire(
        case, "record_consent", {"by": "custody_holder"}, at=datetime(2023, 12, 28, 9, tzinfo=CPH)
    )
    cases.fire(case, "open_investigation", at=datetime(2023, 12, 31, 23, 30, tzinfo=CPH))

    # Then the case, and every audit record of it, still follows version 2014.1 with SEL citations
    shown = show_case(context, case.id)
    assert shown["rulebook"] == "default@2014.1"
    assert {r.rulebook for r in rows.audit(case.id)} == {"default@2014.1"}
    by_event = {h["event"]: h for h in shown["history"]}
    assert by_event["open_investigation"]["legal_basis"] == "SEL §50"
    # … and its deadline cites SEL §50 stk. 7: 20 Dec 2023 + 4 months = 20 Apr 2024
    investigation = next(d for d in shown["deadlines"] if d["rule"] == "investigation")
    assert investigation["source"].startswith("SEL §50 stk. 7")
    assert investigation["due_at"] == "2024-04-20T23:59:59+02:00"


def test_municipality_chooses_its_rulebook(cases, rows):
    # Given a case of the municipality that follows the legal minimum (rulebooks/municipalities.yaml)
    case = cases.at_phase(Phase.CLARIFICATION, municipality="national")

    # Then it is pinned to dk-national
    stored = rows.case(case.id)
    assert (stored.municipality, stored.rulebook_id, stored.rulebook_version) == (
        "national",
        "dk-national",
        "2024.1",
    )
