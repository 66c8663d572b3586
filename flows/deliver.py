"""`deliver_notifications`: send the notification outbox (every 5 minutes).

One task, one call: `sagsflow.usecases.delivery.deliver_notifications` claims due notifications in batches,
sends them, retries failures with backoff and parks what keeps failing — and never sends one
twice after success, so a task retry (say, the database was briefly gone) is safe.
"""

from __future__ import annotations

from datetime import datetime

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.artifacts import artifact_key, figures, ran_at, words
from flows.context import context, instant, settings

RETRY_DELAYS: list[float] = [10, 60]


@task(name="deliver", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=RETRY_DELAYS)
def deliver(now: datetime, batch_size: int) -> dict[str, int]:
    from sagsflow.organisation import organisation
    from sagsflow.usecases.delivery import deliver_notifications as send_outbox

    config = settings()
    return send_outbox(
        context(),
        now=now,
        organisation=organisation(config.org_file),
        settings=config,
        batch_size=batch_size,
    )


@flow(name="deliver-notifications")
def deliver_notifications(now: str | None = None, batch_size: int = 200) -> dict[str, int]:
    """Send every due notification; returns the counts (sent, failed, parked, …) of this run."""
    at = instant(now)
    result = deliver(at, batch_size)
    t = words()
    create_markdown_artifact(
        figures(
            t("flow.deliver.title"),
            [(t(f"flow.deliver.{key}"), value) for key, value in result.items()],
            ran_at(at),
        ),
        key=artifact_key("deliver-notifications"),
        description=t("flow.deliver.description"),
    )
    return result
