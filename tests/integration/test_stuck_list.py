"""The stuck list's SQL (sagsflow/read/stuck.py, over the stuck clock the case rows keep) against
the domain's rule as the oracle: every case of the database judged by `statemachine.stuck.assess`
(its facts read back from the row, its breaches from the deadline table), on SQLite and
PostgreSQL. Cases are written through the real write path (the demo walks them with the use
cases; the sweep marks breaches); nothing here is a second implementation of the rule, only the
order the list promises (docs in sagsflow/read/stuck.py), spelt with the domain's instants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import ColumnElement, select, true

from models.database import reading
from models.repository import CASE, DEADLINE
from models.stuck_clock import recompute_stuck_clock, refresh_breached_since
from sagsflow.context import Context
from sagsflow.read.overview import cases_per_phase
from sagsflow.read.stuck import (
    REASONS,
    StuckFilter,
    StuckRules,
    count_stuck,
    stuck_facts,
    stuck_page,
)
from sagsflow.usecases.demo import load_demo
from sagsflow.usecases.sweep import sweep
from statemachine.phases import DeadlineStatus, Phase
from statemachine.stuck import assess, over_norm_from

OPENED = datetime(2027, 3, 1, 9, tzinfo=UTC)  # the demo's cases are walked up to this instant
NOW = datetime(2027, 12, 31, 12, 0, tzinfo=UTC)


def _oracle(context: Context, now: datetime, chosen: StuckFilter) -> list[dict[str, Any]]:
    """Every case judged by the domain, filtered, in the list's promised order: over the norm
    (the earliest norm's due time first: most days over first), then breached (oldest breach
    first), then the rest; ties by case number."""
    with reading(context.engine) as connection:
        rows = connection.execute(select(CASE)).all()
        breaches: dict[int, datetime] = {}
        breached_rules: dict[int, set[str]] = {}
        for case_id, due_at, rule in connection.execute(
            select(DEADLINE.c.case_id, DEADLINE.c.due_at, DEADLINE.c.rule).where(
                DEADLINE.c.status == DeadlineStatus.BREACHED.value
            )
        ):
            breaches[case_id] = min(due_at, breaches.get(case_id, due_at))
            breached_rules.setdefault(case_id, set()).add(rule)
    found = []
    for row in rows:
        if row.phase == Phase.CLOSURE.value:
            continue  # the rule is about open cases
        if any(
            value and getattr(row, name) != value
            for name, value in (("team", chosen.team), ("worker", chosen.worker))
        ) or (chosen.phase and row.phase != chosen.phase):
            continue
        rulebook = context.catalogue.get(row.rulebook_id, row.rulebook_version)
        facts = stuck_facts(row, row.id in breaches, frozenset(breached_rules.get(row.id, set())))
        verdict = assess(rulebook, facts, now)
        if verdict is None or (chosen.reason and chosen.reason not in verdict.reasons):
            continue
        limit = over_norm_from(rulebook, facts)
        if limit is not None and now > limit:
            order: tuple[Any, ...] = (1, limit, row.id)
        elif row.id in breaches:
            order = (2, breaches[row.id], row.id)
        else:
            order = (3, NOW, row.id)
        found.append(
            {
                "order": order,
                "case_id": row.id,
                "reasons": [r.value for r in verdict.reasons],
                "days_over_norm": verdict.days_over_norm,
            }
        )
    return sorted(found, key=lambda e: e["order"])


def _seen(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["case_id"], tuple(row["reasons"]), row["days_over_norm"])


def _by_cursor(
    context: Context, now: datetime, chosen: StuckFilter, size: int, scope: ColumnElement[bool]
) -> list[dict[str, Any]]:
    rules = StuckRules(context.catalogue, now)
    rows: list[dict[str, Any]] = []
    after = None
    with reading(context.engine) as connection:
        while True:
            page = stuck_page(connection, rules, scope, chosen, size=size, after=after)
            assert len(page.rows) <= size
            rows += page.rows
            if page.next_after is None:
                assert not page.has_more
                return rows
            after = page.next_after


def _by_offset(
    context: Context, now: datetime, chosen: StuckFilter, size: int
) -> tuple[list[dict[str, Any]], int]:
    rules = StuckRules(context.catalogue, now)
    rows: list[dict[str, Any]] = []
    offset = 0
    with reading(context.engine) as connection:
        total = count_stuck(connection, rules, true(), chosen)
        while True:
            page = stuck_page(connection, rules, true(), chosen, offset=offset, size=size)
            rows += page.rows
            if not page.has_more:
                return rows, total
            offset += size


def _filters(context: Context) -> st.SearchStrategy[StuckFilter]:
    with reading(context.engine) as connection:
        people = connection.execute(select(CASE.c.team, CASE.c.worker).distinct()).all()
    teams = sorted({t for t, _ in people if t}) or ["t1"]
    workers = sorted({w for _, w in people if w}) or ["rw1"]
    return st.builds(
        StuckFilter,
        team=st.none() | st.sampled_from(teams),
        worker=st.none() | st.sampled_from(workers),
        phase=st.none() | st.sampled_from([p.value for p in Phase if p is not Phase.CLOSURE]),
        reason=st.none() | st.sampled_from(REASONS),
    )


# The examples share the test's database on purpose (function-scoped fixtures): each adds a few
# cases, and every check judges all of them, so later examples see bigger caseloads.
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_the_stuck_list_is_the_domains_verdict_on_every_case_in_order(
    context: Context, data: st.DataObject
) -> None:
    # Given a few more random cases, walked through the use cases, and the breaches a sweep at
    # a random later instant marks (deadlines of earlier examples' sweeps stay breached)
    seed = data.draw(st.integers(0, 10_000), label="seed")
    load_demo(context, cases=data.draw(st.integers(1, 6), label="cases"), now=OPENED, seed=seed)
    now = OPENED + data.draw(st.timedeltas(timedelta(0), timedelta(days=500)), label="later")
    sweep(context, now)
    # When the list is read at that instant, with a random filter and page size
    chosen = data.draw(st.one_of(st.just(StuckFilter()), _filters(context)), label="filter")
    size = data.draw(st.integers(1, 6), label="size")
    expected = _oracle(context, now, chosen)

    # Then page after page, by cursor and by offset, it holds the domain's stuck cases with the
    # domain's reasons and days, in order, each once, and the count agrees
    found = _by_cursor(context, now, chosen, size, true())
    assert list(map(_seen, found)) == list(map(_seen, expected))
    shallow, total = _by_offset(context, now, chosen, size)
    assert list(map(_seen, shallow)) == list(map(_seen, expected))
    assert total == len(expected)


@pytest.fixture
def demo(context: Context) -> Context:
    load_demo(context, cases=90, now=NOW, seed=7)
    sweep(context, NOW)
    return context


def test_the_demo_shows_every_reason_worst_first_within_filters_and_scopes(demo: Context) -> None:
    everything = _oracle(demo, NOW, StuckFilter())
    assert len(everything) > 10
    assert {r for e in everything for r in e["reasons"]} == set(REASONS)
    for size in (1, 4, 25, 500):
        found = _by_cursor(demo, NOW, StuckFilter(), size, true())
        assert list(map(_seen, found)) == list(map(_seen, everything))
        # days over the norm, most first, page after page; no case twice
        over = [r["days_over_norm"] for r in found if r["days_over_norm"]]
        assert over == sorted(over, reverse=True)
        assert len({r["case_id"] for r in found}) == len(found)
    for chosen in (
        *(StuckFilter(reason=r) for r in REASONS),
        StuckFilter(team="t1"),
        StuckFilter(phase="investigation"),
        StuckFilter(worker="rw4"),
    ):
        found, total = _by_offset(demo, NOW, chosen, 7)
        assert list(map(_seen, found)) == list(map(_seen, _oracle(demo, NOW, chosen)))
        assert total == len(found)
    # a scope (a team leader's visibility) narrows like the team filter
    scoped = _by_cursor(demo, NOW, StuckFilter(), 5, CASE.c.team == "t3")
    assert list(map(_seen, scoped)) == list(map(_seen, _oracle(demo, NOW, StuckFilter("t3"))))


def test_the_overviews_stuck_per_phase_counts_the_same_cases(demo: Context) -> None:
    with reading(demo.engine) as connection:
        counts = cases_per_phase(connection, true(), StuckRules(demo.catalogue, NOW))
    for phase in counts:
        assert phase.stuck == len(_oracle(demo, NOW, StuckFilter(phase=phase.phase))), phase
    assert sum(c.cases for c in counts) == 90


def test_the_backfill_writes_what_the_events_wrote(demo: Context) -> None:
    clock = (
        CASE.c.id,
        CASE.c.over_norm_at,
        CASE.c.inactive_at,
        CASE.c.consent_wait_at,
        CASE.c.conversation_missing_at,
        CASE.c.breached_since,
    )
    with reading(demo.engine) as connection:
        written = connection.execute(select(*clock, CASE.c.stuck_at).order_by(CASE.c.id)).all()
    with demo.engine.begin() as connection:
        connection.execute(
            CASE.update().values(
                over_norm_at=None,
                conversation_missing_at=None,
                stuck_at=None,
                breached_since=None,
            )
        )
        assert recompute_stuck_clock(connection, demo.catalogue.get, batch=7) == 90
        refresh_breached_since(connection, true())
    with reading(demo.engine) as connection:
        again = connection.execute(select(*clock, CASE.c.stuck_at).order_by(CASE.c.id)).all()
    assert again == written
    assert any(row.stuck_at for row in written)
    assert any(row.breached_since for row in written)
    # the demo's decision waiting for the child conversation (Barnets Lov §5 stk. 3)
    assert any(row.conversation_missing_at for row in written)
