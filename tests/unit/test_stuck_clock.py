"""The stuck clock (`statemachine.stuck.stuck_clock`) against the stuck rule itself (`assess`):
for random facts, rulebooks and instants, the reasons the stored instants give at `now` are the
rule's reasons. The instants are what the case row keeps (docs/decisions/009-stuck-clock.md), so
this is what makes "stuck at now" in SQL the domain's rule and no second copy of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from rulebooks import shipped_catalogue
from statemachine.calendar import start_of_local_day
from statemachine.phases import Phase
from statemachine.rulebook import Rulebook
from statemachine.stuck import ClockFacts, StuckFacts, StuckReason, assess, stuck_clock

SHIPPED = shipped_catalogue().rulebooks
MICROSECOND = timedelta(microseconds=1)


def _variant(rulebook: Rulebook, child_from_age: int, consent_wait: bool) -> Rulebook:
    """A shipped rulebook with another consent age, and with or without a consent wait (both
    are rulebook data a municipality may set)."""
    stuck = (
        rulebook.stuck if consent_wait else rulebook.stuck.model_copy(update={"consent_wait": None})
    )
    consent = rulebook.consent.model_copy(update={"child_from_age": child_from_age})
    return rulebook.model_copy(update={"stuck": stuck, "consent": consent})


rulebooks = st.builds(
    _variant, st.sampled_from(SHIPPED), st.integers(0, 18), st.booleans()
) | st.sampled_from(SHIPPED)
instants = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
open_phases = st.sampled_from([p for p in Phase if p is not Phase.CLOSURE])


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return date(day.year - years, 2, 28)


@st.composite
def facts(draw: st.DrawFn, child_from_age: int = 15) -> ClockFacts:
    entered = draw(instants)
    last = entered + draw(st.timedeltas(timedelta(0), timedelta(days=120)))
    # Children of every age, and often one who reaches the consent age around the case's
    # clarification (before, during or after the wait), where the child's consent starts to count.
    born = draw(
        st.dates(date(2005, 1, 1), date(2028, 12, 31))
        | st.builds(
            lambda days, leap: (
                date(2008, 2, 29)
                if leap
                else _years_before(entered.date() + timedelta(days=days), child_from_age)
            ),
            st.integers(-40, 200),
            st.booleans().filter(lambda b: not b) | st.booleans(),
        )
    )
    # Issue 11: the last conversation with the child (before, at or after entering the phase)
    # and the previous decision, for the decision's wait for the conversation.
    around = st.timedeltas(timedelta(days=-200), timedelta(0))
    heard = draw(st.none() | st.builds(lambda d: last + d, around))
    decided = draw(st.none() | st.builds(lambda d: last + d, around))
    return ClockFacts(
        phase=draw(st.just(Phase.CLARIFICATION) | st.just(Phase.DECISION) | open_phases),
        phase_entered_at=entered,
        last_event_at=last,
        birth_date=born,
        consents=draw(st.frozensets(st.sampled_from(["custody_holder", "child"]))),
        without_consent_decided=draw(st.booleans()),
        child_heard_at=heard,
        last_decision_at=decided,
    )


@st.composite
def cases_at(draw: st.DrawFn) -> tuple[Rulebook, ClockFacts, datetime]:
    """A rulebook, facts, and an instant after the last event: anywhere within three years, or
    a microsecond around one of the clock's instants (where off-by-one mistakes live)."""
    rulebook = draw(rulebooks)
    case = draw(facts(rulebook.consent.child_from_age))
    clock = stuck_clock(rulebook, case)
    near = [
        i
        for i in (
            clock.over_norm_at,
            clock.inactive_at,
            clock.consent_wait_at,
            clock.conversation_missing_at,
        )
        if i
    ]
    later = case.last_event_at + draw(st.timedeltas(timedelta(0), timedelta(days=1100)))
    if near and draw(st.booleans()):
        later = draw(st.sampled_from(near)) + draw(st.sampled_from([-1, 0, 1])) * MICROSECOND
    return rulebook, case, max(later, case.last_event_at)


