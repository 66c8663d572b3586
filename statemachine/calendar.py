"""The deadline calculus: when a legal or service-level deadline falls due, and why.

Pure: no I/O and no clock. Instants arrive as aware datetimes and leave in UTC; Europe/Copenhagen
is used only to decide which calendar day an instant belongs to and what the wall clock shows.

Hour deadlines count elapsed time (Barnets Lov §136 / SEL §155: "within 24 hours" is 24 hours of
real time, 23 or 25 on the wall clock across a clock change). Every other unit counts days of the
Copenhagen calendar, and the deadline falls due at the end of the due day, 23:59:59 local time.
An age limit counts a child's birthdays (`age_limit_due`): due at the end of the day before the
birthday past the measure's age range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.easter import easter

COPENHAGEN: ZoneInfo = ZoneInfo("Europe/Copenhagen")

_END_OF_DAY = time(23, 59, 59)
_WEEKEND = frozenset({"Saturday", "Sunday"})


class Unit(StrEnum):
    """How a duration is counted."""

    # Barnets Lov §136 / SEL §155: elapsed hours, so 24 hours across a DST change are 23 or 25
    # wall-clock hours.
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    # SEL §50 stk. 7: calendar months, clamped at month end (31 Oct + 4 months = 28/29 Feb).
    MONTHS = "months"
    # Retssikkerhedsloven, the receipt to a professional (SEL §155 b stk. 1): hverdage are Monday–Friday without
    # Danish public holidays.
    WORKING_DAYS = "working_days"


_UNIT_NOUNS: Mapping[Unit, tuple[str, str]] = {
    Unit.HOURS: ("hour", "hours"),
    Unit.DAYS: ("calendar day", "calendar days"),
    Unit.WEEKS: ("week", "weeks"),
    Unit.MONTHS: ("calendar month", "calendar months"),
    Unit.WORKING_DAYS: ("working day", "working days"),
}


@dataclass(frozen=True)
class Duration:
    """A non-negative amount of one unit, e.g. 4 calendar months or 6 working days."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"a duration's amount must be a whole number, got {self.amount!r}")
        if not isinstance(self.unit, Unit):
            # Rulebooks are YAML: accept the unit's value ("months") as well as the member.
            object.__setattr__(self, "unit", Unit(self.unit))
        if self.amount < 0:
            raise ValueError(f"a duration cannot be negative, got {self.amount} {self.unit}")

    def describe(self) -> str:
        """The duration in words: "4 calendar months", "24 hours", "1 working day"."""
        singular, plural = _UNIT_NOUNS[self.unit]
        return f"{self.amount} {singular if self.amount == 1 else plural}"


@cache
def _public_holidays(country: str, year: int, language: str = "en_US") -> Mapping[date, str]:
    # The language is explicit so that names never depend on the process locale.
    return dict(holidays.country_holidays(country, years=year, language=language))


