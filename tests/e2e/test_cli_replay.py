"""`sagsflow audit verify --replay`: the state the audit trail proves, as an operator runs it.

A case is walked through the CLI; its rows are then changed behind the engine's back with the
bare driver (sqlite3, psycopg: nothing from the code under test), and the command must name each
change and exit 1. Expected values by hand (default@2024.1): a professional's notification of
Friday 27 March 2026 10:00, its investigation opened on 7 April and due 4 months from awareness,
Monday 27 July 2026 23:59:59+02:00, met by the conclusion of 1 June.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.e2e.conftest import Sagsflow

PLAN = {
    "purpose": "Stabil hverdag i hjemmet",
    "goals": ["Barnet kommer i skole hver dag"],
    "expected_duration_months": 6,
}
WALK: list[tuple[str, str, dict[str, Any] | None]] = [
    ("assess_urgency", "2026-03-27T12:00:00+01:00", {"acute": False}),
    ("acknowledge", "2026-03-27T13:00:00+01:00", None),
    ("accept", "2026-03-30T10:00:00+02:00", None),
    ("record_consent", "2026-04-01T10:00:00+02:00", {"by": "custody_holder"}),
    ("open_investigation", "2026-04-07T10:00:00+02:00", None),
    ("conclude", "2026-06-01T10:00:00+02:00", {"measures_needed": True}),
    ("submit_plan", "2026-06-08T10:00:00+02:00", PLAN),
    (
        "record_child_conversation",
        "2026-06-15T10:00:00+02:00",
        {"without_parents": True, "support_person_offered": True},
    ),
    (
        "grant",
        "2026-06-22T10:00:00+02:00",
        {"measures": [{"type": "practical_support", "package": "red"}]},
    ),
    ("start_measures", "2026-07-01T09:00:00+02:00", None),
]


def walked(cli: Sagsflow, child_ref: str = "BARN-0001") -> int:
    """A professional's notification walked into follow-up by rw1 of team t1 (the demo
    organisation file's): eleven records."""
    opened = cli.open_case(
        aware_at="2026-03-27T10:00:00+01:00",
        source="notification",
        notifier="professional",
        child_ref=child_ref,
        worker="rw1",
        team="t1",
    )
    case_id: int = opened["id"]
    for event, at, data in WALK:
        cli.fire(case_id, event, at, data, actor="rw1")
    return case_id


def behind_its_back(database_url: str, statement: str, *params: Any) -> None:
    """One UPDATE or DELETE on the bare driver, changing exactly one row (SQLite's `?`
    placeholders, turned into psycopg's `%s`)."""
    if database_url.startswith("sqlite"):
        connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        try:
            assert connection.execute(statement, params).rowcount == 1
            connection.commit()
        finally:
            connection.close()
        return
    import psycopg

    _, rest = database_url.split("://", 1)
    with psycopg.connect(f"postgresql://{rest}") as connection:
        assert connection.execute(statement.replace("?", "%s"), params).rowcount == 1


def test_replay_agrees_then_names_a_changed_phase_and_exits_1(sagsflow: Sagsflow) -> None:
    cli = sagsflow
    case_id = walked(cli)

    # All eleven records replay and agree with the rows: exit 0
    assert cli.ok("audit", "verify", "--replay").splitlines() == [
        "replay agrees: 1 case(s), 11 event(s) replayed, no differences"
    ]
    agreed = cli.json("audit", "verify", "--replay")
    assert (agreed["ok"], agreed["cases_checked"], agreed["events_replayed"]) == (True, 1, 11)
    assert (agreed["differences"], agreed["differences_total"], agreed["not_provable"]) == (
        [],
        0,
        [],
    )
    # Danish by default (the tests ask for English): the same in Danish
    danish = cli.ok("--lang", "da", "audit", "verify", "--replay")
    assert danish.startswith("genafspilningen stemmer: 1 sag(er), 11 hændelse(r) genafspillet")

    # When a DBA moves the case to closure behind the engine's back
    behind_its_back(
        cli.database_url, 'UPDATE "case" SET phase = ? WHERE id = ?', "closure", case_id
    )

    done = cli.run("audit", "verify", "--replay")
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"case {case_id}, phase: stored closure, replayed follow_up"
    ]
    assert done.stderr.strip().splitlines() == [
        f"replay DIFFERS: 1 difference(s), the first at case {case_id}: phase"
    ]
    done = cli.run("audit", "verify", "--replay", "--json")
    assert done.returncode == 1
    answer = json.loads(done.stdout)
    assert answer["ok"] is False
    assert answer["differences"] == [
        {
            "case_id": case_id,
            "seq": None,
            "field": "phase",
            "stored": "closure",
            "replayed": "follow_up",
        }
    ]
    danish = cli.run("--lang", "da", "audit", "verify", "--replay")
    assert danish.stdout.splitlines() == [
        f"sag {case_id}, phase: gemt closure, genafspillet follow_up"
    ]


