"""The organisation file: teams, their leaders and caseworkers, and the department head.

Data, not code: who is told about a deadline is the rulebook ladder's role resolved through this
file for the case's team and worker (SAGSFLOW_ORG_FILE; the demo file ships in demo/).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from statemachine.phases import Role

DEMO_ORGANISATION = Path(__file__).resolve().parent.parent / "demo" / "organisation.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Strict):
    """One person: `id` is the user name cases and users refer to (`--worker rw1`), `name` what
    people read ("Rikke Winther"). A file that gives only `name` (as before `id` existed) uses
    it as both."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(min_length=1, max_length=128)]
    email: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _id_defaults_to_name(cls, value: Any) -> Any:
        if isinstance(value, dict) and "id" not in value and "name" in value:
            return {**value, "id": value["name"]}
        if isinstance(value, dict) and "name" not in value and "id" in value:
            return {**value, "name": value["id"]}
        return value


class Team(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: str
    leader: Person
    caseworkers: list[Person] = []


class Organisation(_Strict):
    department_head: Person
    teams: list[Team]
    # Optional: the committee's secretariat, told when a ladder names the committee.
    committee: Person | None = None
    # Look-ups by id, made once: a municipality's file names thousands of people, and a page
    # names dozens of them (a scan per name cost a case page ~0.45 s at 40,000 caseworkers).
    _teams_by_id: dict[str, Team] = PrivateAttr(default_factory=dict)
    _people_by_id: dict[str, Person] = PrivateAttr(default_factory=dict)
    _team_of: dict[str, Team] = PrivateAttr(default_factory=dict)
    _roles_of: dict[str, frozenset[Role]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _unique(self) -> Organisation:
        ids = [t.id for t in self.teams]
        if len(ids) != len(set(ids)):
            raise ValueError("team ids must be unique")
        ids = [p.id for t in self.teams for p in (t.leader, *t.caseworkers)]
        ids.append(self.department_head.id)
        if len(ids) != len(set(ids)):
            raise ValueError("person ids must be unique across the organisation")
        self._teams_by_id = {t.id: t for t in self.teams}
        people: dict[str, Person] = {self.department_head.id: self.department_head}
        if self.committee is not None:  # wins over the department head, as the scan did
            people[self.committee.id] = self.committee
        # A team member wins over both (the scan looked in the teams first).
        people.update({p.id: p for t in self.teams for p in (t.leader, *t.caseworkers)})
        self._people_by_id = people
        self._team_of = {p.id: t for t in self.teams for p in (t.leader, *t.caseworkers)}
        roles: dict[str, set[Role]] = {self.department_head.id: {Role.DEPARTMENT_HEAD}}
        if self.committee is not None:
            roles.setdefault(self.committee.id, set()).add(Role.COMMITTEE)
        for t in self.teams:
            roles.setdefault(t.leader.id, set()).add(Role.TEAM_LEADER)
            for p in t.caseworkers:
                roles.setdefault(p.id, set()).add(Role.CASEWORKER)
        self._roles_of = {person: frozenset(given) for person, given in roles.items()}
        return self

    def team(self, team_id: str | None) -> Team | None:
        return None if team_id is None else self._teams_by_id.get(team_id)

    def person(self, person_id: str | None) -> Person | None:
        """The person whose id (user name) is `person_id`."""
        return None if person_id is None else self._people_by_id.get(person_id)

    def team_of(self, person_id: str | None) -> Team | None:
        """The team whose leader or caseworker `person_id` is (None: no team's)."""
        return None if person_id is None else self._team_of.get(person_id)

    def roles_of(self, person_id: str | None) -> frozenset[Role]:
        """The roles the file gives a person: caseworker (a team's caseworkers), team_leader
        (a team's leader), department_head, committee (the committee's secretariat); none for
        anyone it does not name. Auditors and admins are users only, never in this file."""
        return frozenset() if person_id is None else self._roles_of.get(person_id, frozenset())

    def display_name(self, person_id: str | None) -> str | None:
        """What people read for `person_id`: the file's name, else the id itself."""
        if person_id is None:
            return None
        found = self.person(person_id)
        return found.name if found else person_id

    def team_name(self, team_id: str | None) -> str | None:
        """The team's name, else its id."""
        if team_id is None:
            return None
        found = self.team(team_id)
        return found.name if found else team_id

    def recipient(self, role: str, *, worker: str | None, team: str | None) -> Person | None:
        """The person a ladder's role means for a case of `worker` in `team` (None: nobody known)."""
        if role == "caseworker":
            return self.person(worker)
        if role == "team_leader":
            found = self.team(team)
            return found.leader if found else None
        if role == "department_head":
            return self.department_head
        if role == "committee":
            return self.committee
        return None


class OrganisationInvalid(ValueError):
    pass


def load_organisation(path: Path | str) -> Organisation:
    """Read and validate an organisation file; the error names the file and what is wrong."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Organisation.model_validate(raw)
    except (OSError, yaml.YAMLError) as error:
        raise OrganisationInvalid(f"organisation file {path}: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()
        )
        raise OrganisationInvalid(f"organisation file {path}: {problems}") from None


@cache
def organisation(path: str = "") -> Organisation:
    """The configured organisation, read once per process (the demo one when none is set)."""
    return load_organisation(path or DEMO_ORGANISATION)
