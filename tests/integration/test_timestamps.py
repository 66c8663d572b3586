"""Instants are stored in UTC and come back aware; people see them with the Copenhagen offset.

Copenhagen is UTC+01:00 in winter and UTC+02:00 in summer; in 2026 the clocks go forward on
29 March and back on 25 October.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from models.database import make_engine
from models.tables import Case
from sagsflow.read.cases import show_case
from sagsflow.usecases.cases import open_case
from statemachine.phases import Notifier, Phase, Source

CPH = ZoneInfo("Europe/Copenhagen")
CEST = timezone(timedelta(hours=2))
CASE = Case.__table__  # type: ignore[attr-defined]


def test_instants_come_back_as_the_same_aware_utc_instant(cases, rows):
    # Given a case the municipality became aware of at 10:00:00.123456 summer time
    aware_at = datetime(2026, 3, 31, 10, 0, 0, 123456, tzinfo=CEST)
    case = cases.open(aware_at=aware_at, source=Source.NOTIFICATION)
    accepted_at = datetime(2026, 4, 1, 9, 30, 0, 654321, tzinfo=CEST)
    cases.fire(case, "accept", at=accepted_at)

    # When the rows are read back
    stored = rows.case(case.id)
    audit = rows.audit(case.id)

    # Then every instant is aware, in UTC, and the very same instant, to the microsecond
    expected = {
        "aware_at": datetime(2026, 3, 31, 8, 0, 0, 123456, tzinfo=UTC),
        "phase_entered_at": datetime(2026, 4, 1, 7, 30, 0, 654321, tzinfo=UTC),
        "last_event_at": datetime(2026, 4, 1, 7, 30, 0, 654321, tzinfo=UTC),
        "opened_at": cases.now,
    }
    for column, instant in expected.items():
        value = getattr(stored, column)
        assert value.utcoffset() == timedelta(0), column
        assert value == instant, column
    assert [r.event_at for r in audit] == [expected["aware_at"], expected["phase_entered_at"]]
    assert all(
        r.recorded_at == cases.now and r.recorded_at.utcoffset() == timedelta(0) for r in audit
    )
    urgent = rows.deadlines(case.id)["urgent_assessment"]
    # Barnets Lov §136: 24 elapsed hours after awareness
    assert urgent.due_at == datetime(2026, 4, 1, 8, 0, 0, 123456, tzinfo=UTC)


def test_instants_are_stored_as_utc_wall_clock(cases, engine, backend):
    # Given a case aware at 10:00:00.123456 Copenhagen summer time (08:00 UTC)
    case = cases.open(aware_at=datetime(2026, 3, 31, 10, 0, 0, 123456, tzinfo=CEST))

    # When the stored value is read without the application's column type
    column = {
        "sqlite": "aware_at",
        "postgresql": "to_char(aware_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
    }[backend]
    with engine.connect() as connection:
        raw = connection.execute(
            text(f'SELECT {column} FROM "case" WHERE id = :id'), {"id": case.id}
        ).scalar_one()

    # Then it holds the UTC wall clock
    assert raw == "2026-03-31 08:00:00.123456"


def test_case_show_gives_due_dates_with_the_winter_offset(cases, context):
    # Given a case aware on 31 October 2025 under investigation
    case = cases.at_phase(Phase.INVESTIGATION, aware_at=datetime(2025, 10, 31, 9, tzinfo=CPH))

    # When the case is shown
    deadlines = {d["rule"]: d for d in show_case(context, case.id)["deadlines"]}

    # Then SEL §50 stk. 7 / Barnets Lov §20: 31 Oct + 4 months = 28 Feb, end of day, winter time
    assert deadlines["investigation"]["due_at"] == "2026-02-28T23:59:59+01:00"


def test_case_show_gives_due_dates_with_the_summer_offset(cases, context):
    # Given a professional's notification received on Tuesday 31 March 2026, summer time
    case = cases.open(
        aware_at=datetime(2026, 3, 31, 10, tzinfo=CPH),
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
    )

    # When the case is shown
    shown = show_case(context, case.id)
    deadlines = {d["rule"]: d for d in shown["deadlines"]}

    # Then the due times and the event times carry +02:00
    assert deadlines["urgent_assessment"]["due_at"] == "2026-04-01T10:00:00+02:00"
    assert deadlines["acknowledgement"]["due_at"] == "2026-04-13T23:59:59+02:00"
    assert shown["aware_at"] == "2026-03-31T10:00:00+02:00"
    assert shown["history"][0]["at"] == "2026-03-31T10:00:00+02:00"


def test_24_hour_assessment_counts_elapsed_hours_across_the_spring_clock_change(cases, context):
    # Given a notification at 12:00 winter time on Saturday 28 March 2026, the night before the
    # clocks go forward
    case = cases.open(aware_at=datetime(2026, 3, 28, 12, tzinfo=CPH), source=Source.NOTIFICATION)

    # When the case is shown
    deadlines = {d["rule"]: d for d in show_case(context, case.id)["deadlines"]}

    # Then 24 elapsed hours later is 13:00 summer time on the wall clock (Barnets Lov §136)
    assert deadlines["urgent_assessment"]["due_at"] == "2026-03-29T13:00:00+02:00"


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", id="postgres")], indirect=True)
def test_instants_do_not_depend_on_the_postgres_session_time_zone(database_url, context, rows):
    # Given a database session whose time zone is Copenhagen's (a Danish server's default)
    danish = make_engine(database_url, connect_args={"options": "-c timezone=Europe/Copenhagen"})
    try:
        # When a case is opened through it …
        accepted = open_case(
            replace(context, engine=danish),
            child_ref="BARN-0001",
            birth_date=date(2016, 5, 1),
            aware_at=datetime(2026, 3, 31, 10, 0, 0, 123456, tzinfo=CEST),
            source=Source.APPLICATION,
            notifier=None,
            worker="caseworker-anna",
            team="team-nord",
            municipality="demo",
            actor="caseworker-anna",
            now=datetime(2027, 12, 31, 12, tzinfo=UTC),
        )
        with danish.connect() as connection:
            through_danish = connection.execute(
                select(CASE.c.aware_at).where(CASE.c.id == accepted.case_id)
            ).scalar_one()
    finally:
        danish.dispose()
    # … and read back through both sessions
    through_utc = rows.case(accepted.case_id).aware_at

    # Then both see the same aware UTC instant
    assert through_danish == through_utc == datetime(2026, 3, 31, 8, 0, 0, 123456, tzinfo=UTC)
    assert through_danish.utcoffset() == through_utc.utcoffset() == timedelta(0)
