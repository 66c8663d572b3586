"""The trail proves itself against an attacker with database access (issue 12): records are
MACed with a key the database never holds, signed checkpoints outside the database remember
what it held, and `audit verify` checks both directions — every case's chain, every record's
case — and names what it finds (case, record, what)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from testkeys import TEST_KEYS

from sagsflow.audit_keys import ring_from_file
from sagsflow.context import Context
from sagsflow.read.audit import audit_entry, verify_audit
from sagsflow.usecases.audit import write_checkpoint
from statemachine.audit import GENESIS, AuditEntry, canonical_json
from statemachine.phases import Phase

ONLY_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", id="postgres")], indirect=True
)


def tamper(engine: Engine, *statements: str, **params: object) -> None:
    """What a database owner can do: write past the append-only triggers (dropped on SQLite,
    switched off for the session on PostgreSQL, as replication does)."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for trigger in (
                "audit_log_no_update",
                "audit_log_no_delete",
                "access_log_no_update",
                "access_log_no_delete",
                "audit_checkpoint_no_delete",
            ):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {trigger}"))
        for statement in statements:
            connection.execute(text(statement), params)


def reasons(result) -> list[tuple[int, int, str]]:
    return [(b["case_id"], b["seq"], b["reason"]) for b in result["breaks"]]


@pytest.fixture
def anchored(context: Context, tmp_path: Path) -> Context:
    """The context with its checkpoints anchored in a file outside the database."""
    return replace(context, checkpoint_file=str(tmp_path / "audit-checkpoints.jsonl"))


def test_an_untouched_trail_verifies_keyed_throughout(cases, anchored):
    # Given three cases and a checkpoint
    for phase in (Phase.INVESTIGATION, Phase.DECISION, Phase.CLARIFICATION):
        cases.at_phase(phase)
    written = write_checkpoint(anchored, now=cases.now)

    # When the auditor verifies
    result = verify_audit(anchored)

    # Then it is intact, every record keyed, and checked against that checkpoint's file
    assert result["ok"] is True, result["breaks"]
    assert result["cases_checked"] == written["cases"] == 3
    assert result["keys"]["unkeyed"] == 0
    assert result["keys"]["keyed"] == result["records_checked"] == written["records"]
    assert result["checkpoint"]["number"] == 1 and result["checkpoint"]["source"] == "file"


def test_deleting_the_newest_case_is_named_even_without_a_checkpoint(cases, context, engine):
    # Given two cases, and the newest one's rows deleted (its audit records cannot be)
    cases.at_phase(Phase.INVESTIGATION)
    newest = cases.at_phase(Phase.CLARIFICATION)
    records = newest.accepted[-1].audit_seq
    tamper(
        engine,
        "DELETE FROM deadline WHERE case_id = :id",
        "DELETE FROM measure WHERE case_id = :id",
        'DELETE FROM "case" WHERE id = :id',
        id=newest.id,
    )

    # Then verify names the case whose records remain without it
    result = verify_audit(context)
    assert result["ok"] is False
    assert (newest.id, 1, f"{records} records of a case that does not exist") in reasons(result)


def test_a_case_deleted_with_its_whole_history_is_named_by_the_checkpoint(cases, anchored, engine):
    # Given two cases signed in a checkpoint
    kept = cases.at_phase(Phase.INVESTIGATION)
    gone = cases.at_phase(Phase.DECISION)
    signed = gone.accepted[-1].audit_seq
    write_checkpoint(anchored, now=cases.now)

    # When the database owner deletes one of them and every record of it
    tamper(
        engine,
        "DELETE FROM deadline WHERE case_id = :id",
        "DELETE FROM measure WHERE case_id = :id",
        "DELETE FROM audit_log WHERE case_id = :id",
        'DELETE FROM "case" WHERE id = :id',
        id=gone.id,
    )

    # Then the checkpoint names it, and the case kept is not named
    result = verify_audit(anchored)
    assert result["ok"] is False
    found = reasons(result)
    assert [b for b in found if b[0] == gone.id] == [
        (
            gone.id,
            signed,
            f"the case is gone since checkpoint 1, which signed {signed} records of it",
        )
    ]
    assert not [b for b in found if b[0] == kept.id]