def holiday_name(day: date, language: str, country: str = "DK") -> str | None:
    """The public holiday on `day` by its name in `language` ("da", "en_US"), or None."""
    return _public_holidays(country, day.year, language).get(day)


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days count as working days."""

    country: str = "DK"
    # "MM-DD" days closed every year besides public holidays, e.g. ("06-05", "12-24", "12-31").
    extra_closed_days: tuple[str, ...] = ()
    # Single closed dates, "YYYY-MM-DD" (e.g. a municipality's one-off closure).
    closed_dates: tuple[str, ...] = ()
    # Days closed every year counted from Easter Sunday (e.g. 40: the day after Ascension Day).
    easter_days: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.country not in holidays.list_supported_countries():
            raise ValueError(f"no public-holiday calendar for country {self.country!r}")
        # A list from a YAML rulebook would make the frozen dataclass unhashable.
        object.__setattr__(self, "extra_closed_days", tuple(self.extra_closed_days))
        object.__setattr__(self, "closed_dates", tuple(self.closed_dates))
        object.__setattr__(self, "easter_days", tuple(self.easter_days))
        for closed_day in self.extra_closed_days:
            if not _is_month_day(closed_day):
                raise ValueError(
                    f"extra closed day must be written MM-DD, e.g. '12-24', got {closed_day!r}"
                )
        for closed_date in self.closed_dates:
            if not _is_date(closed_date):
                raise ValueError(
                    f"a closed date must be written YYYY-MM-DD, e.g. '2026-05-15', got "
                    f"{closed_date!r}"
                )

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is a working day (hverdag): Monday–Friday, not a holiday, not closed."""
        return self.closed_kind(day) is None

    def closed_kind(self, day: date) -> str | None:
        """Why `day` is not a working day: `holiday` (wins over the weekday), `saturday`,
        `sunday` or `extra_closed_day`; None on a working day."""
        if day in _public_holidays(self.country, day.year):
            return "holiday"
        if day.weekday() == 5:
            return "saturday"
        if day.weekday() == 6:
            return "sunday"
        if f"{day.month:02d}-{day.day:02d}" in self.extra_closed_days:
            return "extra_closed_day"
        if self.closed_dates and day in _dates(self.closed_dates):
            return "extra_closed_day"
        if self.easter_days and (day - easter(day.year)).days in self.easter_days:
            return "extra_closed_day"
        return None

    def closed_reason(self, day: date) -> str | None:
        """Why `day` is not a working day, in English ("Saturday", "Good Friday", "extra closed
        day"); None on a working day. A public holiday's name wins over the weekday."""
        kind = self.closed_kind(day)
        if kind == "holiday":
            return holiday_name(day, "en_US", self.country)
        return {"saturday": "Saturday", "sunday": "Sunday"}.get(
            kind or "", kind and "extra closed day"
        )


DANISH_CALENDAR: WorkingCalendar = WorkingCalendar()


@cache
def _dates(closed_dates: tuple[str, ...]) -> frozenset[date]:
    return frozenset(date.fromisoformat(d) for d in closed_dates)


def _is_date(text: str) -> bool:
    if len(text) != 10:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_month_day(text: str) -> bool:
    if len(text) != 5 or text[2] != "-":
        return False
    try:
        date.fromisoformat(f"2000-{text}")  # a leap year, so "02-29" is accepted
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ClosedDay:
    """A day that is not a working day, and why: `saturday`, `sunday`, `holiday` (a Danish
    public holiday, named by `holiday_name`) or `extra_closed_day` (the rulebook's)."""

    day: date
    kind: str


@dataclass(frozen=True)
class HoursArithmetic:
    """Elapsed hours: from `start` (UTC) `hours` later is `due` (UTC)."""

    start: datetime
    hours: int
    due: datetime

    @property
    def wall_hours(self) -> float | None:
        """The hours the Copenhagen wall clock shows in between, when a clock change makes
        them differ from the elapsed hours; None otherwise."""
        start_local, due_local = to_local(self.start), to_local(self.due)
        if start_local.utcoffset() == due_local.utcoffset():
            return None
        delta = due_local.replace(tzinfo=None) - start_local.replace(tzinfo=None)
        return delta / timedelta(hours=1)


@dataclass(frozen=True)
class DaysArithmetic:
    """Calendar counting: from the Copenhagen date `start_day`, `amount` `unit`s is `due_day`;
    due at 23:59:59 Copenhagen time that day.

    `clamped`: a month count landed on a day the target month lacks, so its end. `skipped`: the
    non-working days a working-day count stepped over, in order. `anchor`: the anchor instant,
    when its UTC date is not its Copenhagen date (the Copenhagen date counts).
    """

    start_day: date
    amount: int
    unit: Unit
    due_day: date
    clamped: bool = False
    skipped: tuple[ClosedDay, ...] = ()
    anchor: datetime | None = None


