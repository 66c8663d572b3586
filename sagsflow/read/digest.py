"""The supervisor's digest: what each team leader needs to see this morning (ledelsestilsyn).

For each team of the organisation file: its stuck cases (`read.stuck.stuck_cases`), the deadlines
due in the next days, the caseload per caseworker against the rulebook's target, and the team's
notifications parked by delivery. It names cases by id and pseudonymous child reference and
people by their organisation-file name: no other personal data. `present.digest` writes it as
mail and Markdown; `usecases.digest` sends it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from models.database import reading
from models.repository import CASE, DEADLINE, MEASURE, NOTIFICATION, OPEN_CASELOAD
from rulebooks import Catalogue
from sagsflow.context import Context
from sagsflow.organisation import Organisation, Person, Team
from sagsflow.read.stuck import stuck_cases
from statemachine.calendar import end_of_local_day, local_date, local_iso
from statemachine.phases import DeadlineStatus, Phase
from statemachine.rulebook import Rulebook, RuleId, Span

# The "deadlines due in the next 14 days": how far the digest looks ahead (a view, not
# a legal rule; the rules' own reminders are the rulebook's ladders).
HORIZON_DAYS = 14
PARKED = "parked"


class UnknownTeam(LookupError):
    """The team asked for is not in the organisation file."""

    def __init__(self, team: str, known: Sequence[str]) -> None:
        self.team = team
        super().__init__(f"no team {team!r} in the organisation file (known: {', '.join(known)})")


@dataclass(frozen=True)
class BreachedDeadline:
    rule: str
    measure_id: str | None
    due_at: str  # ISO 8601, Copenhagen offset
    days_overdue: int


@dataclass(frozen=True)
class StuckCase:
    case_id: int
    phase: str
    worker: str | None
    days_in_phase: int
    phase_norm: Span | None
    days_over_norm: int
    days_since_last_event: int
    reasons: tuple[str, ...]
    breached_deadlines: tuple[BreachedDeadline, ...]


@dataclass(frozen=True)
class DueDeadline:
    """An open deadline of an open case, due within the digest's horizon."""

    deadline_id: int
    case_id: int
    child_ref: str
    rule: str
    title: str  # the rulebook's own (Danish) title
    source: str
    measure_id: str | None
    measure: str | None  # the measure type's title
    due_at: str  # ISO 8601, Copenhagen offset
    days_left: int
    worker: str | None


@dataclass(frozen=True)
class Caseload:
    worker: str | None  # None: open cases of the team with no caseworker assigned
    open_cases: int
    in_organisation: bool

    def over(self, target: int) -> int:
        return max(self.open_cases - target, 0)


@dataclass(frozen=True)
class ParkedNotification:
    notification_id: int
    case_id: int
    rule: str
    level: str
    recipient_role: str
    due_at: str
    attempts: int
    recipient: str | None = None
    reason: str | None = None  # why delivery gave up, as the deliverer recorded it


@dataclass(frozen=True)
class TeamDigest:
    team_id: str
    team_name: str
    leader: Person
    generated_at: datetime
    horizon_days: int
    stuck: tuple[StuckCase, ...]
    due_soon: tuple[DueDeadline, ...]
    caseload: tuple[Caseload, ...]
    caseload_target: int
    caseload_source: str  # the rulebook the target comes from
    parked: tuple[ParkedNotification, ...]
    # Person id → the name people read (the organisation file's; absent ones by their id).
    names: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        value = asdict(self)
        value["leader"] = self.leader.model_dump()
        value.pop("names")
        value["generated_at"] = local_iso(self.generated_at)
        for row, case in zip(value["stuck"], self.stuck, strict=True):
            # As the API's stuck list writes a norm ("1 calendar month").
            row["phase_norm"] = case.phase_norm.describe() if case.phase_norm else None
        for row in value["caseload"]:
            row["over_target"] = max(row["open_cases"] - self.caseload_target, 0)
        return value


