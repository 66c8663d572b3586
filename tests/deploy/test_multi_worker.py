"""Several machines, as deployments/README.md says to set them up, step by step as subprocesses:
a Prefect server on PostgreSQL, the case database on PostgreSQL (the demo data), the work pool,
`prefect deploy --all`, the zombie-run automation, and two process workers.

Then several enforce-deadlines and deliver-notifications runs at once: every run completes, the
deployment's concurrency limit keeps enforce runs from overlapping, each notification exists
once and each mail arrives once. (On "one machine" the README's steps are checked by
test_flows_serve.py.)
"""

from __future__ import annotations

import itertools
import re
import time
from datetime import datetime
from typing import Any

SERVER_STARTUP = 120  # s: `prefect server start`, migrating a fresh PostgreSQL database
RUNS_WITHIN = 180  # s: five runs, enforce ones in turn, each a new process (~5 s)
ENFORCE_RUNS = 3
DELIVER_RUNS = 2


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_a_prefect_server_on_postgresql_and_two_workers_enforce_and_deliver_each_notification_once(
    tmp_path, operator, postgres, inbox, processes, prefect_api
):
    # (fixtures stop in reverse order: the processes first, then the inbox and the databases)
    prefect_home = tmp_path / "prefect-home"
    port = operator.free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    prefect = operator.prefect
    case_database = postgres.url(postgres.create("sagsflow_e2e"))
    quick = {
        # how often a worker asks for work (default 10 s), and how long a run that found the
        # deployment's slot taken waits before it asks again (default 30 s)
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS": "2",
    }
    began = time.monotonic()
    phases: dict[str, float] = {}

    def phase(name: str) -> None:
        phases[name] = round(time.monotonic() - began, 1)

    # The Prefect server (one machine), on its own PostgreSQL database
    server = processes.start(
        "prefect-server",
        [*prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=operator.environment(
            PREFECT_HOME=str(prefect_home),
            PREFECT_API_DATABASE_CONNECTION_URL=postgres.url(
                postgres.create("prefect_e2e"), "postgresql+asyncpg"
            ),
            **quick,
        ),
        cwd=tmp_path,
    )
    # The case database, while the server starts: migrated, with the demo data (dated around
    # now: deadlines are due)
    cases = operator.environment(SAGSFLOW_DATABASE_URL=case_database)
    operator.run([*operator.sagsflow, "db", "upgrade"], env=cases, cwd=tmp_path)
    operator.run([*operator.sagsflow, "demo", "--cases", "50"], env=cases, cwd=tmp_path)
    api = prefect_api(api_url)
    operator.eventually(lambda: healthy(api), SERVER_STARTUP, f"{api_url}/health\n{server.tail()}")
    phase("server up")

    # Once, from the project root, with PREFECT_API_URL: the work pool, then the deployments and
    # the zombie-run automation
    client = operator.environment(PREFECT_HOME=str(prefect_home), PREFECT_API_URL=api_url)
    operator.run(
        [*prefect, "work-pool", "create", "sagsflow-process", "--type", "process"], env=client
    )
    once = [
        processes.start(
            "prefect-deploy",
            [*prefect, "deploy", "--all", "--prefect-file", "deployments/prefect.yaml"],
            env=client,
        ),
        processes.start(
            "zombie-automation",
            [
                operator.python,
                "-c",
                "from deployments.serve import ensure_zombie_automation; ensure_zombie_automation()",
            ],
            env=client,
        ),
    ]
    # and meanwhile each worker: the same checkout, the settings in its environment
    worker_env = operator.environment(
        PREFECT_HOME=str(prefect_home),
        PREFECT_API_URL=api_url,
        SAGSFLOW_DATABASE_URL=case_database,
        SAGSFLOW_SMTP_HOST="127.0.0.1",
        SAGSFLOW_SMTP_PORT=str(inbox.port),
        **quick,
    )
    workers = [
        processes.start(
            f"worker-{n}",
            [*prefect, "worker", "start", "--pool", "sagsflow-process"],
            env=worker_env,
        )
        for n in (1, 2)
    ]
    for step in once:
        step.succeeds(120)
    phase("deployed")
    # The test asks for its runs itself: the cron schedules are switched off, so that a */5
    # minute passing adds none (scheduled runs are test_flows_serve.py's)
    deployments = api.deployments()
    for deployment in deployments.values():
        for schedule in deployment["schedules"]:
            api.patch(
                f"/deployments/{deployment['id']}/schedules/{schedule['id']}", {"active": False}
            )
    operator.eventually(
        lambda: len(online_workers(api)) == 2,
        60,
        "two workers online in pool sagsflow-process\n" + processes.tails(),
    )
    phase("workers online")

    # When several enforce runs and deliver runs are asked for at once
    assert sorted(deployments) == [
        "compliance-report",
        "deliver-notifications",
        "enforce-deadlines",
        "supervisor-digest",
        "verify-audit",
    ]
    enforce, deliver = deployments["enforce-deadlines"], deployments["deliver-notifications"]
    assert enforce["work_pool_name"] == "sagsflow-process"
    first = [*trigger(api, enforce, ENFORCE_RUNS), *trigger(api, deliver, DELIVER_RUNS)]
    finished(operator, api, processes, first)
    phase("first runs finished")
    # and, after the sweeps, one more delivery for what they created
    last = trigger(api, deliver, 1)
    finished(operator, api, processes, last)
    phase("last delivery finished")

    # Then every run completed
    runs = {run["id"]: run for run in (api.get(f"/flow_runs/{i}") for i in first + last)}
    assert {run["state_type"] for run in runs.values()} == {"COMPLETED"}, {
        run["name"]: run["state_name"] for run in runs.values()
    }
    # the workers shared them (each worker logs the runs it started)
    ran_by = {
        worker.name: {
            name
            for name in re.findall(
                r"Flow run '([^']+)' submitted to infrastructure", worker.output()
            )
        }
        for worker in workers
    }
    names = {run["name"] for run in runs.values()}
    assert names <= set().union(*ran_by.values()), ran_by
    print(f"runs per worker: { {w: sorted(n) for w, n in ran_by.items()} }")

    # the enforce runs never overlapped: one at a time (concurrency limit 1, ENQUEUE)
    sweeps = sorted(
        (instant(run["start_time"]), instant(run["end_time"]))
        for run in api.flow_runs(enforce["id"])
        if run["start_time"]
    )
    assert len(sweeps) >= ENFORCE_RUNS
    for (_, ended), (started, _) in itertools.pairwise(sweeps):
        assert started >= ended, f"enforce runs overlapped: {sweeps}"

    # each notification exists once, and every sendable one was sent (the demo has a caseworker
    # without an address: parked)
    database = case_database.rsplit("/", 1)[1]
    rows = postgres.query(database, "SELECT id, deadline_id, rung, status FROM notification")
    assert rows, "the demo data has due deadlines: the sweeps must have created notifications"
    assert len({(deadline, rung) for _, deadline, rung, _ in rows}) == len(rows)
    assert {status for *_, status in rows} <= {"sent", "parked"}, rows
    # and a sweep as of the last enforce run finds nothing left to create
    last_sweep = max(run["start_time"] for run in api.flow_runs(enforce["id"]) if run["start_time"])
    swept = operator.run(
        [*operator.sagsflow, "sweep", "--now", last_sweep.replace("Z", "+00:00"), "--json"],
        env=cases,
        cwd=tmp_path,
    )
    assert '"notifications_created": 0' in swept.stdout, swept.stdout

    # each mail arrived once
    sent = sorted(i for i, *_, status in rows if status == "sent")
    assert sorted(inbox.notification_ids()) == sent, "each sent notification arrives exactly once"
    assert len(set(inbox.message_ids())) == len(inbox.messages), "each mail arrives once"
    phase("checked")
    print(f"phases (s since start): {phases}")


def healthy(api: Any) -> bool:
    try:
        return bool(api.get("/health"))
    except Exception:
        return False


def online_workers(api: Any) -> list[dict[str, Any]]:
    workers: list[dict[str, Any]] = api.post("/work_pools/sagsflow-process/workers/filter")
    return [w for w in workers if w["status"] == "ONLINE"]


def trigger(api: Any, deployment: dict[str, Any], count: int) -> list[str]:
    """`count` runs of the deployment, now (as `prefect deployment run` asks for one)."""
    return [
        api.post(f"/deployments/{deployment['id']}/create_flow_run", {})["id"] for _ in range(count)
    ]


def finished(operator: Any, api: Any, processes: Any, ids: list[str]) -> None:
    def final() -> bool:
        states = [api.get(f"/flow_runs/{i}")["state_type"] for i in ids]
        return all(s in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED") for s in states)

    operator.eventually(final, RUNS_WITHIN, f"{len(ids)} runs finished\n{processes.tails()}", 1)
