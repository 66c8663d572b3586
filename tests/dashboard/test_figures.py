"""The read models behind the aggregated figures (models/readmodels.py, docs/decisions/
010-read-models.md) stay what the base tables say, whatever events and sweeps happen.

Random event sequences go through the real write path (`fire_event`, `CaseRepository.record`)
on cases of several teams and caseworkers, with sweeps marking breaches in between. After each
example the deadline tally and the phase stays must equal what a straightforward query of the
deadline, case and audit tables gives (the oracle, here only), and the figures read from them
(the compliance report, the overview's shares and trend, for every scope) must equal the same
figures counted deadline by deadline with the domain's rule (`statemachine.late.timeliness`).
The figures are read at an instant the test passes in: no clock, no sleep.
"""

from __future__ import annotations

import itertools
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, and_, func, select, text, true

from models.readmodels import (
    ALL,
    SPAN,
    SPAN_OUTCOMES,
    STAY,
    TALLY,
    rebuild,
    rebuild_spans,
    tally_key,
)
from models.repository import AUDIT, CASE, DEADLINE
from sagsflow.read.compliance import MEASURES, compliance_report
from sagsflow.read.deadlines import count_breached, count_due
from sagsflow.read.overview import shares_on_time, weekly_trend
from sagsflow.usecases.cases import fire_event
from sagsflow.usecases.sweep import record_breaches
from statemachine.calendar import end_of_local_day, local_date, start_of_local_day
from statemachine.errors import EventRefused
from statemachine.late import STAY_PHASES, Timeliness, timeliness
from statemachine.periods import month_of, quarter_of
from statemachine.phases import DeadlineStatus, Notifier, Phase, Role, Source
from statemachine.process import allowed_events

EXAMPLES = {"sqlite": 25, "postgresql": 8}
OWNERS = [
    ("caseworker-anna", "team-nord"),
    ("caseworker-bo", "team-nord"),
    ("caseworker-cai", "team-syd"),
    (None, None),
]
PLAUSIBLE: dict[str, Any] = {
    "assess_urgency": {"acute": False},
    "record_consent": {"by": "custody_holder"},
    "conclude": {"measures_needed": True},
    "submit_plan": {
        "purpose": "Stabil hverdag i hjemmet",
        "goals": ["Barnet kommer i skole hver dag"],
        "expected_duration_months": 6,
    },
    "grant": {"measures": [{"type": "practical_support", "package": "red"}]},
    "record_follow_up": {
        "measure_id": "m1",
        "spoke_with_provider": True,
        "spoke_with_parents": True,
        "plan_revision_decided": True,
        "next_follow_up": {
            "as_service_level": True,
            "reason": "Kommunens kadence passer til sagen",
        },
    },
    "end_measure": {"measure_id": "m1", "reason": "Mål nået"},
    "close": {"reason": "Familien er flyttet"},
    "propose_preventive": {"measures": [{"type": "preventive_talks"}]},
    "refuse": {"complaint_guidance": True},
}
START = datetime(2026, 1, 5, 8, tzinfo=UTC)


# --- the oracle: straight from the base tables ------------------------------------------------


def _deadlines(engine: Engine) -> list[Any]:
    query = select(
        DEADLINE.c.rule,
        DEADLINE.c.status,
        DEADLINE.c.due_at,
        DEADLINE.c.closed_at,
        CASE.c.municipality,
        CASE.c.team,
        CASE.c.worker,
        CASE.c.phase,
    ).join(CASE, CASE.c.id == DEADLINE.c.case_id)
    with engine.connect() as connection:
        return list(connection.execute(query))


def _tally_from_base(engine: Engine) -> Counter[tuple[Any, ...]]:
    found: Counter[tuple[Any, ...]] = Counter()
    for d in _deadlines(engine):
        owner = (d.municipality, d.team, d.worker)
        found[tally_key(owner, d.rule, d.status, d.due_at, d.closed_at)] += 1
    return found