def supervisor_digest(
    context: Context,
    *,
    now: datetime,
    organisation: Organisation,
    team: str | None = None,
    municipality: str | None = None,
    horizon_days: int = HORIZON_DAYS,
) -> list[TeamDigest]:
    """One digest per team of the organisation file (or only `team`), in the file's order.

    The caseload target is the one in the rulebook in force today for `municipality`; without
    one, for the municipality most of the team's open cases belong to. Raises UnknownTeam.
    """
    teams = _chosen_teams(organisation, team)
    ids = [t.id for t in teams]
    horizon_end = end_of_local_day(local_date(now) + timedelta(days=horizon_days))
    with reading(context.engine) as connection:
        # The open-caseload read model (docs/decisions/011); '' is "no caseworker".
        kept = OPEN_CASELOAD.c
        loads = connection.execute(
            select(
                kept.team,
                func.nullif(kept.worker, "").label("worker"),
                kept.municipality,
                kept.open_cases.label("n"),
            ).where(kept.open_cases > 0, kept.team.in_(ids))
        ).all()
        due_rows = connection.execute(
            select(
                DEADLINE.c.id,
                DEADLINE.c.case_id,
                DEADLINE.c.rule,
                DEADLINE.c.source,
                DEADLINE.c.measure_key,
                DEADLINE.c.due_at,
                CASE.c.team,
                CASE.c.worker,
                CASE.c.child_ref,
                CASE.c.rulebook_id,
                CASE.c.rulebook_version,
                MEASURE.c.type.label("measure_type"),
            )
            .join(CASE, CASE.c.id == DEADLINE.c.case_id)
            .outerjoin(
                MEASURE,
                and_(
                    MEASURE.c.case_id == DEADLINE.c.case_id, MEASURE.c.key == DEADLINE.c.measure_key
                ),
            )
            .where(
                DEADLINE.c.status == DeadlineStatus.OPEN.value,
                DEADLINE.c.due_at > now,
                DEADLINE.c.due_at <= horizon_end,
                CASE.c.phase != Phase.CLOSURE.value,
                CASE.c.team.in_(ids),
            )
            .order_by(DEADLINE.c.due_at, DEADLINE.c.id)
        ).all()
        parked_rows = connection.execute(
            select(
                NOTIFICATION.c.id,
                NOTIFICATION.c.case_id,
                NOTIFICATION.c.level,
                NOTIFICATION.c.recipient_role,
                NOTIFICATION.c.due_at,
                NOTIFICATION.c.attempts,
                DEADLINE.c.rule,
                CASE.c.team,
                NOTIFICATION.c.recipient,
                NOTIFICATION.c.parked_reason,
            )
            .join(DEADLINE, DEADLINE.c.id == NOTIFICATION.c.deadline_id)
            .join(CASE, CASE.c.id == NOTIFICATION.c.case_id)
            .where(NOTIFICATION.c.status == PARKED, CASE.c.team.in_(ids))
            .order_by(NOTIFICATION.c.id)
        ).all()
    due_by_team = _due_by_team(context.catalogue, due_rows, now)
    parked_by_team: dict[str, list[ParkedNotification]] = defaultdict(list)
    for p in parked_rows:
        details = p._mapping
        parked_by_team[p.team].append(
            ParkedNotification(
                p.id,
                p.case_id,
                p.rule,
                p.level,
                p.recipient_role,
                str(local_iso(p.due_at)),
                p.attempts,
                details.get("recipient"),
                details.get("parked_reason"),
            )
        )
    names = {
        p.id: p.name
        for p in (
            organisation.department_head,
            *(x for t in organisation.teams for x in (t.leader, *t.caseworkers)),
        )
    }
    digests = []
    for t in teams:
        team_loads = [row for row in loads if row.team == t.id]
        rulebook = _rulebook_today(context.catalogue, municipality, team_loads, now)
        digests.append(
            TeamDigest(
                team_id=t.id,
                team_name=t.name,
                leader=t.leader,
                generated_at=now,
                horizon_days=horizon_days,
                stuck=tuple(_stuck(context.catalogue, stuck_cases(context, now, team=t.id))),
                due_soon=tuple(due_by_team.get(t.id, [])),
                caseload=tuple(_caseload(t, team_loads)),
                caseload_target=rulebook.caseload_target,
                caseload_source=rulebook.key,
                parked=tuple(parked_by_team.get(t.id, [])),
                names=names,
            )
        )
    return digests


