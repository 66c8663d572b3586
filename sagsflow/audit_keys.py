"""The installation's audit keys: read from `SAGSFLOW_AUDIT_KEY`, else from a key file under the
state directory that is made (0600) on first start. Never stored in the database.

The key file (`state/audit-keys.json` unless `SAGSFLOW_AUDIT_KEY_FILE` says otherwise) holds
every key the installation has had, oldest first; the last one MACs new records, every one of
them verifies the records it MACed. Rotation (`sagsflow audit rotate-key`) adds a key; nothing
is re-MACed (docs/decisions/019-keyed-chain-and-checkpoints.md).

`SAGSFLOW_AUDIT_KEY` is a comma-separated list of `id:hex` (or a single hex secret, id "env"),
oldest first, for installations whose secrets come from a vault rather than a file.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path

from statemachine.audit import AuditKey, KeyRing

_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2}){16,}$")  # at least 128 bits


class AuditKeysInvalid(ValueError):
    """The configured keys cannot be used (a clear message; nothing is written with them)."""


def _key(key_id: str, secret: str) -> AuditKey:
    if not _ID.match(key_id):
        raise AuditKeysInvalid(f"audit key id {key_id!r}: use 1–32 of A–Z a–z 0–9 _ . -")
    if not _HEX.match(secret):
        raise AuditKeysInvalid(f"audit key {key_id!r}: the secret must be at least 32 hex digits")
    return AuditKey(key_id, bytes.fromhex(secret))


def ring_from_env(value: str, keyed_since: str = "") -> KeyRing:
    """`id:hex,id:hex` (oldest first), or one hex secret (id "env"); `keyed_since`: the ISO
    instant from which every record must be keyed (`SAGSFLOW_AUDIT_KEYED_SINCE`; the key
    file keeps its own). Without it, a case whose every record is unkeyed cannot be told from
    one written before keys: a database owner could rewrite a whole chain as unkeyed."""
    keys: list[AuditKey] = []
    for part in (p.strip() for p in value.split(",") if p.strip()):
        key_id, _, secret = part.rpartition(":")
        keys.append(_key(key_id or "env", secret))
    since = None
    if keyed_since.strip():
        try:
            since = datetime.fromisoformat(keyed_since.strip())
        except ValueError as error:
            raise AuditKeysInvalid(f"SAGSFLOW_AUDIT_KEYED_SINCE: {error}") from error
        if since.tzinfo is None:
            raise AuditKeysInvalid("SAGSFLOW_AUDIT_KEYED_SINCE needs an offset (e.g. +00:00)")
    return _ring(keys, keyed_since=since)


def _ring(keys: list[AuditKey], keyed_since: datetime | None) -> KeyRing:
    if not keys:
        raise AuditKeysInvalid("no audit key given")
    by_id = {k.id: k for k in keys}
    if len(by_id) != len(keys):
        raise AuditKeysInvalid("two audit keys share an id")
    return KeyRing(keys=by_id, current=keys[-1], keyed_since=keyed_since)


def _read(path: Path) -> KeyRing:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        entries = document["keys"]
        keys = [_key(str(e["id"]), str(e["secret"])) for e in entries]
        since = datetime.fromisoformat(str(entries[0]["created_at"])) if entries else None
    except (OSError, ValueError, KeyError, TypeError, IndexError) as error:
        if isinstance(error, AuditKeysInvalid):
            raise
        raise AuditKeysInvalid(f"audit key file {path}: {error}") from error
    return _ring(keys, keyed_since=since)


def _new_entry(key_id: str, now: datetime) -> dict[str, str]:
    return {
        "id": key_id,
        "secret": secrets.token_hex(32),
        "created_at": now.astimezone(UTC).isoformat(),
    }


def ring_from_file(path: Path, *, now: datetime) -> KeyRing:
    """The key ring kept in `path`, created with one key (0600) when there is none yet; two
    processes starting at once agree on the first one's file."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"keys": [_new_entry("k1", now)]}, indent=2) + "\n"
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(text)
    return _read(path)


def rotate(path: Path, *, now: datetime) -> str:
    """Add a new key to the key file, which MACs every record from now on; its id."""
    ring = ring_from_file(path, now=now)
    document = json.loads(path.read_text(encoding="utf-8"))
    taken = set(ring.keys)
    number = len(taken) + 1
    while f"k{number}" in taken:
        number += 1
    key_id = f"k{number}"
    document["keys"].append(_new_entry(key_id, now))
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(json.dumps(document, indent=2) + "\n")
    os.replace(temporary, path)
    return key_id


def key_ring(configured: str, path: Path, *, now: datetime, keyed_since: str = "") -> KeyRing:
    """The installation's keys: the configured ones, else the key file's."""
    if configured.strip():
        return ring_from_env(configured, keyed_since)
    return ring_from_file(path, now=now)
