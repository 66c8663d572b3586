"""The supervisor's digest: what each team leader needs to see this morning (ledelsestilsyn).

For each team of the organisation file: its stuck cases (`reports.stuck_cases`), the deadlines due
in the next days, the caseload per caseworker against the rulebook's target, and the team's
notifications parked by delivery. Rendered as Danish e-mail (text and HTML with inline CSS only)
and as Markdown for a Prefect artifact. It names cases by id and pseudonymous child reference and
people by their organisation-file name: no other personal data.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from email.utils import parseaddr
from typing import Any

from sqlalchemy import and_, func, select

from models.database import reading
from models.repository import CASE, DEADLINE, MEASURE
from models.tables import Notification
from rulebooks import Catalogue
from sagsflow.organisation import Organisation, Person, Team
from sagsflow.reports import stuck_cases
from sagsflow.services import Context
from sagsflow.views import local_iso
from statemachine.calendar import Unit, end_of_local_day, local_date, to_local
from statemachine.phases import DeadlineStatus, Phase
from statemachine.rulebook import Rulebook, RuleId, Span

NOTIFICATION = Notification.__table__  # type: ignore[attr-defined]
# The "deadlines due in the next 14 days": how far the digest looks ahead (a view, not
# a legal rule; the rules' own reminders are the rulebook's ladders).
HORIZON_DAYS = 14
# An e-mail shows the worst few; the rest are one command away (DOMAIN.md: not a list of 150).
SHOWN = 25
PARKED = "parked"
# Who a parked notification was for and why delivery gave up, where the outbox records them.
_DELIVERY_DETAILS = [
    NOTIFICATION.c[name] for name in ("recipient", "parked_reason") if name in NOTIFICATION.c
]

PHASE_LABELS: Mapping[str, str] = {
    Phase.INQUIRY: "henvendelse",
    Phase.CLARIFICATION: "afklaring",
    Phase.INVESTIGATION: "undersøgelse",
    Phase.ACTION_PLAN: "handleplan",
    Phase.DECISION: "afgørelse",
    Phase.IMPLEMENTATION: "iværksættelse",
    Phase.FOLLOW_UP: "opfølgning",
    Phase.CLOSURE: "afslutning",
}
RULE_LABELS: Mapping[str, str] = {
    RuleId.URGENT_ASSESSMENT: "24-timersvurdering",
    RuleId.ACKNOWLEDGEMENT: "kvittering for modtagelse",
    RuleId.INVESTIGATION: "børnefaglig undersøgelse",
    RuleId.DECISION: "afgørelse",
    RuleId.ACTION_PLAN: "barnets plan",
    RuleId.FOLLOW_UP: "opfølgning",
    RuleId.PACKAGE_REVIEW: "revurdering af pakke",
}
REASON_LABELS: Mapping[str, str] = {
    "over_phase_norm": "over fasens normtid",
    "inactive": "ingen aktivitet",
    "breached_deadline": "overskredet frist",
    "waiting_for_consent": "venter på samtykke",
}
LEVEL_LABELS: Mapping[str, str] = {
    "reminder": "påmindelse",
    "breach": "overskridelse",
    "escalation": "eskalering",
}
ROLE_LABELS: Mapping[str, str] = {
    "caseworker": "rådgiver",
    "team_leader": "teamleder",
    "department_head": "afdelingsleder",
    "committee": "udvalg",
}
_UNIT_LABELS: Mapping[Unit, tuple[str, str]] = {
    Unit.HOURS: ("time", "timer"),
    Unit.DAYS: ("dag", "dage"),
    Unit.WEEKS: ("uge", "uger"),
    Unit.MONTHS: ("måned", "måneder"),
    Unit.WORKING_DAYS: ("hverdag", "hverdage"),
}


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
    phase_norm: str | None  # in Danish words: "1 måned"
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

    def as_dict(self) -> dict[str, Any]:
        value = asdict(self)
        value["leader"] = self.leader.model_dump()
        value["generated_at"] = local_iso(self.generated_at)
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
        loads = connection.execute(
            select(CASE.c.team, CASE.c.worker, CASE.c.municipality, func.count().label("n"))
            .where(CASE.c.phase != Phase.CLOSURE.value, CASE.c.team.in_(ids))
            .group_by(CASE.c.team, CASE.c.worker, CASE.c.municipality)
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
                *_DELIVERY_DETAILS,
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
    known = [p.name for p in team.caseworkers]
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
            phase_norm=danish_span(norm) if norm else None,
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
    return found.title if found else RULE_LABELS.get(rule, rule)


# --- Danish text ---------------------------------------------------------------------------


def danish_span(span: Span) -> str:
    """A rulebook span in Danish words: "1 måned", "6 hverdage"."""
    singular, plural = _UNIT_LABELS[span.unit]
    return f"{span.amount} {singular if span.amount == 1 else plural}"


def days(n: int) -> str:
    """ "1 dag", "3 dage"."""
    return f"{n} dag" if n == 1 else f"{n} dage"


def _when(days_left: int) -> str:
    return "i dag" if days_left == 0 else f"om {days(days_left)}"


def danish_date(day: date) -> str:
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def danish_instant(value: datetime | str) -> str:
    """ "25.06.2026 kl. 23:59" in Copenhagen time."""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    local = to_local(instant)
    return f"{danish_date(local.date())} kl. {local:%H:%M}"


def _worker(name: str | None) -> str:
    return name or "ingen rådgiver"


def _phase(phase: str) -> str:
    return PHASE_LABELS.get(phase, phase)


def _reasons(case: StuckCase) -> str:
    labels = []
    for reason in case.reasons:
        label = REASON_LABELS.get(reason, reason)
        if reason == "inactive":
            label += f" i {days(case.days_since_last_event)}"
        labels.append(label)
    return ", ".join(labels)


def _breaches(case: StuckCase) -> str:
    return "; ".join(
        f"{RULE_LABELS.get(b.rule, b.rule)}{f' ({b.measure_id})' if b.measure_id else ''} "
        f"forfaldt {danish_date(local_date(datetime.fromisoformat(b.due_at)))}, "
        f"{days(b.days_overdue)} over"
        for b in case.breached_deadlines
    )


def _in_phase(case: StuckCase) -> str:
    text = f"{days(case.days_in_phase)} i fasen"
    if case.phase_norm:
        text += f" (norm {case.phase_norm})"
    if case.days_over_norm:
        text += f", {days(case.days_over_norm)} over normen"
    return text


def _measure(deadline: DueDeadline) -> str:
    if deadline.measure_id is None:
        return ""
    return f"{deadline.measure_id} {deadline.measure or ''}".strip()


def _addressee(notification: ParkedNotification) -> str:
    role = ROLE_LABELS.get(notification.recipient_role, notification.recipient_role)
    return f"{role} {notification.recipient}" if notification.recipient else role


def _load_note(load: Caseload, target: int) -> str:
    notes = []
    if load.over(target):
        notes.append(f"{load.over(target)} over målet")
    if not load.in_organisation:
        notes.append("ikke i organisationsfilen")
    return ", ".join(notes)


def message_id(digest: TeamDigest, mail_from: str) -> str:
    """The digest mail's Message-ID: one per team and Copenhagen day, so that a rerun or a retry
    of the day's digest is recognisably the same message."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "sagsflow"
    return f"<digest-{digest.team_id}-{local_date(digest.generated_at).isoformat()}@{domain}>"


