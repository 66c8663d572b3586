"""The CLI's side of a trail that proves itself (issue 12): the key file made 0600 on first
start, records MACed with it and naming their channel and the operating-system user,
`audit checkpoint` writing the signed line outside the database, `audit rotate-key`, and
`audit verify` naming a case deleted with its whole history."""

from __future__ import annotations

import getpass
import json
import stat

import psycopg
import pytest

OPENED_AT = "2026-03-02T09:00:00+01:00"


def _sql(database_url: str, *statements: str) -> list[tuple]:
    """Plain driver calls past the append-only triggers, as a database owner would make."""
    if database_url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            rows: list[tuple] = []
            for statement in statements:
                if statement.startswith("DELETE FROM audit_log"):
                    connection.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
                rows = connection.execute(statement).fetchall()
            connection.commit()
            return rows
        finally:
            connection.close()
    rest = database_url.split("://", 1)[1]
    with psycopg.connect(f"postgresql://{rest}") as connection:
        connection.execute("SET session_replication_role = replica")
        rows = []
        for statement in statements:
            cursor = connection.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
        return rows


def test_records_are_keyed_checkpointed_and_a_deleted_case_is_named(sagsflow) -> None:
    cli = sagsflow
    # Given two cases opened and worked from the CLI
    first = cli.open_case(aware_at=OPENED_AT, child_ref="BARN-0001")["id"]
    second = cli.open_case(aware_at=OPENED_AT, child_ref="BARN-0002")["id"]
    cli.fire(first, "accept", "2026-03-02T10:00:00+01:00")

    # Then the installation made its key file on first start, readable by its owner only
    keys = cli.cwd / "state" / "audit-keys.json"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    assert [k["id"] for k in json.loads(keys.read_text())["keys"]] == ["k1"]
    # and every record is MACed with it and says it came from the CLI, run by this OS user
    records = _sql(cli.database_url, "SELECT key_id, channel, os_user FROM audit_log ORDER BY id")
    assert records == [("k1", "cli", getpass.getuser())] * 3

    # When the operator signs a checkpoint
    signed = cli.json("audit", "checkpoint")
    assert (signed["number"], signed["cases"], signed["records"]) == (1, 2, 3)
    # Then its line is in the file outside the database (0600), MACed with the key
    line = cli.cwd / "state" / "audit-checkpoints.jsonl"
    assert stat.S_IMODE(line.stat().st_mode) == 0o600
    [written] = [json.loads(x) for x in line.read_text().splitlines()]
    assert written["key_id"] == "k1" and len(written["mac"]) == 64
    assert sorted(c[0] for c in written["changed"]) == [first, second]

    # When the key is rotated, new records are MACed with the new key and the old still verify
    assert "k2" in cli.ok("audit", "rotate-key")
    cli.fire(second, "accept", "2026-03-02T11:00:00+01:00")
    assert _sql(cli.database_url, "SELECT key_id FROM audit_log ORDER BY id DESC LIMIT 1") == [
        ("k2",)
    ]
    assert cli.json("audit", "verify")["ok"] is True

    # When someone records in a role the organisation file does not give the actor, it is
    # refused, and with --operator it is recorded as the operator's, MACed like the rest
    consent = ["case", "fire", str(second), "record_consent", "--at", "2026-03-02T12:00:00+01:00",
               "--data", '{"by": "custody_holder"}', "--actor", "anna", "--role", "team_leader"]  # fmt: skip
    assert cli.run(*consent).returncode == 2
    cli.ok(*consent, "--operator")
    last = "SELECT actor, role, as_operator FROM audit_log ORDER BY id DESC LIMIT 1"
    assert _sql(cli.database_url, last) == [("anna", "team_leader", True)]
    assert cli.json("audit", "verify")["ok"] is True

    # When the database owner deletes the first case with every row of it
    _sql(
        cli.database_url,
        f"DELETE FROM deadline WHERE case_id = {first}",
        f"DELETE FROM audit_log WHERE case_id = {first}",
        f'DELETE FROM "case" WHERE id = {first}',
    )

    # Then verify exits 1 and names the case the checkpoint signed
    done = cli.run("audit", "verify", "--json")
    assert done.returncode == 1
    found = json.loads(done.stdout)["breaks"]
    assert [(b["case_id"], b["seq"], b["code"]) for b in found] == [(first, 2, "case_gone")]
    assert f"case {first}" in done.stderr and "checkpoint 1" in done.stderr


@pytest.mark.parametrize("database_url", [pytest.param("sqlite", id="sqlite")], indirect=True)
def test_a_broken_key_file_is_a_clear_error_and_nothing_is_written(sagsflow) -> None:
    cli = sagsflow
    (cli.cwd / "state").mkdir()
    (cli.cwd / "state" / "audit-keys.json").write_text('{"keys": [{"id": "k1", "secret": "no"}]}')

    line = cli.fails("audit", "checkpoint")

    assert "audit key" in line and "hex" in line
