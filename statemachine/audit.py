"""The audit trail's hash chain, pure: what is hashed, and how a chain is checked.

Each accepted event's record is hashed together with the previous record's hash of the same
case, so rewriting, removing or reordering any record breaks every hash after it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


def canonical_json(value: Mapping[str, Any]) -> str:
    """One text per value: sorted keys, no spaces, UTF-8 kept."""
    # What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
    # default=str) returns, without building an encoder per call (three calls per event).
    return _CANONICAL.encode(value)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class AuditEntry:
    """The hashed content of one audit record."""

    case_id: int
    seq: int
    event: str
    from_phase: str | None
    to_phase: str
    event_at: datetime
    recorded_at: datetime
    actor: str
    role: str
    payload: str  # canonical JSON
    legal_basis: str
    rulebook: str

    def digest(self, prev_hash: str) -> str:
        # Every field by name, as dataclasses.asdict gave them but without its deep copies (this
        # runs on every event); canonical_json sorts the keys, so the hashed text is unchanged.
        fields = {name: getattr(self, name) for name in _HASHED_FIELDS}
        fields["event_at"] = _instant(self.event_at)
        fields["recorded_at"] = _instant(self.recorded_at)
        fields["prev_hash"] = prev_hash
        return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


_HASHED_FIELDS = tuple(f.name for f in dataclass_fields(AuditEntry))


@dataclass(frozen=True)
class ChainBreak:
    case_id: int
    seq: int
    reason: str


def verify_chain(records: Iterable[tuple[AuditEntry, str, str]]) -> ChainBreak | None:
    """Check one case's records, given in sequence order as (entry, prev_hash, hash)."""
    expected_prev, expected_seq = GENESIS, 1
    for entry, prev_hash, stored_hash in records:
        if entry.seq != expected_seq:
            return ChainBreak(entry.case_id, expected_seq, f"record {expected_seq} is missing")
        if prev_hash != expected_prev:
            return ChainBreak(entry.case_id, entry.seq, "does not link to the record before it")
        if entry.digest(prev_hash) != stored_hash:
            return ChainBreak(entry.case_id, entry.seq, "content does not match its hash")
        expected_prev, expected_seq = stored_hash, expected_seq + 1
    return None
