"""Delivering the notification outbox: each due notification by e-mail, once, to the right person.

A notification's life: `pending` → `sending` (claimed) → `sent`. Two other ends, both kept and
listed (`sagsflow notify list`), never deleted:
- `parked`: a person must act — no such recipient or no e-mail address in the organisation file,
  the mail server refused the address for good, or delivery failed `max_attempts` times;
- `dropped`: no longer relevant — the deadline was met (or cancelled) or the case closed after the
  sweep created the notification. Nobody needs to act, so it stays out of the parked list.
The reason is in `parked_reason` for both.

One mail per recipient: the rows of a claimed batch (up to `batch_size`, 200) that go to the
same person are mailed together, worst first, each case with its link (`SAGSFLOW_MAIL_BUNDLE`,
on by default; off: one mail per row). Rows claimed again after a lease ran out form mails of
their own, so that a resent mail is the same mail with the same Message-ID.

Never sent twice after success: rows are claimed in their own short transaction (status
`sending`, attempts + 1; on PostgreSQL `FOR UPDATE SKIP LOCKED`, so two deliverers never take the
same row; SQLite serialises writers), sent, then a mail's rows are marked `sent` together in a
second transaction. A row left in `sending` by a crash is claimed again after the lease; the
deterministic Message-ID (`<notification-N@…>` for one row, `<notifications-N-HASH@…>` for
several: the first id and a hash of all) lets a receiver drop the rare duplicate that a crash
between SMTP's "250" and the commit leaves.
A deliverer that has held its claim for half the lease gives the rest back unsent and stops, so
that a slow server never lets a second deliverer take over rows still being sent.

Logs carry notification ids only: addresses and error texts (which may quote an address) go to
the row, never to the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.request
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from models.repository import CASE, DEADLINE, MEASURE, NOTIFICATION
from sagsflow import mail
from sagsflow.context import Context
from sagsflow.organisation import Organisation, Person
from sagsflow.present.mail import Notice, render_bundle
from sagsflow.settings import Settings
from statemachine.phases import UNRESOLVED, NotificationStatus, Phase
from statemachine.rulebook import Rulebook, RuleId

log = logging.getLogger(__name__)


LEASE = timedelta(minutes=5)
# The wait after the n-th failed attempt (the last entry for every later one): seconds first, so
# mail flows again within a minute or two of a short outage; 12 attempts span about 1.5 hours.
BACKOFF = tuple(timedelta(seconds=s) for s in (5, 15, 45, 2 * 60, 5 * 60, 10 * 60, 15 * 60))
NO_LONGER_RELEVANT = "no longer relevant: deadline met/case closed"
WEBHOOK_TIMEOUT = 10
NOTIFICATIONS_HEADER = "X-Sagsflow-Notifications"


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


# --- claiming -----------------------------------------------------------------------------------


def _due(now: datetime, lease: timedelta) -> Any:
    pending = and_(
        NOTIFICATION.c.status == NotificationStatus.PENDING.value,
        or_(NOTIFICATION.c.next_attempt_at.is_(None), NOTIFICATION.c.next_attempt_at <= now),
    )
    abandoned = and_(
        NOTIFICATION.c.status == NotificationStatus.SENDING.value,
        NOTIFICATION.c.last_attempt_at <= now - lease,
    )
    return or_(pending, abandoned)


def _title(rulebook: Rulebook, rule: str) -> str:
    rule_id = RuleId(rule)
    found = rulebook.deadlines.get(rule_id) or rulebook.measure_deadlines.get(rule_id)
    return found.title if found else rule


def _recipient(row: Any, organisation: Organisation) -> tuple[Person | None, str | None]:
    """The person the ladder's role means for this case (if any), and why they cannot be
    mailed (None: they can)."""
    role = row.recipient_role
    person = organisation.recipient(role, worker=row.worker, team=row.team)
    if person is not None:
        return person, None if person.email else f"no e-mail address for {role} {person.id}"
    if role == "caseworker":
        if row.worker is None:
            return None, "no recipient: the case has no caseworker"
        return None, f"no recipient: caseworker {row.worker} is not in the organisation file"
    if role == "team_leader":
        if row.team is None:
            return None, "no recipient: the case has no team"
        return None, f"no recipient: team {row.team} is not in the organisation file"
    return None, f"no recipient: the organisation file names no {role}"


def _claim(
    connection: Connection,
    context: Context,
    organisation: Organisation,
    *,
    now: datetime,
    batch_size: int,
    lease: timedelta,
    max_attempts: int,
) -> tuple[list[Notice], Counter[str]]:
    """Take up to `batch_size` due rows: park or drop those that cannot or need not be sent,
    mark the rest `sending` (attempts + 1) for this deliverer."""
    query = (
        select(
            NOTIFICATION.c.id,
            NOTIFICATION.c.status,
            NOTIFICATION.c.case_id,
            NOTIFICATION.c.level,
            NOTIFICATION.c.recipient_role,
            NOTIFICATION.c.attempts,
            NOTIFICATION.c.last_error,
            CASE.c.child_ref,
            CASE.c.worker,
            CASE.c.team,
            CASE.c.phase,
            CASE.c.rulebook_id,
            CASE.c.rulebook_version,
            DEADLINE.c.rule,
            DEADLINE.c.status.label("deadline_status"),
            DEADLINE.c.due_at,
            DEADLINE.c.source,
            MEASURE.c.type.label("measure_type"),
        )
        .join(DEADLINE, DEADLINE.c.id == NOTIFICATION.c.deadline_id)
        .join(CASE, CASE.c.id == NOTIFICATION.c.case_id)
        .outerjoin(
            MEASURE,
            and_(MEASURE.c.case_id == DEADLINE.c.case_id, MEASURE.c.key == DEADLINE.c.measure_key),
        )
        .where(_due(now, lease))
        .order_by(NOTIFICATION.c.id)
        .limit(batch_size)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=NOTIFICATION)
    claimed: list[Notice] = []
    ended: list[dict[str, Any]] = []
    for row in connection.execute(query):
        if row.deadline_status not in UNRESOLVED or row.phase == Phase.CLOSURE.value:
            ended.append(_ended(row.id, NotificationStatus.DROPPED, NO_LONGER_RELEVANT))
            continue
        if row.attempts >= max_attempts:  # left in `sending` by a crash on its last attempt
            reason = f"gave up after {row.attempts} attempts: {row.last_error or 'interrupted'}"
            ended.append(_ended(row.id, NotificationStatus.PARKED, reason))
            continue
        recipient, unmailable = _recipient(row, organisation)
        if unmailable is not None:
            name = recipient.id if recipient else None
            ended.append(_ended(row.id, NotificationStatus.PARKED, unmailable, name))
            continue
        assert recipient is not None  # no reason against it: a person with an address
        rulebook = context.catalogue.get(row.rulebook_id, row.rulebook_version)
        claimed.append(
            Notice(
                id=row.id,
                case_id=row.case_id,
                child_ref=row.child_ref,
                level=row.level,
                recipient_role=row.recipient_role,
                rule=row.rule,
                title=_title(rulebook, row.rule),
                statutory=rulebook.is_statutory(row.rule, row.measure_type),
                source=row.source,
                due_at=row.due_at,
                recipient=recipient,
                attempts=row.attempts + 1,
                reclaimed=row.status == NotificationStatus.SENDING.value,
            )
        )
    if ended:
        connection.execute(
            update(NOTIFICATION)
            .where(NOTIFICATION.c.id == bindparam("_id"))
            .values(
                status=bindparam("_status"),
                parked_reason=bindparam("_reason"),
                # Who it was for, when known (the digest shows it); a reclaimed row keeps its own.
                recipient=func.coalesce(bindparam("_name"), NOTIFICATION.c.recipient),
            ),
            ended,
        )
    if claimed:
        connection.execute(
            update(NOTIFICATION)
            .where(NOTIFICATION.c.id == bindparam("_id"))
            .values(
                status=NotificationStatus.SENDING.value,
                attempts=bindparam("_attempts"),
                last_attempt_at=now,
                recipient=bindparam("_name"),
                recipient_email=bindparam("_email"),
            ),
            [
                {
                    "_id": c.id,
                    "_attempts": c.attempts,
                    "_name": c.recipient.id,
                    "_email": c.recipient.email,
                }
                for c in claimed
            ],
        )
    outcome = Counter(e["_status"] for e in ended)
    return claimed, outcome


def _ended(
    notification_id: int, status: NotificationStatus, reason: str, recipient: str | None = None
) -> dict[str, Any]:
    return {"_id": notification_id, "_status": status.value, "_reason": reason, "_name": recipient}


# --- recording the outcome --------------------------------------------------------------------


def _mark_sent(
    connection: Connection, items: Sequence[Notice], now: datetime, note: str | None
) -> None:
    """One mail's rows `sent` together (the caller's one transaction)."""
    connection.execute(
        update(NOTIFICATION)
        .where(
            NOTIFICATION.c.id.in_([item.id for item in items]),
            NOTIFICATION.c.status == NotificationStatus.SENDING.value,
        )
        .values(
            status=NotificationStatus.SENT.value,
            sent_at=now,
            next_attempt_at=None,
            last_error=note,
        )
    )


def _record_failures(
    connection: Connection,
    items: Sequence[Notice],
    error: OSError | ValueError,
    *,
    now: datetime,
    max_attempts: int,
) -> Counter[str]:
    """Back to `pending` with the next attempt after the backoff, or `parked` when retrying is
    futile (refused for good, or an address no mail can carry) or the attempts are used up."""
    described = mail.describe(error)
    futile = isinstance(error, ValueError) or mail.is_permanent(error)
    outcome: Counter[str] = Counter()
    changes = []
    for item in items:
        if futile:
            status, reason = NotificationStatus.PARKED, f"cannot be delivered: {described}"
        elif item.attempts >= max_attempts:
            status, reason = NotificationStatus.PARKED, f"gave up after {item.attempts} attempts"
        else:
            status, reason = NotificationStatus.PENDING, None
        log.warning(
            "notification %s: attempt %s failed (%s)%s",
            item.id,
            item.attempts,
            type(error).__name__,
            ", parked" if status is NotificationStatus.PARKED else "",
        )
        outcome["parked" if status is NotificationStatus.PARKED else "failed"] += 1
        changes.append(
            {
                "_id": item.id,
                "_status": status.value,
                "_reason": reason,
                "_next": None if reason else now + retry_delay(item.attempts),
            }
        )
    connection.execute(
        update(NOTIFICATION)
        .where(
            NOTIFICATION.c.id == bindparam("_id"),
            NOTIFICATION.c.status == NotificationStatus.SENDING.value,
        )
        .values(
            status=bindparam("_status"),
            parked_reason=bindparam("_reason"),
            next_attempt_at=bindparam("_next"),
            last_error=described,
        ),
        changes,
    )
    return outcome


def _give_back(connection: Connection, items: Sequence[Notice]) -> None:
    """Unsent claims back to `pending`, the attempt not counted: nothing was tried."""
    connection.execute(
        update(NOTIFICATION)
        .where(
            NOTIFICATION.c.id == bindparam("_id"),
            NOTIFICATION.c.status == NotificationStatus.SENDING.value,
        )
        .values(status=NotificationStatus.PENDING.value, attempts=bindparam("_attempts")),
        [{"_id": item.id, "_attempts": item.attempts - 1} for item in items],
    )


def _post_webhook(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT):
        pass


# --- the use case -----------------------------------------------------------------------------


def mails_of(claimed: Sequence[Notice], *, bundle: bool) -> list[list[Notice]]:
    """The mails a claimed batch makes: one per recipient (in the order of their first row),
    rows claimed again after a lease apart from fresh ones; with `bundle` off, one per row."""
    if not bundle:
        return [[item] for item in claimed]
    groups: dict[tuple[str, str | None, bool], list[Notice]] = {}
    for item in claimed:
        key = (item.recipient.id, item.recipient.email, item.reclaimed)
        groups.setdefault(key, []).append(item)
    return list(groups.values())


def _message_key(items: Sequence[Notice]) -> tuple[str, str]:
    """The Message-ID's kind and key: the same rows give the same Message-ID."""
    ids = sorted(item.id for item in items)
    if len(ids) == 1:
        return "notification", str(ids[0])
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
    return "notifications", f"{ids[0]}-{digest}"


