"""What the stuck list tells beside its order (issue 13, point 5): hours for an hour deadline,
whether the law or the service level sets a breached deadline, and the investigation clock a
case before its investigation would have. Expected values worked out by hand from the default
rulebook (rulebooks/default/2024.1.yaml), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text

from models.repository import CASE, case_search
from sagsflow.context import Context
from sagsflow.read.stuck import stuck_cases
from sagsflow.usecases.sweep import sweep
from statemachine.phases import Notifier, Phase, Source

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
AWARE = datetime(2026, 1, 5, 9, 0, tzinfo=COPENHAGEN)  # a Monday, CET (UTC+1)


def _row(context: Context, now: datetime, case_id: int) -> dict[str, Any]:
    [row] = [r for r in stuck_cases(context, now) if r["case_id"] == case_id]
    return row


def test_a_breached_24_hour_assessment_is_over_by_hours_and_the_investigation_is_projected(
    context: Context, cases: Any
) -> None:
    # Given a professional's notification received Monday 5 January 2026 at 09:00, and no
    # assessment: Barnets Lov §136 gives 24 hours, due Tuesday 09:00 (08:00 UTC)
    case = cases.open(aware_at=AWARE, source=Source.NOTIFICATION, notifier=Notifier.PROFESSIONAL)
    # When the sweep runs and the list is read on Tuesday at 21:30 (20:30 UTC)
    now = datetime(2026, 1, 6, 20, 30, tzinfo=UTC)
    sweep(context, now)
    row = _row(context, now, case.id)

    # Then the breach is 12 whole hours over (not "0 days"), set by law
    [breach] = row["breached_deadlines"]
    assert breach["rule"] == "urgent_assessment"
    assert (breach["days_overdue"], breach["hours_overdue"]) == (0, 12)
    assert breach["statutory"] is True
    # and the case, in inquiry, shows the 4-month investigation clock counted from awareness
    # (Barnets Lov §20 stk. 3): 5 January + 4 calendar months = 5 May 2026, 119 days on
    projected = row["projected_investigation"]
    assert projected["due_at"].startswith("2026-05-05T23:59:59")
    assert projected["days_left"] == 25 + 28 + 31 + 30 + 5
    assert projected["projected"] is True
    assert "§20 stk. 3" in projected["source"]


def test_a_case_in_investigation_shows_its_own_clock_not_a_projected_one(
    context: Context, cases: Any
) -> None:
    # Given a case walked into investigation (its investigation deadline armed), left for 2 years
    case = cases.at_phase(Phase.INVESTIGATION)
    now = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)
    sweep(context, now)
    row = _row(context, now, case.id)
    assert row["projected_investigation"] is None
    breached = {b["rule"]: b for b in row["breached_deadlines"]}
    assert breached["investigation"]["hours_overdue"] is None  # counted in months: days
    assert breached["investigation"]["statutory"] is True


def test_the_search_reads_the_child_reference_index(context: Context) -> None:
    # The prefix is a range over ix_case_child_ref on both databases (not a scan of the cases)
    query = select(CASE.c.id).where(case_search("BARN-00")).order_by(CASE.c.id).limit(26)
    with context.engine.connect() as connection:
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        if connection.dialect.name == "sqlite":
            plan = " ".join(str(r) for r in connection.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(r) for r in connection.execute(text(f"EXPLAIN {sql}")))
    assert "ix_case_child_ref" in plan