def subject(digest: TeamDigest) -> str:
    over = sum(1 for load in digest.caseload if load.over(digest.caseload_target))
    parts = [
        f"{len(digest.stuck)} fastlåste sager",
        f"{len(digest.due_soon)} frister de næste {digest.horizon_days} dage",
    ]
    if over:
        parts.append(f"{over} rådgivere over sagsmålet")
    if digest.parked:
        parts.append(f"{len(digest.parked)} parkerede meddelelser")
    day = danish_date(local_date(digest.generated_at))
    return f"Sagsflow {digest.team_name} {day}: " + ", ".join(parts)


def render_digest(digest: TeamDigest, *, shown: int = SHOWN) -> tuple[str, str, str]:
    """(subject, text, html) of the e-mail to the team leader, in Danish.

    The HTML uses inline styles only and refers to nothing outside itself. At most `shown` stuck
    cases and deadlines are listed; the rest are counted.
    """
    return subject(digest), _text(digest, shown), _html(digest, shown)


def _more(total: int, shown: int, command: str) -> str | None:
    if total <= shown:
        return None
    return f"… og {total - shown} flere: {command}"


def _text(d: TeamDigest, shown: int) -> str:
    local = to_local(d.generated_at)
    lines = [
        f"Til {d.leader.name}, teamleder for {d.team_name}",
        "",
        f"Tilsynsoversigt pr. {danish_instant(local)}.",
        "",
        f"FASTLÅSTE SAGER ({len(d.stuck)})",
    ]
    if not d.stuck:
        lines.append("  Ingen.")
    for case in d.stuck[:shown]:
        lines.append(
            f"  Sag {case.case_id} · {_phase(case.phase)} · {_in_phase(case)} · "
            f"rådgiver {_worker(case.worker)}"
        )
        lines.append(f"    Årsag: {_reasons(case)}")
        if case.breached_deadlines:
            lines.append(f"    Frister: {_breaches(case)}")
    more = _more(len(d.stuck), shown, f"sagsflow report stuck --team {d.team_id}")
    if more:
        lines.append(f"  {more}")
    lines += ["", f"FRISTER DE NÆSTE {d.horizon_days} DAGE ({len(d.due_soon)})"]
    if not d.due_soon:
        lines.append("  Ingen.")
    for deadline in d.due_soon[:shown]:
        measure = f" · {_measure(deadline)}" if deadline.measure_id else ""
        lines.append(
            f"  {danish_instant(deadline.due_at)} ({_when(deadline.days_left)}) · "
            f"Sag {deadline.case_id} ({deadline.child_ref}) · {deadline.title}{measure} · "
            f"rådgiver {_worker(deadline.worker)}"
        )
        lines.append(f"    Hjemmel: {deadline.source}")
    more = _more(len(d.due_soon), shown, f"sagsflow report digest --team {d.team_id} --json")
    if more:
        lines.append(f"  {more}")
    lines += ["", f"SAGSTAL PR. RÅDGIVER (mål: højst {d.caseload_target} åbne sager)"]
    for load in d.caseload:
        note = _load_note(load, d.caseload_target)
        lines.append(
            f"  {_worker(load.worker):<20} {load.open_cases:>4}" + (f"  ({note})" if note else "")
        )
    if d.parked:
        lines += ["", f"PARKEREDE MEDDELELSER ({len(d.parked)}) – ikke leveret, kræver handling"]
        for p in d.parked:
            lines.append(
                f"  Sag {p.case_id} · {RULE_LABELS.get(p.rule, p.rule)} · "
                f"{LEVEL_LABELS.get(p.level, p.level)} til {_addressee(p)} · "
                f"frist {danish_instant(p.due_at)} · {p.attempts} forsøg"
            )
            if p.reason:
                lines.append(f"    Årsag: {p.reason}")
    lines += [
        "",
        f"Sagsmålet kommer fra regelsættet {d.caseload_source}.",
        "Sendt af Sagsflow. Oversigten indeholder kun sagsnumre og pseudonyme barnereferencer.",
    ]
    return "\n".join(lines) + "\n"