def _send_mail(
    mailer: mail.Mailer, items: Sequence[Notice], *, now: datetime, settings: Settings
) -> str | None:
    """Mail one person about `items` (raises on failure), then post each notification to the
    webhook when one is set; returns a note on the rows when the webhook failed."""
    rendered = render_bundle(items, now, base_url=settings.base_url)
    kind, key = _message_key(items)
    message = mail.build_message(
        to=items[0].recipient.email or "",  # an address: checked when claimed
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        message_id=mail.message_id(kind, key, settings.mail_from),
        sender=settings.mail_from,
    )
    # Which notifications the mail carries, for the receiving system and the operator.
    # (", ": a header of a few hundred ids folds at the spaces)
    message[NOTIFICATIONS_HEADER] = ", ".join(str(item.id) for item in items)
    mailer.send(message)
    if not settings.webhook_url:
        return None
    try:
        for payload in rendered.payloads:
            _post_webhook(settings.webhook_url, payload)
    except (OSError, ValueError) as error:
        # The mail went out, and mail is what must not go twice: the webhook is best effort,
        # its failure noted on the rows and not retried.
        log.warning("notifications %s: webhook failed (%s)", _ids(items), type(error).__name__)
        return f"sent; webhook failed: {mail.describe(error)}"
    return None