@dataclass(frozen=True)
class AgeArithmetic:
    """An age limit: a child born `birth_day` may have the measure up to and including the age
    `max_age`, turns `max_age + 1` on `birthday` (`birthday`: 1 March for a child born 29
    February, in a year that is not a leap year) and leaves the range then; due at 23:59:59
    Copenhagen time on `due_day`, the day before. `expected`: `birth_day` is the expected date
    of a child not yet born."""

    birth_day: date
    max_age: int
    birthday: date
    due_day: date
    expected: bool = False
    # A duty due this many calendar months before the birthday (Barnets Lov §111 stk. 1: the
    # decision on support for a young person 6 months before a placement ends at 18); 0: the
    # day before it, as an age limit.
    before_months: int = 0


Arithmetic = HoursArithmetic | DaysArithmetic | AgeArithmetic


@dataclass(frozen=True)
class DueDate:
    """When a deadline falls due and the arithmetic that got there, for caseworkers and audit
    (`sagsflow.present.explanations` words it)."""

    due_at: datetime
    arithmetic: Arithmetic


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime, got naive {instant.isoformat()}; "
            "attach a tzinfo (UTC in storage, Europe/Copenhagen at the edges)"
        )


def to_local(instant: datetime) -> datetime:
    """The aware `instant` as Europe/Copenhagen wall-clock time; naive datetimes are refused."""
    _require_aware(instant, "instant")
    return instant.astimezone(COPENHAGEN)


def local_date(instant: datetime) -> date:
    """The Copenhagen calendar date of an aware instant (23:30 UTC on 5 Jan is 6 Jan locally)."""
    return to_local(instant).date()


def end_of_local_day(day: date) -> datetime:
    """23:59:59 Europe/Copenhagen on `day`, returned in UTC.

    That is 22:59:59 UTC in winter (+01:00) and 21:59:59 UTC in summer (+02:00).

    Clock changes in Copenhagen happen in the small hours, so 23:59:59 always exists exactly once.
    """
    return datetime.combine(day, _END_OF_DAY, tzinfo=COPENHAGEN).astimezone(UTC)


def start_of_local_day(day: date) -> datetime:
    """00:00 Europe/Copenhagen on `day`, returned in UTC (clock changes happen at 02:00 or
    03:00, so midnight always exists exactly once)."""
    return datetime.combine(day, time(0), tzinfo=COPENHAGEN).astimezone(UTC)