# --- HTML (inline styles only: mail clients drop <style> blocks and external sheets) ---------

_BODY = "font-family:Arial,Helvetica,sans-serif;font-size:14px;color:#1f2328;margin:0;padding:16px;"
_H1 = "font-size:20px;margin:0 0 4px 0;"
_H2 = "font-size:16px;margin:24px 0 8px 0;border-bottom:2px solid #d0d7de;padding-bottom:4px;"
_TABLE = "border-collapse:collapse;width:100%;max-width:960px;"
_TH = "text-align:left;background:#f6f8fa;border:1px solid #d0d7de;padding:4px 8px;"
_TD = "border:1px solid #d0d7de;padding:4px 8px;vertical-align:top;"
_TD_NUM = _TD + "text-align:right;"
_WARN = "background:#ffebe9;"
_MUTED = "color:#57606a;font-size:12px;"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Iterable[tuple[Sequence[tuple[str, bool]], bool]]) -> str:
    """Rows of (cells, warn); a cell is (already escaped HTML, numeric)."""
    head = "".join(f'<th style="{_TH}">{_e(h)}</th>' for h in headers)
    body = []
    for cells, warn in rows:
        tds = "".join(
            f'<td style="{(_TD_NUM if numeric else _TD) + (_WARN if warn else "")}">{cell}</td>'
            for cell, numeric in cells
        )
        body.append(f"<tr>{tds}</tr>")
    return f'<table style="{_TABLE}"><tr>{head}</tr>{"".join(body)}</table>'


