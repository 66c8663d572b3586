"""Rich tables for people at a terminal (the CLI's human output), in the CLI's language."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from sagsflow.present.case import child_conversation_text
from sagsflow.present.i18n import Translator
from sagsflow.present.outbox import parked_reason_text
from sagsflow.present.refusals import refusal_text
from statemachine.errors import Refusal, RefusalCode
from statemachine.rulebook import Rulebook

if TYPE_CHECKING:
    from sagsflow.organisation import Organisation


def _person(names: Organisation | None, person: str | None) -> str:
    """A caseworker as people read them: the organisation file's name, else the id."""
    if person is None:
        return "—"
    return (names.display_name(person) if names is not None else None) or person


def _team(names: Organisation | None, team: str | None) -> str:
    if team is None:
        return "—"
    return (names.team_name(team) if names is not None else None) or team


console = Console()

_STATUS_STYLE = {
    "open": "cyan",
    "met": "green",
    "met_late": "yellow",
    "breached": "bold red",
    "cancelled": "dim",
}


def _table(t: Translator, title: str, columns: Sequence[str], **options: Any) -> Table:
    table = Table(title=title, **options)
    for column in columns:
        table.add_column(t(f"cli.col.{column}"), overflow="fold")
    return table


def print_case(view: dict[str, Any], t: Translator) -> None:
    """A case: its facts, measures, deadlines (with their explanation) and history."""
    worker = view["worker"] or t("no_worker")
    team = view["team"] or t("no_team")
    source = t.source(view["source"])
    if view["notifier"]:
        source += f" / {t.notifier(view['notifier'])}"
    console.print(
        f"[bold]{t('case.title', id=view['id'])}[/bold]  {t('col.phase')} "
        f"[bold]{t.phase(view['phase'])}[/bold]  {t('case.version')} {view['version']}  "
        f"{t('case.rulebook')} {view['rulebook']}"
    )
    if view["expected_birth_date"]:
        birth = t("case.expected_birth_on", date=t.date(view["expected_birth_date"]))
    else:
        birth = f"{t('case.birth_date')} {t.date(view['birth_date'])}"
    console.print(
        f"{t('case.child_ref')} {view['child_ref']} ({birth})  "
        f"{t('case.aware_at')} {t.instant(view['aware_at'])}  "
        f"{t('case.source')} {source}  {t('col.worker')} {worker}  {t('col.team')} {team}"
    )
    consent = t.labels("party", view["consents"]) or t("case.none")
    if view["decided_without_consent"]:
        consent += f" · {t.event('decide_compulsory_examination')}"
    if view["investigation_without_consent_of"]:
        parties = t.labels("party", view["investigation_without_consent_of"])
        consent += f" · {t('case.investigation_without_consent', parties=parties)}"
    console.print(f"{t('case.consents')}: {consent}")
    if view["applied_for"]:
        applied = view["applied_for_title"]
        if view["decision_expected_by"]:
            expected = t.date(view["decision_expected_by"])
            applied += f" · {t('case.decision_expected_by', day=expected)}"
        console.print(f"{t('case.applied_for')}: {applied}")
    console.print(f"{t('case.child_conversation')}: {child_conversation_text(view, t)}")
    allowed = ", ".join(t.event(e) for e in view["allowed_events"]) or t("cli.closed")
    console.print(f"{t('cli.allowed_now')}: {allowed}")
    if view["measures"]:
        table = _table(
            t,
            t("case.measures"),
            ("measure", "type", "package", "granted", "started", "ended", "follow_ups"),
        )
        for m in view["measures"]:
            table.add_row(
                m["id"],
                m["title"],
                t.package(m["package"]) if m["package"] else "—",
                t.date(m["granted_at"]),
                t.date(m["started_at"]) if m["started_at"] else "—",
                t.date(m["ended_at"]) if m["ended_at"] else "—",
                str(m["follow_ups_held"])
                + (
                    " · "
                    + t(
                        "case.follow_up_every",
                        every=t.amount(
                            m["follow_up_every"]["amount"], m["follow_up_every"]["unit"]
                        ),
                    )
                    if m["follow_up_every"]
                    else ""
                ),
            )
        console.print(table)
    table = _table(t, t("case.deadlines"), ("id", "rule", "measure", "due", "status", "why"))
    for d in view["deadlines"]:
        style = _STATUS_STYLE.get(d["status"], "")
        table.add_row(
            str(d["id"]),
            t.rule(d["rule"]),
            d["measure_id"] or "",
            t.instant(d["due_at"]),
            f"[{style}]{t.status(d['status'])}[/{style}]",
            d["explanation"],
        )
    console.print(table)
    table = _table(t, t("case.audit"), ("seq", "event", "phase", "at", "actor", "legal_basis"))
    for h in view["history"]:
        phases = (
            t.phase(h["to_phase"])
            if h["from_phase"] in (None, h["to_phase"])
            else f"{t.phase(h['from_phase'])} → {t.phase(h['to_phase'])}"
        )
        table.add_row(
            str(h["seq"]),
            t.event(h["event"]),
            phases,
            t.instant(h["at"]),
            f"{h['actor']} ({t.role(h['role'])})",
            h["legal_basis"],
        )
    console.print(table)


