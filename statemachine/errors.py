"""Domain errors: each carries the reason a person reads."""

from __future__ import annotations

from collections.abc import Sequence


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class EventRefused(DomainError):
    """An event that may not happen now; nothing was written."""

    def __init__(self, event: str, phase: str, reason: str, allowed: Sequence[str]) -> None:
        self.event = event
        self.phase = phase
        self.reason = reason
        self.allowed = list(allowed)
        allowed_text = ", ".join(self.allowed) or "none"
        super().__init__(
            f"{event} refused in phase {phase}: {reason} (allowed now: {allowed_text})"
        )


class RulebookInvalid(DomainError):
    """A rulebook file that does not validate: names the file, the path in it and the reason."""

    def __init__(self, file: str, problems: Sequence[tuple[str, str]]) -> None:
        self.file = file
        self.problems = list(problems)
        lines = "; ".join(f"{path}: {reason}" for path, reason in self.problems)
        super().__init__(f"rulebook {file} is invalid: {lines}")


class CaseNotFound(DomainError, LookupError):
    """No case with this id (or none the asker may see: the same answer)."""

    def __init__(self, case_id: int) -> None:
        self.case_id = case_id
        super().__init__(f"no case {case_id}")


class ConcurrencyConflict(DomainError, RuntimeError):
    """Another writer changed the case first: reload and try again."""

    def __init__(self, case_id: int, expected_version: int) -> None:
        self.case_id = case_id
        self.expected_version = expected_version
        super().__init__(
            f"case {case_id} was changed by someone else (expected version {expected_version}); "
            "reload it and try again"
        )