def _chosen_teams(organisation: Organisation, team: str | None) -> list[Team]:
    if team is None:
        return list(organisation.teams)
    found = organisation.team(team)
    if found is None:
        raise UnknownTeam(team, [t.id for t in organisation.teams])
    return [found]


def _rulebook_today(
    catalogue: Catalogue, municipality: str | None, loads: Sequence[Any], now: datetime
) -> Rulebook:
    if municipality is None:
        counts: Counter[str] = Counter()
        for row in loads:
            counts[row.municipality] += row.n
        # No open cases: the rulebook of a municipality that has none of its own (`default`).
        municipality = counts.most_common(1)[0][0] if counts else ""
    return catalogue.in_force(catalogue.rulebook_id_for(municipality), local_date(now))


def _caseload(team: Team, loads: Iterable[Any]) -> list[Caseload]:
    counts: Counter[str | None] = Counter()
    for row in loads:
        counts[row.worker] += row.n
    known = [p.id for p in team.caseworkers]
    rows = [Caseload(name, counts.pop(name, 0), True) for name in known]
    # Cases held by someone the file does not list (a substitute, a leader), or by nobody.
    others = sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or ""))
    rows += [Caseload(worker, n, False) for worker, n in others]
    return rows


def _stuck(catalogue: Catalogue, rows: Iterable[Mapping[str, Any]]) -> Iterable[StuckCase]:
    for row in rows:
        rulebook = catalogue.resolve(row["rulebook"], "")
        norm = rulebook.stuck.phase_norms.get(Phase(row["phase"]))
        yield StuckCase(
            case_id=row["case_id"],
            phase=row["phase"],
            worker=row["worker"],
            days_in_phase=row["days_in_phase"],
            phase_norm=norm,
            days_over_norm=row["days_over_norm"],
            days_since_last_event=row["days_since_last_event"],
            reasons=tuple(row["reasons"]),
            breached_deadlines=tuple(
                BreachedDeadline(b["rule"], b["measure_id"], b["due_at"], b["days_overdue"])
                for b in row["breached_deadlines"]
            ),
        )


def _due_by_team(
    catalogue: Catalogue, rows: Iterable[Any], now: datetime
) -> dict[str, list[DueDeadline]]:
    found: dict[str, list[DueDeadline]] = defaultdict(list)
    for row in rows:
        rulebook = catalogue.get(row.rulebook_id, row.rulebook_version)
        measure = rulebook.measures.get(row.measure_type) if row.measure_type else None
        found[row.team].append(
            DueDeadline(
                deadline_id=row.id,
                case_id=row.case_id,
                child_ref=row.child_ref,
                rule=row.rule,
                title=_rule_title(rulebook, row.rule),
                source=row.source,
                measure_id=row.measure_key,
                measure=measure.title if measure else row.measure_type,
                due_at=str(local_iso(row.due_at)),
                days_left=(local_date(row.due_at) - local_date(now)).days,
                worker=row.worker,
            )
        )
    return found


def _rule_title(rulebook: Rulebook, rule: str) -> str:
    try:
        rule_id = RuleId(rule)
    except ValueError:
        return rule
    found = rulebook.deadlines.get(rule_id) or rulebook.measure_deadlines.get(rule_id)
    return found.title if found else rule
