"""The rules behind sessions that end and sign-in pauses, without a database: when a session is
alive, when failures pause signing in and until when, and which address failures count by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sagsflow.usecases.sessions import Lifetime
from sagsflow.usecases.signin import Paused, Throttle, client_address

NOON = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)


def _at(*minutes: float) -> list[datetime]:
    return [NOON + timedelta(minutes=m) for m in minutes]


def test_a_session_lives_30_idle_minutes_and_12_hours_at_most() -> None:
    lifetime = Lifetime()
    assert lifetime.alive(created_at=NOON, last_seen_at=NOON, now=NOON + timedelta(minutes=30))
    assert not lifetime.alive(
        created_at=NOON, last_seen_at=NOON, now=NOON + timedelta(minutes=30, seconds=1)
    )
    late = NOON + timedelta(hours=12)
    assert lifetime.alive(created_at=NOON, last_seen_at=late, now=late)
    assert not lifetime.alive(created_at=NOON, last_seen_at=late, now=late + timedelta(seconds=1))
    assert Lifetime(idle=timedelta(minutes=5)).alive(
        created_at=NOON, last_seen_at=NOON, now=NOON + timedelta(minutes=5)
    )


def test_the_fifth_failure_within_15_minutes_pauses_for_15_minutes_from_it() -> None:
    throttle = Throttle()
    assert throttle.paused_until([]) is None
    assert throttle.paused_until(_at(0, 1, 2, 3)) is None  # four
    assert throttle.paused_until(_at(0, 1, 2, 3, 4)) == NOON + timedelta(minutes=19)
    # five within 14:59 pause; five 15:00 apart do not ("within 15 minutes")
    assert throttle.paused_until(_at(0, 1, 2, 3, 14.99)) is not None
    assert throttle.paused_until(_at(0, 1, 2, 3, 15)) is None
    # the latest pause counts: a sixth failure later on, with four before it within 15 minutes
    assert throttle.paused_until(_at(0, 1, 2, 3, 4, 5)) == NOON + timedelta(minutes=20)
    assert throttle.paused_until(_at(0, 1, 2, 3, 4, 30)) == NOON + timedelta(minutes=19)


def test_the_limits_are_the_throttles() -> None:
    throttle = Throttle(failures=3, window=timedelta(minutes=1), pause=timedelta(hours=1))
    assert throttle.paused_until(_at(0, 0.5, 0.9)) == NOON + timedelta(minutes=60.9)
    assert throttle.paused_until(_at(0, 0.5, 1)) is None


def test_a_pause_is_worded_in_whole_minutes_rounded_up() -> None:
    assert [Paused(s).minutes for s in (900, 899, 61, 60, 1)] == [15, 15, 2, 1, 1]


@pytest.mark.parametrize(
    ("host", "counted"),
    [
        ("10.1.2.3", "10.1.2.3"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("testclient", "testclient"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_failures_count_by_the_address_and_an_ipv6_one_by_its_64(
    host: str | None, counted: str
) -> None:
    assert client_address(host) == counted
