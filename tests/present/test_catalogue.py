"""The message catalogue: every text a person can be shown exists in Danish and in English.

The keys are found two ways: every literal key the code and templates ask for (`t("…")`,
`say("…")`), and every family of keys built from the domain's values (a phase, an event, a
refusal code, …), enumerated from the domain itself, so a new event or code without words fails
here rather than showing its key to a caseworker.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from rulebooks import shipped_catalogue
from sagsflow.present.i18n import LANGUAGES, messages, translator
from sagsflow.present.refusals import refusal_text
from statemachine.audit import FINDINGS
from statemachine.calendar import Unit
from statemachine.consent import ConsentParty
from statemachine.errors import Refusal, RefusalCode
from statemachine.late import SUPERVISED_RULES
from statemachine.phases import DeadlineStatus, Event, NotificationStatus, Notifier, Phase, Role
from statemachine.phases import Source as CaseSource
from statemachine.rulebook import Anchor, RuleId
from statemachine.stuck import StuckReason

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r"""\b(?:t|say|self)\(\s*["']([a-z][a-z0-9_]*(?:\.[a-z0-9_-]+)+)["']""")


def _literal_keys() -> set[str]:
    found: set[str] = set()
    for folder in ("sagsflow", "flows"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".html", ".txt", ".md"} and "locale" not in path.parts:
                found |= set(LITERAL.findall(path.read_text(encoding="utf-8")))
    return found


def _family_keys() -> set[str]:
    packages = {
        p for r in shipped_catalogue().rulebooks for m in r.measures.values() for p in m.packages
    }
    families: dict[str, object] = {
        "phase": Phase,
        "event": Event,
        "rule": RuleId,
        "status": DeadlineStatus,
        "reason": StuckReason,
        "role": Role,
        "source": CaseSource,
        "notifier": Notifier,
        "party": ConsentParty,
        "as_role": [Role.CASEWORKER, Role.TEAM_LEADER, Role.DEPARTMENT_HEAD, Role.COMMITTEE],
        "mail.rule": RuleId,
        "mail.level": ["reminder", "breach", "escalation"],
        "mail.kind": ["statutory", "municipal"],
        "level": ["reminder", "breach", "escalation"],
        "outbox": NotificationStatus,
        "package": packages,
        "compliance.measure": SUPERVISED_RULES,
        "compliance.short": SUPERVISED_RULES,
        "explain.anchor": [*Anchor, "expected_birth"],
        "closed": ["weekend", "saturday", "sunday", "holiday", "extra_closed_day"],
        "denied": [
            "read_only",
            "no_cases",
            "no_team",
            "other_team",
            "no_audit_export",
            "no_audit_verify",
            "no_access_log",
        ],
        "user": [
            "bad_name",
            "needs_team",
            "unknown_team",
            "short_password",
            "exists",
            "no_such_user",
        ],
        "instant": ["not_iso", "nonexistent", "ambiguous"],
        "problem.period": ["format", "reversed", "range"],
        "audit_finding": FINDINGS,
        "audit_where": ["file", "table"],
    }
    keys = {f"{kind}.{getattr(v, 'value', v)}" for kind, values in families.items() for v in values}  # type: ignore[attr-defined]
    for unit in Unit:
        keys |= {f"unit.{unit.value}.one", f"unit.{unit.value}.other"}
        keys |= {f"count.{unit.value}.one", f"count.{unit.value}.other"}
    from sagsflow.api.problems import KINDS

    keys |= {f"problem.title.{kind}" for kind in KINDS}
    return keys


def test_both_languages_hold_the_same_keys_and_no_empty_text() -> None:
    danish, english = messages("da"), messages("en")
    assert set(danish) == set(english)
    assert not [k for k, v in danish.items() if not v.strip()]
    assert not [k for k, v in english.items() if not v.strip()]


def test_every_text_the_code_asks_for_exists() -> None:
    known = set(messages("da"))
    wanted = _literal_keys() | _family_keys()
    assert sorted(wanted - known) == []


def test_placeholders_of_the_two_languages_agree() -> None:
    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    # One language may leave out a value the other names (English keeps `m1` where Danish names
    # the measure by its title), but neither may ask for one the other does not know of: a
    # misspelt placeholder would fail only in that language.
    danish, english = messages("da"), messages("en")
    differing = [
        k
        for k in danish
        if not (fields(danish[k]) <= fields(english[k]) or fields(english[k]) <= fields(danish[k]))
    ]
    assert differing == []


SAMPLE_PARAMS: dict[str, object] = {
    "rules": ["acknowledgement"],
    "event": "grant",
    "field": "at",
    "at": "2026-03-01T09:30:00+00:00",
    "last": "2026-03-01T08:00:00+00:00",
    "role": "caseworker",
    "phase": "inquiry",
    "problems": [
        {
            "field": "by",
            "type": "literal_error",
            "message": "Input should be 'a' or 'b'",
            "ctx": {"expected": "'a' or 'b'"},
        }
    ],
    "act": "grant",
    "measure": "placement",
    "needed": "team_leader",
    "source": "Barnets Lov §32",
    "parties": ["custody_holder", "child"],
    "child_age": 15,
    "measures": ["placement"],
    "rulebook": "default@2024.1",
    "known": ["placement"],
    "came_from": "clarification",
    "missing": ["purpose", "goals"],
    "packages": ["red", "green"],
    "given": None,
    "min": 14,
    "max": 22,
    "age": 12,
    "day": "2026-03-01",
    "law": "Barnets Lov",
    "pinned": "default@2014.1",
    "effective": "2024-01-01",
    "measure_id": "m2",
    "active": ["m1"],
    "expected_by": "2026-03-20",
    "expected": "2026-06-15",
    "aware": "2026-02-01",
    "latest": "2026-12-01",
    "amount": 10,
    "unit": "months",
    "birth_date": "2026-06-12",
    "rule": "supervision_visit",
    # Issue 11: complaints and further notifications.
    "from_age": 10,
    "decision_seq": 14,
    "decisions": [14],
    "received_at": "2026-03-10T10:00:00+00:00",
    "decided_at": "2026-03-02T09:00:00+00:00",
    "complaint": 17,
    "complaints": [17],
    "status": "forwarded",
    "awaiting": "awaiting_reassessment",
    "until": "2026-03-30T21:59:59+00:00",
    "aware_at": "2026-03-05T13:00:00+00:00",
    "actor": "caseworker-anna",
    # Issue 12: who and where a new case belongs.
    "municipality": "vest",
    "team": "t9",
    "worker": "rw99",
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("code", list(RefusalCode))
def test_every_refusal_code_is_worded_in_both_languages(lang: str, code: RefusalCode) -> None:
    params = dict(SAMPLE_PARAMS)
    if code is RefusalCode.INCOMPLETE_FOLLOW_UP:
        params["missing"] = ["provider", "parents", "plan_position"]
    text = refusal_text(Refusal(code, params), translator(lang))  # type: ignore[arg-type]
    assert text and not text.startswith("refusal.")
    assert "{" not in text and "}" not in text
