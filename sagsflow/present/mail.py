"""What a notification mail says, in Danish: the readers are caseworkers and their managers.

The case, the child's pseudonym, the rule, its legal source, the due time in Copenhagen and how
it stands; no other personal data.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagsflow.organisation import Person
from statemachine.calendar import to_local
from statemachine.rulebook import RuleId

_SUBJECT = {"reminder": "Påmindelse", "breach": "Frist overskredet", "escalation": "Eskalering"}
_INTRO = {
    "reminder": "En lovbestemt frist i sag {case} nærmer sig.",
    "breach": "En lovbestemt frist i sag {case} er overskredet.",
    "escalation": "En frist i sag {case} er fortsat overskredet og eskaleres derfor til dig.",
}
# Short names for the subject line; the body gives the rulebook's full title.
_RULE_NAME: dict[str, str] = {
    RuleId.URGENT_ASSESSMENT: "vurdering af underretning",
    RuleId.ACKNOWLEDGEMENT: "kvittering til fagperson",
    RuleId.INVESTIGATION: "undersøgelse",
    RuleId.DECISION: "afgørelse",
    RuleId.ACTION_PLAN: "barnets plan",
    RuleId.FOLLOW_UP: "opfølgning",
    RuleId.PACKAGE_REVIEW: "revurdering af pakke",
}
_ROLE_NAME = {
    "caseworker": "sagsbehandler",
    "team_leader": "teamleder",
    "department_head": "afdelingsleder",
    "committee": "udvalgets sekretariat",
}
_MONTHS = (
    "januar", "februar", "marts", "april", "maj", "juni",
    "juli", "august", "september", "oktober", "november", "december",
)  # fmt: skip


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


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    payload: dict[str, Any]


def _danish_instant(instant: datetime) -> str:
    local = to_local(instant)
    return f"{local.day}. {_MONTHS[local.month - 1]} {local.year} kl. {local:%H.%M}"


def _status_line(due_at: datetime, now: datetime) -> tuple[str, int]:
    """The sentence on how the deadline stands, and the whole days over (0 before due)."""
    days = (to_local(now).date() - to_local(due_at).date()).days
    if now < due_at:
        if days == 0:
            return "Fristen udløber i dag.", 0
        if days == -1:
            return "Fristen udløber i morgen.", 0
        return f"Fristen udløber om {-days} dage.", 0
    if days == 0:
        return "Fristen er overskredet (i dag).", 0
    return f"Fristen er overskredet med {days} {'dag' if days == 1 else 'dage'}.", days


def render(item: Notice, now: datetime) -> Rendered:
    """The mail for a claimed notification: the case, the child's pseudonym, the rule, its legal
    source, the due time in Copenhagen and how it stands; no other personal data."""
    rule_name = _RULE_NAME.get(item.rule, item.title)
    subject = f"{_SUBJECT[item.level]}: {rule_name} i sag {item.case_id}"
    status, days_over = _status_line(item.due_at, now)
    role = _ROLE_NAME.get(item.recipient_role, item.recipient_role)
    facts = [
        ("Sag", f"{item.case_id} (barnets reference {item.child_ref})"),
        ("Frist", item.title),
        ("Hjemmel", item.source),
        ("Fristen udløber", _danish_instant(item.due_at)),
        ("Status", status),
    ]
    # A reminder held up (by an outage) until after the due time must not say "approaching".
    overdue_reminder = item.level == "reminder" and now >= item.due_at
    intro = _INTRO["breach" if overdue_reminder else item.level].format(case=item.case_id)
    footer = (
        f"Du får denne besked som {role} på sagen. "
        f"Den er sendt automatisk af Sagsflow (besked nr. {item.id})."
    )
    text = "\n".join([intro, "", *(f"{k}: {v}" for k, v in facts), "", footer, ""])
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in facts
    )
    body = (
        "<!DOCTYPE html><html lang='da'><head><meta charset='utf-8'></head><body>"
        f"<p>{html.escape(intro)}</p><table>{rows}</table><p>{html.escape(footer)}</p>"
        "</body></html>"
    )
    payload = {
        "notification_id": item.id,
        "case_id": item.case_id,
        "child_ref": item.child_ref,
        "level": item.level,
        "recipient_role": item.recipient_role,
        "recipient": item.recipient.name,
        "rule": item.rule,
        "title": item.title,
        "source": item.source,
        "due_at": item.due_at.isoformat(),
        "due_date": to_local(item.due_at).date().isoformat(),
        "days_over": days_over,
        "subject": subject,
        "text": text,
    }
    return Rendered(subject, text, body, payload)
