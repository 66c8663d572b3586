"""A case as people read it: the read model's case with each deadline's explanation worded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagsflow.present.explanations import explanation_text
from sagsflow.present.i18n import Translator
from statemachine.explanation import AnyExplanation, explanation_as_data


def worded_case(view: Mapping[str, Any], t: Translator) -> dict[str, Any]:
    """`view` (`sagsflow.read.cases.show_case`) with each deadline's `explanation` as text in
    `t`'s language and `arithmetic` as data (null for an explanation stored as text)."""
    deadlines = []
    for deadline in view["deadlines"]:
        explanation: AnyExplanation = deadline["explanation"]
        data = explanation_as_data(explanation)
        deadlines.append(
            {
                **deadline,
                "explanation": explanation_text(explanation, t),
                "arithmetic": None if data is None else data["arithmetic"],
            }
        )
    return {**view, "deadlines": deadlines}


def child_conversation_text(view: Mapping[str, Any], t: Translator) -> str:
    """The last conversation with the child (date, without the parents yes/no) or, when later,
    the last exception recorded (Barnets Lov §5 stk. 3–4); "none recorded" otherwise."""
    held, excepted = view["child_conversation_at"], view["child_conversation_exception_at"]
    if excepted and (not held or excepted > held):
        return t("case.child_conversation_exception", date=t.date(excepted))
    if held:
        without = t("case.yes") if view["child_conversation_without_parents"] else t("case.no")
        return t("case.child_conversation_held", date=t.date(held), without_parents=without)
    return t("case.child_conversation_none")