def _days_in_month(year: int, month: int) -> int:
    first_of_next = date(year + month // 12, month % 12 + 1, 1)
    return (first_of_next - timedelta(days=1)).day


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped at month end; `months` may be negative.

    SEL §50 stk. 7 counts calendar months: 31 Oct + 4 months = 28 Feb (29 Feb in a leap year).
    """
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = month_index + 1
    return date(year, month, min(day.day, _days_in_month(year, month)))


def add_working_days(
    day: date, n: int, calendar: WorkingCalendar = DANISH_CALENDAR
) -> tuple[date, list[date]]:
    """The n-th working day after `day` (not counted itself) and the non-working days skipped.

    0 working days is `day` itself, whatever weekday it is. A negative `n` counts backwards to the
    n-th working day before `day`. Skipped days are returned in chronological order.
    """
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    current = day
    skipped: list[date] = []
    while remaining:
        current += step
        if calendar.is_working_day(current):
            remaining -= 1
        else:
            skipped.append(current)
    skipped.sort()
    return current, skipped


def _move_day(day: date, duration: Duration, sign: int, calendar: WorkingCalendar) -> date:
    amount = sign * duration.amount
    match duration.unit:
        case Unit.DAYS:
            return day + timedelta(days=amount)
        case Unit.WEEKS:
            return day + timedelta(weeks=amount)
        case Unit.MONTHS:
            return add_months(day, amount)
        case Unit.WORKING_DAYS:
            return add_working_days(day, amount, calendar)[0]
        case Unit.HOURS:
            raise ValueError("hours are elapsed time, not calendar days")


def due(
    anchor: datetime, duration: Duration, calendar: WorkingCalendar = DANISH_CALENDAR
) -> DueDate:
    """When a deadline of `duration` counted from `anchor` falls due.

    `anchor` must be aware. Hours are elapsed time and fall due exactly then; every other unit
    counts from the anchor's Copenhagen date and falls due at 23:59:59 Copenhagen time on the due
    day. `due_at` is in UTC.
    """
    _require_aware(anchor, "anchor")
    if duration.unit is Unit.HOURS:
        # Barnets Lov §136 / SEL §155: 24 hours are elapsed hours, so count in absolute time.
        start = anchor.astimezone(UTC)
        due_at = start + timedelta(hours=duration.amount)
        return DueDate(due_at, HoursArithmetic(start, duration.amount, due_at))
    start_day = local_date(anchor)
    due_day = _move_day(start_day, duration, 1, calendar)
    skipped: tuple[ClosedDay, ...] = ()
    if duration.unit is Unit.WORKING_DAYS:
        _, days = add_working_days(start_day, duration.amount, calendar)
        skipped = tuple(ClosedDay(d, calendar.closed_kind(d) or "") for d in days)
    arithmetic = DaysArithmetic(
        start_day=start_day,
        amount=duration.amount,
        unit=duration.unit,
        due_day=due_day,
        # SEL §50 stk. 7: a calendar month ending on a day the target month lacks ends at its end.
        clamped=duration.unit is Unit.MONTHS and due_day.day != start_day.day,
        skipped=skipped,
        anchor=None if anchor.date() == start_day else anchor,
    )
    return DueDate(due_at=end_of_local_day(due_day), arithmetic=arithmetic)


def birthday(birth_day: date, age: int) -> date:
    """The first day on which a child born `birth_day` is `age` years old (as
    `statemachine.consent.age_on` counts completed years): the same day and month, and for a
    child born 29 February 1 March in a year that is not a leap year."""
    try:
        return birth_day.replace(year=birth_day.year + age)
    except ValueError:
        return date(birth_day.year + age, 3, 1)


def age_limit_due(birth_day: date, max_age: int, *, expected: bool = False) -> DueDate:
    """When a measure for ages up to `max_age` ends for a child born `birth_day`: at the end of
    the day before the birthday on which the child turns `max_age + 1` (the range is in
    completed years, both ends included, `statemachine.rulebook.AgeRange`). Not moved off a
    weekend or a holiday: the child leaves the range on the birthday whatever the calendar."""
    turns = birthday(birth_day, max_age + 1)
    due_day = turns - timedelta(days=1)
    arithmetic = AgeArithmetic(birth_day, max_age, turns, due_day, expected)
    return DueDate(due_at=end_of_local_day(due_day), arithmetic=arithmetic)


def before_birthday_due(birth_day: date, age: int, months: int) -> DueDate:
    """When a duty due `months` calendar months before the birthday on which a child born
    `birth_day` turns `age` falls due: at the end of that day (clamped at month end: 6 months
    before 31 August is 28 or 29 February)."""
    turns = birthday(birth_day, age)
    due_day = add_months(turns, -months)
    arithmetic = AgeArithmetic(birth_day, age - 1, turns, due_day, before_months=months)
    return DueDate(due_at=end_of_local_day(due_day), arithmetic=arithmetic)


def shift(
    instant: datetime,
    duration: Duration,
    *,
    backwards: bool = False,
    calendar: WorkingCalendar = DANISH_CALENDAR,
) -> datetime:
    """The instant `duration` after (or before) `instant`, in UTC, for reminders and escalations.

    E.g. a reminder 14 days before due, an escalation 7 days after the breach. Hours are elapsed
    time. Days, weeks, months and working days move the Copenhagen date and keep the Copenhagen
    time of day, read with zoneinfo fold=0 (PEP 495): a time that occurs twice when the clocks go
    back (02:00–02:59 on the last Sunday of October) means its first occurrence, summer time; a
    time skipped when the clocks go forward (02:00–02:59 on the last Sunday of March) is read with
    the winter offset, so it lands one hour later on the summer clock (02:30 → 03:30 CEST).
    Hence moving from the second 02:30 of an autumn night and back returns the first one.
    """
    _require_aware(instant, "instant")
    sign = -1 if backwards else 1
    if duration.unit is Unit.HOURS:
        return instant.astimezone(UTC) + sign * timedelta(hours=duration.amount)
    local = to_local(instant)
    moved_day = _move_day(local.date(), duration, sign, calendar)
    wall_clock = datetime.combine(moved_day, local.time().replace(fold=0), tzinfo=COPENHAGEN)
    return wall_clock.astimezone(UTC)


def local_iso(instant: datetime | None) -> str | None:
    """ISO 8601 with the Europe/Copenhagen offset: how every instant leaves the system."""
    return None if instant is None else to_local(instant).isoformat()


# The instants and days a person can mean: 1900 to 2999. Outside it Python's datetime overflows
# (year 1 less an offset, year 9999 plus one), and no child-welfare fact lies there.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, tzinfo=UTC)
# An instant as text, as the API and the event data take it: ISO 8601 date and time (seconds and
# fraction optional), the offset optional (then Copenhagen time), years 1900-2999; never a number.
INSTANT_PATTERN = (
    r"^(?:19|2[0-9])[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
    r"[Tt ](?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,9})?)?"
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?$"
)
# A day as text: YYYY-MM-DD, years 1900-2999.
DAY_PATTERN = r"^(?:19|2[0-9])[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$"


def within_range(instant: datetime) -> bool:
    """Whether an aware instant lies in EARLIEST..LATEST."""
    return EARLIEST <= instant <= LATEST


class InstantInvalid(ValueError):
    """Text that is no date-time (`not_iso`), one outside 1900-2999 (`out_of_range`), or a local
    time that names no instant (`nonexistent`) or two (`ambiguous`: give the offset)."""

    def __init__(self, kind: str, text: str, message: str) -> None:
        self.kind = kind
        self.text = text
        super().__init__(message)


def localize(naive: datetime) -> datetime:
    """A Copenhagen wall-clock time without an offset as the UTC instant it names.

    A time the clocks skip (02:00–02:59 on the last Sunday of March) names no instant and is
    refused; a time they show twice (02:00–02:59 on the last Sunday of October) names two, so
    the caller must give the offset (+02:00 for the first, +01:00 for the second).
    """
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    first = naive.replace(tzinfo=COPENHAGEN, fold=0)
    second = naive.replace(tzinfo=COPENHAGEN, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first.astimezone(UTC)
    if first.astimezone(UTC).astimezone(COPENHAGEN).replace(tzinfo=None) != naive:
        raise InstantInvalid(
            "nonexistent",
            naive.isoformat(),
            f"{naive.isoformat()} does not exist in Copenhagen (the clocks skip it when summer "
            "time begins)",
        )
    raise InstantInvalid(
        "ambiguous",
        naive.isoformat(),
        f"{naive.isoformat()} occurs twice in Copenhagen (the clocks go back): give the offset, "
        f"{naive.isoformat()}+02:00 (summer time) or {naive.isoformat()}+01:00 (winter time)",
    )


def parse_instant(text: str) -> datetime:
    """ISO 8601 text as a UTC instant; without an offset it is Copenhagen wall-clock time.

    Raises InstantInvalid for text that is no date-time, for one outside EARLIEST..LATEST (the
    year is checked before any arithmetic: 0001-01-01T00:00 less an hour overflows), and for
    local times that name no instant or two (`localize`).
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InstantInvalid(
            "not_iso",
            text,
            f"{text!r} is not an ISO 8601 date-time (e.g. 2026-03-01T09:30:00+01:00)",
        ) from None
    out_of_range = InstantInvalid(
        "out_of_range", text, f"{text!r} does not lie between 1900-01-01 and 2999-12-31"
    )
    if not EARLIEST.year <= parsed.year <= LATEST.year:
        raise out_of_range
    instant = localize(parsed)
    if not within_range(instant):
        raise out_of_range
    return instant