def _html(d: TeamDigest, shown: int) -> str:
    parts = [
        f'<h1 style="{_H1}">{_e(d.team_name)}: tilsynsoversigt</h1>',
        f'<p style="{_MUTED}">Til {_e(d.leader.name)}, teamleder · pr. '
        f"{_e(danish_instant(d.generated_at))}</p>",
        f'<h2 style="{_H2}">Fastlåste sager ({len(d.stuck)})</h2>',
    ]
    if d.stuck:
        parts.append(
            _table(
                ["Sag", "Fase", "Rådgiver", "I fasen", "Årsag", "Overskredne frister"],
                (
                    (
                        [
                            (_e(c.case_id), True),
                            (_e(_phase(c.phase)), False),
                            (_e(_worker(c.worker)), False),
                            (_e(_in_phase(c)), False),
                            (_e(_reasons(c)), False),
                            (_e(_breaches(c) or "–"), False),
                        ],
                        bool(c.breached_deadlines),
                    )
                    for c in d.stuck[:shown]
                ),
            )
        )
    else:
        parts.append("<p>Ingen.</p>")
    more = _more(len(d.stuck), shown, f"sagsflow report stuck --team {d.team_id}")
    if more:
        parts.append(f'<p style="{_MUTED}">{_e(more)}</p>')
    parts.append(
        f'<h2 style="{_H2}">Frister de næste {d.horizon_days} dage ({len(d.due_soon)})</h2>'
    )
    if d.due_soon:
        parts.append(
            _table(
                ["Frist", "Sag", "Barn", "Frist for", "Indsats", "Rådgiver"],
                (
                    (
                        [
                            (
                                f"{_e(danish_instant(x.due_at))}<br>"
                                f'<span style="{_MUTED}">{_when(x.days_left)}</span>',
                                False,
                            ),
                            (_e(x.case_id), True),
                            (_e(x.child_ref), False),
                            (
                                f'{_e(x.title)}<br><span style="{_MUTED}">{_e(x.source)}</span>',
                                False,
                            ),
                            (_e(_measure(x) or "–"), False),
                            (_e(_worker(x.worker)), False),
                        ],
                        x.days_left <= 2,
                    )
                    for x in d.due_soon[:shown]
                ),
            )
        )
    else:
        parts.append("<p>Ingen.</p>")
    more = _more(len(d.due_soon), shown, f"sagsflow report digest --team {d.team_id} --json")
    if more:
        parts.append(f'<p style="{_MUTED}">{_e(more)}</p>')
    parts.append(f'<h2 style="{_H2}">Sagstal pr. rådgiver (mål: højst {d.caseload_target})</h2>')
    parts.append(
        _table(
            ["Rådgiver", "Åbne sager", "Bemærkning"],
            (
                (
                    [
                        (_e(_worker(load.worker)), False),
                        (_e(load.open_cases), True),
                        (_e(_load_note(load, d.caseload_target)), False),
                    ],
                    load.over(d.caseload_target) > 0,
                )
                for load in d.caseload
            ),
        )
    )
    if d.parked:
        parts.append(
            f'<h2 style="{_H2}">Parkerede meddelelser ({len(d.parked)}): ikke leveret</h2>'
        )
        parts.append(
            _table(
                ["Sag", "Frist for", "Niveau", "Til", "Frist", "Forsøg", "Årsag"],
                (
                    (
                        [
                            (_e(p.case_id), True),
                            (_e(RULE_LABELS.get(p.rule, p.rule)), False),
                            (_e(LEVEL_LABELS.get(p.level, p.level)), False),
                            (_e(_addressee(p)), False),
                            (_e(danish_instant(p.due_at)), False),
                            (_e(p.attempts), True),
                            (_e(p.reason or "–"), False),
                        ],
                        True,
                    )
                    for p in d.parked
                ),
            )
        )
    parts.append(
        f'<p style="{_MUTED}">Sagsmålet kommer fra regelsættet {_e(d.caseload_source)}. '
        "Sendt af Sagsflow. Oversigten indeholder kun sagsnumre og pseudonyme "
        "barnereferencer.</p>"
    )
    return (
        '<!DOCTYPE html><html lang="da"><head><meta charset="utf-8">'
        f"<title>{_e(subject(d))}</title></head>"
        f'<body style="{_BODY}">{"".join(parts)}</body></html>'
    )


