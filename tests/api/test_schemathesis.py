"""Schemathesis against the served OpenAPI document: no input it generates gets a 5xx, and
every answer matches the document (status, content type, schema) — on both databases.

Deterministic (a fixed seed, derandomized Hypothesis) and bounded (a few dozen examples per
operation), so it is a regression test, not a fuzzing campaign. The caller is a department
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
CONFIG.projects.default.generation.update(max_examples=10, deterministic=True)
# Loaded at import, so that each operation is a test of its own (pytest's ids name it).
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
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
def test_no_generated_request_gets_a_server_error(case, api, tokens):
    role = Role.AUDITOR if case.path.endswith("/access-log") else Role.DEPARTMENT_HEAD
    case.call_and_validate(
        base_url=api.base_url,
        headers={"Authorization": f"Bearer {tokens[role]}"},
        checks=CHECKS,
    )