def _stuck(case: ClockFacts, breached: bool, rules: frozenset[str] = frozenset()) -> StuckFacts:
    return StuckFacts(**vars(case), has_breached_deadline=breached, breached_rules=rules)


breached_rules = st.frozensets(st.sampled_from(["supervision_visit", "reassessment", "follow_up"]))


@settings(max_examples=400, deadline=None)
@given(cases_at(), st.booleans())
@example(  # born 29 February: of age on 1 March in a year without one (consent.age_on)
    (
        SHIPPED[0],
        ClockFacts(
            Phase.CLARIFICATION,
            datetime(2023, 2, 1, 9, tzinfo=UTC),
            datetime(2023, 2, 2, 9, tzinfo=UTC),
            date(2008, 2, 29),
            frozenset({"custody_holder"}),
            False,
        ),
        start_of_local_day(date(2023, 3, 1)) - MICROSECOND,
    ),
    False,
)
@example(  # the first instant of the child's 15th birthday, long after the wait's end
    (
        SHIPPED[0],
        ClockFacts(
            Phase.CLARIFICATION,
            datetime(2026, 1, 5, 9, tzinfo=UTC),
            datetime(2026, 1, 6, 9, tzinfo=UTC),
            date(2011, 3, 10),
            frozenset({"custody_holder"}),
            False,
        ),
        start_of_local_day(date(2026, 3, 10)),
    ),
    False,
)
def test_the_clocks_reasons_at_any_instant_are_the_rules_reasons(
    drawn: tuple[Rulebook, ClockFacts, datetime], breached: bool
) -> None:
    rulebook, case, now = drawn
    verdict = assess(rulebook, _stuck(case, breached), now)
    expected = verdict.reasons if verdict else ()
    assert stuck_clock(rulebook, case).reasons(now, breached=breached) == expected


@settings(max_examples=200, deadline=None)
@given(cases_at(), breached_rules)
def test_a_breach_of_a_duty_beside_the_phases_is_named_as_the_rule_does(
    drawn: tuple[Rulebook, ClockFacts, datetime], rules: frozenset[str]
) -> None:
    rulebook, case, now = drawn
    verdict = assess(rulebook, _stuck(case, bool(rules), rules), now)
    expected = verdict.reasons if verdict else ()
    clock = stuck_clock(rulebook, case)
    assert clock.reasons(now, breached=bool(rules), breached_rules=rules) == expected
    assert (StuckReason.SUPERVISION_OVERDUE in expected) == ("supervision_visit" in rules)
    assert (StuckReason.COMPLAINT_REASSESSMENT_OVERDUE in expected) == ("reassessment" in rules)


@settings(max_examples=200, deadline=None)
@given(rulebooks, facts())
def test_the_earliest_instant_is_when_the_case_first_becomes_stuck(
    rulebook: Rulebook, case: ClockFacts
) -> None:
    clock = stuck_clock(rulebook, case)
    if clock.stuck_at is None:
        return
    before, after = clock.stuck_at, clock.stuck_at + MICROSECOND
    if before >= case.last_event_at:
        assert assess(rulebook, _stuck(case, False), before) is None
    assert assess(rulebook, _stuck(case, False), max(after, case.last_event_at)) is not None


def test_a_childs_missing_consent_counts_from_the_birthday_in_copenhagen() -> None:
    # Given a case waiting in clarification with the custody holder's consent only, and a child
    # who turns 15 (default@2024.1's consent age) on 10 March 2026, long after the wait's end
    rulebook = shipped_catalogue().get("default", "2024.1")
    case = ClockFacts(
        Phase.CLARIFICATION,
        datetime(2026, 1, 5, 9, tzinfo=UTC),
        datetime(2026, 1, 6, 9, tzinfo=UTC),
        date(2011, 3, 10),
        frozenset({"custody_holder"}),
        False,
    )
    # Then the consent wait counts from the birthday's first instant, Copenhagen midnight
    # (23:00 UTC the day before, in winter)
    clock = stuck_clock(rulebook, case)
    assert clock.consent_wait_at == datetime(2026, 3, 9, 23, tzinfo=UTC) - MICROSECOND
    assert StuckReason.WAITING_FOR_CONSENT in clock.reasons(
        datetime(2026, 3, 9, 23, tzinfo=UTC), breached=False
    )
    assert StuckReason.WAITING_FOR_CONSENT not in clock.reasons(
        datetime(2026, 3, 9, 22, 59, tzinfo=UTC), breached=False
    )
    # … and a decision without consent ends the wait for good
    decided = ClockFacts(**{**vars(case), "without_consent_decided": True})
    assert stuck_clock(rulebook, decided).consent_wait_at is None


