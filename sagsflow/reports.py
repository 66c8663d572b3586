"""The supervisor's view: stuck cases, the few about to go wrong (ledelsestilsyn)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select

from models.database import reading
from models.repository import CASE, DEADLINE
from sagsflow.services import Context
from sagsflow.views import local_iso
from statemachine.calendar import due, local_date, shift
from statemachine.escalation import narrowest
from statemachine.phases import DeadlineStatus, Phase
from statemachine.process import missing_consents
from statemachine.rulebook import Rulebook


def _waiting_for_consent(rulebook: Rulebook, row: Any, now: datetime) -> bool:
    facts = row.facts or {}
    if row.phase != Phase.CLARIFICATION.value or facts.get("without_consent_decided"):
        return False
    wait = rulebook.stuck.consent_wait
    if wait is not None and now <= shift(row.phase_entered_at, wait.duration()):
        return False
    consents = set(facts.get("consents", []))
    return bool(missing_consents(consents, row.birth_date, local_date(now), rulebook.consent))


def stuck_cases(
    context: Context,
    now: datetime,
    *,
    team: str | None = None,
    scope: ColumnElement[bool] | None = None,
) -> list[dict[str, Any]]:
    """Open cases over their phase norm, with breached deadlines, inactive, or waiting for consent.

    Sorted by days over the phase norm, then by the oldest breach. `scope`: a further WHERE
    clause over the case table (the signed-in user's visibility, sagsflow/access.py).
    """
    found: dict[int, dict[str, Any]] = {}
    breaches: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with reading(context.engine) as connection:
        breached = (
            select(DEADLINE, CASE.c.team)
            .join(CASE, CASE.c.id == DEADLINE.c.case_id)
            .where(
                DEADLINE.c.status == DeadlineStatus.BREACHED.value,
                CASE.c.phase != Phase.CLOSURE.value,
            )
        )
        if team is not None:
            breached = breached.where(CASE.c.team == team)
        if scope is not None:
            breached = breached.where(scope)
        for d in connection.execute(breached):
            breaches[d.case_id].append(
                {
                    "id": d.id,
                    "rule": d.rule,
                    "measure_id": d.measure_key,
                    "due_at": local_iso(d.due_at),
                    "days_overdue": (local_date(now) - local_date(d.due_at)).days,
                }
            )
        for rulebook in context.catalogue.rulebooks:
            rule = rulebook.stuck
            conditions = [CASE.c.id.in_(list(breaches))] if breaches else []
            inactive_before = shift(now, rule.inactivity.duration(), backwards=True)
            for phase, norm in rule.phase_norms.items():
                conditions.append(
                    and_(
                        CASE.c.phase == phase.value,
                        or_(
                            CASE.c.phase_entered_at <= now - narrowest(norm),
                            and_(
                                CASE.c.phase.in_(rule.inactivity_phases),
                                CASE.c.last_event_at <= inactive_before,
                            ),
                        ),
                    )
                )
            conditions.append(CASE.c.phase == Phase.CLARIFICATION.value)
            query = select(CASE).where(
                CASE.c.rulebook_id == rulebook.id,
                CASE.c.rulebook_version == rulebook.version,
                CASE.c.phase != Phase.CLOSURE.value,
                or_(*conditions),
            )
            if team is not None:
                query = query.where(CASE.c.team == team)
            if scope is not None:
                query = query.where(scope)
            for row in connection.execute(query):
                entry = assess_stuck(rulebook, row, now, breaches.get(row.id, []))
                if entry is not None:
                    found[row.id] = entry
    return sorted(
        found.values(),
        key=lambda e: (
            -e["days_over_norm"],
            -max((b["days_overdue"] for b in e["breached_deadlines"]), default=0),
            e["case_id"],
        ),
    )


def assess_stuck(
    rulebook: Rulebook, row: Any, now: datetime, breached: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Whether the open case `row` (a case-table row) is stuck at `now`, and why; None if not.

    `breached`: its breached deadlines, as `stuck_cases` lists them. The dashboard pages through
    stuck cases in SQL and judges each row shown with this same function.
    """
    rule = rulebook.stuck
    phase = Phase(row.phase)
    reasons: list[str] = []
    norm = rule.phase_norms.get(phase)
    days_over = 0
    if norm is not None:
        limit = due(row.phase_entered_at, norm.duration(), rulebook.working_calendar()).due_at
        if now > limit:
            days_over = max((local_date(now) - local_date(limit)).days, 1)
            reasons.append("over_phase_norm")
    if phase in rule.inactivity_phases and now > shift(
        row.last_event_at, rule.inactivity.duration()
    ):
        reasons.append("inactive")
    if breached:
        reasons.append("breached_deadline")
    if _waiting_for_consent(rulebook, row, now):
        reasons.append("waiting_for_consent")
    if not reasons:
        return None
    return {
        "case_id": row.id,
        "phase": phase.value,
        "worker": row.worker,
        "team": row.team,
        "municipality": row.municipality,
        "rulebook": f"{rulebook.key}",
        "days_in_phase": (local_date(now) - local_date(row.phase_entered_at)).days,
        "phase_norm": norm.describe() if norm else None,
        "days_over_norm": days_over,
        "days_since_last_event": (local_date(now) - local_date(row.last_event_at)).days,
        "reasons": reasons,
        "breached_deadlines": breached,
    }