def test_replay_names_a_changed_deadline_worker_and_a_deleted_measure(sagsflow: Sagsflow) -> None:
    cli = sagsflow
    case_id = walked(cli)
    url = cli.database_url
    behind_its_back(
        url,
        "UPDATE deadline SET due_at = ?, status = ? WHERE case_id = ? AND key = ?",
        "2026-08-27 21:59:59.000000" if url.startswith("sqlite") else "2026-08-27 21:59:59+00",
        "open",
        case_id,
        "investigation",
    )
    behind_its_back(url, 'UPDATE "case" SET worker = ? WHERE id = ?', "rw2", case_id)
    behind_its_back(url, "DELETE FROM measure WHERE case_id = ? AND key = ?", case_id, "m1")

    done = cli.run("audit", "verify", "--replay", "--json")

    assert done.returncode == 1
    answer = json.loads(done.stdout)
    found = {
        d["field"]: (d["case_id"], d["seq"], d["stored"], d["replayed"])
        for d in answer["differences"]
    }
    assert answer["differences_total"] == 4
    assert found["worker"] == (case_id, None, "rw2", "rw1")
    assert found["deadlines.investigation.due_at"] == (
        case_id,
        None,
        "2026-08-27T23:59:59+02:00",
        "2026-07-27T23:59:59+02:00",
    )
    assert found["deadlines.investigation.status"] == (case_id, None, "open", "met")
    _, _, stored, rebuilt = found["measures.m1"]
    assert stored is None
    assert (rebuilt["type"], rebuilt["package"], rebuilt["started_at"]) == (
        "practical_support",
        "red",
        "2026-07-01T09:00:00+02:00",
    )
    [reason] = done.stderr.strip().splitlines()
    assert reason.startswith(f"replay DIFFERS: 4 difference(s), the first at case {case_id}: ")


def test_replay_of_one_case_checks_that_case_only(sagsflow: Sagsflow) -> None:
    cli = sagsflow
    changed = walked(cli, "BARN-0001")
    untouched = walked(cli, "BARN-0002")
    behind_its_back(cli.database_url, 'UPDATE "case" SET team = ? WHERE id = ?', "t2", changed)

    alone = cli.json("audit", "verify", "--replay", "--case", str(untouched))
    assert (alone["ok"], alone["cases_checked"], alone["events_replayed"]) == (True, 1, 11)
    done = cli.run("audit", "verify", "--replay", "--case", str(changed), "--json")
    assert done.returncode == 1
    [difference] = json.loads(done.stdout)["differences"]
    assert (difference["field"], difference["stored"], difference["replayed"]) == (
        "team",
        "t2",
        "t1",
    )
    # No such case: exit 4, as for every unknown case; --case without --replay: exit 2
    assert cli.run("audit", "verify", "--replay", "--case", "999").returncode == 4
    reason = cli.fails("audit", "verify", "--case", str(changed))
    assert "--case goes with --replay only" in reason


def test_a_record_the_domain_would_not_have_written_is_named_by_its_number(
    sagsflow: Sagsflow, rewrite_audit_payload: Callable[[str, int, int, str], None]
) -> None:
    cli = sagsflow
    case_id = walked(cli)
    # A DBA rewrites the conclusion (record 7) as "no measures needed"
    conclude_seq = 1 + [event for event, _, _ in WALK].index("conclude") + 1
    assert conclude_seq == 7
    rewrite_audit_payload(cli.database_url, case_id, conclude_seq, '{"measures_needed":false}')

    done = cli.run("audit", "verify", "--replay", "--json")

    assert done.returncode == 1
    found = [
        (d["case_id"], d["seq"], d["field"], d["stored"], d["replayed"])
        for d in json.loads(done.stdout)["differences"]
    ]
    # Without measures the conclusion closes the case, so the plan after it cannot be: the
    # replay names both records and stops there
    assert found == [
        (case_id, 7, "record.to_phase", "action_plan", "closure"),
        (case_id, 8, "record.refused", "submit_plan", "not_possible_in_phase"),
    ]
