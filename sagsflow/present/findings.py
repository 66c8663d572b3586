"""What `audit verify` found, in words: one finding (a code and its parameters, from
`statemachine.audit.FINDINGS`) as the reader's language says it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sagsflow.present.i18n import Translator


def finding_text(found: Mapping[str, Any], t: Translator) -> str:
    """The finding's words (`audit_finding.<code>`); a finding without a code (an older
    answer) keeps its English reason."""
    code = found.get("code")
    if not code:
        return str(found.get("reason", ""))
    params = dict(found.get("params") or {})
    if "where" in params:
        params["where"] = t(f"audit_where.{params['where']}")
    if "at" in params:
        params["at"] = t.instant(str(params["at"]))
    return t(f"audit_finding.{code}", **params)


def finding_line(found: Mapping[str, Any], t: Translator) -> str:
    """One line per finding: of a case and a record, or (case 0) of the trail as a whole."""
    what = finding_text(found, t)
    if found.get("case_id"):
        return t("cli.audit_broken", case_id=found["case_id"], seq=found["seq"], reason=what)
    return t("cli.audit_finding", what=what)
