"""Every event is one transaction: phase, deadlines and the audit record commit together or not at all."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from models.tables import AuditRecord
from statemachine.errors import EventRefused
from statemachine.phases import Phase, Role

CPH = ZoneInfo("Europe/Copenhagen")
AUDIT = AuditRecord.__table__  # type: ignore[attr-defined]


def test_accepted_event_stores_phase_deadline_and_audit_record_together(cases, rows):
    # Given a case in clarification with the custody holder's consent
    case = cases.at_phase(Phase.CLARIFICATION)
    cases.fire(case, "record_consent", {"by": "custody_holder"})
    before = rows.case(case.id)

    # When the investigation is opened
    accepted = cases.fire(case, "open_investigation", at=datetime(2026, 1, 20, 10, tzinfo=CPH))

    # Then the case row, the new deadline and the audit record are all stored
    after = rows.case(case.id)
    assert (after.phase, after.version) == ("investigation", before.version + 1)
    assert accepted.version == after.version
    assert rows.deadlines(case.id)["investigation"].status == "open"
    audit = rows.audit(case.id)
    last = audit[-1]
    assert (last.seq, last.event, last.from_phase, last.to_phase) == (
        before.audit_seq + 1,
        "open_investigation",
        "clarification",
        "investigation",
    )
    assert (after.audit_seq, after.audit_hash) == (last.seq, last.hash)
    assert last.prev_hash == audit[-2].hash


REFUSALS = {
    # a guard: placements need the team leader's competence (kompetenceplan, seed 002)
    "placement granted by a caseworker": (
        "grant",
        {"measures": [{"type": "foster_family_placement"}]},
        Role.CASEWORKER,
        timedelta(days=1),
    ),
    # a refusal needs a party hearing first (forvaltningsloven §19)
    "refusal without a party hearing": (
        "refuse",
        {"complaint_guidance": True},
        Role.CASEWORKER,
        timedelta(days=1),
    ),
    "event dated before the previous one": (
        "record_party_hearing",
        None,
        Role.CASEWORKER,
        timedelta(days=-1),
    ),
    "event not possible in the phase": ("start_measures", None, Role.CASEWORKER, timedelta(days=1)),
    "invalid data": ("grant", {"measures": []}, Role.CASEWORKER, timedelta(days=1)),
    "read-only auditor": ("record_party_hearing", None, Role.AUDITOR, timedelta(days=1)),
}


@pytest.mark.parametrize(
    ("event", "data", "role", "after_previous"), REFUSALS.values(), ids=REFUSALS.keys()
)
def test_refused_event_writes_nothing(
    cases, rows, event: str, data: dict[str, Any] | None, role: Role, after_previous: timedelta
):
    # Given a case at decision, with an open decision deadline
    case = cases.at_phase(Phase.DECISION)
    before = rows.snapshot(case.id)
    assert before["deadlines"]

    # When an event is refused
    with pytest.raises(EventRefused):
        cases.fire(case, event, data, at=case.last_at + after_previous, role=role)

    # Then the case version, its measures, deadlines and audit records are exactly as before
    assert rows.snapshot(case.id) == before


def test_failed_audit_write_rolls_back_phase_and_deadline_changes(cases, rows, engine):
    # Given a case under investigation, its 4-month deadline open
    case = cases.at_phase(Phase.INVESTIGATION)
    stored = rows.case(case.id)
    # … and a rival record already holding the next sequence number of its audit chain, so that
    # the audit insert is the statement of the event that fails, after every other write
    last = rows.audit(case.id)[-1]
    rival = {c: v for c, v in last._mapping.items() if c != "id"} | {"seq": stored.audit_seq + 1}
    with engine.begin() as connection:
        connection.execute(insert(AUDIT).values(**rival))
    before = rows.snapshot(case.id)

    # When the investigation is concluded (a phase change and a deadline met)
    with pytest.raises(IntegrityError):
        cases.fire(case, "conclude", {"measures_needed": True})

    # Then nothing of the event was stored: phase, version, deadline and chain are unchanged
    assert rows.snapshot(case.id) == before
    after = rows.case(case.id)
    assert (after.phase, after.version, after.audit_seq) == (
        "investigation",
        stored.version,
        stored.audit_seq,
    )
    assert rows.deadlines(case.id)["investigation"].status == "open"
