"""How long work tells an edge how far it has come (issue 13, point 9): a plain callback.

`progress(done, total)` after each unit of work (a case), for a progress bar the edge draws
(`sagsflow/cli/progress.py`, on a terminal only). Pure for the callee: a callback must not touch
the database or print to stdout; the work does not depend on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Progress = Callable[[int, int], None]
T = TypeVar("T")


def reporting(items: Sequence[T], progress: Progress | None) -> Iterator[T]:
    """`items` one by one; `progress(n, len(items))` once the loop's body has done the n-th
    (also when it `continue`s)."""
    for n, item in enumerate(items, start=1):
        yield item
        if progress is not None:
            progress(n, len(items))
