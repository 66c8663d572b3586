"""`enforce_deadlines`: move the cases a change of law takes over, mark breaches, then create
the due notifications, a task per batch.

Every 15 minutes (deployments/prefect.yaml). Set-based: the first task moves every open case
that a rulebook version in force today takes over (`rulebook migrate --due`: one indexed lookup,
nothing when nothing is due), so deadlines follow the new law from its first day
(docs/decisions/015-law-in-force-on-the-event-date.md); one task marks every breach, one plans
the deadline-id ranges, and each range of up to `batch_size` deadlines is one task — never a task
per case. The tasks are the use cases' `sagsflow.usecases.sweep` and `.migration` functions, safe
to retry and to run on several workers at once (see those modules).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from prefect import flow, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.artifacts import artifact_key, figures, ran_at, words
from flows.context import context, instant, one_writer
from sagsflow.usecases import complaints, migration, sweep
from sagsflow.usecases.audit import CheckpointWritten, write_checkpoint

# On PostgreSQL a few batches at once: one's queries overlap another's Python (measured: 100k
# deadlines 17 s instead of 21 s). SQLite has one writer at a time: there they run in turn.
PARALLEL_BATCHES = 4
# Every task is idempotent: a retry after a dropped connection or a deadlock repeats nothing.
RETRY_DELAYS: list[float] = [5, 30]


# Who the audit trail names for the moves the flow makes (as an operator: role admin).
FLOW_ACTOR = "enforce-deadlines"


@task(name="migrate-due", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=RETRY_DELAYS)
def migrate_due(now: datetime, municipality: str | None) -> int:
    """The open cases moved to the version that takes them over today; a rerun moves none."""
    moved = migration.migrate_due(
        context(), dry_run=False, actor=FLOW_ACTOR, now=now, municipality=municipality
    )
    return int(moved["cases"])


@task(
    name="end-complaint-periods", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=RETRY_DELAYS
)
def end_complaint_periods(now: datetime, municipality: str | None) -> int:
    """The refused cases whose complaint period has passed, closed; a rerun closes none."""
    return complaints.end_complaint_periods(
        context(), now, actor=FLOW_ACTOR, municipality=municipality
    )


@task(name="mark-breaches", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=RETRY_DELAYS)
def mark_breaches(now: datetime, municipality: str | None) -> int:
    return sweep.record_breaches(context(), now, municipality=municipality)


@task(name="audit-checkpoint", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=RETRY_DELAYS)
def checkpoint(now: datetime) -> CheckpointWritten:
    return write_checkpoint(context(), now=now)


@task(name="plan-batches", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=RETRY_DELAYS)
def plan_batches(now: datetime, batch_size: int, municipality: str | None) -> list[tuple[int, int]]:
    return sweep.sweep_batches(context(), now, batch_size, municipality=municipality)


@task(
    name="sweep-partition",
    task_run_name="sweep-deadlines-{id_range[0]}-{id_range[1]}",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=RETRY_DELAYS,
)
def sweep_partition(
    now: datetime, id_range: tuple[int, int], municipality: str | None
) -> sweep.SweepResult:
    return sweep.sweep_partition(context(), now, id_range, municipality=municipality)


# Prefect's TaskRunner is invariant in its future type: its own thread-pool runner needs the cast.
BATCH_RUNNER = cast(
    "TaskRunner[PrefectFuture[Any]]", ThreadPoolTaskRunner(max_workers=PARALLEL_BATCHES)
)


@flow(name="enforce-deadlines", task_runner=BATCH_RUNNER)
def enforce_deadlines(
    now: str | None = None, batch_size: int = sweep.BATCH, municipality: str | None = None
) -> dict[str, int]:
    """Move the cases a change of law takes over, mark breached deadlines and create each due
    notification once; returns the sweep's counts.

    `now`: ISO 8601 (default: the wall clock); `municipality`: only its cases (default: all).
    """
    at = instant(now)
    # The moves first: a deadline is judged breached by the law in force today, not by the
    # version the case was opened under.
    moved = migrate_due(at, municipality)
    # Before the breaches: a complaint period that has passed ends the case, it is no breach.
    closed = end_complaint_periods(at, municipality)
    breached = mark_breaches(at, municipality)
    ranges = plan_batches(at, batch_size, municipality)
    if one_writer():
        results = [sweep_partition(at, id_range, municipality) for id_range in ranges]
    else:
        futures = sweep_partition.map(unmapped(at), ranges, unmapped(municipality))
        results = [future.result() for future in futures]
    total = sum(results, sweep.SweepResult(breached, 0, 0, closed))
    # Last, a signed checkpoint of what the trail now holds, into the database and the file
    # outside it (docs/decisions/019-keyed-chain-and-checkpoints.md).
    signed = checkpoint(at)
    t = words()
    create_markdown_artifact(
        figures(
            t("flow.enforce.title"),
            [
                (t("flow.enforce.migrated"), moved),
                (t("flow.enforce.closed"), total.cases_closed),
                (t("flow.enforce.breached"), total.breached),
                (t("flow.enforce.created"), total.notifications_created),
                (t("flow.enforce.examined"), total.deadlines_examined),
                (t("flow.enforce.batches"), len(ranges)),
            ],
            ran_at(at, municipality),
        ),
        key=artifact_key("enforce-deadlines", municipality),
        description=t("flow.enforce.description"),
    )
    create_markdown_artifact(
        figures(
            t("flow.checkpoint.title", number=signed["number"]),
            [
                (t("flow.checkpoint.cases"), signed["cases"]),
                (t("flow.checkpoint.records"), signed["records"]),
                (t("flow.checkpoint.access_records"), signed["access_records"]),
                (t("flow.checkpoint.changed"), signed["changed"]),
                (t("flow.checkpoint.digest"), signed["heads_digest"]),
                (t("flow.checkpoint.key"), signed["key_id"]),
                (t("flow.checkpoint.file"), signed["file"] or "-"),
            ],
            ran_at(at),
        ),
        key=artifact_key("audit-checkpoint"),
        description=t("flow.checkpoint.description"),
    )
    return total.as_dict()
