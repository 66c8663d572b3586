"""What a notification mail says (Danish: the readers are caseworkers and their managers).

The case, the child's pseudonym, the rule, its legal source, the due time in Copenhagen and how
it stands; no other personal data. A deadline the law sets is called "lovbestemt"; one the
municipality sets (its published decision deadline, its own follow-up cadence) is called the
municipality's. The text and HTML are templates/mail/notice.*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagsflow.organisation import Person
from sagsflow.present.i18n import DEFAULT, Translator, translator
from sagsflow.present.templating import render as render_template
from statemachine.calendar import to_local


@dataclass(frozen=True)
class Notice:
    """A notification about to be sent, with the facts its mail names (and no others)."""

    id: int
    case_id: int
    child_ref: str
    level: str
    recipient_role: str
    rule: str
    title: str
    source: str
    due_at: datetime
    recipient: Person
    attempts: int
    statutory: bool = True  # the law sets the deadline (not the municipality)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    payload: dict[str, Any]


def _status_line(due_at: datetime, now: datetime, t: Translator) -> tuple[str, int]:
    """The sentence on how the deadline stands, and the whole days over (0 before due)."""
    days = (to_local(now).date() - to_local(due_at).date()).days
    if now < due_at:
        if days == 0:
            return t("mail.status.due_today"), 0
        if days == -1:
            return t("mail.status.due_tomorrow"), 0
        return t("mail.status.due_in", days=t.days(-days)), 0
    if days == 0:
        return t("mail.status.overdue_today"), 0
    return t("mail.status.overdue", days=t.days(days)), days


def render(item: Notice, now: datetime, t: Translator | None = None) -> Rendered:
    """The mail for a notification (Danish unless `t` says otherwise)."""
    t = t or translator(DEFAULT)
    subject = t(
        "mail.subject_line",
        level=t(f"mail.level.{item.level}"),
        rule=t(f"mail.rule.{item.rule}") if t.has(f"mail.rule.{item.rule}") else item.title,
        case=item.case_id,
    )
    status, days_over = _status_line(item.due_at, now, t)
    # A reminder held up (by an outage) until after the due time must not say "approaching".
    level = "breach" if item.level == "reminder" and now >= item.due_at else item.level
    kind = "statutory" if item.statutory else "municipal"
    intro = t(f"mail.intro.{level}.{kind}", case=item.case_id)
    facts = [
        (t("mail.fact.case"), t("mail.case", case=item.case_id, child=item.child_ref)),
        (t("mail.fact.rule"), item.title),
        (t("mail.fact.source"), item.source),
        (t("mail.fact.due"), t.instant(item.due_at)),
        (t("mail.fact.status"), status),
    ]
    footer = t("mail.footer", role=t(f"as_role.{item.recipient_role}"), id=item.id)
    values = {"intro": intro, "facts": facts, "footer": footer, "lang": t.lang}
    text = render_template("mail/notice.txt", t, **values)
    body = render_template("mail/notice.html", t, **values)
    payload = {
        "notification_id": item.id,
        "case_id": item.case_id,
        "child_ref": item.child_ref,
        "level": item.level,
        "recipient_role": item.recipient_role,
        "recipient": item.recipient.id,
        "rule": item.rule,
        "title": item.title,
        "source": item.source,
        "statutory": item.statutory,
        "due_at": item.due_at.isoformat(),
        "due_date": to_local(item.due_at).date().isoformat(),
        "days_over": days_over,
        "subject": subject,
        "text": text,
    }
    return Rendered(subject, text, body, payload)
