"""Sending each team leader's digest by e-mail: the one path for `report digest --send` and the
`supervisor-digest` flow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sagsflow import mail
from sagsflow.present.digest import render_digest
from sagsflow.read.digest import TeamDigest
from sagsflow.settings import Settings
from statemachine.calendar import local_date


@dataclass(frozen=True)
class DigestMail:
    """What became of one team's digest mail; `detail` says to whom, or why not."""

    team: str
    status: Literal["sent", "not_sent", "failed"]
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"team": self.team, "status": self.status, "detail": self.detail}


def digest_message_id(digest: TeamDigest, mail_from: str) -> str:
    """One per team and Copenhagen day, so that a rerun or a retry of the day's digest is
    recognisably the same message."""
    day = local_date(digest.generated_at).isoformat()
    return mail.message_id("digest", f"{digest.team_id}-{day}", mail_from)


def send_digest(digest: TeamDigest, settings: Settings) -> DigestMail:
    """E-mail the digest to the team's leader (SAGSFLOW_SMTP_*); never raises for mail."""
    to = digest.leader.email
    if not to:
        return DigestMail(digest.team_id, "not_sent", f"{digest.leader.id} has no e-mail address")
    subject, text, html = render_digest(digest)
    message = mail.build_message(
        to=to,
        subject=subject,
        text=text,
        html=html,
        message_id=digest_message_id(digest, settings.mail_from),
        sender=settings.mail_from,
    )
    try:
        mail.send(message, host=settings.smtp_host, port=settings.smtp_port)
    except OSError as error:
        return DigestMail(digest.team_id, "failed", mail.describe(error))
    return DigestMail(digest.team_id, "sent", f"to {to}")


def send_digests(digests: list[TeamDigest], settings: Settings) -> list[DigestMail]:
    """Each digest to its team leader; one failure does not stop the others."""
    return [send_digest(digest, settings) for digest in digests]
