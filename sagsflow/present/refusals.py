"""The sentence a person reads for a refusal: the domain's code and parameters, worded.

`statemachine.errors.Refusal` holds a code (`missing_consent`) and parameters (the parties, the
child's age, the rule's source); here they become Danish or English. In Danish, values are named
(roles, events, phases, consent parties, packages, measures by their catalogue titles); in
English, as asked for "on request" by those who script against the system, they keep their
contract names (`department_head`, `record_party_hearing`), which are also what the API's `code`,
`event` and `allowed` fields carry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sagsflow.present.i18n import Translator
from statemachine.errors import EventRefused, Refusal, RefusalCode
from statemachine.rulebook import Rulebook

Values = dict[str, object]


class _Words:
    """How one refusal's values are written in the translator's language."""

    def __init__(self, t: Translator, rulebook: Rulebook | None) -> None:
        self.t = t
        self.rulebook = rulebook
        self.danish = t.lang == "da"

    def value(self, kind: str, value: object) -> str:
        text = "" if value is None else str(value)
        return self.t.label(kind, text) if self.danish else text

    def measure(self, measure_type: object) -> str:
        name = str(measure_type)
        if self.danish and self.rulebook is not None and name in self.rulebook.measures:
            return self.rulebook.measures[name].title
        return name

    def measures(self, types: Sequence[object]) -> str:
        return self.list([self.measure(m) for m in types])

    def list(self, items: Sequence[str]) -> str:
        return self.t.join(items) if self.danish else ", ".join(items)

    def instant(self, value: object) -> str:
        return self.t.instant(datetime.fromisoformat(str(value))) if self.danish else str(value)

    def day(self, value: object) -> str:
        return self.t.date(str(value)) if self.danish else str(value)


def _missing_consent(p: Mapping[str, Any], w: _Words) -> Values:
    t = w.t
    parts = [
        t("refusal.consent_of.custody_holder")
        if party == "custody_holder"
        else t("refusal.consent_of.child", age=p["child_age"])
        for party in p["parties"]
    ]
    joined = t.join(parts) if w.danish else " and ".join(parts)
    return {"missing": joined, "measure": w.measure(p.get("measure", "")), "source": p["source"]}


def _invalid_data(p: Mapping[str, Any], w: _Words) -> Values:
    t = w.t
    found = []
    for problem in p["problems"]:
        key = f"pydantic.{problem['type']}"
        message = problem["message"]
        if w.danish and t.has(key):
            context = dict(problem.get("ctx", {}))
            if "expected" in context:  # pydantic lists choices with an English "or"
                context["expected"] = str(context["expected"]).replace(" or ", f" {t('word.or')} ")
            message = t(key, **context)
        found.append(f"{problem['field']}: {message}")
    return {"problems": "; ".join(found)}


def _competence(p: Mapping[str, Any], w: _Words) -> Values:
    return {
        "measure": w.measure(p.get("measure", "")),
        "needed": w.value("role", p["needed"]),
        "role": w.value("role", p["role"]),
        "source": p["source"],
    }


def _packages(p: Mapping[str, Any], w: _Words) -> Values:
    given = p.get("given")
    return {
        "measure": w.measure(p["measure"]),
        "packages": w.list([w.value("package", x) for x in p.get("packages", [])]),
        "given": w.value("package", given) if given else w.t("refusal.none"),
    }


def _age(p: Mapping[str, Any], w: _Words) -> Values:
    return {**p, "measure": w.measure(p["measure"]), "day": w.day(p["day"])}


def _names(kind: str, key: str) -> Callable[[Mapping[str, Any], _Words], Values]:
    def values(p: Mapping[str, Any], w: _Words) -> Values:
        return {key: w.list([w.t(f"{kind}.{x}") for x in p[key]])}

    return values


_VALUES: Mapping[RefusalCode, Callable[[Mapping[str, Any], _Words], Values]] = {
    RefusalCode.UNKNOWN_EVENT: lambda p, w: {"event": p["event"]},
    RefusalCode.NOT_A_CASE_EVENT: lambda p, w: {"event": w.value("event", p["event"])},
    RefusalCode.TIME_IN_FUTURE: lambda p, w: {"at": w.instant(p["at"])},
    RefusalCode.TIME_BEFORE_LAST_EVENT: lambda p, w: {
        "at": w.instant(p["at"]),
        "last": w.instant(p["last"]),
    },
    RefusalCode.ROLE_MAY_NOT_RECORD: lambda p, w: {
        "role": w.value("role", p["role"]),
        "event": w.value("event", p["event"]),
        "source": p.get("source", ""),
    },
    RefusalCode.NOT_POSSIBLE_IN_PHASE: lambda p, w: {
        "event": w.value("event", p["event"]),
        "phase": w.value("phase", p["phase"]),
    },
    RefusalCode.INVALID_DATA: _invalid_data,
    RefusalCode.NOTHING_TO_FULFIL: lambda p, w: {
        "event": w.value("event", p["event"]),
        "phase": w.value("phase", p["phase"]),
        "rules": w.list([w.value("rule", r) for r in p["rules"]]),
    },
    RefusalCode.NO_COMPETENCE: _competence,
    RefusalCode.MISSING_CONSENT: _missing_consent,
    RefusalCode.UNKNOWN_MEASURES: lambda p, w: {
        "measures": ", ".join(p["measures"]),
        "rulebook": p["rulebook"],
        "known": ", ".join(p["known"]),
    },
    RefusalCode.NEEDS_INVESTIGATION: lambda p, w: {"measures": w.measures(p["measures"])},
    RefusalCode.INCOMPLETE_PLAN: lambda p, w: {
        **_names("plan_part", "missing")(p, w),
        "source": p.get("source", ""),
    },
    RefusalCode.COMPLAINT_GUIDANCE_MISSING: lambda p, w: {"source": p.get("source", "")},
    RefusalCode.CHILD_CONVERSATION_MISSING: lambda p, w: {
        "event": w.value("event", p["event"]),
        "within": w.t.amount(int(p["amount"]), str(p["unit"])),
        "source": p["source"],
    },
    RefusalCode.NOT_DURING_INVESTIGATION: lambda p, w: {"measures": w.measures(p["measures"])},
    RefusalCode.EXPECTED_BY_PASSED: lambda p, w: {
        "expected_by": w.day(p["expected_by"]),
        "day": w.day(p["day"]),
    },
    RefusalCode.PACKAGE_REQUIRED: _packages,
    RefusalCode.NO_PACKAGES: _packages,
    RefusalCode.AGE_OUT_OF_RANGE: _age,
    RefusalCode.PLAN_BEFORE_DECISION: lambda p, w: {
        "measures": w.measures(p["measures"]),
        "rulebook": p["rulebook"],
        "law": p["law"],
    },
    RefusalCode.NOT_A_PLACEMENT: lambda p, w: {"measure": w.measure(p["measure"])},
    RefusalCode.NO_ACTIVE_MEASURE: lambda p, w: {
        "measure_id": p["measure_id"],
        "active": ", ".join(p["active"]) or w.t("refusal.none"),
    },
    RefusalCode.MEASURE_NOT_STARTED: lambda p, w: {"measure_id": p["measure_id"]},
    RefusalCode.NO_CHILD_CONVERSATION: lambda p, w: {
        "rule": w.value("rule", p["rule"]),
        "source": p["source"],
    },
    RefusalCode.MEASURE_NOT_A_PLACEMENT: lambda p, w: {
        "measure_id": p["measure_id"],
        "measure": w.measure(p["measure"]),
    },
    RefusalCode.NOT_PLACED_WITHOUT_CONSENT: lambda p, w: {
        "measure_id": p["measure_id"],
        "measure": w.measure(p["measure"]),
    },
    RefusalCode.INCOMPLETE_FOLLOW_UP: lambda p, w: {
        **_names("follow_up_part", "missing")(p, w),
        "source": p["source"],
    },
    RefusalCode.ROLE_MAY_NOT_OPEN: lambda p, w: {"role": w.value("role", p["role"])},
    RefusalCode.UNKNOWN_MUNICIPALITY: lambda p, w: {
        "municipality": p["municipality"],
        "known": w.list([str(m) for m in p["known"]]),
    },
    RefusalCode.UNKNOWN_TEAM: lambda p, w: {"team": p["team"]},
    RefusalCode.UNKNOWN_WORKER: lambda p, w: {"worker": p["worker"]},
    RefusalCode.WORKER_NOT_IN_TEAM: lambda p, w: {"worker": p["worker"], "team": p["team"]},
    RefusalCode.EXPECTED_BIRTH_UNSUPPORTED: lambda p, w: {"rulebook": p["rulebook"]},
    RefusalCode.EXPECTED_BIRTH_BEFORE_AWARENESS: lambda p, w: {
        "expected": w.day(p["expected"]),
        "aware": w.day(p["aware"]),
    },
    RefusalCode.EXPECTED_BIRTH_TOO_FAR: lambda p, w: {
        "expected": w.day(p["expected"]),
        "latest": w.day(p["latest"]),
        "within": w.t.amount(int(p["amount"]), str(p["unit"])),
        "source": p["source"],
    },
    RefusalCode.NO_EXPECTED_BIRTH: lambda p, w: {"birth_date": w.day(p["birth_date"])},
    RefusalCode.BIRTH_IN_FUTURE: lambda p, w: {
        "birth_date": w.day(p["birth_date"]),
        "day": w.day(p["day"]),
    },
    RefusalCode.BIRTH_BEFORE_AWARENESS: lambda p, w: {
        "birth_date": w.day(p["birth_date"]),
        "aware": w.day(p["aware"]),
    },
    RefusalCode.NOT_FOR_EXPECTED_CHILD: lambda p, w: {
        "measures": w.measures(p["measures"]),
        "expected": w.day(p["expected"]),
    },
    RefusalCode.MIGRATION_BLOCKED: lambda p, w: {
        "rulebook": p["rulebook"],
        "pinned": p["pinned"],
        "effective": w.day(p["effective"]),
        "law": p["law"],
        "measures": w.measures(p["measures"]),
    },
    RefusalCode.NEXT_FOLLOW_UP_MISSING: lambda p, w: {"source": p["source"]},
    RefusalCode.NEXT_FOLLOW_UP_OUT_OF_BOUNDS: lambda p, w: {
        "every": w.t.amount(int(p["amount"]), str(p["unit"])),
        "source": p["source"],
    },
    RefusalCode.READ_ONLY: lambda p, w: {"role": w.value("role", p["role"])},
    RefusalCode.COMPLAINT_GUIDANCE_CHILD_MISSING: lambda p, w: {
        "age": p["age"],
        "from_age": p["from_age"],
        "source": p["source"],
    },
    RefusalCode.NOT_A_DECISION: lambda p, w: {
        "decision_seq": p.get("decision_seq") or "",
        "decisions": ", ".join(str(d) for d in p["decisions"]) or w.t("refusal.none"),
    },
    RefusalCode.RECEIVED_BEFORE_DECISION: lambda p, w: {
        "received_at": w.instant(p["received_at"]),
        "decided_at": w.instant(p["decided_at"]),
    },
    RefusalCode.RECEIVED_IN_FUTURE: lambda p, w: {
        "received_at": w.instant(p["received_at"]),
        "at": w.instant(p["at"]),
    },
    RefusalCode.NO_SUCH_COMPLAINT: lambda p, w: {
        "complaint": p.get("complaint") or "",
        "complaints": ", ".join(str(c) for c in p["complaints"]) or w.t("refusal.none"),
    },
    RefusalCode.COMPLAINT_NOT_AWAITING: lambda p, w: {
        "complaint": p["complaint"],
        "status": w.value("complaint.status", p["status"]),
        "awaiting": w.value("complaint.status", p["awaiting"]),
    },
    RefusalCode.NO_COMPLAINT_AWAITING: lambda p, w: {
        "event": w.value("event", p["event"]),
        "awaiting": w.value("complaint.status", p["awaiting"]),
        "complaints": ", ".join(str(c) for c in p["complaints"]) or w.t("refusal.none"),
    },
    RefusalCode.COMPLAINT_PERIOD_RUNNING: lambda p, w: {"until": w.instant(p["until"])},
    RefusalCode.CASE_STILL_RUNNING: lambda p, w: {
        "measures": ", ".join(p["measures"]) or w.t("refusal.none"),
        "complaints": ", ".join(str(c) for c in p["complaints"]) or w.t("refusal.none"),
    },
    RefusalCode.NOTIFICATION_AFTER_EVENT: lambda p, w: {
        "aware_at": w.instant(p["aware_at"]),
        "at": w.instant(p["at"]),
    },
    RefusalCode.ACTOR_INVOLVED: lambda p, w: {"actor": p["actor"], "source": p["source"]},
}


def _key(refusal: Refusal) -> str:
    """The catalogue key: some codes are worded per variant (which field, which act)."""
    code, params = refusal.code, refusal.params
    if code in (RefusalCode.TIME_WITHOUT_OFFSET, RefusalCode.TIME_IN_FUTURE):
        return f"refusal.{code.value}.{params.get('field', 'at')}"
    if code is RefusalCode.NO_COMPETENCE:
        return f"refusal.{code.value}.{params.get('act', 'grant')}"
    if code is RefusalCode.NEEDS_INVESTIGATION:
        return f"refusal.{code.value}.{params.get('came_from', 'clarification')}"
    if code is RefusalCode.ROLE_MAY_NOT_RECORD and params.get("source"):
        return f"refusal.{code.value}.with_source"
    return f"refusal.{code.value}"


def refusal_text(refusal: Refusal, t: Translator, rulebook: Rulebook | None = None) -> str:
    """One refusal as a sentence in `t`'s language (`rulebook`: to name measures by title)."""
    worded = _VALUES.get(refusal.code)
    values = worded(refusal.params, _Words(t, rulebook)) if worded else {}
    return t(_key(refusal), **values)


def refused_text(error: EventRefused, t: Translator, rulebook: Rulebook | None = None) -> str:
    """Every reason of a refused event, in order."""
    return "; ".join(refusal_text(r, t, rulebook) for r in error.refusals)
