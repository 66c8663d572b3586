"""Serve the deployments from this process: Sagsflow on one machine (`sagsflow flows serve`).

The deployments are those of deployments/prefect.yaml — one description of names, schedules,
parameters and concurrency limits, used by `prefect deploy` for workers and here — each built
with `flow.to_deployment`. Needs a Prefect server that schedules (PREFECT_API_URL set; the
ephemeral server never creates scheduled runs). At start, the zombie-run automation is created
or brought up to date, so a serve process that dies does not leave its runs Running for ever.
"""

from __future__ import annotations

import asyncio
import importlib
import signal
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import Flow
from prefect.automations import Automation
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import (
    ConcurrencyLimitConfig,
    ConcurrencyLimitStrategy,
    StateType,
)
from prefect.deployments.runner import RunnerDeployment
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification
from prefect.runner import Runner
from prefect.schedules import Cron, Interval, RRule, Schedule
from pydantic import TypeAdapter

from deployments import PREFECT_YAML, deployment_specs

ZOMBIE_AUTOMATION = "sagsflow: crash flow runs that stopped sending heartbeats"
# Flow runs send a heartbeat every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (Prefect's default:
# 180): ten minutes without one, and neither a heartbeat nor an end, is a dead process.
ZOMBIE_AFTER = timedelta(minutes=10)
# After Ctrl-C or SIGTERM, how long the runner may take to stop its runs before it is stopped.
STOP_GRACE = 10.0
_DURATION = TypeAdapter(timedelta)  # seconds, or an ISO 8601 duration ("PT15M")
_INSTANT = TypeAdapter(datetime)


def _flow(entrypoint: str) -> Flow[..., Any]:
    """`flows/enforce.py:enforce_deadlines` (relative to the project root) → the flow object."""
    file, _, name = entrypoint.partition(":")
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    found = getattr(module, name)
    if not isinstance(found, Flow):
        raise TypeError(f"{entrypoint} is not a Prefect flow")
    return found


def _concurrency(spec: dict[str, Any] | int | None) -> ConcurrencyLimitConfig | int | None:
    if not isinstance(spec, dict):
        return spec
    return ConcurrencyLimitConfig(
        limit=spec["limit"],
        collision_strategy=ConcurrencyLimitStrategy(spec.get("collision_strategy", "ENQUEUE")),
    )


def _schedule(spec: dict[str, Any]) -> Schedule:
    """One entry of a deployment's `schedules`, read as `prefect deploy` reads it.

    `cron` (with `day_or`), `interval` (seconds or an ISO 8601 duration, with `anchor_date`;
    without one, counted from now) or `rrule`; each with `timezone`, `active`, `parameters` and
    `slug`.
    """
    common: dict[str, Any] = {
        "timezone": spec.get("timezone"),
        "active": spec.get("active", True),
        "parameters": spec.get("parameters") or {},
        "slug": spec.get("slug"),
    }
    if "cron" in spec:
        return Cron(spec["cron"], day_or=spec.get("day_or", True), **common)
    if "interval" in spec:
        anchor = spec.get("anchor_date")
        return Interval(
            _DURATION.validate_python(spec["interval"]),
            anchor_date=None if anchor is None else _INSTANT.validate_python(anchor),
            **common,
        )
    if "rrule" in spec:
        return RRule(spec["rrule"], **common)
    raise ValueError(f"a schedule needs cron, interval or rrule: {spec}")


def _deployment(spec: dict[str, Any]) -> RunnerDeployment:
    deployment = _flow(spec["entrypoint"]).to_deployment(  # type: ignore[call-arg]
        name=spec["name"],
        description=spec.get("description"),
        tags=spec.get("tags"),
        parameters=spec.get("parameters") or {},
        schedules=[_schedule(schedule) for schedule in spec.get("schedules") or []],
        concurrency_limit=_concurrency(spec.get("concurrency_limit")),
        # Always the synchronous variant: Prefect's async_dispatch would otherwise hand back a
        # coroutine whenever this thread happens to host a running event loop (a test's browser).
        _sync=True,
    )
    return cast(RunnerDeployment, deployment)


def deployments(path: Path = PREFECT_YAML) -> list[RunnerDeployment]:
    """The deployments of `path`, to serve from this process (work pools are for workers)."""
    return [_deployment(spec) for spec in deployment_specs(path)]


