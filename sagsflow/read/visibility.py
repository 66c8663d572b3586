"""The visibility rule (`statemachine.visibility.may_see`) as a WHERE clause over the case table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, and_, false, or_, true
from sqlalchemy.sql.elements import True_
from sqlalchemy.sql.visitors import iterate, replacement_traverse

from models.readmodels import ALL
from models.repository import CASE
from statemachine.visibility import Principal, Scope


def case_filter(principal: Principal, table: Any = CASE) -> ColumnElement[bool]:
    """A WHERE clause over `table` (the case table, or anything with `worker` and `team`)
    that keeps exactly the cases `principal` may see."""
    scope = principal.scope
    if scope is Scope.ALL:
        return true()
    if scope is Scope.TEAM and principal.team:
        return and_(table.c.team == principal.team)
    if scope is Scope.OWN_AND_TEAM:
        own = table.c.worker == principal.name
        return or_(own, table.c.team == principal.team) if principal.team else own
    return false()


def restricts(scope: ColumnElement[bool]) -> bool:
    """Whether `scope` keeps fewer than all cases (`case_filter` gives the whole municipality
    `true()`): a read may then leave the case table out where it needs no column of it."""
    return not isinstance(scope, True_)


def on_table(scope: ColumnElement[bool], table: Any) -> ColumnElement[bool]:
    """`scope`, a WHERE clause over the case table's owner columns (`case_filter`, a
    municipality), as the same clause over `table`'s columns of those names (a read model's)."""

    def swap(element: Any, **_: Any) -> Any:
        if isinstance(element, ColumnClause) and element.table is CASE:
            return table.c[element.name]
        return None

    return replacement_traverse(scope, {}, swap)


def tally_level_of(scope: ColumnElement[bool], *, by_team: bool) -> str:
    """Which level of the deadline tally (models/readmodels.py) answers for `scope` (a clause
    over the case table): "worker" when it names a caseworker; "team" when it names a team, or
    when the figures are per team (`by_team`); else "municipality"."""
    named = {
        element.name
        for element in iterate(scope)
        if isinstance(element, ColumnClause) and element.table is CASE
    }
    if "worker" in named:
        return "worker"
    return "team" if "team" in named or by_team else "municipality"


def tally_level(scope: ColumnElement[bool], table: Any, *, by_team: bool) -> ColumnElement[bool]:
    """The deadline tally's rows of `tally_level_of`'s level: the worker rows, a team's
    roll-ups (worker ALL), or the municipality's (team and worker ALL). On the tally's month
    and quarter spans (no worker column: team and municipality levels only), by team alone."""
    level = tally_level_of(scope, by_team=by_team)
    if "worker" not in table.c:
        return and_(table.c.team != ALL) if level == "team" else and_(table.c.team == ALL)
    if level == "worker":
        return and_(table.c.worker != ALL)
    if level == "team":
        return and_(table.c.worker == ALL, table.c.team != ALL)
    return and_(table.c.team == ALL, table.c.worker == ALL)
