"""Random event sequences, valid and invalid, never corrupt a case, and its audit always verifies.

Each example opens its own case in the test's database (so the function-scoped fixtures are
shared by the examples on purpose) and fires a random sequence through the service layer: mostly
events the phase allows with data that can pass their guards, so that cases reach the later
phases; sometimes any event at all, random data or junk; random roles; event times that may lie
before the previous event or after `now`. Whatever was accepted or refused, the stored case must
agree with its audit chain recomputed from the rows.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sagsflow.read.cases import show_case
from sagsflow.usecases.cases import fire_event
from statemachine.errors import EventRefused
from statemachine.phases import CASE_EVENTS, Notifier, Phase, Role, Source
from statemachine.process import allowed_events

EXAMPLES = {"sqlite": 30, "postgresql": 10}
MAX_STEPS = 30

# Free text without NUL, which PostgreSQL text cannot hold.
words = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=30)
measure_ids = st.sampled_from(["m1", "m2", "m3"])
measure_requests = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "practical_support",
                "family_treatment",
                "contact_person_child",
                "safety_plan",
                "preventive_talks",
                "support_person_parents",
                "foster_family_placement",
                "no_such_measure",
            ]
        )
    },
    optional={
        "package": st.sampled_from(["red", "orange", "yellow", "green", "purple"]),
        "external": st.booleans(),
        "without_consent": st.booleans(),
    },
)
measure_lists = st.fixed_dictionaries({"measures": st.lists(measure_requests, max_size=3)})
no_data = st.none() | st.just({})
EVENT_DATA: dict[str, st.SearchStrategy[Any]] = {
    "assess_urgency": st.fixed_dictionaries({"acute": st.booleans()}),
    "record_consent": st.fixed_dictionaries(
        {"by": st.sampled_from(["custody_holder", "child", "neighbour"])}
    ),
    "propose_preventive": measure_lists,
    "grant": measure_lists,
    "conclude": st.fixed_dictionaries({"measures_needed": st.booleans()}),
    "submit_plan": st.fixed_dictionaries(
        {},
        optional={
            "purpose": words,
            "goals": st.lists(words, max_size=2),
            "expected_duration_months": st.integers(-1, 300),
        },
    ),
    "refuse": st.fixed_dictionaries({"complaint_guidance": st.booleans()}),
    "record_follow_up": st.fixed_dictionaries(
        {
            "measure_id": measure_ids,
            "spoke_with_provider": st.booleans(),
            "spoke_with_parents": st.booleans(),
            "plan_revision_decided": st.booleans(),
        },
        optional={
            "child_heard": st.booleans(),
            "package_reviewed": st.booleans(),
            "next_follow_up": st.sampled_from(
                [
                    {"as_service_level": True, "reason": "Kadencen passer"},
                    {"every": {"amount": 6, "unit": "weeks"}, "reason": "Tæt opfølgning"},
                ]
            ),
        },
    ),
    "end_measure": st.fixed_dictionaries(
        {"measure_id": measure_ids, "reason": words}, optional={"goals_met": st.booleans()}
    ),
    "close": st.fixed_dictionaries({}, optional={"reason": words}),
}
PLAN = {
    "purpose": "Stabil hverdag i hjemmet",
    "goals": ["Barnet kommer i skole hver dag"],
    "expected_duration_months": 6,
}
# Data with which the event can be accepted (guards permitting).
PLAUSIBLE_DATA: dict[str, st.SearchStrategy[Any]] = {
    "assess_urgency": EVENT_DATA["assess_urgency"],
    "record_consent": st.sampled_from([{"by": "custody_holder"}, {"by": "child"}]),
    "propose_preventive": st.just({"measures": [{"type": "preventive_talks"}]}),
    "grant": st.sampled_from(
        [
            {"measures": [{"type": "practical_support", "package": "red"}]},
            {
                "measures": [
                    {"type": "safety_plan"},
                    {"type": "family_treatment", "package": "green"},
                ]
            },
            {"measures": [{"type": "preventive_talks"}]},
            {"measures": [{"type": "foster_family_placement"}]},
        ]
    ),
    "conclude": st.sampled_from([{"measures_needed": True}] * 3 + [{"measures_needed": False}]),
    "submit_plan": st.just(PLAN),
    "refuse": st.just({"complaint_guidance": True}),
    "record_follow_up": st.fixed_dictionaries(
        {
            "measure_id": measure_ids,
            "spoke_with_provider": st.just(True),
            "spoke_with_parents": st.just(True),
            "plan_revision_decided": st.just(True),
            "next_follow_up": st.just({"as_service_level": True, "reason": "Kadencen passer"}),
        }
    ),
    "end_measure": st.fixed_dictionaries(
        {"measure_id": measure_ids, "reason": st.just("Mål nået")}
    ),
    "close": st.just({"reason": "Familien er flyttet"}),
}
junk_data = st.dictionaries(words, st.integers() | words | st.booleans(), max_size=2)
# Events that end a case early or skip the investigation: drawn less often, or few cases would
# reach the measures and their follow-ups.
DETOURS = {"close", "refuse", "propose_preventive"}
ANY_EVENT = [e.value for e in CASE_EVENTS] + ["open_case", "migrate_rulebook", "teleport"]
# Mostly caseworkers; sometimes someone with more competence, or none (the auditor only reads).
roles = st.sampled_from([Role.CASEWORKER] * 4 + list(Role))
# From a day before the previous event to a month after it, to the microsecond.
gaps = st.timedeltas(min_value=timedelta(days=-1), max_value=timedelta(days=30))


def test_random_event_sequences_keep_the_case_consistent_with_its_audit_chain(
    cases, context, rows, backend
):
    rulebook = context.catalogue.get("default", "2024.1")

    @settings(
        max_examples=EXAMPLES[backend],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        # Given a case (aware in 2026: default@2024.1) walked with valid events to a random phase,
        # so that every phase, measures and their follow-ups get their share of random events
        source = data.draw(st.sampled_from(Source))
        notifier = data.draw(st.sampled_from(Notifier)) if source is Source.NOTIFICATION else None
        case = cases.at_phase(
            data.draw(st.sampled_from(Phase)),
            aware_at=datetime(2026, 1, 5, tzinfo=UTC)
            + data.draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=180))),
            birth_date=data.draw(st.dates(date(2006, 1, 1), date(2025, 12, 31))),
            source=source,
            notifier=notifier,
        )
        accepted = [a.event for a in case.accepted]
        phase, last_at = Phase(case.accepted[-1].to_phase), case.last_at
        opened_version = case.accepted[0].version

        # When random events are fired at it
        for _ in range(data.draw(st.integers(MAX_STEPS // 2, MAX_STEPS))):
            allowed = [] if phase is Phase.CLOSURE else allowed_events(rulebook, phase)
            onward = [e for e in allowed if e not in DETOURS] or allowed
            roll = data.draw(st.integers(0, 9))
            if roll == 0 or not allowed:
                event = data.draw(st.sampled_from(ANY_EVENT))
            elif roll == 1:
                event = data.draw(st.sampled_from(allowed))
            else:
                event = data.draw(st.sampled_from(onward))
            kind = data.draw(st.integers(0, 9))
            if kind == 0:
                payload = data.draw(junk_data)
            elif kind <= 3:
                payload = data.draw(EVENT_DATA.get(event, no_data))
            else:
                payload = data.draw(PLAUSIBLE_DATA.get(event, no_data))
            at = last_at + data.draw(gaps)
            try:
                result = fire_event(
                    context,
                    case.id,
                    event,
                    at=at,
                    data=payload,
                    actor="caseworker-anna",
                    role=data.draw(roles),
                    now=cases.now,
                )
            except EventRefused:
                continue
            phase, last_at = Phase(result.to_phase), at
            accepted.append(event)

        # Then the stored case agrees with its audit chain, recomputed from the rows
        stored = rows.case(case.id)
        audit = rows.audit(case.id)
        assert rows.chain_break(case.id) is None
        assert [r.seq for r in audit] == list(range(1, len(accepted) + 1))
        assert [r.event for r in audit] == accepted
        assert stored.audit_seq == len(audit)
        assert stored.audit_hash == audit[-1].hash
        assert stored.phase == audit[-1].to_phase == phase.value
        assert stored.version == opened_version + len(accepted) - 1
        # … and the case still loads as a whole
        assert show_case(context, case.id)["phase"] == phase.value

    run()
