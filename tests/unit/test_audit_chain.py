"""The chain's MAC, pure (statemachine/audit.py): a keyed record verifies only under its key,
any change to any field breaks it, and an unkeyed record is the plain SHA-256 it always was."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import fields, replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from statemachine.audit import (
    GENESIS,
    AuditEntry,
    AuditKey,
    KeyRing,
    advanced,
    fold,
    heads_digest,
    verify_chain,
)

KEY = AuditKey("k1", bytes(range(32)))
RING = KeyRing({"k1": KEY}, KEY, datetime(2026, 1, 1, tzinfo=UTC))
AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ENTRY = AuditEntry(
    case_id=7, seq=1, event="open_case", from_phase=None, to_phase="inquiry", event_at=AT,
    recorded_at=AT, actor="anna", role="caseworker", payload='{"source":"inquiry"}',
    legal_basis="Barnets Lov §19", rulebook="default@2024.1", channel="cli", os_user="ops",
)  # fmt: skip


def _text(**extra: object) -> str:
    fields_ = {
        "case_id": 7, "seq": 1, "event": "open_case", "from_phase": None, "to_phase": "inquiry",
        "event_at": "2026-03-02T08:00:00.000000+00:00",
        "recorded_at": "2026-03-02T08:00:00.000000+00:00", "actor": "anna",
        "role": "caseworker", "payload": '{"source":"inquiry"}',
        "legal_basis": "Barnets Lov §19", "rulebook": "default@2024.1", "prev_hash": GENESIS,
        **extra,
    }  # fmt: skip
    return json.dumps(fields_, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_an_unkeyed_record_is_the_sha256_of_its_canonical_text_as_before_keys() -> None:
    assert ENTRY.digest(GENESIS) == hashlib.sha256(_text().encode()).hexdigest()


def test_a_keyed_record_is_the_hmac_of_its_text_with_the_key_id_and_its_origin() -> None:
    text = _text(key_id="k1", channel="cli", os_user="ops", as_operator=False)
    expected = hmac.new(bytes(range(32)), text.encode(), hashlib.sha256).hexdigest()
    assert ENTRY.digest(GENESIS, KEY) == expected


def _chain(
    entry: AuditEntry, key: AuditKey | None
) -> list[tuple[AuditEntry, str, str, str | None]]:
    return [(entry, GENESIS, entry.digest(GENESIS, key), key.id if key else None)]


def test_a_keyed_record_verifies_under_its_key_and_not_under_another() -> None:
    assert verify_chain(_chain(ENTRY, KEY), RING).found is None
    other = KeyRing({"k1": AuditKey("k1", b"x" * 32)}, None, None)
    assert verify_chain(_chain(ENTRY, KEY), other).found.code == "mac_mismatch"
    assert verify_chain(_chain(ENTRY, KEY), KeyRing()).found.code == "unknown_key"


_CHANGEABLE = [f.name for f in fields(AuditEntry) if f.name not in ("event_at", "recorded_at")]


@given(name=st.sampled_from(_CHANGEABLE), value=st.text(min_size=1, max_size=8))
def test_changing_any_field_of_a_keyed_record_breaks_its_mac(name: str, value: str) -> None:
    original = getattr(ENTRY, name)
    changed_value: object = (
        original + 1 if isinstance(original, int) and not isinstance(original, bool)
        else (not original) if isinstance(original, bool)
        else value if value != original else value + "x"
    )  # fmt: skip
    [(_, prev, mac, key_id)] = _chain(ENTRY, KEY)
    changed = replace(ENTRY, **{name: changed_value})
    found = verify_chain([(changed, prev, mac, key_id)], RING).found
    assert found is not None
    assert found.code in ("mac_mismatch", "record_missing")


def test_an_unkeyed_record_after_the_key_existed_is_named() -> None:
    assert verify_chain(_chain(ENTRY, None), RING).found.code == "without_key"
    before = replace(RING, keyed_since=datetime(2027, 1, 1, tzinfo=UTC))
    assert verify_chain(_chain(ENTRY, None), before).found is None


def test_a_checkpoint_signs_only_heads_that_advanced() -> None:
    signed = {1: (3, "a"), 2: (5, "b")}
    now = {1: (4, "c"), 2: (5, "b"), 3: (1, "d"), 4: (0, "")}
    now.pop(4)
    changed = advanced(signed, now)
    assert changed == [[1, 4, "c"], [3, 1, "d"]]
    # a head that went back is not the new truth
    assert advanced(signed, {1: (2, "x"), 2: (5, "b")}) == []
    heads = fold(dict(signed), changed)
    assert heads == {1: (4, "c"), 2: (5, "b"), 3: (1, "d")}
    assert heads_digest(heads) == hashlib.sha256(b"1:4:c\n2:5:b\n3:1:d\n").hexdigest()