def print_case_list(
    rows: Sequence[Mapping[str, Any]], t: Translator, names: Organisation | None = None
) -> None:
    table = _table(
        t,
        t("cli.cases", n=len(rows)),
        ("case", "phase", "worker", "team", "aware", "in_phase_since", "last_event"),
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            t.phase(r["phase"]),
            _person(names, r["worker"]),
            _team(names, r["team"]),
            t.instant(r["aware_at"]),
            t.instant(r["phase_entered_at"]),
            t.instant(r["last_event_at"]),
        )
    console.print(table)


def print_stuck(
    rows: list[dict[str, Any]],
    t: Translator,
    limit: int = 40,
    names: Organisation | None = None,
) -> None:
    """The supervisor's view: the worst first, a screenful at most."""
    wide = Console(width=max(console.width, 120))
    by_reason: dict[str, int] = {}
    for r in rows:
        for reason in r["reasons"]:
            by_reason[reason] = by_reason.get(reason, 0) + 1
    summary = ", ".join(f"{t.reason(reason).lower()} {n}" for reason, n in by_reason.items())
    table = Table(
        title=t("cli.stuck_title", n=len(rows), summary=summary or t("overview.none")),
        title_justify="left",
    )
    columns = ("case", "phase", "worker", "team", "in_phase", "over_norm", "why", "breaches")
    for column in columns:
        table.add_column(t(f"cli.col.{column}"), no_wrap=column != "breaches", overflow="fold")
    for r in rows[:limit]:
        breached = ", ".join(f"{t.rule(b['rule'])} +{_over(b, t)}" for b in r["breached_deadlines"])
        if projected := r.get("projected_investigation"):
            due = t("stuck.projected_investigation", due=t.date(projected["due_at"]))
            breached = ", ".join(x for x in (breached, due) if x)
        table.add_row(
            str(r["case_id"]),
            t.phase(r["phase"]),
            _person(names, r["worker"]),
            _team(names, r["team"]),
            t.days(r["days_in_phase"]),
            t.days(r["days_over_norm"]) if r["days_over_norm"] else "—",
            ", ".join(t.reason(x) for x in r["reasons"]),
            breached or "—",
        )
    wide.print(table)
    if len(rows) > limit:
        wide.print(t("cli.more_stuck", n=len(rows) - limit))


def print_rulebook(rulebook: Rulebook, t: Translator) -> None:
    console.print(
        f"[bold]{rulebook.key}[/bold] {rulebook.title} — {rulebook.law}, "
        f"{t('cli.effective', day=t.date(rulebook.effective_from))}"
    )
    if rulebook.applies_to_open_cases:
        console.print(t("cli.takes_over_open_cases"))
    table = _table(
        t, t("case.deadlines"), ("rule", "duration", "counted_from", "armed_by", "met_by", "source")
    )
    for rule in rulebook.deadlines.values():
        table.add_row(
            rule.title,
            t.span(rule.duration),
            t(f"cli.anchor.{rule.anchor.value}"),
            ", ".join(t.event(e) for e in rule.armed_on),
            ", ".join(t.event(e) for e in rule.met_by),
            rule.source,
        )
    console.print(table)
    table = _table(
        t,
        t("cli.measures"),
        ("id", "title", "packages", "ages", "first_follow_up", "then", "plan", "competence"),
    )
    for measure_id, m in rulebook.measures.items():
        then = "; ".join(
            t("cli.every", span=t.span(s.every))
            + (f" {t('cli.until', span=t.span(s.until))}" if s.until else "")
            for s in (m.follow_up.then if m.follow_up else [])
        )
        table.add_row(
            measure_id,
            m.title,
            ", ".join(t.package(p) for p in m.packages) or "—",
            f"{m.ages.min}–{m.ages.max}",
            t.span(m.follow_up.first) if m.follow_up else t("cli.none"),
            then or "—",
            t(f"cli.plan.{m.action_plan}"),
            t.role(m.competence.value),
        )
    console.print(table)


