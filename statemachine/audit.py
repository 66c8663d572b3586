"""The audit trail's chain, pure: what is MACed, and how a chain is checked.

Each accepted event's record is MACed (HMAC-SHA-256, under a key the database never holds)
together with the previous record's MAC of the same case, so rewriting, removing or reordering
any record breaks every MAC after it, and nobody without the key can write a record that
verifies (docs/decisions/019-keyed-chain-and-checkpoints.md). Records written before the
installation had a key are plain SHA-256 ("unkeyed") and stay verifiable as such.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditKey:
    """One key of the installation's key ring: its id (recorded with every record it MACs) and
    its secret (never stored in the database)."""

    id: str
    secret: bytes = field(repr=False)

    def mac(self, text: str) -> str:
        return hmac.new(self.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class KeyRing:
    """The keys an installation verifies with, and the one it writes with (`current`, the
    newest). `keyed_since`: from when every record must be keyed (the first key's creation;
    None: not known, so only a case's own order proves it)."""

    keys: Mapping[str, AuditKey] = field(default_factory=dict)
    current: AuditKey | None = None
    keyed_since: datetime | None = None

    def get(self, key_id: str) -> AuditKey | None:
        return self.keys.get(key_id)


NO_KEYS = KeyRing()


@dataclass(frozen=True)
class Signing:
    """How a writer signs the records it writes: the key (None: unkeyed, as before keys), and
    where its events come from (AuditEntry's channel, os_user and as_operator)."""

    key: AuditKey | None = None
    channel: str | None = None
    os_user: str | None = None
    as_operator: bool = False

    def origin(self) -> dict[str, Any]:
        """The AuditEntry fields it gives."""
        return {"channel": self.channel, "os_user": self.os_user, "as_operator": self.as_operator}


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
    # Where the event came from (cli | api | dashboard | flow) and, from the CLI, the operating
    # system's user beside the actor given (and whether the actor acted as operator). MACed in
    # keyed records; None in records written before they were kept.
    channel: str | None = None
    os_user: str | None = None
    as_operator: bool = False

    def digest(self, prev_hash: str, key: AuditKey | None = None) -> str:
        """The record's MAC under `key` (its id is MACed with it), or, with no key, the plain
        SHA-256 of an unkeyed record as written before the installation had keys."""
        # Every field by name, as dataclasses.asdict gave them but without its deep copies (this
        # runs on every event); canonical_json sorts the keys, so the hashed text is unchanged.
        fields = {name: getattr(self, name) for name in _HASHED_FIELDS}
        fields["event_at"] = _instant(self.event_at)
        fields["recorded_at"] = _instant(self.recorded_at)
        fields["prev_hash"] = prev_hash
        if key is None:
            return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()
        fields["key_id"] = key.id
        fields["channel"] = self.channel
        fields["os_user"] = self.os_user
        fields["as_operator"] = self.as_operator
        return key.mac(canonical_json(fields))


# The fields an unkeyed record's hash covers (the record as it was before keys): the keyed MAC
# adds key_id, channel, os_user and as_operator.
_HASHED_FIELDS = tuple(
    f.name
    for f in dataclass_fields(AuditEntry)
    if f.name not in ("channel", "os_user", "as_operator")
)


# What `audit verify` can find, by code: the English text of each (the JSON's `reason`; people
# read `audit_finding.<code>` from the message catalogue, in Danish or English).
FINDINGS: dict[str, str] = {
    "record_missing": "record {seq} is missing",
    "not_linked": "does not link to the record before it",
    "hash_mismatch": "content does not match its hash",
    "mac_mismatch": "content does not match its MAC",
    "unknown_key": "MACed with key {key_id}, which is not held here",
    "without_key": "written without the key",
    "orphans": "{count} records of a case that does not exist",
    "no_records": "the case has no audit records",
    "head_mismatch": "the case records {head} events, the log has {records}",
    "tail_gone": "records {first}–{last} are gone since checkpoint {number} (a truncated tail or "
    "a rolled-back database)",
    "record_gone": "record {last} is gone since checkpoint {number} (a truncated tail or a "
    "rolled-back database)",
    "record_differs": "record {seq} differs from checkpoint {number}",
    "case_gone": "the case is gone since checkpoint {number}, which signed {records} records of it",
    "checkpoint_unknown_key": "checkpoint {number} ({where}) is MACed with a key not held here",
    "checkpoint_mac": "checkpoint {number} ({where}) does not match its MAC",
    "checkpoint_unreadable": "line {number} of the checkpoints ({where}) is not a signed checkpoint",
    "checkpoint_order": "checkpoint {number} ({where}) is missing or out of order",
    "checkpoint_rolled_back": "checkpoint {number} of {at} is in the file but not in the "
    "database: the database was rolled back or the row deleted",
    "checkpoint_differs": "checkpoint {number} differs from the file's",
    "checkpoint_not_in_file": "checkpoint {number} is in the database but not in the file",
    "checkpoint_file_missing": "the checkpoint file {path} is missing",
    "checkpoint_digest": "checkpoint {number}'s heads do not add up to its digest",
    "access_row_missing": "access log: row {seq} is missing",
    "access_not_linked": "access log: does not link to the row before it",
    "access_unknown_key": "access log: MACed with key {key_id}, which is not held here",
    "access_without_key": "access log: written without the key",
    "access_mac_mismatch": "access log: content does not match its MAC",
    "access_row_differs": "access log row {seq} differs from checkpoint {number}",
    "access_head_mismatch": "access log: the head records {head} rows, the log has {rows}",
    "access_rows_gone": "access log rows {first}–{last} are gone since checkpoint {number}",
    "access_outside_chain": "access log: {count} rows were written outside its chain",
}


@dataclass(frozen=True)
class ChainBreak:
    """One finding: the case (0: the access log or the checkpoints), the record, what."""

    case_id: int
    seq: int
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return FINDINGS[self.code].format(**self.params)


@dataclass
class ChainCheck:
    """What checking one chain found: the first break (None: intact), and how many of its
    records were keyed."""

    found: ChainBreak | None = None
    keyed: int = 0
    unkeyed: int = 0


def verify_chain(
    records: Iterable[tuple[AuditEntry, str, str, str | None]], keys: KeyRing = NO_KEYS
) -> ChainCheck:
    """Check one case's records, given in sequence order as (entry, prev_hash, hash, key_id).

    A keyed record must verify under the key it names; an unkeyed one (plain SHA-256, which
    anyone can compute) is accepted only where the installation had no key yet: before the
    case's first keyed record and before `keys.keyed_since`."""
    check = ChainCheck()
    expected_prev, expected_seq = GENESIS, 1
    for entry, prev_hash, stored_hash, key_id in records:
        if entry.seq != expected_seq:
            check.found = ChainBreak(
                entry.case_id, expected_seq, "record_missing", {"seq": expected_seq}
            )
            return check
        if prev_hash != expected_prev:
            check.found = ChainBreak(entry.case_id, entry.seq, "not_linked")
            return check
        if key_id is None:
            if check.keyed or (
                keys.keyed_since is not None and entry.recorded_at >= keys.keyed_since
            ):
                check.found = ChainBreak(entry.case_id, entry.seq, "without_key")
                return check
            if entry.digest(prev_hash) != stored_hash:
                check.found = ChainBreak(entry.case_id, entry.seq, "hash_mismatch")
                return check
            check.unkeyed += 1
        else:
            key = keys.get(key_id)
            if key is None:
                check.found = ChainBreak(
                    entry.case_id, entry.seq, "unknown_key", {"key_id": key_id}
                )
                return check
            if not hmac.compare_digest(entry.digest(prev_hash, key), stored_hash):
                check.found = ChainBreak(entry.case_id, entry.seq, "mac_mismatch")
                return check
            check.keyed += 1
        expected_prev, expected_seq = stored_hash, expected_seq + 1
    return check


# --- the access log's chain ---------------------------------------------------------------------

ACCESS_FIELDS = ("at", "user_name", "role", "case_id", "action", "channel", "what")


def access_digest(row: Mapping[str, Any], seq: int, prev_hash: str, key: AuditKey | None) -> str:
    """The MAC of one access-log row at place `seq` of the log's one chain (`ACCESS_FIELDS`,
    its place, the previous row's MAC and the key's id); with no key, its plain SHA-256."""
    fields: dict[str, Any] = {name: row[name] for name in ACCESS_FIELDS}
    fields["at"] = _instant(row["at"])
    fields["seq"] = seq
    fields["prev_hash"] = prev_hash
    if key is None:
        return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()
    fields["key_id"] = key.id
    return key.mac(canonical_json(fields))


def verify_access_row(
    row: Mapping[str, Any], expected_seq: int, expected_prev: str, keys: KeyRing
) -> ChainBreak | None:
    """What is wrong with one chained access-log row given where the chain stands (None:
    nothing); the row carries seq, prev_hash, hash and key_id besides `ACCESS_FIELDS`."""
    if row["seq"] != expected_seq:
        return ChainBreak(0, expected_seq, "access_row_missing", {"seq": expected_seq})
    seq = int(row["seq"])
    if row["prev_hash"] != expected_prev:
        return ChainBreak(0, seq, "access_not_linked")
    key_id = row["key_id"]
    key = None if key_id is None else keys.get(key_id)
    if key_id is not None and key is None:
        return ChainBreak(0, seq, "access_unknown_key", {"key_id": key_id})
    if key is None and keys.keyed_since is not None and row["at"] >= keys.keyed_since:
        return ChainBreak(0, seq, "access_without_key")
    if not hmac.compare_digest(access_digest(row, seq, row["prev_hash"], key), row["hash"]):
        return ChainBreak(0, seq, "access_mac_mismatch")
    return None


# --- signed checkpoints -------------------------------------------------------------------------

Heads = dict[int, tuple[int, str]]


def heads_digest(heads: Mapping[int, tuple[int, str]]) -> str:
    """One digest over every case's chain head (case id, seq, MAC), in case order."""
    digest = hashlib.sha256()
    for case_id in sorted(heads):
        seq, head = heads[case_id]
        digest.update(f"{case_id}:{seq}:{head}\n".encode())
    return digest.hexdigest()


def sign_checkpoint(line: Mapping[str, Any], key: AuditKey) -> str:
    """The checkpoint's MAC: over its canonical JSON, which names the key's id."""
    return key.mac(canonical_json(line))


def advanced(expected: Heads, current: Mapping[int, tuple[int, str]]) -> list[list[Any]]:
    """The heads a new checkpoint records: those of cases that are new or whose chain grew
    since `expected`, as [case id, seq, MAC]. A head that went back or changed at the same
    length is left out: it is a finding for `audit verify`, never the new truth."""
    return [
        [case_id, seq, head]
        for case_id, (seq, head) in sorted(current.items())
        if case_id not in expected or seq > expected[case_id][0]
    ]


def fold(expected: Heads, changed: Iterable[Any]) -> Heads:
    """`expected` with a checkpoint's `changed` heads applied."""
    for case_id, seq, head in changed:
        expected[int(case_id)] = (int(seq), str(head))
    return expected
