"""Whose consent a case still lacks, and the child's age that decides whether the child's own
counts (pure).

Seed 004 (clarification phase): the consent of the custody holder, and of a child of the
rulebook's age or older (`ConsentRule.child_from_age`, with its legal source).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from enum import StrEnum

from statemachine.rulebook import ConsentRule


class ConsentParty(StrEnum):
    """Who gives consent: the names are the `record_consent` event's `by` (a contract)."""

    CUSTODY_HOLDER = "custody_holder"
    CHILD = "child"


def age_on(birth_date: date, day: date) -> int:
    """Completed years on `day`; a child born 29 Feb turns a year older on 1 Mar in other years
    (`statemachine.calendar.birthday` gives that day)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def child_age(birth_date: date, day: date, *, expected: bool) -> int:
    """The child's age on `day` as the rules read it: an expected child (support to expectant
    parents; `birth_date` then holds the expected date) is 0, whatever the date."""
    return 0 if expected else age_on(birth_date, day)


def missing_consents(
    consents: Collection[str],
    birth_date: date,
    day: date,
    rule: ConsentRule,
    *,
    expected: bool = False,
) -> list[ConsentParty]:
    """The parties whose consent is still missing on `day`, custody holder first. A child not
    yet born (`expected`) is never asked, whatever the rule's age."""
    missing = []
    if ConsentParty.CUSTODY_HOLDER not in consents:
        missing.append(ConsentParty.CUSTODY_HOLDER)
    of_age = not expected and age_on(birth_date, day) >= rule.child_from_age
    if of_age and ConsentParty.CHILD not in consents:
        missing.append(ConsentParty.CHILD)
    return missing
