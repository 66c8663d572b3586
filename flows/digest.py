"""`supervisor_digest`: each team leader's morning digest, by e-mail and as Prefect artifacts.

Weekdays at 07:00 Europe/Copenhagen. The digest itself (stuck cases, deadlines due, caseload) is
`sagsflow.read.digest`, sent by `sagsflow.usecases.digest`; this flow builds it, publishes each team's as a markdown artifact, and mails it
to the team's leader. A leader without an address gets no mail; the artifact still shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.artifacts import artifact_key, figures, words
from flows.context import context, instant, settings

if TYPE_CHECKING:
    from sagsflow.read.digest import TeamDigest


@task(name="build-digests", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10.0, 60.0])
def build_digests(now: datetime, team: str | None) -> list[TeamDigest]:
    from sagsflow.organisation import organisation
    from sagsflow.read.digest import supervisor_digest as digests

    config = settings()
    return digests(context(), now=now, organisation=organisation(config.org_file), team=team)


@task(name="publish-digest", cache_policy=NO_CACHE)
def publish_digest(digest: TeamDigest) -> None:
    from sagsflow.present.digest import digest_markdown

    create_markdown_artifact(
        digest_markdown(digest),
        key=artifact_key("supervisor-digest", digest.team_id),
        description=words()("flow.digest.team_description", team=digest.team_name),
    )


class DigestNotSent(RuntimeError):
    """The mail server did not take the digest: the task retries."""


# A retry resends only after a failed send; the Message-ID is the same, so a receiver can tell
# the rare duplicate (a connection lost after the server took the message).
@task(name="mail-digest", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[30.0, 120.0])
def mail_digest(digest: TeamDigest) -> bool:
    """Send the digest to the team's leader; False when the leader has no address."""
    from sagsflow.usecases.digest import send_digest

    outcome = send_digest(digest, settings())
    if outcome.status == "failed":
        raise DigestNotSent(f"digest of team {digest.team_id}: {outcome.detail}")
    return outcome.status == "sent"


@flow(name="supervisor-digest")
def supervisor_digest(team: str | None = None, now: str | None = None) -> dict[str, int]:
    """Build, publish and mail the digest of every team (or of `team`); returns the counts."""
    at = instant(now)
    digests = build_digests(at, team)
    mailed = 0
    for digest in digests:
        publish_digest(digest)
        mailed += mail_digest(digest)
    result = {"teams": len(digests), "mailed": mailed, "without_address": len(digests) - mailed}
    create_markdown_artifact(
        figures(
            words()("flow.digest.title"),
            [
                (words()("flow.digest.teams"), result["teams"]),
                (words()("flow.digest.mailed"), result["mailed"]),
                (words()("flow.digest.without_address"), result["without_address"]),
            ],
        ),
        key=artifact_key("supervisor-digest", "summary"),
        description=words()("flow.digest.description"),
    )
    return result
