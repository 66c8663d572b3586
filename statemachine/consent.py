"""Whose consent a case still lacks, and the child's age that decides whose consent counts (pure).

Barnets Lov §22 stk. 2: the investigation is carried out "so far as possible" in cooperation with
the custody holder and a young person of 15 (`ConsentRule.child_from_age`); consent is a
condition only where the law puts it, at the grant (`ConsentRule.measures`: §32 stk. 2 for a
supportive measure, §46 stk. 1 for a placement with consent). From the age of majority
(`ConsentRule.majority_age`, forældreansvarsloven §1 a) the young person consents alone.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from enum import StrEnum

from statemachine.rulebook import ConsentRequirement, ConsentRule


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


def required_parties(
    parties: Sequence[str],
    child_from_age: int,
    birth_date: date,
    day: date,
    rule: ConsentRule,
    *,
    expected: bool = False,
) -> list[ConsentParty]:
    """Whose consent counts on `day`, custody holder first: from the age of majority the young
    person's alone; before it the custody holder's, and the child's from `child_from_age`. A
    child not yet born (`expected`) is never asked."""
    if expected:
        return [ConsentParty.CUSTODY_HOLDER] if ConsentParty.CUSTODY_HOLDER in parties else []
    age = age_on(birth_date, day)
    if age >= rule.majority_age:
        return [ConsentParty.CHILD]
    needed = []
    if ConsentParty.CUSTODY_HOLDER in parties:
        needed.append(ConsentParty.CUSTODY_HOLDER)
    if ConsentParty.CHILD in parties and age >= child_from_age:
        needed.append(ConsentParty.CHILD)
    return needed


def missing_consents(
    consents: Collection[str],
    birth_date: date,
    day: date,
    rule: ConsentRule,
    *,
    expected: bool = False,
) -> list[ConsentParty]:
    """The parties the investigation is to cooperate with (custody holder; the child from
    `rule.child_from_age`, never a child not yet born) whose consent is not recorded on `day`."""
    parties = (ConsentParty.CUSTODY_HOLDER, ConsentParty.CHILD)
    needed = required_parties(
        parties, rule.child_from_age, birth_date, day, rule, expected=expected
    )
    return [p for p in needed if p not in consents]


def missing_for_measure(
    consents: Collection[str],
    birth_date: date,
    day: date,
    rule: ConsentRule,
    requirement: ConsentRequirement,
    *,
    expected: bool = False,
) -> list[ConsentParty]:
    """The parties whose consent a grant of a measure under `requirement` still lacks on `day`."""
    needed = required_parties(
        requirement.parties, requirement.child_from_age, birth_date, day, rule, expected=expected
    )
    return [p for p in needed if p not in consents]
