"""The dashboard's stuck list (SQL, a page at a time) against the supervisor's report
(`reports.stuck_cases`, everything in Python) over demo data: the same cases, the same order of
days over the norm, the same reasons — on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import ColumnElement, true

import sagsflow.read.stuck as stuck_module
from models.database import make_engine, reading
from models.repository import CASE
from rulebooks import shipped_catalogue
from sagsflow.context import Context
from sagsflow.read.stuck import (
    REASONS,
    StuckFilter,
    StuckRules,
    count_stuck,
    latest_before,
    stuck_cases,
    stuck_page,
)
from sagsflow.usecases.demo import load_demo
from sagsflow.usecases.sweep import sweep

NOW = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgres", marks=pytest.mark.postgres),
    ],
)
def demo(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Context]:
    """One demo database per backend for the whole module (the tests only read it)."""
    dropped = None
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("stuck-demo") / "demo.db"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
    else:
        server = request.getfixturevalue("postgres_server")
        dropped = server.create_database()
        url = server.url(dropped)
    engine = make_engine(url)
    context = Context(engine, shipped_catalogue())
    load_demo(context, cases=90, now=NOW, seed=7)
    sweep(context, NOW)
    yield context
    engine.dispose()
    if dropped is not None:
        server.drop_database(dropped)


def _all_pages(
    context: Context,
    chosen: StuckFilter,
    size: int,
    scope: ColumnElement[bool] | None = None,
    *,
    read_whole: bool = True,
) -> tuple[list[dict[str, Any]], int]:
    """Every page in turn. The demo's few stuck cases are read whole (`SMALL`); with
    `read_whole=False`, `stuck_page` is told there are many, and reads them with LIMITs."""
    rules = StuckRules(context.catalogue, NOW)
    rows: list[dict[str, Any]] = []
    offset = 0
    with reading(context.engine) as connection:
        total = count_stuck(connection, rules, scope if scope is not None else true(), chosen)
        while True:
            page = stuck_page(
                connection,
                rules,
                scope if scope is not None else true(),
                chosen,
                offset=offset,
                size=size,
                total=total if read_whole else stuck_module.SMALL + 1,
            )
            assert len(page.rows) <= size
            rows += page.rows
            if not page.has_more:
                return rows, total
            offset += size


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["case_id"], row["days_over_norm"], tuple(row["reasons"]))


def test_pages_hold_exactly_the_reports_stuck_cases_in_its_order(demo: Context) -> None:
    expected = stuck_cases(demo, NOW)
    assert len(expected) > 10
    assert {r for e in expected for r in e["reasons"]} == set(REASONS)
    for size, whole in ((1, False), (4, False), (4, True), (25, False), (500, True)):
        found, total = _all_pages(demo, StuckFilter(), size, read_whole=whole)
        assert total == len(expected)
        assert sorted(map(_key, found)) == sorted(map(_key, expected)), size
        # days over the norm, most first, page after page
        assert [r["days_over_norm"] for r in found] == [e["days_over_norm"] for e in expected]
        assert len({r["case_id"] for r in found}) == len(found)  # no case twice


@pytest.mark.parametrize("chosen", [StuckFilter(), *(StuckFilter(reason=r) for r in REASONS)])
def test_reading_few_stuck_cases_whole_gives_the_same_pages(
    demo: Context, chosen: StuckFilter
) -> None:
    by_limits, total = _all_pages(demo, chosen, 4, read_whole=False)
    whole, _ = _all_pages(demo, chosen, 4)
    assert total <= stuck_module.SMALL
    assert [r["case_id"] for r in whole] == [r["case_id"] for r in by_limits]


def test_breached_cases_are_read_in_batches_in_the_same_order(
    demo: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected, _ = _all_pages(demo, StuckFilter(reason="breached_deadline"), 3, read_whole=False)
    monkeypatch.setattr(stuck_module, "BATCH", 2)
    found, _ = _all_pages(demo, StuckFilter(reason="breached_deadline"), 3, read_whole=False)
    assert [r["case_id"] for r in found] == [r["case_id"] for r in expected]


@pytest.mark.parametrize("reason", REASONS)
def test_each_reason_filter_keeps_the_cases_with_that_reason(demo: Context, reason: str) -> None:
    expected = [e for e in stuck_cases(demo, NOW) if reason in e["reasons"]]
    found, total = _all_pages(demo, StuckFilter(reason=reason), 7)
    assert total == len(expected)
    assert sorted(map(_key, found)) == sorted(map(_key, expected))


def test_team_phase_and_worker_filters_and_a_scope(demo: Context) -> None:
    everything = stuck_cases(demo, NOW)
    for team in ("t1", "t2"):
        found, _ = _all_pages(demo, StuckFilter(team=team), 5)
        assert sorted(map(_key, found)) == sorted(_key(e) for e in everything if e["team"] == team)
    found, _ = _all_pages(demo, StuckFilter(phase="investigation"), 5)
    assert sorted(map(_key, found)) == sorted(
        _key(e) for e in everything if e["phase"] == "investigation"
    )
    found, _ = _all_pages(demo, StuckFilter(worker="rw4"), 5)
    assert sorted(map(_key, found)) == sorted(_key(e) for e in everything if e["worker"] == "rw4")
    found, _ = _all_pages(demo, StuckFilter(), 5, scope=CASE.c.team == "t3")
    assert sorted(map(_key, found)) == sorted(_key(e) for e in everything if e["team"] == "t3")


def test_latest_before_finds_the_last_instant_that_still_crosses() -> None:
    limit = datetime(2027, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
    now = datetime(2027, 7, 1, tzinfo=UTC)
    assert latest_before(lambda x: x <= limit, now, timedelta(days=90)) == limit
    assert latest_before(lambda x: True, now, timedelta(days=1)) == now
    assert latest_before(lambda x: False, now, timedelta(days=1)) < now - timedelta(days=1)
