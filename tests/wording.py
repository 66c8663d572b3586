"""What the tests read of a refusal: its English sentence, as `sagsflow.present.refusals` words it
(the domain itself carries only a code and parameters)."""

from __future__ import annotations

from sagsflow.present.explanations import arithmetic_text, explanation_text
from sagsflow.present.i18n import translator
from sagsflow.present.refusals import refused_text
from statemachine.calendar import Arithmetic
from statemachine.errors import EventRefused
from statemachine.explanation import AnyExplanation


def english(refused: EventRefused) -> str:
    return refused_text(refused, translator("en"))


def danish(refused: EventRefused) -> str:
    return refused_text(refused, translator("da"))


def english_arithmetic(arithmetic: Arithmetic) -> str:
    return arithmetic_text(arithmetic, translator("en"))


def english_explanation(explanation: AnyExplanation) -> str:
    return explanation_text(explanation, translator("en"))