@ONLY_POSTGRES
def test_truncate_case_cascade_is_named(cases, anchored, engine):
    # Given cases and a checkpoint
    one = cases.at_phase(Phase.INVESTIGATION)
    two = cases.at_phase(Phase.CLARIFICATION)
    write_checkpoint(anchored, now=cases.now)

    # When the owner empties the case table (PostgreSQL cascades to measures and deadlines)
    with engine.begin() as connection:
        connection.execute(text('TRUNCATE "case" CASCADE'))

    # Then every case is named: its records remain, the case does not
    result = verify_audit(anchored)
    assert result["ok"] is False and result["cases_checked"] == 0
    named = {b[0] for b in reasons(result)}
    assert {one.id, two.id} <= named


def _forged(row, *, seq: int, prev: str) -> AuditEntry:
    return AuditEntry(
        case_id=row.case_id,
        seq=seq,
        event="close",
        from_phase=row.to_phase,
        to_phase="closure",
        event_at=row.event_at,
        recorded_at=row.recorded_at,
        actor="department-head",
        role="department_head",
        payload=canonical_json({"reason": "forged"}),
        legal_basis="forged",
        rulebook=row.rulebook,
    )


@pytest.mark.parametrize("key_id", [None, "t1"], ids=["unkeyed", "guessed-mac"])
def test_a_forged_close_is_named_however_it_is_hashed(cases, context, engine, rows, key_id):
    # Given a case in investigation
    case = cases.at_phase(Phase.INVESTIGATION)
    last = rows.audit(case.id)[-1]
    seq = last.seq + 1
    # When the owner appends a `close` by the department head, hashed the way anyone can
    # (plain SHA-256 over the record, as before keys), names a key id, and moves the head
    forged = _forged(last, seq=seq, prev=last.hash)
    digest = forged.digest(last.hash)
    tamper(
        engine,
        "INSERT INTO audit_log (case_id, seq, event, from_phase, to_phase, event_at, recorded_at,"
        " actor, role, payload, legal_basis, rulebook, prev_hash, hash, key_id) VALUES (:case_id,"
        " :seq, 'close', :from_phase, 'closure', :event_at, :recorded_at, 'department-head',"
        " 'department_head', :payload, 'forged', :rulebook, :prev, :hash, :key_id)",
        "UPDATE \"case\" SET audit_seq = :seq, audit_hash = :hash, phase = 'closure'"
        " WHERE id = :case_id",
        case_id=case.id,
        seq=seq,
        from_phase=last.to_phase,
        event_at=last.event_at,
        recorded_at=last.recorded_at,
        payload=forged.payload,
        rulebook=last.rulebook,
        prev=last.hash,
        hash=digest,
        key_id=key_id,
    )

    # Then verify names the forged record
    result = verify_audit(context)
    reason = "written without the key" if key_id is None else "content does not match its MAC"
    assert reasons(result) == [(case.id, seq, reason)]


def test_a_chain_rewritten_without_the_key_is_named(cases, context, engine, rows):
    # Given a case, and the owner rewriting its first record's actor and recomputing every
    # hash after it with plain SHA-256 (all a database owner can compute)
    case = cases.at_phase(Phase.CLARIFICATION)
    records = rows.audit(case.id)
    prev = GENESIS
    statements: list[str] = []
    for r in records:
        entry = replace(audit_entry(r)[0], actor="mallory" if r.seq == 1 else r.actor)
        digest = entry.digest(prev)
        statements.append(
            f"UPDATE audit_log SET actor = '{entry.actor}', prev_hash = '{prev}', hash = "
            f"'{digest}', key_id = NULL WHERE case_id = {case.id} AND seq = {r.seq}"
        )
        prev = digest
    statements.append(f"UPDATE \"case\" SET audit_hash = '{prev}' WHERE id = {case.id}")
    tamper(engine, *statements)

    # Then the first record is named: unkeyed after the installation had a key
    result = verify_audit(context)
    assert reasons(result)[0][:2] == (case.id, 1)


