"""Building and sending e-mail with the standard library: a UTF-8 text-and-HTML message, and SMTP.

No templates and no addresses here: callers (notification delivery, supervisor digests) say what
to send and to whom. The Message-ID is the caller's and deterministic, so a receiver can recognise
the rare duplicate that a crash between sending and recording leaves.
smtplib's errors are OSErrors: `except OSError` catches every failure to send.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from types import TracebackType

from sagsflow.settings import settings


def build_message(
    *, to: str, subject: str, text: str, html: str, message_id: str, sender: str | None = None
) -> EmailMessage:
    """A multipart/alternative message (text, then HTML), UTF-8, from SAGSFLOW_MAIL_FROM.

    `message_id` is used as given, e.g. `<notification-123@kommune.test>`; `sender` overrides
    the configured From address.
    """
    message = EmailMessage()
    message["From"] = sender or settings().mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message


def message_id(kind: str, key: str, mail_from: str) -> str:
    """A deterministic Message-ID, so that a receiver recognises a duplicate (a crash between
    SMTP's "250" and recording it, a retried digest): `<notification-7@kommune.test>`,
    `<digest-t1-2026-11-23@kommune.test>`; the domain is SAGSFLOW_MAIL_FROM's."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "sagsflow"
    return f"<{kind}-{key}@{domain}>"


def send(message: EmailMessage, *, host: str, port: int, timeout: float = 10) -> None:
    """Send one message over SMTP; raises OSError (smtplib's errors included) on failure."""
    with Mailer(host=host, port=port, timeout=timeout) as mailer:
        mailer.send(message)


class Unreachable(OSError):
    """The SMTP server could not be reached: every further message would fail the same way."""


class Mailer:
    """Several messages over one SMTP session, opened on first use and again after a hang-up."""

    def __init__(self, *, host: str, port: int, timeout: float = 10) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        """Raises Unreachable when no session can be opened, another OSError when this one fails."""
        if self._smtp is None:
            try:
                self._smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            except OSError as error:
                raise Unreachable(f"{self.host}:{self.port}: {describe(error)}") from error
        try:
            self._smtp.send_message(message)
        except smtplib.SMTPServerDisconnected:
            self._smtp = None
            raise

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except OSError:
            self._smtp.close()
        self._smtp = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def is_permanent(error: OSError) -> bool:
    """Whether the server refused for good (5xx for the recipient or the content): retry is futile."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _ in error.recipients.values())
    return isinstance(error, smtplib.SMTPDataError) and error.smtp_code >= 500


def describe(error: BaseException) -> str:
    """One line for the outbox row (never for the log: it may name an address)."""
    return f"{type(error).__name__}: {error}".replace("\n", " ")[:500]
