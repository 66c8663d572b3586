"""Who and where a new case belongs is checked against the configuration and the organisation
file (issue 12, point 8): an unknown municipality, team or worker, or a worker outside the team
given, is refused with its own code and nothing is written — on both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from models.tables import AccessRecord, AuditRecord, Case
from sagsflow.context import Context
from sagsflow.organisation import DEMO_ORGANISATION, load_organisation
from sagsflow.present.i18n import translator
from sagsflow.present.refusals import refused_text
from sagsflow.usecases.access import Asked
from sagsflow.usecases.cases import open_case, open_case_as
from statemachine.errors import EventRefused, RefusalCode
from statemachine.phases import Notifier, Role, Source
from statemachine.visibility import Channel, Principal

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2027, 12, 31, 12, 0, tzinfo=CPH)
TABLES = [Case.__table__, AuditRecord.__table__, AccessRecord.__table__]  # type: ignore[attr-defined]


@pytest.fixture
def configured(context: Context) -> Context:
    """The context as the composition root makes it: the demo organisation, municipality demo."""
    return replace(context, organisation=load_organisation(DEMO_ORGANISATION), municipality="demo")


def _counts(context: Context) -> list[int]:
    with context.engine.connect() as connection:
        return [
            connection.execute(select(func.count()).select_from(t)).scalar_one() for t in TABLES
        ]


def _open(context: Context, **where: Any) -> Any:
    facts: dict[str, Any] = {
        "child_ref": "B-7001",
        "birth_date": datetime(2016, 5, 1).date(),
        "aware_at": datetime(2027, 11, 1, 9, tzinfo=CPH),
        "source": Source.NOTIFICATION,
        "notifier": Notifier.PRIVATE,
        "municipality": "demo",
        "worker": "rw1",
        "team": "t1",
    }
    return open_case(context, actor="rw1", now=NOW, **{**facts, **where})


REFUSED = [
    pytest.param({"municipality": "atlantis"}, RefusalCode.UNKNOWN_MUNICIPALITY, id="municipality"),
    pytest.param({"team": "t9"}, RefusalCode.UNKNOWN_TEAM, id="team"),
    pytest.param({"worker": "mallory"}, RefusalCode.UNKNOWN_WORKER, id="worker"),
    pytest.param({"worker": "dh", "team": None}, RefusalCode.UNKNOWN_WORKER, id="not-a-caseworker"),
    pytest.param({"worker": "rw4"}, RefusalCode.WORKER_NOT_IN_TEAM, id="worker-of-another-team"),
]


@pytest.mark.parametrize(("where", "code"), REFUSED)
def test_a_case_for_someone_or_somewhere_unknown_is_refused_and_nothing_written(
    configured: Context, where: dict[str, Any], code: RefusalCode
) -> None:
    before = _counts(configured)

    with pytest.raises(EventRefused) as refused:
        _open(configured, **where)

    assert refused.value.code is code
    assert _counts(configured) == before
    # worded in both languages, naming what was unknown
    for lang in ("da", "en"):
        text = refused_text(refused.value, translator(lang))
        assert not text.startswith("refusal.")
        assert str(next(v for v in where.values() if v)) in text


def test_a_case_the_organisation_file_knows_is_opened(configured: Context) -> None:
    # its caseworker, a team leader holding a case of their own team, the national rulebook's
    # municipality (municipalities.yaml), and a worker with no team given
    for where in (
        {},
        {"worker": "tl1"},
        {"municipality": "national", "child_ref": "B-7002"},
        {"team": None, "child_ref": "B-7003"},
        {"worker": None, "team": "t3", "child_ref": "B-7004"},
    ):
        assert _open(configured, **where).case_id


def test_the_configured_municipality_is_known_without_a_rulebook_mapping(
    configured: Context,
) -> None:
    # SAGSFLOW_MUNICIPALITY=vest follows the default rulebook, as before
    vest = replace(configured, municipality="vest")
    assert _open(vest, municipality="vest").case_id
    with pytest.raises(EventRefused) as refused:
        _open(vest, municipality="oest")
    assert refused.value.params["known"] == ["demo", "national", "vest"]


def test_a_principal_opening_through_the_api_or_dashboard_is_checked_the_same(
    configured: Context,
) -> None:
    boss = Principal("dh", Role.DEPARTMENT_HEAD, None)
    asked = Asked(Channel.API, "POST /api/v1/cases", NOW)
    before = _counts(configured)
    with pytest.raises(EventRefused) as refused:
        open_case_as(
            configured,
            boss,
            asked,
            worker="rw4",
            team="t1",
            child_ref="B-7005",
            birth_date=datetime(2016, 5, 1).date(),
            aware_at=datetime(2027, 11, 1, 9, tzinfo=CPH),
            source=Source.INQUIRY,
            notifier=None,
            municipality="demo",
        )
    assert refused.value.code is RefusalCode.WORKER_NOT_IN_TEAM
    # nothing but the refused attempt's access-log row
    cases, audit, access = _counts(configured)
    assert (cases, audit, access) == (before[0], before[1], before[2] + 1)


def test_a_context_without_configuration_checks_nothing(context: Context) -> None:
    # tests, scripts and the demo's own contexts: as before
    assert _open(context, municipality="vest", worker="anna", team="nord").case_id