def zombie_automation() -> Automation:
    """After a flow run's heartbeat, expect another heartbeat or an end within ZOMBIE_AFTER;
    if neither comes (a proactive trigger), mark the run Crashed."""
    return Automation(
        name=ZOMBIE_AUTOMATION,
        description="A flow run Running without heartbeats has lost its process: mark it Crashed.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=ZOMBIE_AFTER,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message=f"No heartbeat for {ZOMBIE_AFTER}: the process running it is gone.",
            )
        ],
    )


def ensure_zombie_automation() -> UUID:
    """Create the zombie-run automation, or bring the existing one (by name) up to date."""
    wanted = zombie_automation()
    with get_client(sync_client=True) as client:
        found = client.read_automations_by_name(name=wanted.name)
        for duplicate in found[1:]:
            client.delete_automation(duplicate.id)
    if not found:
        wanted.create(_sync=True)  # type: ignore[call-arg]  # sets wanted.id; sync: see _deployment
        assert wanted.id is not None
        return wanted.id
    wanted.id = found[0].id
    wanted.update(_sync=True)  # type: ignore[call-arg]
    return found[0].id


class _Runner(Runner):
    """Prefect's runner, stopped the same way on Ctrl-C and on SIGTERM.

    The first signal asks the runner's own stop (`astop`: its runs cancelled, their processes
    ended, its loops left) and `serve_all` returns. Should it not have stopped STOP_GRACE seconds
    later, or on a second signal, KeyboardInterrupt stops it at once. (Prefect 3.8's own SIGTERM
    handler calls `sys.exit` inside the event loop; and cancelling the main task, asyncio's
    Ctrl-C, was seen to leave the runner waiting on its runs when many were queued.)
    """

    _serve_loop: asyncio.AbstractEventLoop
    _stop_requested = False
    _stopping: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        self._serve_loop = asyncio.get_running_loop()
        self._serve_loop.set_exception_handler(self._quiet_when_stopping)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # a background job keeps it so
            self._serve_loop.add_signal_handler(signal.SIGINT, self._interrupt)
        await self.start()

    def _quiet_when_stopping(
        self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]
    ) -> None:
        # Tasks cancelled by the stop (a flow run's control connection) are no errors
        if self._stop_requested and isinstance(context.get("exception"), asyncio.CancelledError):
            return
        loop.default_exception_handler(context)

    def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
        # start() installs this with signal.signal: it runs between two steps of the loop
        if self._serve_loop.is_closed():  # the runner is done: the server is being stopped
            raise KeyboardInterrupt
        self._serve_loop.call_soon_threadsafe(self._interrupt)

    def _interrupt(self) -> None:
        if self._stop_requested or not self.started:
            raise KeyboardInterrupt
        self._stop_requested = True
        self._logger.info("Stopping the runs, then the Prefect server (again: at once)")
        self._stopping = self._serve_loop.create_task(self.astop())
        self._serve_loop.call_later(STOP_GRACE, self._too_slow)

    def _too_slow(self) -> None:
        self._logger.warning("The runner did not stop within %.0f s: stopping it now", STOP_GRACE)
        raise KeyboardInterrupt


def serve_all(path: Path = PREFECT_YAML) -> None:
    """Serve every deployment of `path` until Ctrl-C or SIGTERM (returns, or KeyboardInterrupt).

    Schedules stay active when this process stops (`pause_on_shutdown=False`): the next start
    picks up where this one left off.
    """
    ensure_zombie_automation()
    runner = _Runner(pause_on_shutdown=False)
    served = deployments(path)
    for deployment in served:
        runner.add_deployment(deployment)  # registered with the server before the line below
    names = ", ".join(f"{d.flow_name}/{d.name}" for d in served)
    print(f"serving {names}: polling for scheduled runs", file=sys.stderr, flush=True)
    try:
        asyncio.run(runner.serve())  # until Ctrl-C or SIGTERM
    finally:
        _flush_to_server()


def _flush_to_server(timeout: float = 5.0) -> None:
    """Send the events and logs Prefect still holds, while the server is up.

    Prefect sends them from background threads and, left alone, tries once more at interpreter
    exit: after the caller has stopped the server, that waits out its retries.
    """
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    EventsWorker.drain_all(timeout=timeout)
    APILogWorker.drain_all(timeout=timeout)