def test_a_cut_tail_with_its_head_moved_back_is_named_by_the_checkpoint(cases, anchored, engine):
    # Given a case signed at its present length
    case = cases.at_phase(Phase.DECISION)
    last = case.accepted[-1].audit_seq
    write_checkpoint(anchored, now=cases.now)
    # When the owner deletes its last record and moves the case's head back to match
    tamper(
        engine,
        "DELETE FROM audit_log WHERE case_id = :id AND seq = :seq",
        'UPDATE "case" SET audit_seq = :seq - 1, audit_hash = (SELECT hash FROM audit_log'
        " WHERE case_id = :id AND seq = :seq - 1) WHERE id = :id",
        id=case.id,
        seq=last,
    )

    # Then verify names the record gone since the checkpoint
    result = verify_audit(anchored)
    assert reasons(result) == [
        (
            case.id,
            last,
            f"record {last} is gone since checkpoint 1 "
            "(a truncated tail or a rolled-back database)",
        )
    ]


def _signed_twice(cases, anchored):
    """A case signed in checkpoint 1, then an event of it signed in checkpoint 2."""
    case = cases.at_phase(Phase.INVESTIGATION)
    write_checkpoint(anchored, now=cases.now)
    accepted = cases.fire(case, "record_consent", {"by": "custody_holder"})
    write_checkpoint(anchored, now=cases.now)
    return case, accepted


def _put_back_to_checkpoint_1(engine: Engine, case_id: int, seq: int) -> None:
    """The database as a backup taken at checkpoint 1 holds it: without record `seq` of the
    case and without checkpoint 2's row."""
    tamper(
        engine,
        "DELETE FROM audit_log WHERE case_id = :id AND seq = :seq",
        'UPDATE "case" SET audit_seq = :seq - 1, audit_hash = (SELECT hash FROM audit_log'
        " WHERE case_id = :id AND seq = :seq - 1) WHERE id = :id",
        "DELETE FROM audit_checkpoint WHERE id = (SELECT max(id) FROM audit_checkpoint)",
        id=case_id,
        seq=seq,
    )


def test_a_rolled_back_database_is_named_by_the_file(cases, anchored, engine):
    # Given a case signed in checkpoint 1, then an event and checkpoint 2
    case, accepted = _signed_twice(cases, anchored)
    # When the database is put back as it was at checkpoint 1 (a restored backup: the event's
    # record and checkpoint 2's row are not in it)
    _put_back_to_checkpoint_1(engine, case.id, accepted.audit_seq)

    # Then the file outside the database names the checkpoint and the record it lacks
    result = verify_audit(anchored)
    found = reasons(result)
    assert found[0][:2] == (0, 2) and "rolled back" in found[0][2]
    assert (case.id, accepted.audit_seq) in [b[:2] for b in found]


def test_a_checkpoint_line_cannot_be_forged_without_the_key(cases, anchored):
    # Given a checkpoint, and its line in the file edited to sign one case fewer
    cases.at_phase(Phase.CLARIFICATION)
    write_checkpoint(anchored, now=cases.now)
    path = Path(anchored.checkpoint_file)
    line = json.loads(path.read_text())
    line["changed"] = []
    path.write_text(json.dumps(line) + "\n")

    # Then verify says the file's line does not match its MAC
    result = verify_audit(anchored)
    assert (0, 1, "checkpoint 1 (file) does not match its MAC") in reasons(result)


