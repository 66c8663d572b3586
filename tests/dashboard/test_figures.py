"""Kept figures: fresh ones served, stale ones served while recomputed, first ones computed once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from sagsflow.dashboard.figures import Figures

NOW = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)


class Counter:
    def __init__(self, pause: float = 0.0, fail_after: int | None = None) -> None:
        self.calls = 0
        self.pause = pause
        self.fail_after = fail_after
        self.lock = threading.Lock()

    def __call__(self) -> int:
        with self.lock:
            self.calls += 1
            calls = self.calls
        time.sleep(self.pause)
        if self.fail_after is not None and calls > self.fail_after:
            raise RuntimeError("database gone")
        return calls


def _wait_for(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_without_keeping_every_request_computes() -> None:
    figures, compute = Figures(0, clock=lambda: NOW), Counter()
    assert [figures.get("k", compute)[0] for _ in range(3)] == [1, 2, 3]
    assert figures.get("k", compute)[1] == NOW


def test_a_fresh_figure_is_served_and_a_stale_one_served_while_recomputed() -> None:
    figures, compute = Figures(0.2, clock=lambda: NOW), Counter()
    assert figures.get("k", compute)[0] == 1
    assert figures.get("k", compute)[0] == 1
    assert figures.get("other", compute)[0] == 2  # keys apart
    time.sleep(0.25)
    assert figures.get("k", compute)[0] == 1  # stale, at once; recomputed behind
    _wait_for(lambda: figures.get("k", compute)[0] == 3)


def test_concurrent_first_requests_compute_once() -> None:
    figures, compute = Figures(60, clock=lambda: NOW), Counter(pause=0.2)
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(figures.get("k", compute)[0]))
        for _ in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [1] * 5 and compute.calls == 1


def test_a_failed_recomputation_keeps_the_older_figure() -> None:
    figures, compute = Figures(0.05, clock=lambda: NOW), Counter(fail_after=1)
    assert figures.get("k", compute)[0] == 1
    time.sleep(0.1)
    assert figures.get("k", compute)[0] == 1
    _wait_for(lambda: compute.calls >= 2)
    time.sleep(0.05)
    assert figures.get("k", compute)[0] == 1  # served again, another try started


def test_a_slow_first_figure_is_not_waited_for_beyond_the_budget() -> None:
    figures, compute = Figures(60, clock=lambda: NOW), Counter(pause=0.5)
    started = time.monotonic()
    assert figures.get("k", compute, wait=0.05) is None
    assert time.monotonic() - started < 0.4
    _wait_for(lambda: figures.get("k", compute, wait=0.05) is not None)
    assert compute.calls == 1


def test_a_failed_first_figure_is_raised_to_the_request_that_waited() -> None:
    figures, compute = Figures(60, clock=lambda: NOW), Counter(fail_after=0)
    try:
        figures.get("k", compute)
    except RuntimeError as error:
        assert "database gone" in str(error)
    else:
        raise AssertionError("the failure was swallowed")
