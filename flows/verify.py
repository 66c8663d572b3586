"""`verify_audit`: every night, the state the audit trail proves (`audit verify --replay`).

One task, one call: `sagsflow.read.replay.replay_verify` rebuilds every case from its audit
records through the domain and compares it with the stored rows
(docs/decisions/020-replay-verify.md). The figures and the first differences are published as a
markdown artifact; a difference fails the run, so that it shows in Prefect as a failed run and
is not left in an artifact nobody opens.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.artifacts import artifact_key, figures, ran_at, words
from flows.context import context, instant
from sagsflow.present.templating import markdown_cell

if TYPE_CHECKING:
    from sagsflow.read.replay import ReplayVerification

# Differences listed in the artifact (all are counted).
LISTED = 20


class TrailDiffers(RuntimeError):
    """The stored state is not what the audit trail proves: the run fails."""


@task(name="replay-trail", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[30.0, 300.0])
def replay_trail(now: datetime, case_id: int | None) -> ReplayVerification:
    from sagsflow.read.replay import replay_verify

    return replay_verify(context(), now=now, case_id=case_id)


def _value(value: object) -> str:
    if value is None:
        return words()("cli.replay_absent")
    return (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    )


def _differences(result: ReplayVerification) -> str:
    """The first differences as a table (values as literal text, never as Markdown)."""
    t = words()
    rows = result["differences"][:LISTED]
    if not rows:
        return ""
    head = [t("flow.verify.case"), t("flow.verify.record"), t("flow.verify.field")]
    head += [t("flow.verify.stored"), t("flow.verify.replayed")]
    lines = ["", f"| {' | '.join(head)} |", "|---:|---:|---|---|---|"]
    for d in rows:
        cells = [
            d["case_id"],
            d["seq"] or "",
            d["field"],
            _value(d["stored"]),
            _value(d["replayed"]),
        ]
        lines.append("| " + " | ".join(markdown_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


@flow(name="verify-audit")
def verify_audit(now: str | None = None, case_id: int | None = None) -> dict[str, int]:
    """Replay every case's audit records (or case `case_id`'s) and compare the result with the
    stored rows; returns the counts, and fails when a difference is found.

    `now`: the instant of verification, ISO 8601 (default: the wall clock)."""
    at = instant(now)
    result = replay_trail(at, case_id)
    t = words()
    counts = {
        "cases_checked": result["cases_checked"],
        "events_replayed": result["events_replayed"],
        "differences": result["differences_total"],
    }
    create_markdown_artifact(
        figures(
            t("flow.verify.title"),
            [(t(f"flow.verify.{key}"), value) for key, value in counts.items()],
            ran_at(at),
        )
        + _differences(result),
        key=artifact_key("verify-audit"),
        description=t("flow.verify.description"),
    )
    if not result["ok"]:
        first = result["differences"][0]
        raise TrailDiffers(
            t(
                "flow.verify.differs",
                total=result["differences_total"],
                case_id=first["case_id"],
                field=first["field"],
            )
        )
    return counts
