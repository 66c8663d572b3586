"""Figures that take a pass over a whole scope (counts per phase, stuck cases, shares on time,
the weekly trend) are kept for a short while per scope, so that a page never waits for them
twice: at a million cases one such pass takes seconds, a page must answer in milliseconds.

A figure younger than `fresh` seconds is served as it is. An older one is still served at once,
while one background thread computes it again (stale-while-revalidate); only the very first
request for a scope waits for the computation — at most `WAIT` seconds, then the page is sent
without the figure — and concurrent first requests wait for the same one. Lists (the page of stuck cases, the most overdue deadlines) are never kept: they come from
LIMITed, indexed queries on each request. `fresh=0` turns keeping off (tests).

A computation must read the clock itself (it may run later, in the background), never a `now`
captured from the request that first asked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")
# How long a request waits for a figure computed for the first time before the page is sent
# without it ("being computed"): small databases answer well within it.
WAIT = 0.25


@dataclass
class _Entry:
    value: Any
    at: float  # monotonic time of the computation
    computed_at: datetime  # wall-clock instant, for "as of" on the page
    refreshing: bool = False


class Figures:
    """A small per-process cache of expensive, scope-wide aggregates."""

    def __init__(self, fresh: float, *, clock: Callable[[], datetime], limit: int = 512) -> None:
        self.fresh = fresh
        self.clock = clock  # for "as of": the instant a computation started
        self.limit = limit
        self._entries: dict[Hashable, _Entry] = {}
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Event] = {}
        self._failed: dict[Hashable, Exception] = {}

    def get(
        self, key: Hashable, compute: Callable[[], T], *, wait: float = WAIT
    ) -> tuple[T, datetime] | None:
        """The figure for `key` and when its computation started; None while the first one is
        still running after `wait` seconds (the page says so, and has it on a reload)."""
        if self.fresh <= 0:
            return compute(), self.clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                if time.monotonic() - entry.at > self.fresh and not entry.refreshing:
                    entry.refreshing = True
                    threading.Thread(target=self._refresh, args=(key, compute), daemon=True).start()
                value: T = entry.value
                return value, entry.computed_at
            done = self._computing.get(key)
            if done is None:
                done = self._computing[key] = threading.Event()
                threading.Thread(target=self._first, args=(key, compute, done), daemon=True).start()
        done.wait(timeout=wait)
        with self._lock:
            entry = self._entries.get(key)
            failed = self._failed.pop(key, None)
        if entry is not None:
            return entry.value, entry.computed_at
        if failed is not None:
            raise failed
        return None

    def _first(self, key: Hashable, compute: Callable[[], Any], done: threading.Event) -> None:
        try:
            started = self.clock()
            self._store(key, compute(), started)
        except Exception as error:  # the waiting request raises it; the next one tries again
            with self._lock:
                self._failed[key] = error
        finally:
            with self._lock:
                self._computing.pop(key, None)
            done.set()

    def _refresh(self, key: Hashable, compute: Callable[[], Any]) -> None:
        try:
            started = self.clock()
            self._store(key, compute(), started)
        except Exception:  # keep serving the older figure; the next request tries again
            with self._lock:
                if key in self._entries:
                    self._entries[key].refreshing = False

    def _store(self, key: Hashable, value: Any, started: datetime) -> None:
        with self._lock:
            if len(self._entries) >= self.limit and key not in self._entries:
                oldest = min(self._entries, key=lambda k: self._entries[k].at)
                del self._entries[oldest]
            self._entries[key] = _Entry(value, time.monotonic(), started)