def test_deleted_access_log_rows_are_named(staff_log, context, engine):
    # Given a chained access log of several rows, and a checkpoint of it
    anchored = replace(context, checkpoint_file=None)
    write_checkpoint(anchored, now=staff_log)
    # When the owner deletes a row in the middle and the newest one
    tamper(
        engine,
        "DELETE FROM access_log WHERE seq = 2",
        "DELETE FROM access_log WHERE seq = (SELECT max(seq) FROM access_log)",
    )

    # Then verify names the gap
    result = verify_audit(anchored)
    assert (0, 2, "access log: row 2 is missing") in reasons(result)


@pytest.fixture
def staff_log(context, cases):
    """Four access-log rows written the way the use cases write them."""
    from sagsflow.usecases.access import Asked, Channel, log_access
    from statemachine.phases import Role
    from statemachine.visibility import Action, Principal

    who = Principal("revisor", Role.AUDITOR, None)
    for n in range(4):
        asked = Asked(Channel.API, f"GET /api/v1/audit/verify?n={n}", cases.now)
        log_access(context, who, asked, action=Action.LIST)
    return cases.now


def test_records_from_before_the_key_stay_verifiable_and_keyed_ones_begin_after(
    cases, context, tmp_path
):
    # Given an installation that wrote a case before it had keys
    unkeyed = replace(context, keys=replace(TEST_KEYS, keys={}, current=None, keyed_since=None))
    old = replace(cases, context=unkeyed).at_phase(Phase.CLARIFICATION)
    written_unkeyed = old.accepted[-1].audit_seq
    # and then got its key file, and went on with that case and a new one
    ring = ring_from_file(tmp_path / "audit-keys.json", now=cases.now + timedelta(seconds=1))
    keyed = replace(context, keys=ring)
    replace(cases, context=keyed).fire(old, "record_consent", {"by": "custody_holder"})
    replace(cases, context=keyed).at_phase(Phase.INVESTIGATION)

    # Then the trail verifies and says where the keyed records begin
    result = verify_audit(keyed)
    assert result["ok"] is True, result["breaks"]
    assert result["keys"]["unkeyed"] == written_unkeyed
    assert result["keys"]["keyed"] == result["records_checked"] - result["keys"]["unkeyed"]
    assert result["keys"]["keyed_from"] is not None


def test_an_unkeyed_record_after_the_key_file_was_made_is_named(cases, context, tmp_path):
    # Given an installation whose key file exists since before this case was written
    ring = ring_from_file(tmp_path / "audit-keys.json", now=cases.now - timedelta(days=400))
    # When a writer without the key (an old process, or the owner) writes a case
    unkeyed = replace(context, keys=replace(TEST_KEYS, keys={}, current=None))
    case = replace(cases, context=unkeyed).at_phase(Phase.CLARIFICATION)

    # Then its first record is named as written without the key
    result = verify_audit(replace(context, keys=ring))
    assert reasons(result) == [(case.id, 1, "written without the key")]


def test_after_a_deliberate_restore_a_new_checkpoint_file_takes_over(cases, anchored, engine):
    # Given a database put back to checkpoint 1 after checkpoint 2 was signed (a restore)
    case, accepted = _signed_twice(cases, anchored)
    _put_back_to_checkpoint_1(engine, case.id, accepted.audit_seq)
    assert verify_audit(anchored)["ok"] is False
    # When the operator keeps the old file aside and signs the restored database anew
    old = Path(anchored.checkpoint_file)
    old.rename(old.with_suffix(".before-restore"))
    written = write_checkpoint(anchored, now=cases.now)

    # Then the new file (beginning at checkpoint 2) is the anchor, and the trail verifies
    assert written["number"] == 2
    result = verify_audit(anchored)
    assert result["ok"] is True, result["breaks"]
    assert result["checkpoint"] == {"number": 2, "at": result["checkpoint"]["at"], "source": "file"}
