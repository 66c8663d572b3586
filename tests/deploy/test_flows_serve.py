"""One machine: `sagsflow flows serve` registers the five deployments of deployments/prefect.yaml
against its own `prefect server start`, runs them on schedule, and stops cleanly on Ctrl-C.

One serve start (a Prefect server takes ~15 s) for all of it. The file served is the real
prefect.yaml with one fast schedule more on enforce-deadlines and deliver-notifications
(`interval: 5` seconds, as `prefect deploy` reads it), so scheduled runs come within seconds; the
cron schedules, parameters and concurrency limits registered are checked against the real file.
The case database is the demo (SQLite, dated around now: it has breached and due deadlines); mail
goes to a real SMTP server.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

FAST = {"interval": 5, "timezone": "Europe/Copenhagen"}
FAST_DEPLOYMENTS = ("enforce-deadlines", "deliver-notifications")
SERVE_STARTUP = 180  # s: the server's start (~15 s alone) and the five deployments registered
RUNS_WITHIN = 150  # s: scheduler loop 1 s, runner poll 1 s, a flow-run process ~5 s
STOP_WITHIN = 30  # s: Ctrl-C to the last process gone


def fast_copy(real: Path, to: Path) -> Path:
    config = yaml.safe_load(real.read_text(encoding="utf-8"))
    for deployment in config["deployments"]:
        if deployment["name"] in FAST_DEPLOYMENTS:
            deployment["schedules"].append(dict(FAST))
    to.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return to


def notifications(database: Path) -> list[tuple[int, str]]:
    """(id, status) of every notification, read raw from the case database."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as connection:
        return list(connection.execute("SELECT id, status FROM notification ORDER BY id"))


