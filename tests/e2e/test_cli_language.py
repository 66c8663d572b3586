"""The CLI speaks Danish unless `--lang en` or SAGSFLOW_LANG=en asks for English; its JSON keys,
codes and event names are the same in both."""

from __future__ import annotations

import json
from dataclasses import replace


def test_a_refusal_is_one_danish_line_by_default_and_english_on_request(sagsflow):
    danish = replace(sagsflow, settings=(("SAGSFLOW_LANG", "da"),))
    opened = danish.open_case(aware_at="2026-03-27T10:00:00+01:00")
    at = "2026-03-27T13:00:00+01:00"
    # A grant in inquiry is not an event of the phase
    line = danish.refused(opened["id"], "grant", at, {"measures": [{"type": "safety_plan"}]})
    assert line.startswith("fejl: »Bevilg foranstaltning« afvist i fasen Henvendelse:")
    assert "er ikke mulig i fasen Henvendelse" in line
    # The same with --lang en, before the command
    english = sagsflow.run(
        "--lang", "en", *danish.fire_args(opened["id"], "grant", at, None, "caseworker", "anna")
    )
    assert english.returncode == 3
    assert english.stderr.startswith("error: grant refused in phase inquiry:")


def test_the_json_answer_carries_the_code_in_either_language(sagsflow):
    danish = replace(sagsflow, settings=(("SAGSFLOW_LANG", "da"),))
    opened = danish.open_case(aware_at="2026-03-27T10:00:00+01:00")
    args = danish.fire_args(
        opened["id"], "accept", "2099-01-01T09:00:00+01:00", None, "caseworker", "anna"
    )
    done = danish.run(*args, "--json")
    answer = json.loads(done.stdout)
    assert answer["code"] == "time_in_future"
    assert answer["params"]["field"] == "at"
    assert "ligger i fremtiden" in answer["reason"]


def test_case_show_prints_danish_tables(sagsflow):
    danish = replace(sagsflow, settings=(("SAGSFLOW_LANG", "da"),))
    opened = danish.open_case(
        aware_at="2026-03-27T10:00:00+01:00", source="notification", notifier="professional"
    )
    shown = danish.ok("case", "show", str(opened["id"]))
    assert "Frister" in shown and "Revisionsspor" in shown
    assert "Underretning / fagperson" in shown
    assert "24 elapsed hours" not in shown and "+ 24 timer →" in shown


def test_rulebook_migrate_due_speaks_danish(sagsflow):
    danish = replace(sagsflow, settings=(("SAGSFLOW_LANG", "da"),))
    case_id = danish.open_case(aware_at="2023-12-15T10:00:00+01:00")["id"]
    preview = danish.ok("rulebook", "migrate", "--due", "--dry-run", "--now", "2024-03-01T10:00")
    assert preview.startswith(
        "1 åben(ne) sag(er) ville skifte til det regelsæt, der gælder for dem 1. mar. 2024; "
        "0 frist(er) ville flytte, 0 bortfalde, 0 sag(er) kan ikke skifte"
    )
    assert "Regelsæt" in preview
    assert f"{case_id}" in preview and "default@2014.1 → default@2024.1" in preview
    done = danish.ok("rulebook", "migrate", "--due", "--now", "2024-03-01T10:00")
    assert done.startswith("1 åben(ne) sag(er) skiftet til det regelsæt, der gælder for dem")