def _tally_stored(engine: Engine) -> Counter[tuple[Any, ...]]:
    """The worker rows; the roll-ups must each be the sum of the worker rows below them."""
    with engine.connect() as connection:
        rows = connection.execute(select(TALLY)).all()
    stored = Counter(
        {(r.municipality, r.team, r.worker, r.rule, r.due_day, r.outcome): r.n for r in rows if r.n}
    )
    workers = Counter({key: n for key, n in stored.items() if ALL not in key[1:3]})
    summed: Counter[tuple[Any, ...]] = Counter()
    for (municipality, team, _, rule, day, outcome), n in workers.items():
        summed[municipality, team, ALL, rule, day, outcome] += n
        summed[municipality, ALL, ALL, rule, day, outcome] += n
    assert Counter({k: n for k, n in stored.items() if ALL in k[1:3]}) == +summed
    # And each month's and quarter's span row the sum of the roll-ups of its days.
    spans: Counter[tuple[Any, ...]] = Counter()
    with engine.connect() as connection:
        for r in connection.execute(select(SPAN)):
            for outcome in SPAN_OUTCOMES:
                spans[r.span, r.first_day, r.team, r.municipality, r.rule, outcome] += r._mapping[
                    outcome
                ]
    spans = +spans
    by_span: Counter[tuple[Any, ...]] = Counter()
    for (municipality, team, _, rule, day, outcome), n in summed.items():
        by_span["month", month_of(day).first, team, municipality, rule, outcome] += n
        by_span["quarter", quarter_of(day).first, team, municipality, rule, outcome] += n
    assert spans == +by_span
    return workers


