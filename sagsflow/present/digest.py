"""The supervisor's digest as people read it: an e-mail (text, and HTML with inline styles only)
and Markdown for a Prefect artifact, in Danish (or English on request).

`worded` turns the read model (`sagsflow.read.digest.TeamDigest`) into worded sections; the
templates under templates/digest/ lay them out. People appear by the organisation file's names,
cases by number and pseudonymous child reference: no other personal data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sagsflow.present.i18n import DEFAULT, Translator, translator
from sagsflow.present.outbox import parked_reason_text
from sagsflow.present.templating import markdown_cell, render
from statemachine.calendar import local_date

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


@dataclass(frozen=True)
class Cell:
    text: str
    note: str | None = None  # a second, smaller line
    numeric: bool = False


@dataclass(frozen=True)
class Row:
    """One line of a section: its cells (mail HTML, Markdown), and as text (`line` and its
    `details`, the plain mail)."""

    cells: tuple[Cell, ...]
    line: str
    details: tuple[str, ...] = ()
    warn: bool = False


@dataclass(frozen=True)
class Section:
    title: str  # with its count
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    more: str | None = None  # "… and 12 more: sagsflow report stuck --team t1"
    shown: int | None = None  # rows a mail lists (None: all)


@dataclass(frozen=True)
class WordedDigest:
    lang: str
    team: str
    subject: str
    heading: str
    to: str
    as_of: str
    sections: tuple[Section, ...] = field(default_factory=tuple)
    footer: tuple[str, ...] = ()


def _name(digest: TeamDigest, person: str | None, t: Translator) -> str:
    if person is None:
        return t("no_worker")
    return digest.names.get(person, person)


def _in_phase(case: StuckCase, t: Translator) -> str:
    text = t("digest.in_phase", days=t.days(case.days_in_phase))
    if case.phase_norm:
        text += t("digest.norm", norm=t.span(case.phase_norm))
    if case.days_over_norm:
        text += t("digest.over_norm", days=t.days(case.days_over_norm))
    return text


def _reasons(case: StuckCase, t: Translator) -> str:
    labels = []
    for reason in case.reasons:
        if reason == "inactive":
            labels.append(t("digest.inactive_for", days=t.days(case.days_since_last_event)))
        else:
            labels.append(t.reason(reason))
    return ", ".join(labels)


def _breaches(case: StuckCase, t: Translator) -> str:
    return "; ".join(
        t(
            "digest.breach",
            rule=t.rule(b.rule),
            measure=f" ({t('measure.ref', number=b.measure_id[1:])})" if b.measure_id else "",
            due=t.date(b.due_at),
            days=t.days(b.days_overdue),
        )
        for b in case.breached_deadlines
    )


def _when(days_left: int, t: Translator) -> str:
    return t("digest.today") if days_left == 0 else t("digest.in_days", days=t.days(days_left))


def _measure(deadline: DueDeadline, t: Translator) -> str:
    """The measure a deadline belongs to, by its title and number ("Familiebehandling, indsats 1")."""
    if deadline.measure_id is None:
        return ""
    number = t("measure.ref", number=deadline.measure_id[1:])
    return f"{deadline.measure}, {number}" if deadline.measure else number


def _addressee(digest: TeamDigest, parked: ParkedNotification, t: Translator) -> str:
    role = t(f"as_role.{parked.recipient_role}")
    return f"{role} {_name(digest, parked.recipient, t)}" if parked.recipient else role


def _load_note(load: Caseload, target: int, t: Translator) -> str:
    notes = []
    if load.over(target):
        notes.append(t("caseload.over", n=load.over(target)))
    if not load.in_organisation:
        notes.append(t("caseload.not_in_org"))
    return ", ".join(notes)


def _more(total: int, shown: int, command: str, t: Translator) -> str | None:
    return t("digest.more", n=total - shown, command=command) if total > shown else None


def _stuck(d: TeamDigest, t: Translator, shown: int) -> Section:
    rows = tuple(
        Row(
            cells=(
                Cell(str(c.case_id), numeric=True),
                Cell(t.phase(c.phase)),
                Cell(_name(d, c.worker, t)),
                Cell(_in_phase(c, t)),
                Cell(_reasons(c, t)),
                Cell(_breaches(c, t) or "–"),
            ),
            line=t(
                "digest.stuck_line",
                case=c.case_id,
                phase=t.phase(c.phase),
                in_phase=_in_phase(c, t),
                worker=_name(d, c.worker, t),
            ),
            details=tuple(
                [t("digest.why", reasons=_reasons(c, t))]
                + ([t("digest.breaches", breaches=_breaches(c, t))] if c.breached_deadlines else [])
            ),
            warn=bool(c.breached_deadlines),
        )
        for c in d.stuck
    )
    return Section(
        title=t("digest.stuck_title", n=len(d.stuck)),
        headers=tuple(
            t(k)
            for k in (
                "col.case",
                "col.phase",
                "col.worker",
                "col.in_phase",
                "col.reasons",
                "col.breaches",
            )
        ),
        rows=rows,
        more=_more(len(d.stuck), shown, f"sagsflow report stuck --team {d.team_id}", t),
        shown=shown,
    )


def _due(d: TeamDigest, t: Translator, shown: int) -> Section:
    rows = []
    for x in d.due_soon:
        measure = _measure(x, t)
        rows.append(
            Row(
                cells=(
                    Cell(t.instant(x.due_at), note=_when(x.days_left, t)),
                    Cell(str(x.case_id), numeric=True),
                    Cell(x.child_ref),
                    Cell(x.title, note=x.source),
                    Cell(measure or "–"),
                    Cell(_name(d, x.worker, t)),
                ),
                line=t(
                    "digest.due_line",
                    due=t.instant(x.due_at),
                    when=_when(x.days_left, t),
                    case=x.case_id,
                    child=x.child_ref,
                    title=x.title,
                    measure=f" · {measure}" if measure else "",
                    worker=_name(d, x.worker, t),
                ),
                details=(t("digest.source", source=x.source),),
                warn=x.days_left <= 2,
            )
        )
    return Section(
        title=t("digest.due_title", days=d.horizon_days, n=len(d.due_soon)),
        headers=tuple(
            t(k)
            for k in (
                "col.due",
                "col.case",
                "col.child",
                "col.deadline",
                "col.measure",
                "col.worker",
            )
        ),
        rows=tuple(rows),
        more=_more(len(d.due_soon), shown, f"sagsflow report digest --team {d.team_id} --json", t),
        shown=shown,
    )


def _caseload(d: TeamDigest, t: Translator) -> Section:
    rows = []
    for load in d.caseload:
        note = _load_note(load, d.caseload_target, t)
        name = _name(d, load.worker, t)
        rows.append(
            Row(
                cells=(Cell(name), Cell(str(load.open_cases), numeric=True), Cell(note or "–")),
                line=f"{name:<20} {load.open_cases:>4}" + (f"  ({note})" if note else ""),
                warn=load.over(d.caseload_target) > 0,
            )
        )
    return Section(
        title=t("digest.caseload_title", target=d.caseload_target),
        headers=(t("col.worker"), t("col.open_cases"), t("col.note")),
        rows=tuple(rows),
    )


def _parked(d: TeamDigest, t: Translator) -> Section:
    rows = []
    for p in d.parked:
        reason = (
            parked_reason_text(p.reason, t, lambda who: d.names.get(who, who)) if p.reason else None
        )
        rows.append(
            Row(
                cells=(
                    Cell(str(p.case_id), numeric=True),
                    Cell(t.rule(p.rule)),
                    Cell(t.level(p.level)),
                    Cell(_addressee(d, p, t)),
                    Cell(t.instant(p.due_at)),
                    Cell(str(p.attempts), numeric=True),
                    Cell(reason or "–"),
                ),
                line=t(
                    "digest.parked_line",
                    case=p.case_id,
                    rule=t.rule(p.rule),
                    level=t.level(p.level),
                    to=_addressee(d, p, t),
                    due=t.instant(p.due_at),
                    attempts=p.attempts,
                ),
                details=(t("digest.why", reasons=reason),) if reason else (),
                warn=True,
            )
        )
    return Section(
        title=t("digest.parked_title", n=len(d.parked)),
        headers=tuple(
            t(k)
            for k in (
                "col.case",
                "col.deadline",
                "col.level",
                "col.to",
                "col.due",
                "col.attempts",
                "col.reasons",
            )
        ),
        rows=tuple(rows),
    )


def subject(digest: TeamDigest, t: Translator | None = None) -> str:
    t = t or translator(DEFAULT)
    over = sum(1 for load in digest.caseload if load.over(digest.caseload_target))
    parts = [
        t("digest.subject.stuck", n=len(digest.stuck)),
        t("digest.subject.due", n=len(digest.due_soon), days=digest.horizon_days),
    ]
    if over:
        parts.append(t("digest.subject.over", n=over))
    if digest.parked:
        parts.append(t("digest.subject.parked", n=len(digest.parked)))
    day = t.date(local_date(digest.generated_at))
    return t("digest.subject", team=digest.team_name, day=day, parts=", ".join(parts))


def worded(digest: TeamDigest, t: Translator, *, shown: int = SHOWN) -> WordedDigest:
    """The digest's sections in `t`'s language."""
    d = digest
    sections = [_stuck(d, t, shown), _due(d, t, shown), _caseload(d, t)]
    if d.parked:
        sections.append(_parked(d, t))
    return WordedDigest(
        lang=t.lang,
        team=d.team_name,
        subject=subject(d, t),
        heading=t("digest.heading", team=d.team_name),
        to=t("digest.to", leader=d.leader.name, team=d.team_name),
        as_of=t.instant(d.generated_at),
        sections=tuple(sections),
        footer=(t("digest.target_source", rulebook=d.caseload_source), t("digest.privacy")),
    )


def render_digest(
    digest: TeamDigest, *, shown: int = SHOWN, t: Translator | None = None
) -> tuple[str, str, str]:
    """(subject, text, html) of the e-mail to the team leader (Danish unless `t` says).

    The HTML uses inline styles only and refers to nothing outside itself. At most `shown` stuck
    cases and deadlines are listed; the rest are counted.
    """
    t = t or translator(DEFAULT)
    view = worded(digest, t, shown=shown)
    return (
        view.subject,
        render("digest/mail.txt", t, digest=view),
        render("digest/mail.html", t, digest=view),
    )


def digest_markdown(digest: TeamDigest, t: Translator | None = None) -> str:
    """The digest as Markdown tables, for a Prefect markdown artifact (all rows, no cut-off)."""
    t = t or translator(DEFAULT)
    return render(
        "digest/artifact.md",
        t,
        digest=worded(digest, t, shown=10**9),
        team_id=digest.team_id,
        leader=digest.leader.name,
    )


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (for small figure tables written in Python)."""
    lines = [
        "| " + " | ".join(markdown_cell(h) for h in headers) + " |",
        "| " + " | ".join("---" for _ in headers) + " |",
    ]
    lines += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def instant_words(value: datetime | str, t: Translator | None = None) -> str:
    """An instant as the digest writes it."""
    return (t or translator(DEFAULT)).instant(value)
