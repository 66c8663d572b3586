"""What a notification mail says (Danish: the readers are caseworkers and their managers).

One mail per recipient and delivery run (`SAGSFLOW_MAIL_BUNDLE`; off: one per notification):
a greeting by the person's name from the organisation file, then each case worst first —
breached before due, the most days over first, then the soonest due — with the case, the
child's pseudonym, the rule, its legal source, the due time in Copenhagen, how it stands in
the right tense ("udløber om 3 dage" / "er overskredet med 430 dage") and a link to the case
(`SAGSFLOW_BASE_URL`/cases/N); no other personal data. A deadline the law sets is called
"lovbestemt" and cites its source; one the municipality sets (its service level: its
published decision deadline, its own follow-up cadence) is called the municipality's. The
rulebook says which (`statutory`). The text and HTML are templates/mail/notice.*.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    # Claimed again after a lease ran out (a deliverer died after its claim): mailed on its
    # own, so that a resent mail carries the Message-ID of the first.
    reclaimed: bool = False


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    # One JSON payload per notification (the webhook receives each on its own).
    payloads: tuple[dict[str, Any], ...]

    @property
    def payload(self) -> dict[str, Any]:
        """The payload of a mail about one notification."""
        return self.payloads[0]


def worst_first(items: Sequence[Notice]) -> list[Notice]:
    """Breached before due, the longest overdue first, then the soonest due (due time, case,
    notification: one order for every reader)."""
    return sorted(items, key=lambda item: (item.due_at, item.case_id, item.id))


def case_link(base_url: str, case_id: int) -> str:
    return f"{base_url.rstrip('/')}/cases/{case_id}"


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


def _rule_name(item: Notice, t: Translator) -> str:
    return t(f"mail.rule.{item.rule}") if t.has(f"mail.rule.{item.rule}") else item.title


def _one(item: Notice, now: datetime, t: Translator, base_url: str) -> dict[str, Any]:
    status, days_over = _status_line(item.due_at, now, t)
    overdue = now >= item.due_at
    # A reminder held up (by an outage) until after the due time must not say "approaching".
    level = "breach" if item.level == "reminder" and overdue else item.level
    kind = "statutory" if item.statutory else "municipal"
    link = case_link(base_url, item.case_id)
    facts = [
        (t("mail.fact.case"), t("mail.case", case=item.case_id, child=item.child_ref)),
        (t("mail.fact.rule"), item.title),
        (t("mail.fact.kind"), t(f"mail.kind.{kind}")),
        (t("mail.fact.source"), item.source),
        (t("mail.fact.was_due" if overdue else "mail.fact.due"), t.instant(item.due_at)),
        (t("mail.fact.status"), status),
        (t("mail.fact.as_role"), t(f"as_role.{item.recipient_role}")),
        (t("mail.fact.link"), link),
    ]
    return {
        "intro": t(f"mail.intro.{level}.{kind}", case=item.case_id),
        "facts": facts,
        "link": link,
        "days_over": days_over,
        "overdue": overdue,
    }


def _payload(
    item: Notice, shown: dict[str, Any], subject: str, text: str, link: str
) -> dict[str, Any]:
    return {
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
        "days_over": shown["days_over"],
        "link": link,
        "subject": subject,
        "text": text,
    }


def render_bundle(
    items: Sequence[Notice], now: datetime, t: Translator | None = None, *, base_url: str = ""
) -> Rendered:
    """One mail to one person about `items` (all theirs), worst first (Danish unless `t` says
    otherwise). One notification reads as before, with its own subject."""
    if not items:
        raise ValueError("a mail needs at least one notification")
    t = t or translator(DEFAULT)
    ordered = worst_first(items)
    person = ordered[0].recipient
    shown = [_one(item, now, t, base_url) for item in ordered]
    if len(ordered) == 1:
        item = ordered[0]
        subject = t(
            "mail.subject_line",
            level=t(f"mail.level.{item.level}"),
            rule=_rule_name(item, t),
            case=item.case_id,
        )
        footer = t("mail.footer", id=item.id)
        lead = None
    else:
        overdue = sum(1 for s in shown if s["overdue"])
        due = len(ordered) - overdue
        counted = [("mail.bundle.overdue", overdue), ("mail.bundle.due", due)]
        parts = ", ".join(t(key, n=n) for key, n in counted if n)
        cases = sorted({item.case_id for item in ordered})
        if len(cases) == 1:
            subject = t("mail.bundle.subject_case", n=len(ordered), case=cases[0], parts=parts)
        else:
            subject = t("mail.bundle.subject", n=len(ordered), cases=len(cases), parts=parts)
        lead = t("mail.bundle.lead", n=len(ordered), parts=parts)
        footer = t("mail.footer.bundle", ids=", ".join(str(item.id) for item in ordered))
    values = {
        "greeting": t("mail.greeting", name=person.name),
        "lead": lead,
        "notices": shown,
        "open_case": t("mail.open_case"),
        "footer": footer,
        "lang": t.lang,
    }
    text = render_template("mail/notice.txt", t, **values)
    body = render_template("mail/notice.html", t, **values)
    payloads = tuple(
        _payload(item, one, subject, text, one["link"])
        for item, one in zip(ordered, shown, strict=True)
    )
    return Rendered(subject, text, body, payloads)


def render(
    item: Notice, now: datetime, t: Translator | None = None, *, base_url: str = ""
) -> Rendered:
    """The mail for one notification (Danish unless `t` says otherwise)."""
    return render_bundle([item], now, t, base_url=base_url)
