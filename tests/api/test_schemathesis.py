"""Schemathesis against the served OpenAPI document: no input it generates gets a 5xx, every
answer matches the document (status, content type, schema), and every input the document
forbids is refused with a 4xx — on both databases.

The last is what holds the document to the limits it publishes: besides valid requests,
schemathesis generates requests that break the schema one part at a time (a number or `0.5`
where an instant is, text past a `maxLength`, a parameter given twice, a field not in the
schema), and `negative_data_rejection` fails when the server accepts one: an accepted
`now=0.5` was such a case (issue 12).

Deterministic (a fixed seed, derandomized Hypothesis) and bounded (ten examples per operation
besides the coverage phase's boundary cases), so it is a regression test, not a fuzzing
campaign. The caller is a department
head, who reads and writes every case, except for the access log, which is the auditor's.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from sagsflow.api import install
from sagsflow.usecases.users import add_user, issue_token, principal_named
from statemachine.phases import Phase, Role


def _document() -> dict[str, Any]:
    """The API's OpenAPI document, as `install` makes it (no database needed to describe it)."""
    app = FastAPI(title="Sagsflow", version="1")
    install(app)
    return app.openapi()


DOCUMENT = _document()
CONFIG = schemathesis.Config(seed=2026)
CONFIG.projects.default.generation.update(
    max_examples=10,
    deterministic=True,
    # A query parameter the document does not name is ignored, as HTTP APIs do; not a breach.
    allow_extra_parameters=False,
)
# Loaded at import, so that each operation is a test of its own (pytest's ids name it).
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    # Schemathesis generates requests that break the document too (negative mode, by default
    # beside the positive one): each must be refused.
    negative_data_rejection,
]


def test_the_served_document_is_the_one_fuzzed(api):
    served = httpx.get(f"{api.base_url}/openapi.json").json()

    assert {p: v for p, v in served["paths"].items() if p.startswith("/api/")} == DOCUMENT["paths"]
    assert served["components"]["securitySchemes"] == DOCUMENT["components"]["securitySchemes"]


@pytest.fixture
def tokens(api, cases, now):
    """A department head's and an auditor's token, and a few cases to find."""
    found = {}
    for role in (Role.DEPARTMENT_HEAD, Role.AUDITOR):
        name = f"fuzz-{role.value}"
        if principal_named(api.context, name) is None:
            add_user(api.context, name, role=role, team=None, now=now)
        found[role] = issue_token(api.context, name, now=now)
    for phase in (Phase.INQUIRY, Phase.CLARIFICATION, Phase.FOLLOW_UP):
        cases.at_phase(phase, team="fuzz")
    return found


@schema.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(case, api, tokens):
    role = Role.AUDITOR if case.path.endswith("/access-log") else Role.DEPARTMENT_HEAD
    case.call_and_validate(
        base_url=api.base_url,
        headers={"Authorization": f"Bearer {tokens[role]}"},
        checks=CHECKS,
    )


def test_instants_are_text_of_the_published_pattern():
    """`format: date-time` with a pattern, on every instant a client sends (query and body);
    the pattern takes what the server reads and refuses a number (issue 12: `now=0.5`)."""
    import re

    stuck = next(
        p for p in DOCUMENT["paths"]["/api/v1/stuck"]["get"]["parameters"] if p["name"] == "now"
    )
    [instant, _null] = stuck["schema"]["anyOf"]
    opened = DOCUMENT["components"]["schemas"]["CaseOpen"]["properties"]["aware_at"]
    fired = DOCUMENT["components"]["schemas"]["EventRequest"]["properties"]["at"]
    for schema in (instant, opened, fired):
        assert (schema["type"], schema["format"]) == ("string", "date-time")
        pattern = re.compile(schema["pattern"])
        for good in ("2026-03-01T09:30:00+01:00", "2026-03-01T09:30", "2026-03-01T08:30:00.5Z"):
            assert pattern.match(good), good
        for bad in ("0.5", "1700000000", "0001-01-01T00:00:00", "9999-12-31T23:59:59"):
            assert not pattern.match(bad), bad


def test_the_document_publishes_every_bound_of_event_data():
    schemas = DOCUMENT["components"]["schemas"]
    data = schemas["EventRequest"]["properties"]["data"]
    assert data["x-event-data"]["submit_plan"] == {
        "$ref": "#/components/schemas/EventDataSubmitPlan"
    }
    plan = schemas["EventDataSubmitPlan"]["properties"]
    assert plan["goals"]["anyOf"][0]["maxItems"] == 100
    assert plan["goals"]["anyOf"][0]["items"]["maxLength"] == 2000
    measure = schemas["EventDataMeasureRequest"]["properties"]
    assert measure["type"]["maxLength"] == 200
    notification = schemas["EventDataReceiveNotification"]["properties"]["aware_at"]
    assert (notification["format"], "pattern" in notification) == ("date-time", True)
    # and every operation documents the body limit
    for operations in DOCUMENT["paths"].values():
        for operation in operations.values():
            assert "413" in operation["responses"]