def _stays_from_base(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        audit = connection.execute(select(AUDIT).order_by(AUDIT.c.case_id, AUDIT.c.seq)).all()
        owners = {r.id: r for r in connection.execute(select(CASE)).all()}
    changes: defaultdict[int, list[Any]] = defaultdict(list)
    for r in audit:
        if r.from_phase is None or r.from_phase != r.to_phase:
            changes[r.case_id].append(r)
    stays = []
    for case_id, found in changes.items():
        owner = owners[case_id]
        for began, ended in itertools.pairwise(found):
            stays.append(
                (
                    case_id,
                    owner.municipality,
                    owner.team,
                    began.to_phase,
                    began.event_at,
                    ended.event_at,
                )
            )
    return sorted(stays)


def _stays_stored(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        rows = connection.execute(select(STAY)).all()
    for r in rows:
        assert r.days == pytest.approx((r.left_at - r.entered_at).total_seconds() / 86400)
    return sorted(
        (r.case_id, r.municipality, r.team, r.phase, r.entered_at, r.left_at) for r in rows
    )


def _counted(
    engine: Engine, now: datetime, first: date, last: date, keep: Any
) -> dict[tuple[Any, ...], Counter[Timeliness]]:
    """(team, rule) → how the deadlines due first…last count at `now`, by the domain's rule."""
    found: defaultdict[tuple[Any, ...], Counter[Timeliness]] = defaultdict(Counter)
    for d in _deadlines(engine):
        if keep(d) and first <= local_date(d.due_at) <= last:
            kind = timeliness(DeadlineStatus(d.status), d.due_at, d.closed_at, now)
            found[d.team, d.rule][kind] += 1
    return found


# --- the random history -----------------------------------------------------------------------


def _history(data: st.DataObject, cases: Any, context: Any) -> None:
    rulebook = context.catalogue.get("default", "2024.1")
    for _ in range(data.draw(st.integers(1, 3))):
        worker, team = data.draw(st.sampled_from(OWNERS))
        source = data.draw(st.sampled_from(Source))
        notifier = data.draw(st.sampled_from(Notifier)) if source is Source.NOTIFICATION else None
        aware_at = START + data.draw(st.timedeltas(timedelta(0), timedelta(days=200)))
        case = cases.open(
            aware_at=aware_at, source=source, notifier=notifier, worker=worker, team=team
        )
        phase, at = Phase.INQUIRY, aware_at
        for _ in range(data.draw(st.integers(0, 12))):
            allowed = [] if phase is Phase.CLOSURE else allowed_events(rulebook, phase)
            if not allowed:
                break
            event = data.draw(st.sampled_from(allowed))
            at += data.draw(st.timedeltas(timedelta(minutes=1), timedelta(days=60)))
            if data.draw(st.integers(0, 4)) == 0:
                # The enforcement flow marks what fell due meanwhile.
                record_breaches(context, at)
            try:
                result = fire_event(
                    context,
                    case.id,
                    event,
                    at=at,
                    data=PLAUSIBLE.get(event),
                    actor=worker or "caseworker-anna",
                    role=data.draw(st.sampled_from([Role.CASEWORKER, Role.TEAM_LEADER])),
                    now=cases.now,
                )
            except EventRefused:
                continue
            phase = Phase(result.to_phase)


def test_the_read_models_equal_the_base_tables_and_so_do_the_figures(
    cases: Any, context: Any, engine: Engine, backend: str
) -> None:
    @settings(
        max_examples=EXAMPLES[backend],
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        # Given a random history written through the event path, sweeps in between
        _history(data, cases, context)

        # Then the read models are what the base tables say
        assert _tally_stored(engine) == _tally_from_base(engine)
        assert _stays_stored(engine) == _stays_from_base(engine)

        # And the figures read from them count as the domain's rule does, at any instant
        now = START + data.draw(st.timedeltas(timedelta(0), timedelta(days=400)))
        pick, minutes = data.draw(st.integers(0, 10**6)), data.draw(st.integers(-90, 90))
        dues = sorted(d.due_at for d in _deadlines(engine))
        if dues and pick % 2:
            # An instant on a day some deadline falls due: that day is read from the base rows.
            now = dues[pick % len(dues)] + timedelta(minutes=minutes)
        first = local_date(START) + timedelta(days=data.draw(st.integers(0, 300)))
        last = first + timedelta(days=data.draw(st.integers(0, 120)))
        shape = data.draw(st.sampled_from(["days", "month", "quarter", "from a month"]))
        if shape == "month":  # whole months and quarters are read from the tally's spans
            first, last = month_of(first).first, month_of(first).last
        elif shape == "quarter":
            first, last = quarter_of(first).first, quarter_of(first).last
        elif shape == "from a month":
            first = month_of(first).first
        if shape != "days" and pick % 3 == 0:
            # Today within the span: its open deadlines split at today (and at `now` today).
            day = first + timedelta(days=data.draw(st.integers(0, (last - first).days)))
            now = start_of_local_day(day) + timedelta(minutes=data.draw(st.integers(0, 1439)))
        report = compliance_report(context, period_start=first, period_end=last, now=now)
        expected = _counted(engine, now, first, last, lambda d: True)
        for row in report.teams:
            for share in row.shares:
                counts = expected.get((row.team, share.rule), Counter())
                assert (share.on_time, share.late, share.pending, share.cancelled) == (
                    counts[Timeliness.ON_TIME],
                    counts[Timeliness.LATE],
                    counts[Timeliness.PENDING],
                    counts[Timeliness.CANCELLED],
                )
        for team, rule in expected:
            if rule in {m.value for m in MEASURES}:
                assert report.row("demo", team)  # no team's deadlines left out
        _check_medians(engine, report, first, last)

        for worker, team in [*OWNERS[:3], (None, None)]:
            if worker is None:
                scope: Any = true()
                keep: Any = lambda d: True  # noqa: E731
            elif data.draw(st.booleans()):
                scope, keep = and_(CASE.c.team == team), (lambda d, t=team: d.team == t)
            else:
                scope, keep = and_(CASE.c.worker == worker), (lambda d, w=worker: d.worker == w)
            with engine.connect() as connection:
                shares = shares_on_time(connection, scope, now, start=first, end=last)
                weeks = weekly_trend(connection, scope, now, weeks=6)
                breached = count_breached(connection, scope)
                # The oracle: breached deadlines of open cases, from the deadline table.
                expected_breached = connection.execute(
                    select(func.count())
                    .select_from(DEADLINE.join(CASE, CASE.c.id == DEADLINE.c.case_id))
                    .where(
                        DEADLINE.c.status == DeadlineStatus.BREACHED.value,
                        CASE.c.phase != Phase.CLOSURE.value,
                        scope,
                    )
                ).scalar_one()
            assert breached == expected_breached
            for days in (0, 14):
                with engine.connect() as connection:
                    due = count_due(connection, scope, now, days=days)
                until = end_of_local_day(local_date(now) + timedelta(days=days))
                assert due == sum(
                    1
                    for d in _deadlines(engine)
                    if keep(d)
                    and d.status == "open"
                    and d.phase != Phase.CLOSURE.value
                    and now < d.due_at <= until
                )
            counted = _counted(engine, now, first, last, keep)
            for share in shares:
                total: Counter[Timeliness] = Counter()
                for (_, rule), counts in counted.items():
                    if rule == share.rule:
                        total += counts
                assert (share.on_time, share.late, share.pending) == (
                    total[Timeliness.ON_TIME],
                    total[Timeliness.LATE],
                    total[Timeliness.PENDING],
                )
            for week in weeks:
                on_time = late = 0
                for d in _deadlines(engine):
                    if not keep(d) or not (
                        start_of_local_day(week.monday)
                        <= d.due_at
                        < min(
                            start_of_local_day(week.monday + timedelta(days=7)),
                            now + timedelta(microseconds=1),
                        )
                    ):
                        continue
                    kind = timeliness(DeadlineStatus(d.status), d.due_at, d.closed_at, now)
                    on_time += kind is Timeliness.ON_TIME
                    late += kind is Timeliness.LATE
                assert (week.on_time, week.late) == (on_time, late)

    run()


def _check_medians(engine: Engine, report: Any, first: date, last: date) -> None:
    start, end = start_of_local_day(first), start_of_local_day(last + timedelta(days=1))
    by_team: defaultdict[tuple[str, str | None, str], list[float]] = defaultdict(list)
    for _, municipality, team, phase, entered, left in _stays_from_base(engine):
        if start <= left < end:
            by_team[municipality, team, phase].append((left - entered).total_seconds() / 86400)
    for row in report.teams:
        for phase in STAY_PHASES:
            days = by_team.get((row.municipality, row.team, phase.value))
            stay = row.phase(phase.value)
            if days is None:
                assert stay is None
            else:
                assert stay is not None and stay.stays == len(days)
                assert stay.median_days == pytest.approx(statistics.median(days))


def test_a_rebuild_gives_what_the_write_path_kept(cases: Any, context: Any, engine: Engine) -> None:
    # Given cases with deadlines met, breached and still open, and phase changes
    case = cases.open(source=Source.NOTIFICATION, notifier=Notifier.PROFESSIONAL)
    cases.fire(case, "assess_urgency", {"acute": False}, at=case.later(hours=30))
    cases.fire(case, "accept")
    other = cases.open(worker="caseworker-bo", team=None)
    record_breaches(context, datetime(2026, 6, 1, tzinfo=UTC))
    kept, stays = _tally_stored(engine), _stays_stored(engine)
    assert kept and stays and other.id

    # When the read models are filled again from the base tables (the migration's backfill)
    with engine.begin() as connection:
        rebuild(connection)

    # Then they hold exactly what the write path had kept
    assert _tally_stored(engine) == kept == _tally_from_base(engine)
    assert _stays_stored(engine) == stays

    # And so do the month and quarter spans when filled again from the roll-ups (migration
    # 0009's fill; `_tally_stored` checks each span against the roll-ups of its days)
    with engine.begin() as connection:
        made = rebuild_spans(connection)
    assert made > 0 and _tally_stored(engine) == kept
    assert {rule.value for rule in MEASURES} >= {"acknowledgement", "urgent_assessment"}


def _span_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """The span table's rows, in whichever shape it has, in key order."""
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM deadline_tally_span")).mappings().all()
    return sorted(tuple(sorted((k, str(v)) for k, v in row.items())) for row in rows)


def test_the_span_columns_migrate_down_and_up_again(
    cases: Any, context: Any, engine: Engine, database_url: str
) -> None:
    # Given cases whose deadlines were met, breached and are still open, as the write path kept
    # their month and quarter spans (a count per outcome as columns), and the report of Q2 2026
    from alembic import command

    from models.database import alembic_config, upgrade

    case = cases.open(source=Source.NOTIFICATION, notifier=Notifier.PROFESSIONAL)
    cases.fire(case, "assess_urgency", {"acute": False}, at=case.later(hours=30))
    cases.fire(case, "accept")
    cases.open(worker="caseworker-bo", team=None)
    record_breaches(context, datetime(2026, 6, 1, tzinfo=UTC))
    kept = _tally_stored(engine)
    columns = _span_rows(engine)
    now = datetime(2026, 6, 1, tzinfo=UTC)
    before = compliance_report(
        context, period_start=date(2026, 4, 1), period_end=date(2026, 6, 30), now=now
    )
    engine.dispose()

    # When the database is migrated back to one row per outcome (0008)
    command.downgrade(alembic_config(database_url), "0008_notified_rungs")

    # Then each count that is not 0 is a row of its own, with its outcome
    with engine.connect() as connection:
        old = Counter(
            {
                (r.span, r.first_day, r.team, r.municipality, r.rule, r.outcome): r.n
                for r in connection.execute(
                    text(
                        "SELECT span, first_day, team, municipality, rule, outcome, n FROM "
                        "deadline_tally_span"
                    )
                )
            }
        )
    assert 0 not in old.values()
    assert sum(old.values()) == sum(
        int(value) for row in columns for name, value in row if name in SPAN_OUTCOMES
    )
    engine.dispose()

    # And when it is migrated to the head again, the spans are filled from the tally's roll-ups
    # as the write path had kept them, and the report is the same
    upgrade(database_url)
    assert _span_rows(engine) == columns
    assert _tally_stored(engine) == kept
    assert (
        compliance_report(
            context, period_start=date(2026, 4, 1), period_end=date(2026, 6, 30), now=now
        )
        == before
    )
