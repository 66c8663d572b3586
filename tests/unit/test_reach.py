"""The sweep's pre-filter bound for reminders (`escalation.reach`) against the exact rule.

A reminder `span` before a deadline is due from `shift(due_at, span, backwards=True)` on
(`escalation.rungs`). The sweep reads in SQL only the deadlines due at or before `reach(span,
now, calendar)`; a reminder already due for a deadline due later would never be sent. So for
every calendar (a municipality's closed days included, however long a run they make), span,
due time and `now`: a reminder due at `now` belongs to a deadline due at or before the bound.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from statemachine.calendar import Unit, WorkingCalendar, shift
from statemachine.escalation import reach, rungs
from statemachine.rulebook import LadderStep, Span

CPH = ZoneInfo("Europe/Copenhagen")
# A three-week summer closure (Monday 6 – Friday 24 July), as a municipality may write it.
SUMMER = tuple(f"07-{day:02d}" for day in range(6, 25))


def test_a_reminder_before_a_summer_closure_is_within_the_bound():
    # Given a deadline due Monday 27 July 2026 at the end of the day, right after the closure,
    # with a reminder 2 working days before it: Thursday 2 July (the 3rd is the first working
    # day back, the 2nd the second), 25 days earlier
    calendar = WorkingCalendar(extra_closed_days=SUMMER)
    due_at = datetime(2026, 7, 27, 23, 59, 59, tzinfo=CPH)
    span = Span(amount=2, unit=Unit.WORKING_DAYS)
    step = LadderStep.model_validate({"level": "reminder", "before": span, "to": "caseworker"})
    [reminder] = rungs([step], due_at, calendar)
    assert reminder.send_after == datetime(2026, 7, 2, 23, 59, 59, tzinfo=CPH)
    # When the sweep runs on Friday 3 July at noon, the reminder being due
    now = datetime(2026, 7, 3, 12, tzinfo=CPH)
    assert reminder.send_after <= now
    # Then its bound reaches the deadline: 2 working days on from the 3rd is Tuesday 28 July
    # (the closure and two weekends skipped), at noon, plus a day
    assert reach(span, now, calendar) == datetime(2026, 7, 29, 12, tzinfo=CPH)
    assert due_at <= reach(span, now, calendar)


def _closures() -> st.SearchStrategy[tuple[str, ...]]:
    """Runs of closed days (MM-DD) of up to five weeks, anywhere in the year."""

    def run(start: int, length: int) -> tuple[str, ...]:
        first = date(2025, 1, 1) + timedelta(days=start)
        days = [first + timedelta(days=k) for k in range(length)]
        return tuple(sorted({f"{d.month:02d}-{d.day:02d}" for d in days}))

    one = st.builds(run, st.integers(0, 364), st.integers(1, 35))
    return st.lists(one, max_size=3).map(lambda runs: tuple(sorted({d for r in runs for d in r})))


@settings(max_examples=500, deadline=None)
@given(
    closed=_closures(),
    unit=st.sampled_from(list(Unit)),
    amount=st.integers(0, 30),
    due_at=st.datetimes(datetime(2024, 1, 1), datetime(2028, 12, 31), timezones=st.just(CPH)),
    late_by=st.timedeltas(timedelta(0), timedelta(days=60)),
)
# A month back from 31 March is 28 February, and a month on from there 28 March: three days
# short of the due day, which the bound's slack covers.
@example(
    closed=(),
    unit=Unit.MONTHS,
    amount=1,
    due_at=datetime(2026, 3, 31, 23, 59, 59, tzinfo=CPH),
    late_by=timedelta(0),
)
def test_every_reminder_due_now_belongs_to_a_deadline_within_the_bound(
    closed, unit, amount, due_at, late_by
):
    # Given a reminder `amount` `unit`s before a deadline, in a calendar with closed runs
    calendar = WorkingCalendar(extra_closed_days=closed)
    span = Span(amount=amount, unit=unit)
    sent_from = shift(due_at, span.duration(), backwards=True, calendar=calendar)
    # When the sweep runs at any instant from the reminder's send time on
    now = sent_from + late_by
    # Then the deadline is within the bound the sweep reads up to
    assert due_at <= reach(span, now, calendar)