def scheduled_and_completed(api: Any, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """The deployment's runs that the scheduler created and that completed."""
    return [
        run
        for run in api.flow_runs(deployment["id"])
        if run["auto_scheduled"] and run["state_type"] == "COMPLETED"
    ]


def test_flows_serve_registers_the_deployments_runs_them_on_schedule_and_stops_on_ctrl_c(
    tmp_path, operator, inbox, processes, prefect_api
):
    # (fixtures stop in reverse order: the processes first, then the inbox)
    # Given the demo data in a SQLite database, and mail going to a real SMTP server
    database = tmp_path / "sagsflow.db"
    env = operator.environment(
        SAGSFLOW_DATABASE_URL=f"sqlite:///{database}",
        SAGSFLOW_SMTP_HOST="127.0.0.1",
        SAGSFLOW_SMTP_PORT=str(inbox.port),
        # fast scheduling: the server's scheduler loop and the runner's poll, in seconds
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="1",
        PREFECT_RUNNER_POLL_FREQUENCY="1",
        # a run that finds its deployment's slot taken waits this long to ask again (default 30)
        PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS="2",
    )
    operator.run([*operator.sagsflow, "db", "upgrade"], env=env, cwd=tmp_path)
    operator.run([*operator.sagsflow, "demo", "--cases", "50"], env=env, cwd=tmp_path)
    real = operator.root / "deployments" / "prefect.yaml"
    served = fast_copy(real, tmp_path / "prefect-fast.yaml")

    # When `sagsflow flows serve` runs, from a directory of its own
    port = operator.free_port()
    serve = processes.start(
        "flows-serve",
        [
            *operator.sagsflow,
            "flows",
            "serve",
            "--port",
            str(port),
            "--state-dir",
            str(tmp_path / "state"),
            "--prefect-file",
            str(served),
        ],
        env=env,
        cwd=tmp_path,
    )
    serve.wait_for(": polling for scheduled runs", SERVE_STARTUP)
    api = prefect_api(f"http://127.0.0.1:{port}/api")

    # Then its server holds the five deployments of prefect.yaml, with their cron schedules in
    # Europe/Copenhagen and parameters (and the test's fast schedule besides), one run at a time
    expected = {d["name"]: d for d in yaml.safe_load(real.read_text("utf-8"))["deployments"]}
    deployments = api.deployments()
    assert sorted(deployments) == sorted(expected)
    for name, deployment in deployments.items():
        crons = [
            {
                "cron": s["schedule"]["cron"],
                "timezone": s["schedule"]["timezone"],
                **({"parameters": s["parameters"]} if s["parameters"] else {}),
            }
            for s in deployment["schedules"]
            if "cron" in s["schedule"]
        ]
        by_cron = lambda schedule: schedule["cron"]  # noqa: E731 - the server's order is its own
        assert sorted(crons, key=by_cron) == sorted(expected[name]["schedules"], key=by_cron), name
        assert {s["schedule"]["timezone"] for s in deployment["schedules"]} == {"Europe/Copenhagen"}
        others = [s["schedule"] for s in deployment["schedules"] if "cron" not in s["schedule"]]
        fast = (
            [{"interval": 5.0, "timezone": "Europe/Copenhagen"}] if name in FAST_DEPLOYMENTS else []
        )
        assert [{k: s[k] for k in ("interval", "timezone")} for s in others] == fast, name
        assert all(s["active"] for s in deployment["schedules"]), name
        assert deployment["global_concurrency_limit"]["limit"] == 1, name
        assert deployment["concurrency_options"]["collision_strategy"] == "ENQUEUE", name
        assert deployment["entrypoint"].endswith(expected[name]["entrypoint"]), name
        assert deployment["paused"] is False, name

    # And within a minute or two scheduled runs (not triggered by hand) of enforce-deadlines and
    # deliver-notifications complete: notifications are in the database, every one that could be
    # sent is sent (the demo has a caseworker without an address: parked), each mail arrived once
    enforce, deliver = deployments["enforce-deadlines"], deployments["deliver-notifications"]

    def delivered() -> bool:
        rows = notifications(database)
        sent = [i for i, status in rows if status == "sent"]
        waiting = [i for i, status in rows if status in ("pending", "sending")]
        return bool(
            scheduled_and_completed(api, enforce)
            and scheduled_and_completed(api, deliver)
            and sent
            and not waiting
            and len(inbox.notification_ids()) >= len(sent)
        )

    operator.eventually(
        delivered,
        RUNS_WITHIN,
        "scheduled enforce and deliver runs completed and every sendable notification mailed",
    )
    rows = notifications(database)
    assert {status for _, status in rows} <= {"sent", "parked"}, rows
    sent = sorted(i for i, status in rows if status == "sent")
    # (one mail per person and run: a mail carries one or more notifications)
    assert sorted(inbox.notification_ids()) == sent, "each sent notification arrives exactly once"
    assert len(set(inbox.message_ids())) == len(inbox.messages), "each mail arrives once"
    # the runs were the scheduler's: created by a schedule, in state Scheduled
    for run in (
        scheduled_and_completed(api, enforce)[:1] + scheduled_and_completed(api, deliver)[:1]
    ):
        assert run["created_by"]["type"] == "SCHEDULE", run
        history = [state["name"] for state in api.states(run["id"])]
        assert history[0] == "Scheduled" and history[-1] == "Completed", history

    # And a later deliver run sends nothing again
    done = len(scheduled_and_completed(api, deliver))
    operator.eventually(
        lambda: len(scheduled_and_completed(api, deliver)) > done,
        RUNS_WITHIN,
        "one more scheduled deliver run completed",
    )
    assert len(inbox.notification_ids()) == len(sent)

    # When the operator presses Ctrl-C (SIGINT to the foreground process group)
    tree = operator.process_tree(serve.pid)
    assert any("server" in Path(f"/proc/{pid}/cmdline").read_text() for pid in tree), tree
    # (a process that ignores SIGINT, as a background job does, would rightly not stop)
    assert not operator.ignores_sigint(serve.pid)
    pressed = time.monotonic()
    processes.interrupt(serve)
    try:
        exit_code = serve.process.wait(STOP_WITHIN)
    except subprocess.TimeoutExpired:
        pytest.fail(f"flows serve still running {STOP_WITHIN} s after Ctrl-C:\n{serve.tail()}")

    # Then the serve command and its Prefect server stop, no process of theirs is left, and the
    # port is free again
    assert exit_code in (0, 130), serve.tail()
    operator.eventually(
        lambda: not [pid for pid in tree if operator.alive(pid)],
        max(1.0, STOP_WITHIN - (time.monotonic() - pressed)),
        f"every process of flows serve gone (left: {[p for p in tree if operator.alive(p)]})",
    )
    assert operator.port_is_free(port)
    assert "stopped: the deployments' runs and the Prefect server" in serve.output()
    assert time.monotonic() - pressed < STOP_WITHIN


# --- fast: what serve reads, and a bad file refused before any server starts -------------------


def test_serve_reads_interval_cron_and_rrule_schedules_as_prefect_deploy_does(tmp_path):
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule

    from deployments.serve import deployments

    schedules = [
        {"interval": 5, "timezone": "Europe/Copenhagen"},
        {
            "interval": "PT15M",
            "anchor_date": "2026-01-05T07:00:00+01:00",
            "timezone": "Europe/Copenhagen",
            "parameters": {"batch_size": 100},
            "active": False,
        },
        {"cron": "0 7 * * 1-5", "timezone": "Europe/Copenhagen", "day_or": False},
        {"rrule": "FREQ=WEEKLY;BYDAY=MO", "timezone": "Europe/Copenhagen", "slug": "mondays"},
    ]
    spec = {"name": "enforce-deadlines", "entrypoint": "flows/enforce.py:enforce_deadlines"}
    path = tmp_path / "prefect.yaml"
    path.write_text(yaml.safe_dump({"deployments": [{**spec, "schedules": schedules}]}), "utf-8")

    [served] = deployments(path)

    for ours, config in zip(served.schedules, schedules, strict=True):
        theirs = _schedule_config_to_deployment_schedule(config)
        for key in ("interval", "cron", "day_or", "timezone"):
            if hasattr(theirs["schedule"], key):
                assert getattr(ours.schedule, key) == getattr(theirs["schedule"], key), key
        if "rrule" in config:  # the same rule; Prefect spells out its default DTSTART on one path
            assert str(ours.schedule.to_rrule()) == str(theirs["schedule"].to_rrule())
        if config.get("anchor_date"):
            assert ours.schedule.anchor_date == theirs["schedule"].anchor_date
        assert ours.parameters == theirs.get("parameters", {})
        assert ours.active is theirs.get("active", True)
        assert ours.slug == theirs.get("slug")


def test_flows_serve_refuses_a_broken_prefect_file_at_once_in_one_line(tmp_path, operator):
    broken = tmp_path / "prefect.yaml"
    broken.write_text("deployments:\n  - name: enforce-deadlines\n", encoding="utf-8")
    port = operator.free_port()

    done = operator.run_any(
        [*operator.sagsflow, "flows", "serve", "--port", str(port), "--prefect-file", str(broken)],
        env=operator.environment(),
        cwd=tmp_path,
    )

    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: --prefect-file: {broken}: deployments[0] needs a name and an entrypoint"
    )
    assert not (tmp_path / "state").exists(), "no server was started"