def _ids(items: Sequence[Notice]) -> str:
    return ",".join(str(item.id) for item in items)


def _send_batch(
    context: Context,
    claimed: list[Notice],
    *,
    now: datetime,
    settings: Settings,
    max_attempts: int,
    give_back_at: float,
) -> tuple[Counter[str], bool]:
    """Send a claimed batch; returns the outcome and whether to go on with another batch."""
    outcome: Counter[str] = Counter()
    mails = mails_of(claimed, bundle=settings.mail_bundle)
    with mail.Mailer(host=settings.smtp_host, port=settings.smtp_port) as mailer:
        for index, items in enumerate(mails):
            rest = [item for later in mails[index:] for item in later]
            if time.monotonic() >= give_back_at:
                log.warning("claim held for half its lease: %s given back", len(rest))
                with context.engine.begin() as connection:
                    _give_back(connection, rest)
                return outcome, False
            try:
                note = _send_mail(mailer, items, now=now, settings=settings)
            except mail.Unreachable as error:
                # The server is down: the rest of this batch fails alike (counted, retried after
                # the backoff); later batches stay pending, untried, for the next run.
                with context.engine.begin() as connection:
                    outcome += _record_failures(
                        connection, rest, error, now=now, max_attempts=max_attempts
                    )
                return outcome, False
            except (OSError, ValueError) as error:  # ValueError: an address with a line break
                with context.engine.begin() as connection:
                    outcome += _record_failures(
                        connection, items, error, now=now, max_attempts=max_attempts
                    )
                continue
            with context.engine.begin() as connection:
                _mark_sent(connection, items, now, note)
            log.info("notifications %s: sent in one mail", _ids(items))
            outcome["sent"] += len(items)
    return outcome, True


