"""The deadline calculus: expected days are worked out by hand from the law and the calendar.

Reference: Copenhagen is UTC+01:00 (CET) in winter and UTC+02:00 (CEST) in summer; in 2026 the
clocks go forward on 29 March and back on 25 October. Easter Sunday 2026 is 5 April.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from wording import english_arithmetic

from statemachine.calendar import (
    COPENHAGEN,
    DANISH_CALENDAR,
    Duration,
    InstantInvalid,
    Unit,
    WorkingCalendar,
    add_months,
    add_working_days,
    due,
    end_of_local_day,
    local_date,
    parse_instant,
    shift,
    to_local,
)

CPH = ZoneInfo("Europe/Copenhagen")
PROPERTY = settings(max_examples=100, deadline=None)

DAY_BASED_UNITS = [Unit.DAYS, Unit.WEEKS, Unit.MONTHS, Unit.WORKING_DAYS]
anchor_days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
# Fixed offsets from -14:00 to +14:00 in quarter hours, plus zones with their own clock changes
# (Lord Howe moves by half an hour); cheaper than st.timezones(), which loads every zone.
any_timezone = st.one_of(
    st.builds(lambda quarters: timezone(timedelta(minutes=15 * quarters)), st.integers(-56, 56)),
    st.sampled_from(
        [UTC, CPH] + [ZoneInfo(key) for key in ("America/New_York", "Australia/Lord_Howe")]
    ),
)
aware_anchors = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31), timezones=any_timezone
)
utc_instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=CPH)


@cache
def danish_public_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("DK", years=year))


def is_hverdag(day: date) -> bool:
    """Independent oracle: Monday–Friday and not a Danish public holiday."""
    return day.weekday() < 5 and day not in danish_public_holidays(day.year)


# --- calendar months (SEL §50 stk. 7) ---------------------------------------------------------


def test_four_months_from_31_october_ends_on_last_day_of_february() -> None:
    # Given awareness on 31 Oct 2025, when the 4-month investigation limit is computed
    result = due(at_noon(date(2025, 10, 31)), Duration(4, Unit.MONTHS))
    # then it ends on the last day of February 2026 (no 31 Feb), 23:59:59 CET = 22:59:59 UTC
    assert result.due_at == datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)


def test_four_months_from_31_october_ends_on_29_february_in_a_leap_year() -> None:
    result = due(at_noon(date(2027, 10, 31)), Duration(4, Unit.MONTHS))
    assert result.due_at == datetime(2028, 2, 29, 22, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(date(2026, 1, 31), 1, date(2026, 2, 28), id="31-jan-plus-1-common-year"),
        pytest.param(date(2028, 1, 31), 1, date(2028, 2, 29), id="31-jan-plus-1-leap-year"),
        pytest.param(date(2025, 11, 30), 3, date(2026, 2, 28), id="30-nov-plus-3-common-year"),
        pytest.param(date(2027, 11, 30), 3, date(2028, 2, 29), id="30-nov-plus-3-leap-year"),
        pytest.param(date(2026, 3, 31), 1, date(2026, 4, 30), id="31-mar-plus-1"),
        pytest.param(date(2026, 1, 15), 4, date(2026, 5, 15), id="mid-month-not-clamped"),
        pytest.param(date(2026, 12, 31), 2, date(2027, 2, 28), id="across-new-year"),
        pytest.param(date(2026, 3, 31), -1, date(2026, 2, 28), id="backwards-clamped"),
        pytest.param(date(2026, 1, 31), -2, date(2025, 11, 30), id="backwards-across-new-year"),
        pytest.param(date(2026, 5, 31), 0, date(2026, 5, 31), id="zero-months"),
    ],
)
def test_calendar_months_clamp_to_the_end_of_a_shorter_month(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


def test_arithmetic_says_clamped_to_month_end_when_the_day_did_not_exist() -> None:
    result = due(at_noon(date(2025, 10, 31)), Duration(4, Unit.MONTHS))
    assert english_arithmetic(result.arithmetic) == (
        "31 Oct 2025 + 4 calendar months → 28 Feb 2026 (clamped to month end); "
        "due end of day 28 Feb 2026 23:59:59 Europe/Copenhagen"
    )


def test_arithmetic_does_not_mention_clamping_when_the_day_exists() -> None:
    result = due(at_noon(date(2026, 1, 15)), Duration(4, Unit.MONTHS))
    assert english_arithmetic(result.arithmetic).startswith(
        "15 Jan 2026 + 4 calendar months → 15 May 2026;"
    )
    assert "clamped" not in english_arithmetic(result.arithmetic)


# --- elapsed hours (Barnets Lov §136 / SEL §155) ------------------------------------------------


def test_24_hours_across_spring_forward_are_25_wall_clock_hours() -> None:
    # Given a notification at 10:00 CET (09:00 UTC) the day before the clocks go forward
    anchor = datetime(2026, 3, 28, 10, 0, tzinfo=CPH)
    # when the 24-hour assessment deadline is computed
    result = due(anchor, Duration(24, Unit.HOURS))
    # then it is 09:00 UTC next day, which the Copenhagen wall clock shows as 11:00 CEST
    assert result.due_at == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)
    assert result.due_at - anchor == timedelta(hours=24)
    assert result.due_at.astimezone(CPH).replace(tzinfo=None) == datetime(2026, 3, 29, 11, 0)
    assert english_arithmetic(result.arithmetic).startswith(
        "28 Mar 2026 10:00 CET + 24 elapsed hours → 29 Mar 2026 11:00 CEST (clock change"
    )


def test_24_hours_across_fall_back_are_23_wall_clock_hours() -> None:
    # 10:00 CEST is 08:00 UTC; 24 hours later the wall clock shows 09:00 CET
    anchor = datetime(2026, 10, 24, 10, 0, tzinfo=CPH)
    result = due(anchor, Duration(24, Unit.HOURS))
    assert result.due_at == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)
    assert result.due_at - anchor == timedelta(hours=24)
    assert result.due_at.astimezone(CPH).replace(tzinfo=None) == datetime(2026, 10, 25, 9, 0)
    assert "clock change in between" in english_arithmetic(result.arithmetic)


def test_24_hours_without_clock_change_fall_due_at_the_same_time_next_day() -> None:
    anchor = datetime(2026, 1, 5, 14, 15, tzinfo=CPH)
    result = due(anchor, Duration(24, Unit.HOURS))
    assert result.due_at == datetime(2026, 1, 6, 13, 15, tzinfo=UTC)
    assert (
        english_arithmetic(result.arithmetic)
        == "5 Jan 2026 14:15 CET + 24 elapsed hours → 6 Jan 2026 14:15 CET"
    )


# --- day-based deadlines fall due at the end of the Copenhagen day -----------------------------


def test_day_deadline_in_winter_is_due_at_22_59_59_utc() -> None:
    result = due(datetime(2026, 1, 5, 9, 0, tzinfo=CPH), Duration(10, Unit.DAYS))
    # 15 Jan 2026 23:59:59 CET (+01:00)
    assert result.due_at == datetime(2026, 1, 15, 22, 59, 59, tzinfo=UTC)
    assert result.due_at.tzinfo is UTC


def test_day_deadline_in_summer_is_due_at_21_59_59_utc() -> None:
    result = due(datetime(2026, 6, 1, 9, 0, tzinfo=CPH), Duration(10, Unit.DAYS))
    # 11 Jun 2026 23:59:59 CEST (+02:00)
    assert result.due_at == datetime(2026, 6, 11, 21, 59, 59, tzinfo=UTC)


def test_day_deadline_spanning_spring_forward_uses_the_summer_offset_of_the_due_day() -> None:
    # 20 Mar 2026 (CET) + 14 days = 3 Apr 2026 (CEST)
    result = due(datetime(2026, 3, 20, 9, 0, tzinfo=CPH), Duration(14, Unit.DAYS))
    assert result.due_at == datetime(2026, 4, 3, 21, 59, 59, tzinfo=UTC)


def test_four_weeks_from_a_monday_end_on_the_monday_four_weeks_later() -> None:
    result = due(at_noon(date(2026, 1, 5)), Duration(4, Unit.WEEKS))
    assert result.due_at == datetime(2026, 2, 2, 22, 59, 59, tzinfo=UTC)
    assert english_arithmetic(result.arithmetic).startswith(
        "5 Jan 2026 + 4 weeks (28 calendar days) → 2 Feb 2026;"
    )


def test_end_of_local_day_is_23_59_59_copenhagen_in_utc() -> None:
    assert end_of_local_day(date(2026, 1, 15)) == datetime(2026, 1, 15, 22, 59, 59, tzinfo=UTC)
    assert end_of_local_day(date(2026, 7, 15)) == datetime(2026, 7, 15, 21, 59, 59, tzinfo=UTC)


# --- the anchor's Copenhagen date counts, not its UTC date -------------------------------------


def test_late_evening_utc_anchor_counts_from_the_next_copenhagen_day() -> None:
    # Given 23:30 UTC on 5 Jan 2026, which is already 00:30 on 6 Jan in Copenhagen
    anchor = datetime(2026, 1, 5, 23, 30, tzinfo=UTC)
    # when a 1-day deadline is computed
    result = due(anchor, Duration(1, Unit.DAYS))
    # then it counts from 6 Jan and ends on 7 Jan 23:59:59 CET
    assert local_date(anchor) == date(2026, 1, 6)
    assert result.due_at == datetime(2026, 1, 7, 22, 59, 59, tzinfo=UTC)
    assert english_arithmetic(result.arithmetic).startswith(
        "6 Jan 2026 + 1 calendar day → 7 Jan 2026;"
    )
    assert "5 Jan 2026 23:30 UTC is 6 Jan 2026 00:30 CET" in english_arithmetic(result.arithmetic)


def test_late_evening_utc_anchor_in_summer_counts_months_from_the_next_copenhagen_day() -> None:
    # 22:30 UTC on 30 Jun 2026 is 00:30 CEST on 1 Jul: one month later is 1 Aug, not 30 Jul
    result = due(datetime(2026, 6, 30, 22, 30, tzinfo=UTC), Duration(1, Unit.MONTHS))
    assert result.due_at == datetime(2026, 8, 1, 21, 59, 59, tzinfo=UTC)


def test_to_local_shows_copenhagen_wall_clock() -> None:
    local = to_local(datetime(2026, 7, 1, 10, 0, tzinfo=UTC))
    assert local.replace(tzinfo=None) == datetime(2026, 7, 1, 12, 0)
    assert local.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: due(datetime(2026, 1, 5, 10), Duration(1, Unit.DAYS)), id="due"),
        pytest.param(lambda: shift(datetime(2026, 1, 5, 10), Duration(1, Unit.DAYS)), id="shift"),
        pytest.param(lambda: local_date(datetime(2026, 1, 5, 10)), id="local_date"),
    ],
)
def test_naive_datetime_is_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Duration(-1, Unit.DAYS)


@pytest.mark.parametrize(
    ("duration", "text"),
    [
        (Duration(4, Unit.MONTHS), "4 calendar months"),
        (Duration(24, Unit.HOURS), "24 hours"),
        (Duration(6, Unit.WORKING_DAYS), "6 working days"),
        (Duration(2, Unit.WEEKS), "2 weeks"),
        (Duration(1, Unit.DAYS), "1 calendar day"),
        (Duration(1, Unit("working_days")), "1 working day"),
    ],
)
def test_duration_reads_as_words(duration: Duration, text: str) -> None:
    assert duration.describe() == text


# --- working days (hverdage) ---------------------------------------------------------------


def test_six_working_days_from_friday_before_easter_skip_easter_holidays() -> None:
    # Given a professional's notification received Friday 27 Mar 2026, when the 6-working-day
    # receipt deadline is computed: Mon 30, Tue 31 Mar, Wed 1 Apr count; Maundy Thursday 2 Apr,
    # Good Friday 3 Apr, the Easter weekend and Easter Monday 6 Apr do not; Tue 7 to Thu 9 count
    result = due(datetime(2026, 3, 27, 9, 0, tzinfo=CPH), Duration(6, Unit.WORKING_DAYS))
    # then it is due Thursday 9 Apr 2026, 23:59:59 CEST
    assert result.due_at == datetime(2026, 4, 9, 21, 59, 59, tzinfo=UTC)


def test_working_day_arithmetic_names_every_skipped_day_and_its_reason() -> None:
    result = due(datetime(2026, 3, 27, 9, 0, tzinfo=CPH), Duration(6, Unit.WORKING_DAYS))
    assert english_arithmetic(result.arithmetic).startswith(
        "27 Mar 2026 + 6 working days → 9 Apr 2026, skipping "
    )
    assert "28–29 Mar (weekend)" in english_arithmetic(result.arithmetic)
    for holiday in ("Maundy Thursday", "Good Friday", "Easter Sunday", "Easter Monday"):
        assert holiday in english_arithmetic(result.arithmetic)
    assert "2–6 Apr" in english_arithmetic(result.arithmetic)


def test_working_days_report_the_days_skipped() -> None:
    due_day, skipped = add_working_days(date(2026, 3, 27), 6)
    assert due_day == date(2026, 4, 9)
    assert skipped == [
        date(2026, 3, 28),
        date(2026, 3, 29),
        date(2026, 4, 2),
        date(2026, 4, 3),
        date(2026, 4, 4),
        date(2026, 4, 5),
        date(2026, 4, 6),
    ]


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # Wed 1 Apr 2026: 2, 3 Apr holidays, 4–5 weekend, 6 Easter Monday; 7, 8, 9, 10, 13, 14 count
        pytest.param(date(2026, 4, 1), date(2026, 4, 14), id="easter-from-the-day-before"),
        # Tue 22 Dec 2026: 23, 24 count; 25, 26 Christmas, 27 Sunday; 28, 29, 30, 31 count
        pytest.param(date(2026, 12, 22), date(2026, 12, 31), id="christmas"),
        # Wed 30 Dec 2026: 31 counts; 1 Jan 2027 holiday, 2–3 weekend; 4, 5, 6, 7, 8 count
        pytest.param(date(2026, 12, 30), date(2027, 1, 8), id="new-year"),
        # Mon 11 May 2026: 12, 13 count; Ascension Thu 14 May; 15, 18, 19, 20 count
        pytest.param(date(2026, 5, 11), date(2026, 5, 20), id="ascension"),
        # Fri 22 May 2026: 23–24 weekend (Whit Sunday), Whit Monday 25; 26–29 May, 1–2 Jun count
        pytest.param(date(2026, 5, 22), date(2026, 6, 2), id="whit-monday"),
        # Thu 4 May 2023: Store Bededag Fri 5 May 2023 was still a holiday; 8–12, 15 May count
        pytest.param(date(2023, 5, 4), date(2023, 5, 15), id="store-bededag-2023"),
        # Thu 25 Apr 2024: Store Bededag (Fri 26 Apr) abolished from 2024; 26, 29, 30 Apr, 1–3 May
        pytest.param(date(2024, 4, 25), date(2024, 5, 3), id="no-store-bededag-2024"),
    ],
)
def test_six_working_days_skip_weekends_and_danish_public_holidays(
    received: date, expected: date
) -> None:
    assert add_working_days(received, 6)[0] == expected


def test_store_bededag_is_a_holiday_in_2023_but_a_working_day_from_2024() -> None:
    assert not DANISH_CALENDAR.is_working_day(date(2023, 5, 5))
    assert DANISH_CALENDAR.closed_reason(date(2023, 5, 5)) is not None
    assert DANISH_CALENDAR.is_working_day(date(2024, 4, 26))


def test_closed_reason_names_weekend_days_and_holidays() -> None:
    assert DANISH_CALENDAR.closed_reason(date(2026, 3, 28)) == "Saturday"
    assert DANISH_CALENDAR.closed_reason(date(2026, 3, 29)) == "Sunday"
    assert DANISH_CALENDAR.closed_reason(date(2026, 4, 3)) == "Good Friday"
    assert DANISH_CALENDAR.closed_reason(date(2026, 3, 30)) is None


def test_zero_working_days_is_the_anchor_day_even_on_a_saturday() -> None:
    result = due(datetime(2026, 3, 28, 10, 0, tzinfo=CPH), Duration(0, Unit.WORKING_DAYS))
    assert result.due_at == datetime(2026, 3, 28, 22, 59, 59, tzinfo=UTC)


def test_working_days_received_on_a_saturday_start_counting_on_monday() -> None:
    assert add_working_days(date(2026, 3, 28), 1) == (date(2026, 3, 30), [date(2026, 3, 29)])


def test_extra_closed_days_are_skipped_like_holidays() -> None:
    # Given a municipality closed on Christmas Eve and New Year's Eve
    closed = WorkingCalendar(extra_closed_days=("12-24", "12-31"))
    # when 6 working days are counted from Tue 22 Dec 2026: 23 Dec, 28, 29, 30 Dec, 4, 5 Jan count
    result = due(datetime(2026, 12, 22, 10, 0, tzinfo=CPH), Duration(6, Unit.WORKING_DAYS), closed)
    # then it is due Tue 5 Jan 2027 and the text says why 24 and 31 Dec were skipped
    assert result.due_at == datetime(2027, 1, 5, 22, 59, 59, tzinfo=UTC)
    assert "24–27 Dec (extra closed day, Christmas Day" in english_arithmetic(result.arithmetic)
    assert "31 Dec 2026–3 Jan 2027 (extra closed day, New Year's Day" in english_arithmetic(
        result.arithmetic
    )


def test_constitution_day_can_be_added_as_a_closed_day() -> None:
    closed = WorkingCalendar(extra_closed_days=("06-05",))
    # Thu 4 Jun 2026 + 1: Fri 5 Jun closed, weekend, Mon 8 Jun
    assert add_working_days(date(2026, 6, 4), 1, closed)[0] == date(2026, 6, 8)
    assert add_working_days(date(2026, 6, 4), 1)[0] == date(2026, 6, 5)


@pytest.mark.parametrize("bad", ["12/24", "2-29", "13-01", "02-30", "1224"])
def test_malformed_extra_closed_day_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="MM-DD"):
        WorkingCalendar(extra_closed_days=(bad,))


# --- shift: reminders and escalations -------------------------------------------------------


def test_reminder_14_days_before_due_keeps_the_end_of_day_time() -> None:
    due_at = datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC)  # 28 Feb 2026 23:59:59 CET
    reminder = shift(due_at, Duration(14, Unit.DAYS), backwards=True)
    assert reminder == datetime(2026, 2, 14, 22, 59, 59, tzinfo=UTC)
    assert reminder.tzinfo is UTC


def test_shifting_one_day_across_spring_forward_keeps_the_wall_clock_time() -> None:
    start = datetime(2026, 3, 28, 10, 0, tzinfo=CPH)  # 09:00 UTC
    assert shift(start, Duration(1, Unit.DAYS)) == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
    assert shift(start, Duration(24, Unit.HOURS)) == datetime(2026, 3, 29, 9, 0, tzinfo=UTC)


def test_escalation_one_month_after_31_january_is_28_february_same_time() -> None:
    start = datetime(2026, 1, 31, 9, 0, tzinfo=CPH)
    assert shift(start, Duration(1, Unit.MONTHS)) == datetime(2026, 2, 28, 8, 0, tzinfo=UTC)


def test_two_working_days_before_the_tuesday_after_easter_is_the_tuesday_before() -> None:
    # Back from Tue 7 Apr 2026: Easter Monday, the weekend, Good Friday and Maundy Thursday are
    # skipped; Wed 1 Apr is the first working day back, Tue 31 Mar the second
    start = datetime(2026, 4, 7, 10, 0, tzinfo=CPH)
    moved = shift(start, Duration(2, Unit.WORKING_DAYS), backwards=True)
    assert moved == datetime(2026, 3, 31, 8, 0, tzinfo=UTC)


def test_shift_into_the_skipped_spring_hour_lands_an_hour_later() -> None:
    # 02:30 does not exist on 29 Mar 2026; read with the winter offset it is 01:30 UTC (03:30 CEST)
    start = datetime(2026, 3, 28, 2, 30, tzinfo=CPH)
    assert shift(start, Duration(1, Unit.DAYS)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_shift_into_the_repeated_autumn_hour_takes_the_first_occurrence() -> None:
    # 02:30 happens twice on 25 Oct 2026; the first is 02:30 CEST = 00:30 UTC
    start = datetime(2026, 10, 24, 2, 30, tzinfo=CPH)
    assert shift(start, Duration(1, Unit.DAYS)) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


# --- properties ------------------------------------------------------------------------------


@PROPERTY
@given(day=anchor_days, months=st.integers(min_value=0, max_value=120))
def test_months_due_day_is_never_before_anchor_and_clamps_to_month_length(
    day: date, months: int
) -> None:
    due_day = due(at_noon(day), Duration(months, Unit.MONTHS)).due_at.astimezone(CPH).date()
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    days_in_target_month = stdlib_calendar.monthrange(year, month_index + 1)[1]
    assert due_day >= day
    assert (due_day.year, due_day.month) == (year, month_index + 1)
    assert due_day.day == min(day.day, days_in_target_month)


@PROPERTY
@given(day=anchor_days, n=st.integers(min_value=1, max_value=40))
def test_working_days_due_day_is_the_nth_hverdag_after_the_anchor(day: date, n: int) -> None:
    due_day = due(at_noon(day), Duration(n, Unit.WORKING_DAYS)).due_at.astimezone(CPH).date()
    assert due_day > day
    assert is_hverdag(due_day)
    days_between = [day + timedelta(days=i) for i in range(1, (due_day - day).days + 1)]
    assert sum(is_hverdag(d) for d in days_between) == n


@PROPERTY
@given(anchor=aware_anchors, hours=st.integers(min_value=0, max_value=24 * 400))
def test_hours_due_is_exactly_n_elapsed_hours_after_any_aware_anchor(
    anchor: datetime, hours: int
) -> None:
    result = due(anchor, Duration(hours, Unit.HOURS))
    assert result.due_at.utcoffset() == timedelta(0)
    assert result.due_at - anchor == timedelta(hours=hours)


@PROPERTY
@given(
    anchor=aware_anchors,
    unit=st.sampled_from(DAY_BASED_UNITS),
    amount=st.integers(min_value=0, max_value=60),
)
def test_day_based_deadlines_fall_due_at_23_59_59_copenhagen(
    anchor: datetime, unit: Unit, amount: int
) -> None:
    result = due(anchor, Duration(amount, unit))
    local_due = result.due_at.astimezone(CPH)
    assert result.due_at.tzinfo is UTC
    assert local_due.time() == time(23, 59, 59)
    assert local_due.date() >= anchor.astimezone(CPH).date()


@PROPERTY
@given(instant=aware_anchors, hours=st.integers(min_value=0, max_value=24 * 400))
def test_shifting_hours_forward_then_back_returns_the_same_instant(
    instant: datetime, hours: int
) -> None:
    duration = Duration(hours, Unit.HOURS)
    # Compared in UTC: PEP 495 makes a wall time in a DST gap unequal to every other-zone instant.
    assert shift(shift(instant, duration), duration, backwards=True) == instant.astimezone(UTC)


def wall_time_exists(day: date, wall: time) -> bool:
    naive = datetime.combine(day, wall)
    return naive.replace(tzinfo=CPH).astimezone(UTC).astimezone(CPH).replace(tzinfo=None) == naive


def is_second_occurrence(local: datetime) -> bool:
    """The later of the two identical wall-clock times in the night the clocks go back."""
    return local.replace(fold=0).utcoffset() != local.utcoffset()


@PROPERTY
@given(instant=utc_instants, days=st.integers(min_value=0, max_value=400))
@example(instant=datetime(2026, 10, 25, 0, 30, tzinfo=UTC), days=7)  # first 02:30 of the night
@example(instant=datetime(2026, 3, 28, 1, 30, tzinfo=UTC), days=2)  # 02:30 either side of the gap
def test_shifting_days_forward_then_back_returns_the_same_instant(
    instant: datetime, days: int
) -> None:
    # A moved wall time keeps no memory of which of two identical autumn times it came from, so
    # only the first occurrence comes back unchanged (see the shift docstring).
    local = instant.astimezone(CPH)
    assume(not is_second_occurrence(local))
    assume(wall_time_exists(local.date() + timedelta(days=days), local.time()))
    duration = Duration(days, Unit.DAYS)
    assert shift(shift(instant, duration), duration, backwards=True) == instant


def test_copenhagen_constant_is_europe_copenhagen() -> None:
    assert COPENHAGEN.key == "Europe/Copenhagen"


# --- instants without an offset: Copenhagen wall-clock time ------------------------------------


def test_a_local_time_without_offset_is_copenhagen_time() -> None:
    # 1 March 2026 09:30 in Copenhagen is winter time (+01:00): 08:30 UTC
    assert parse_instant("2026-03-01T09:30") == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    # and 1 July 09:30 summer time (+02:00): 07:30 UTC
    assert parse_instant("2026-07-01T09:30") == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)


def test_a_local_time_the_clocks_skip_is_refused() -> None:
    # 29 March 2026: at 02:00 the clocks jump to 03:00, so 02:30 never happens in Copenhagen
    with pytest.raises(InstantInvalid) as refused:
        parse_instant("2026-03-29T02:30")
    assert refused.value.kind == "nonexistent"


def test_a_local_time_that_happens_twice_asks_for_the_offset() -> None:
    # 25 October 2026: at 03:00 the clocks go back to 02:00, so 02:30 happens twice
    with pytest.raises(InstantInvalid) as refused:
        parse_instant("2026-10-25T02:30")
    assert refused.value.kind == "ambiguous"
    # With the offset it names one instant: the first (summer time) or the second (winter time)
    assert parse_instant("2026-10-25T02:30+02:00") == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert parse_instant("2026-10-25T02:30+01:00") == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


def test_text_that_is_no_date_time_is_refused() -> None:
    with pytest.raises(InstantInvalid) as refused:
        parse_instant("tomorrow")
    assert refused.value.kind == "not_iso"


def test_a_day_counted_from_easter_is_closed_every_year() -> None:
    # Given a municipality closed on the Friday after Ascension Day (Easter Sunday + 40)
    closed = WorkingCalendar(easter_days=(40,))
    # Easter Sunday 2026 is 5 April: Ascension Day Thu 14 May (a holiday), the Friday 15 May
    # closed; one working day after Wed 13 May is Mon 18 May
    assert add_working_days(date(2026, 5, 13), 1, closed)[0] == date(2026, 5, 18)
    assert add_working_days(date(2026, 5, 13), 1)[0] == date(2026, 5, 15)
    # Easter Sunday 2027 is 28 March: the Friday after Ascension Day is 7 May, and Friday
    # 14 May 2027 is a working day (the day moves with Easter)
    assert not closed.is_working_day(date(2027, 5, 7))
    assert closed.is_working_day(date(2027, 5, 14))


def test_a_single_date_is_closed_in_its_year_only() -> None:
    closed = WorkingCalendar(closed_dates=("2026-06-12",))
    # Fri 12 Jun 2026 closed: one working day after Thu 11 Jun is Mon 15 Jun
    assert add_working_days(date(2026, 6, 11), 1, closed)[0] == date(2026, 6, 15)
    # Thu 12 Jun 2025 and Fri 12 Jun 2020 were working days
    assert closed.is_working_day(date(2025, 6, 12))
    assert closed.is_working_day(date(2020, 6, 12))


@pytest.mark.parametrize("bad", ["2026-02-30", "2026-5-15", "15-05-2026"])
def test_an_impossible_closed_date_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        WorkingCalendar(closed_dates=(bad,))