def print_migration(result: dict[str, Any], t: Translator) -> None:
    """What `rulebook migrate` did or would do: `--to` one version, or `--due` (the result has
    `on`, and each case its own versions, shown in a column of their own)."""
    due = "on" in result
    counts = {
        "cases": result["cases"],
        "moved": result["deadlines_moved"],
        "cancelled": result["deadlines_cancelled"],
        "blocked": result["blocked"],
    }
    if due:
        key = "cli.migration_due_planned" if result["dry_run"] else "cli.migration_due_done"
        console.print(t(key, on=t.date(result["on"]), **counts))
    else:
        key = "cli.migration_planned" if result["dry_run"] else "cli.migration_done"
        console.print(t(key, to=result["to"], **counts))
    columns = ("case", "deadline", "from", "to", "days", "note")
    table = _table(t, "", ("case", "rulebook", *columns[1:]) if due else columns)
    for plan in result["plans"]:
        # --due: every case that moves is listed, with its versions, whether or not a deadline
        # moves with it.
        versions = [f"{plan['from']} → {plan['to']}"] if due else []
        rows = [
            [
                t.rule(d["rule"]),
                t.instant(d["old_due_at"]),
                t.instant(d["new_due_at"]) if d["new_due_at"] else "—",
                f"{d['days']:+d}" if d["days"] is not None else "",
                t("status.cancelled") if d["cancelled"] else "",
            ]
            for d in plan["deadlines"]
            if d["days"] or d["cancelled"]
        ]
        if plan["blocked"]:
            rows.insert(0, ["—", "", "", "", _blocked(plan, t)])
        elif due and not rows:
            rows = [["—", "", "", "", ""]]
        for row in rows:
            table.add_row(str(plan["case_id"]), *versions, *row)
    console.print(table)


def _blocked(plan: dict[str, Any], t: Translator) -> str:
    """Why a case cannot move, in the reader's language (the plan's refusal)."""
    refusal = plan.get("refusal")
    if not refusal:
        return str(plan["blocked"])
    return refusal_text(Refusal(RefusalCode(refusal["code"]), refusal["params"]), t)


def print_notifications(rows: Sequence[Mapping[str, Any]], t: Translator) -> None:
    """The outbox, a line per notification, with why it is parked or failing."""
    if not rows:
        print(t("cli.no_notifications"))
    for row in rows:
        line = t(
            "cli.notification",
            id=row["id"],
            case_id=row["case_id"],
            rule=t.rule(row["rule"]),
            level=t.level(row["level"]),
            role=t.role(row["recipient_role"]),
            to=row["recipient"] or "?",
            status=t(f"outbox.{row['status']}"),
            attempts=row["attempts"],
        )
        why = (
            parked_reason_text(row["parked_reason"], t)
            if row["parked_reason"]
            else row["last_error"]
        )
        print(f"{line} ({why})" if why else line)


def print_users(rows: list[dict[str, Any]], t: Translator) -> None:
    if not rows:
        print(t("cli.no_users"))
    for row in rows:
        team = f", {t('col.team').lower()} {row['team']}" if row["team"] else ""
        state = f" ({t('cli.disabled')})" if row["disabled_at"] else ""
        print(f"{row['name']}: {t.role(row['role'])}{team}{state}")


def _over(breach: dict[str, Any], t: Translator) -> str:
    """How far a breached deadline is over: hours for one counted in hours (the 24-hour
    assessment), else days; and whether the law or the service level sets it."""
    hours = breach.get("hours_overdue")
    over = t.amount(hours, "hours") if hours is not None else t.days(breach["days_overdue"])
    kind = t("stuck.statutory") if breach.get("statutory", True) else t("stuck.service_level")
    return f"{over} ({kind})"