# --- Markdown (a Prefect artifact) ---------------------------------------------------------


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = [
        "| " + " | ".join(_cell(h) for h in headers) + " |",
        "| " + " | ".join("---" for _ in headers) + " |",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def digest_markdown(digest: TeamDigest) -> str:
    """The digest as Markdown tables, for a Prefect markdown artifact (all rows, no cut-off)."""
    d = digest
    parts = [
        f"# {d.team_name} ({d.team_id}): tilsynsoversigt {danish_instant(d.generated_at)}",
        f"Teamleder: {d.leader.name}",
        f"## Fastlåste sager ({len(d.stuck)})",
        markdown_table(
            ["Sag", "Fase", "Rådgiver", "I fasen", "Årsag", "Overskredne frister"],
            (
                [
                    c.case_id,
                    _phase(c.phase),
                    _worker(c.worker),
                    _in_phase(c),
                    _reasons(c),
                    _breaches(c) or "–",
                ]
                for c in d.stuck
            ),
        ),
        f"## Frister de næste {d.horizon_days} dage ({len(d.due_soon)})",
        markdown_table(
            ["Frist", "Dage", "Sag", "Barn", "Frist for", "Indsats", "Rådgiver"],
            (
                [
                    danish_instant(x.due_at),
                    x.days_left,
                    x.case_id,
                    x.child_ref,
                    x.title,
                    _measure(x) or "–",
                    _worker(x.worker),
                ]
                for x in d.due_soon
            ),
        ),
        f"## Sagstal pr. rådgiver (mål: højst {d.caseload_target}, {d.caseload_source})",
        markdown_table(
            ["Rådgiver", "Åbne sager", "Bemærkning"],
            (
                [_worker(x.worker), x.open_cases, _load_note(x, d.caseload_target) or "–"]
                for x in d.caseload
            ),
        ),
    ]
    if d.parked:
        parts += [
            f"## Parkerede meddelelser ({len(d.parked)})",
            markdown_table(
                ["Sag", "Frist for", "Niveau", "Til", "Frist", "Forsøg", "Årsag"],
                (
                    [
                        p.case_id,
                        RULE_LABELS.get(p.rule, p.rule),
                        LEVEL_LABELS.get(p.level, p.level),
                        _addressee(p),
                        danish_instant(p.due_at),
                        p.attempts,
                        p.reason or "–",
                    ]
                    for p in d.parked
                ),
            ),
        ]
    return "\n\n".join(parts) + "\n"
