"""The supervisor's digest in Danish: an e-mail (text, and HTML with inline styles only) and
Markdown for a Prefect artifact."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from statemachine.calendar import Unit, local_date, to_local
from statemachine.phases import Phase
from statemachine.rulebook import RuleId, Span

if TYPE_CHECKING:
    from sagsflow.read.digest import (
        Caseload,
        DueDeadline,
        ParkedNotification,
        StuckCase,
        TeamDigest,
    )

# An e-mail shows the worst few; the rest are one command away (DOMAIN.md: not a list of 150).
SHOWN = 25

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
        text += f" (norm {danish_span(case.phase_norm)})"
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
