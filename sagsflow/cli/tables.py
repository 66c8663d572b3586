"""Rich tables for people at a terminal (the CLI's human output)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from statemachine.rulebook import Rulebook

console = Console()

_STATUS_STYLE = {
    "open": "cyan",
    "met": "green",
    "met_late": "yellow",
    "breached": "bold red",
    "cancelled": "dim",
}


def _day(value: str | None) -> str:
    return value[:16].replace("T", " ") if value else "—"


def print_case(view: dict[str, Any]) -> None:
    console.print(
        f"[bold]Case {view['id']}[/bold]  phase [bold]{view['phase']}[/bold]  "
        f"version {view['version']}  rulebook {view['rulebook']}  municipality {view['municipality']}"
    )
    console.print(
        f"child {view['child_ref']} (born {view['birth_date']})  aware {_day(view['aware_at'])}  "
        f"source {view['source']}{' / ' + view['notifier'] if view['notifier'] else ''}  "
        f"worker {view['worker'] or '—'}  team {view['team'] or '—'}"
    )
    console.print(f"allowed now: {', '.join(view['allowed_events']) or 'none (closed)'}")
    if view["measures"]:
        table = Table(title="Measures")
        for column in ("id", "type", "package", "granted", "started", "ended", "follow-ups"):
            table.add_column(column)
        for m in view["measures"]:
            table.add_row(
                m["id"],
                m["type"],
                m["package"] or "—",
                _day(m["granted_at"]),
                _day(m["started_at"]),
                _day(m["ended_at"]),
                str(m["follow_ups_held"]),
            )
        console.print(table)
    table = Table(title="Deadlines")
    for column in ("id", "rule", "measure", "due", "status", "why"):
        table.add_column(column, overflow="fold")
    for d in view["deadlines"]:
        style = _STATUS_STYLE.get(d["status"], "")
        table.add_row(
            str(d["id"]),
            d["rule"],
            d["measure_id"] or "",
            _day(d["due_at"]),
            f"[{style}]{d['status']}[/{style}]",
            d["explanation"],
        )
    console.print(table)
    table = Table(title="History")
    for column in ("#", "event", "phase", "at", "actor", "legal basis"):
        table.add_column(column, overflow="fold")
    for h in view["history"]:
        phases = (
            h["to_phase"]
            if h["from_phase"] in (None, h["to_phase"])
            else f"{h['from_phase']} → {h['to_phase']}"
        )
        table.add_row(
            str(h["seq"]),
            h["event"],
            phases,
            _day(h["at"]),
            f"{h['actor']} ({h['role']})",
            h["legal_basis"],
        )
    console.print(table)


def print_case_list(rows: list[dict[str, Any]]) -> None:
    table = Table(title=f"{len(rows)} case(s)")
    for column in ("id", "phase", "worker", "team", "aware", "in phase since", "last event"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["phase"],
            r["worker"] or "—",
            r["team"] or "—",
            _day(r["aware_at"]),
            _day(r["phase_entered_at"]),
            _day(r["last_event_at"]),
        )
    console.print(table)


_REASON_LABEL = {
    "over_phase_norm": "over norm",
    "breached_deadline": "breach",
    "inactive": "inactive",
    "waiting_for_consent": "consent",
}


def print_stuck(rows: list[dict[str, Any]], limit: int = 40) -> None:
    """The supervisor's view: the worst first, a screenful at most."""
    wide = Console(width=max(console.width, 120))
    by_reason = {label: 0 for label in _REASON_LABEL.values()}
    for r in rows:
        for reason in r["reasons"]:
            by_reason[_REASON_LABEL.get(reason, reason)] += 1
    summary = ", ".join(f"{label} {n}" for label, n in by_reason.items())
    table = Table(title=f"Stuck cases: {len(rows)} ({summary})", title_justify="left")
    for column in (
        "case",
        "phase",
        "worker",
        "team",
        "in phase",
        "over norm",
        "why",
        "breached deadlines",
    ):
        table.add_column(column, no_wrap=column != "breached deadlines", overflow="fold")
    for r in rows[:limit]:
        breached = ", ".join(f"{b['rule']} +{b['days_overdue']}d" for b in r["breached_deadlines"])
        table.add_row(
            str(r["case_id"]),
            r["phase"],
            r["worker"] or "—",
            r["team"] or "—",
            f"{r['days_in_phase']}d",
            f"{r['days_over_norm']}d" if r["days_over_norm"] else "—",
            ", ".join(_REASON_LABEL.get(x, x) for x in r["reasons"]),
            breached or "—",
        )
    wide.print(table)
    if len(rows) > limit:
        wide.print(f"… and {len(rows) - limit} more: sagsflow report stuck --json")


def print_rulebook(rulebook: Rulebook) -> None:
    console.print(
        f"[bold]{rulebook.key}[/bold] {rulebook.title} — {rulebook.law}, effective {rulebook.effective_from}"
    )
    table = Table(title="Deadlines")
    for column in ("rule", "duration", "counted from", "armed by", "met by", "source"):
        table.add_column(column, overflow="fold")
    for rule_id, rule in rulebook.deadlines.items():
        table.add_row(
            rule_id.value,
            rule.duration.describe(),
            rule.anchor.value,
            ", ".join(rule.armed_on),
            ", ".join(rule.met_by),
            rule.source,
        )
    console.print(table)
    table = Table(title="Measures")
    for column in (
        "id",
        "title",
        "packages",
        "ages",
        "first follow-up",
        "then",
        "plan",
        "competence",
    ):
        table.add_column(column, overflow="fold")
    for measure_id, m in rulebook.measures.items():
        then = "; ".join(
            f"every {s.every.describe()}" + (f" until {s.until.describe()}" if s.until else "")
            for s in (m.follow_up.then if m.follow_up else [])
        )
        table.add_row(
            measure_id,
            m.title,
            ", ".join(m.packages) or "—",
            f"{m.ages.min}–{m.ages.max}",
            m.follow_up.first.describe() if m.follow_up else "none",
            then or "—",
            m.action_plan,
            m.competence.value,
        )
    console.print(table)


def print_migration(result: dict[str, Any]) -> None:
    verb = "would move" if result["dry_run"] else "moved"
    console.print(
        f"{result['cases']} open case(s) {verb} to {result['to']}; {result['deadlines_moved']} deadline(s) "
        f"{verb}, {result['deadlines_cancelled']} cancelled, {result['blocked']} case(s) blocked"
    )
    table = Table()
    for column in ("case", "deadline", "from", "to", "days", "note"):
        table.add_column(column)
    for plan in result["plans"]:
        if plan["blocked"]:
            table.add_row(str(plan["case_id"]), "—", "", "", "", plan["blocked"])
        for d in plan["deadlines"]:
            if d["days"] or d["cancelled"]:
                table.add_row(
                    str(plan["case_id"]),
                    d["key"],
                    _day(d["old_due_at"]),
                    _day(d["new_due_at"]),
                    f"{d['days']:+d}" if d["days"] is not None else "",
                    "cancelled" if d["cancelled"] else "",
                )
    console.print(table)
