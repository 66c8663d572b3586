"""A progress bar on stderr for long work (`demo`, `rulebook migrate`, `audit verify --replay`),
drawn only for a person at a terminal: never with --json, never when stderr is a pipe or a file
(scripts, tests, `make run`'s log), so it is never mixed into output anything parses.

`rich` is imported when a bar is drawn, not before: `sagsflow --help` stays fast.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from sagsflow.progress import Progress


def wanted(*, as_json: bool, stream: TextIO | None = None) -> bool:
    """Whether to draw a bar: not for --json, and only when `stream` (stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    if as_json:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stand-in stream
        return False


@contextmanager
def progress_bar(label: str, *, as_json: bool) -> Iterator[Progress | None]:
    """A `progress(done, total)` callback drawing a bar titled `label` on stderr, or None when
    no bar is wanted (`wanted`). The bar is removed when the work ends."""
    if not wanted(as_json=as_json):
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        # What the command prints to stdout stays on stdout (a pipe, a file), never in the bar.
        redirect_stdout=False,
    )
    with bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
