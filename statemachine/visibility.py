"""Who may see which cases, and who may only read: the rule every read and write applies.

Visibility (issue 5, and the principle of least privilege for the rest):

| role | sees | writes |
|---|---|---|
| caseworker | the cases they work on, and their team's | what the rulebook lets a caseworker fire |
| team_leader | the team's cases | as the rulebook says |
| department_head | every case | as the rulebook says |
| committee | every case (it decides on cases brought before it) | as the rulebook says |
| auditor | every case, read-only | nothing, whatever the rulebook says |
| admin | no case (it manages users and runs the system) | users and tokens |

The audit trail holds every event's data, so taking it out (export) is for the auditor and the
department head; verifying the hash chains reveals no case content and is also for the admin.
The access log — who read which case — is the auditor's. Which *events* a role may fire is the
rulebook's competence plan (`statemachine.process.fire`). The SQL form of `may_see` is
`sagsflow.read.visibility.case_filter`, tested against this function.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from statemachine.phases import Role


class Scope(StrEnum):
    OWN_AND_TEAM = "own_and_team"
    TEAM = "team"
    ALL = "all"
    NONE = "none"


SCOPES: dict[Role, Scope] = {
    Role.CASEWORKER: Scope.OWN_AND_TEAM,
    Role.TEAM_LEADER: Scope.TEAM,
    Role.DEPARTMENT_HEAD: Scope.ALL,
    Role.COMMITTEE: Scope.ALL,
    Role.AUDITOR: Scope.ALL,
    Role.ADMIN: Scope.NONE,
}
READ_ONLY: frozenset[Role] = frozenset({Role.AUDITOR})
TEAM_BOUND: frozenset[Role] = frozenset({Role.CASEWORKER, Role.TEAM_LEADER})
AUDIT_EXPORTERS: frozenset[Role] = frozenset({Role.AUDITOR, Role.DEPARTMENT_HEAD})
AUDIT_VERIFIERS: frozenset[Role] = AUDIT_EXPORTERS | {Role.ADMIN}
ACCESS_LOG_READERS: frozenset[Role] = frozenset({Role.AUDITOR})


class Action(StrEnum):
    """What an access-log row records."""

    READ = "read"  # one case, in full
    LIST = "list"  # a list or report over many cases (case_id empty)
    WRITE = "write"  # an event recorded on a case
    EXPORT = "export"  # the audit trail taken out
    SIGN_IN = "sign_in"  # a dashboard sign-in that failed or was paused (case_id empty)


class Channel(StrEnum):
    API = "api"
    DASHBOARD = "dashboard"


@dataclass(frozen=True)
class Principal:
    """The signed-in user, as every access decision sees it."""

    name: str
    role: Role
    team: str | None

    @property
    def scope(self) -> Scope:
        return SCOPES[self.role]

    @property
    def read_only(self) -> bool:
        return self.role in READ_ONLY

    @property
    def sees_cases(self) -> bool:
        return self.scope is not Scope.NONE


def may_see(principal: Principal, *, worker: str | None, team: str | None) -> bool:
    """Whether `principal` may see a case of `worker` in `team`."""
    scope = principal.scope
    if scope is Scope.ALL:
        return True
    if scope is Scope.TEAM:
        return principal.team is not None and team == principal.team
    if scope is Scope.OWN_AND_TEAM:
        return worker == principal.name or (principal.team is not None and team == principal.team)
    return False


def visible_teams(principal: Principal) -> frozenset[str] | None:
    """The teams whose figures (per-team rows of a report) `principal` may see; None: every
    team. A team-bound role sees its own team's; admin none."""
    scope = principal.scope
    if scope is Scope.ALL:
        return None
    if scope in (Scope.TEAM, Scope.OWN_AND_TEAM) and principal.team:
        return frozenset({principal.team})
    return frozenset()