def deliver_notifications(
    context: Context,
    *,
    now: datetime,
    organisation: Organisation,
    settings: Settings,
    batch_size: int = 200,
    max_attempts: int | None = None,
    lease: timedelta = LEASE,
) -> dict[str, int]:
    """Send every due notification by e-mail (and to the webhook when set): one mail per
    recipient and batch listing their cases worst first (`settings.mail_bundle`; off: one per
    notification).

    Returns `{"sent", "failed", "parked", "dropped"}` for this run: `failed` will be retried after
    the backoff; `parked` needs a person (see the module docstring); `dropped` is no longer
    relevant. Safe to run concurrently and to rerun: nothing is sent twice after success.
    """
    if now.tzinfo is None:
        raise ValueError("now needs a UTC offset")
    if max_attempts is None:
        max_attempts = settings.mail_max_attempts
    total: Counter[str] = Counter()
    go_on = True
    while go_on:
        with context.engine.begin() as connection:
            claimed, ended = _claim(
                connection,
                context,
                organisation,
                now=now,
                batch_size=batch_size,
                lease=lease,
                max_attempts=max_attempts,
            )
        total += ended
        if not claimed and not ended:
            break
        give_back_at = time.monotonic() + lease.total_seconds() / 2
        outcome, go_on = _send_batch(
            context,
            claimed,
            now=now,
            settings=settings,
            max_attempts=max_attempts,
            give_back_at=give_back_at,
        )
        total += outcome
    result = {key: total[key] for key in ("sent", "failed", "parked", "dropped")}
    log.info("delivery: %s", result)
    return result


def retry_parked(
    context: Context,
    *,
    now: datetime,
    ids: Sequence[int] = (),
    case_id: int | None = None,
) -> int:
    """Put parked notifications back in the queue, due now with a fresh count of attempts —
    after a person fixed what parked them (an address in the organisation file, the relay).

    All parked rows, or only those of `ids` / `case_id`. The last error stays on the row for
    the record; the park reason is cleared. Dropped rows stay dropped: they are no longer
    relevant. Returns how many rows went back.
    """
    if now.tzinfo is None:
        raise ValueError("now needs a UTC offset")
    statement = (
        update(NOTIFICATION)
        .where(NOTIFICATION.c.status == NotificationStatus.PARKED.value)
        .values(
            status=NotificationStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            parked_reason=None,
        )
    )
    if ids:
        statement = statement.where(NOTIFICATION.c.id.in_(list(ids)))
    if case_id is not None:
        statement = statement.where(NOTIFICATION.c.case_id == case_id)
    with context.engine.begin() as connection:
        count = connection.execute(statement).rowcount
    log.info("delivery: %d parked notification(s) back in the queue", count)
    return int(count)
