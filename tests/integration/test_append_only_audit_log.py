"""The audit log is append-only in the database itself: not even raw SQL rewrites history."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from statemachine.phases import Phase

ONLY_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", id="postgres")], indirect=True
)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(
            "UPDATE audit_log SET actor = 'mallory' WHERE case_id = :case_id", id="update"
        ),
        pytest.param("DELETE FROM audit_log WHERE case_id = :case_id", id="delete"),
    ],
)
def test_audit_log_refuses_rewriting_at_the_database_level(cases, rows, engine, statement: str):
    # Given a case with a few audit records
    case = cases.at_phase(Phase.INVESTIGATION)
    before = rows.audit(case.id)

    # When someone rewrites them with raw SQL, bypassing the application
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement), {"case_id": case.id})

    # Then the database refused it: every record is unchanged and the chain still verifies
    assert rows.audit(case.id) == before
    assert rows.chain_break(case.id) is None


@ONLY_POSTGRES
def test_audit_log_refuses_truncate_on_postgres(cases, rows, engine):
    # Given a case with audit records
    case = cases.at_phase(Phase.CLARIFICATION)
    before = rows.audit(case.id)

    # When someone empties the table at once (TRUNCATE fires no row triggers)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text("TRUNCATE audit_log"))

    # Then the statement trigger refused it
    assert rows.audit(case.id) == before


def test_audit_log_still_accepts_new_events_after_a_refused_rewrite(cases, rows, engine):
    # Given a refused attempt to delete a case's history
    case = cases.at_phase(Phase.CLARIFICATION)
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE case_id = :id"), {"id": case.id})

    # When the caseworker records the next event
    accepted = cases.fire(case, "record_consent", {"by": "custody_holder"})

    # Then it is appended to the intact chain
    audit = rows.audit(case.id)
    assert [r.seq for r in audit] == [1, 2, 3]
    assert accepted.audit_seq == 3
    assert rows.chain_break(case.id) is None