def test_a_closed_case_has_no_clock() -> None:
    rulebook = shipped_catalogue().get("default", "2024.1")
    at = datetime(2026, 1, 5, 9, tzinfo=UTC)
    clock = stuck_clock(
        rulebook, ClockFacts(Phase.CLOSURE, at, at, date(2015, 1, 1), frozenset(), False)
    )
    assert clock.stuck_at is None and clock.reasons(at + timedelta(days=900), breached=False) == ()


# --- the child conversation's wait (Barnets Lov §5 stk. 3; issue 11) ----------------------------

BARNETS_LOV = shipped_catalogue().get("default", "2024.1")
WINDOW_RULE = BARNETS_LOV.child_conversation


@settings(max_examples=400, deadline=None)
@given(instants, st.timedeltas(timedelta(0), timedelta(days=200)))
def test_a_conversation_lapses_exactly_where_the_guard_stops_counting_it(
    heard: datetime, later: timedelta
) -> None:
    # The stuck clock's lapse is the guard's own window (`conversation.counts_at`), to the
    # microsecond: it counts up to `lapses_at` and never after.
    from statemachine.conversation import counts_at, lapses_at

    assert WINDOW_RULE is not None
    lapse = lapses_at(WINDOW_RULE, heard)
    assert counts_at(WINDOW_RULE, heard, lapse)
    assert not counts_at(WINDOW_RULE, heard, lapse + MICROSECOND)
    at = heard + later
    assert counts_at(WINDOW_RULE, heard, at) == (at <= lapse)


def test_a_decision_waits_for_the_child_conversation_after_14_days() -> None:
    # Given a case that entered decision on Monday 2 March 2026 at 10:00 with no conversation
    entered = datetime(2026, 3, 2, 9, tzinfo=UTC)
    case = ClockFacts(
        Phase.DECISION, entered, entered, date(2015, 6, 1), frozenset({"custody_holder"}), False
    )
    # Then it waits for it from 14 days on (the rulebook's child_conversation_wait)
    clock = stuck_clock(BARNETS_LOV, case)
    assert clock.conversation_missing_at == datetime(2026, 3, 16, 9, tzinfo=UTC)
    # Held on 20 November 2025, the conversation counts to the end of 20 February 2026 (3
    # months, Copenhagen dates): the wait starts at the later instant, 16 March
    heard = ClockFacts(**{**vars(case), "child_heard_at": datetime(2025, 11, 20, 10, tzinfo=UTC)})
    assert stuck_clock(BARNETS_LOV, heard).conversation_missing_at == clock.conversation_missing_at
    # Held on 20 January 2026 it counts to the end of 20 April 2026 (summer time: 21:59:59 UTC)
    recent = ClockFacts(**{**vars(case), "child_heard_at": datetime(2026, 1, 20, 10, tzinfo=UTC)})
    assert stuck_clock(BARNETS_LOV, recent).conversation_missing_at == (
        datetime(2026, 4, 20, 22, tzinfo=UTC) - MICROSECOND
    )
    # Held since the previous decision, it counts for the next one however long it takes
    since = ClockFacts(
        **{
            **vars(recent),
            "last_decision_at": datetime(2026, 1, 10, 10, tzinfo=UTC),
        }
    )
    assert stuck_clock(BARNETS_LOV, since).conversation_missing_at is None
