"""The clocks the stuck list shows beside its reasons (statemachine/stuck.py): the investigation
deadline a case before its investigation would have, and hours over for an hour deadline.
Expected values by hand from the shipped rulebooks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from statemachine.phases import Phase
from statemachine.rulebook import Rulebook
from statemachine.stuck import counts_hours, hours_over, projected_investigation

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


@pytest.mark.parametrize("phase", [Phase.INQUIRY, Phase.CLARIFICATION])
def test_before_the_investigation_the_clock_runs_4_months_from_awareness(
    barnets_lov: Rulebook, phase: Phase
) -> None:
    # Barnets Lov §20 stk. 3: 4 calendar months from awareness; 31 October + 4 months is the
    # last day of February (no 31 February), due at the end of that Copenhagen day
    aware = datetime(2025, 10, 31, 10, 0, tzinfo=COPENHAGEN)
    clock = projected_investigation(barnets_lov, phase, aware)
    assert clock is not None
    assert clock.rule == "investigation"
    assert clock.due_at.astimezone(COPENHAGEN).date().isoformat() == "2026-02-28"
    assert clock.due_at.astimezone(COPENHAGEN).strftime("%H:%M:%S") == "23:59:59"
    assert clock.source.startswith("Barnets Lov §20 stk. 3")


def test_under_sel_the_same_clock_cites_sel_50(sel: Rulebook) -> None:
    aware = datetime(2020, 3, 2, 9, 0, tzinfo=COPENHAGEN)
    clock = projected_investigation(sel, Phase.CLARIFICATION, aware)
    assert clock is not None
    assert clock.due_at.astimezone(COPENHAGEN).date().isoformat() == "2020-07-02"
    assert clock.source.startswith("SEL §50 stk. 7")


@pytest.mark.parametrize(
    "phase", [Phase.INVESTIGATION, Phase.DECISION, Phase.FOLLOW_UP, Phase.CLOSURE]
)
def test_no_projected_clock_once_the_investigation_is_opened_or_past(
    barnets_lov: Rulebook, phase: Phase
) -> None:
    aware = datetime(2026, 1, 5, 9, 0, tzinfo=COPENHAGEN)
    assert projected_investigation(barnets_lov, phase, aware) is None


def test_the_24_hour_assessment_counts_hours_and_the_others_days(
    barnets_lov: Rulebook, national: Rulebook, sel: Rulebook
) -> None:
    for rulebook in (barnets_lov, national, sel):
        assert counts_hours(rulebook, "urgent_assessment")
        assert not counts_hours(rulebook, "investigation")
        assert not counts_hours(rulebook, "follow_up")  # a measure rule: days


def test_hours_over_are_whole_elapsed_hours() -> None:
    due = datetime(2026, 1, 6, 3, 1, tzinfo=UTC)  # 04:01 Copenhagen
    assert hours_over(due, datetime(2026, 1, 6, 11, 0, tzinfo=UTC)) == 7  # 7 h 59 min
    assert hours_over(due, datetime(2026, 1, 6, 3, 0, tzinfo=UTC)) == 0  # not yet over
    late = datetime(2026, 1, 6, 22, 59, tzinfo=UTC)  # 23:59 Copenhagen
    assert hours_over(late, datetime(2026, 1, 7, 11, 0, tzinfo=UTC)) == 12
