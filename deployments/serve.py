"""Serve the deployments from this process: Sagsflow on one machine (`sagsflow flows serve`).

The deployments are those of deployments/prefect.yaml — one description of names, schedules,
parameters and concurrency limits, used by `prefect deploy` for workers and here — each built
with `flow.to_deployment`. Needs a Prefect server that schedules (PREFECT_API_URL set; the
ephemeral server never creates scheduled runs). At start, the zombie-run automation is created
or brought up to date, so a serve process that dies does not leave its runs Running for ever.
"""

from __future__ import annotations

import importlib
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import yaml
from prefect import Flow, serve
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
from prefect.schedules import Cron

PREFECT_YAML = Path(__file__).resolve().with_name("prefect.yaml")
ZOMBIE_AUTOMATION = "sagsflow: crash flow runs that stopped sending heartbeats"
# Flow runs send a heartbeat every PREFECT_FLOWS_HEARTBEAT_FREQUENCY seconds (Prefect's default:
# 180): ten minutes without one, and neither a heartbeat nor an end, is a dead process.
ZOMBIE_AFTER = timedelta(minutes=10)


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The `deployments` section of a prefect.yaml, anchors resolved."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    specs: list[dict[str, Any]] = config["deployments"]
    return specs


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


def _deployment(spec: dict[str, Any]) -> RunnerDeployment:
    deployment = _flow(spec["entrypoint"]).to_deployment(
        name=spec["name"],
        description=spec.get("description"),
        tags=spec.get("tags"),
        parameters=spec.get("parameters") or {},
        schedules=[
            Cron(
                schedule["cron"],
                timezone=schedule.get("timezone"),
                parameters=schedule.get("parameters") or {},
            )
            for schedule in spec.get("schedules") or []
        ],
        concurrency_limit=_concurrency(spec.get("concurrency_limit")),
    )
    # Called outside an event loop, `to_deployment` runs synchronously (Prefect's async_dispatch).
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
        wanted.create()  # sets wanted.id
        assert wanted.id is not None
        return wanted.id
    wanted.id = found[0].id
    wanted.update()
    return found[0].id


def serve_all(path: Path = PREFECT_YAML) -> None:
    """Serve every deployment of `path` until interrupted (Ctrl-C, SIGTERM).

    Schedules stay active when this process stops (`pause_on_shutdown=False`): the next start
    picks up where this one left off.
    """
    ensure_zombie_automation()
    # Prefect 3.8's runner calls its async stop() unawaited on SIGTERM, then exits anyway.
    warnings.filterwarnings("ignore", "coroutine 'Runner.astop' was never awaited", RuntimeWarning)
    serve(*deployments(path), pause_on_shutdown=False)
