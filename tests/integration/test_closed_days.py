"""The municipality's closed days (rulebook `calendar.closed_days`): the default rulebook closes
Christmas Eve, New Year's Eve and Constitution Day; the legal minimum closes none. Expected
instants worked out by hand (Copenhagen is UTC+01:00 in winter)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from statemachine.phases import Notifier, Source

CPH = ZoneInfo("Europe/Copenhagen")


def test_a_receipt_skips_the_days_the_office_is_closed(cases, rows):
    # Given two professional notifications received Thursday 18 Dec 2025, one in a municipality
    # on the default rulebook (closed 24 and 31 Dec), one on the legal minimum (dk-national)
    received = datetime(2025, 12, 18, 10, tzinfo=CPH)
    default = cases.open(
        aware_at=received, source=Source.NOTIFICATION, notifier=Notifier.PROFESSIONAL
    )
    national = cases.open(
        aware_at=received,
        source=Source.NOTIFICATION,
        notifier=Notifier.PROFESSIONAL,
        municipality="national",
    )

    # Then the receipt (6 working days) is due Friday 2 Jan 2026 under the default rulebook:
    # 19, 22, 23, 29, 30 Dec and 2 Jan count; 24 Dec and 31 Dec are closed, 25–26 Dec and
    # 1 Jan are public holidays
    receipt = rows.deadlines(default.id)["acknowledgement"]
    assert receipt.due_at.astimezone(UTC) == datetime(2026, 1, 2, 22, 59, 59, tzinfo=UTC)
    # and Tuesday 30 Dec 2025 under the legal minimum (19, 22, 23, 24, 29, 30 Dec count)
    receipt = rows.deadlines(national.id)["acknowledgement"]
    assert receipt.due_at.astimezone(UTC) == datetime(2025, 12, 30, 22, 59, 59, tzinfo=UTC)
