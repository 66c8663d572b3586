"""The signed checkpoints, read: what the latest one says the database held, and the access
log's chain checked (docs/decisions/019-keyed-chain-and-checkpoints.md).

A checkpoint is one line of canonical JSON, MACed with the installation's key, written both to
the `audit_checkpoint` table and to an append-only file outside the database. The file is the
anchor: a database restored from an old backup, or one whose rows were deleted, no longer holds
what the file says it held. Each line carries the heads that advanced since the line before
(`changed`); folded from the first line, they give every case's head as last signed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Row, func, select

from models.database import reading
from models.repository import ACCESS_CHAIN, ACCESS_LOG, AUDIT, CASE, CHECKPOINT, LOG_HEAD
from sagsflow.context import Context
from statemachine.audit import (
    GENESIS,
    Heads,
    KeyRing,
    canonical_json,
    fold,
    heads_digest,
    sign_checkpoint,
    verify_access_row,
)
from statemachine.calendar import local_iso


class Finding(Protocol):
    """Where a finding goes: the case (0: none), the record, its code and parameters."""

    def __call__(self, case_id: int, seq: int, code: str, /, **params: Any) -> None: ...


def unheeded(case_id: int, seq: int, code: str, /, **params: Any) -> None:
    """A Finding that goes nowhere (what another check reports)."""


@dataclass(frozen=True)
class SignedLine:
    """One checkpoint line, its MAC checked."""

    number: int
    line: dict[str, Any]  # without the MAC
    mac: str

    @property
    def text(self) -> str:
        return canonical_json(self.line)


def _checked(line: dict[str, Any], mac: str, keys: KeyRing, where: str, add: Finding) -> bool:
    number = int(line.get("n", 0))
    key = keys.get(str(line.get("key_id", "")))
    if key is None:
        add(0, number, "checkpoint_unknown_key", number=number, where=where)
        return False
    if sign_checkpoint(line, key) != mac:
        add(0, number, "checkpoint_mac", number=number, where=where)
        return False
    return True


def file_lines(path: Path, keys: KeyRing, add: Finding) -> list[SignedLine] | None:
    """The checkpoint file's lines, each MAC checked and linked to the one before (None: no
    file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    lines: list[SignedLine] = []
    for place, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            document = json.loads(raw)
            mac = str(document.pop("mac"))
        except (ValueError, KeyError, AttributeError):
            add(0, place, "checkpoint_unreadable", number=place, where="file")
            continue
        if _checked(document, mac, keys, "file", add):
            lines.append(SignedLine(int(document["n"]), document, mac))
    _linked(lines, "file", add)
    return lines


def _linked(lines: list[SignedLine], where: str, add: Finding) -> None:
    """Each line follows the one before it (number and MAC). The table begins at 1; a file may
    begin later: one started anew after a deliberate restore (decision 019)."""
    if not lines:
        return
    first = 1 if where == "table" else lines[0].number
    previous = lines[0].line.get("prev", "") if first > 1 else ""
    for expected, signed in enumerate(lines, start=first):
        if signed.number != expected or signed.line.get("prev", "") != previous:
            add(0, signed.number, "checkpoint_order", number=expected, where=where)
            return
        previous = signed.mac


def table_lines(connection: Connection, keys: KeyRing, add: Finding) -> list[SignedLine]:
    rows = connection.execute(select(CHECKPOINT).order_by(CHECKPOINT.c.id)).all()
    lines: list[SignedLine] = []
    for row in rows:
        try:
            document = json.loads(row.line)
        except ValueError:
            add(0, int(row.id), "checkpoint_unreadable", number=int(row.id), where="table")
            continue
        if _checked(document, row.mac, keys, "table", add):
            lines.append(SignedLine(int(document["n"]), document, row.mac))
    _linked(lines, "table", add)
    return lines


def expected_heads(lines: list[SignedLine]) -> Heads:
    heads: Heads = {}
    for signed in lines:
        fold(heads, signed.line.get("changed", []))
    return heads


@dataclass
class Anchor:
    """What the latest trusted checkpoint says; checked case by case as the verify streams."""

    number: int = 0
    at: str = ""
    source: str = ""
    heads: Heads = field(default_factory=dict)
    access: tuple[int, str] | None = None

    def case(self, case_id: int, hashes: list[str], add: Finding) -> None:
        """A case whose records (their MACs in seq order) are `hashes`."""
        signed = self.heads.pop(case_id, None)
        if signed is None:
            return
        seq, head = signed
        if len(hashes) < seq:
            first = len(hashes) + 1
            code = "record_gone" if first == seq else "tail_gone"
            add(case_id, first, code, first=first, last=seq, number=self.number)
        elif hashes[seq - 1] != head:
            add(case_id, seq, "record_differs", seq=seq, number=self.number)

    def gone(self, case_id: int, add: Finding) -> None:
        """A case row that no longer exists (its records may remain: they are orphans)."""
        signed = self.heads.pop(case_id, None)
        if signed is not None:
            add(case_id, signed[0], "case_gone", number=self.number, records=signed[0])

    def rest(self, add: Finding) -> None:
        for case_id in sorted(self.heads):
            self.gone(case_id, add)


def anchor(context: Context, connection: Connection, add: Finding) -> Anchor:
    """The latest checkpoint to check the database against: the file's when there is a file
    (the table's lines must agree with it), else the table's own."""
    keys = context.keys
    in_table = table_lines(connection, keys, add)
    path = Path(context.checkpoint_file) if context.checkpoint_file else None
    in_file = file_lines(path, keys, add) if path is not None else None
    if in_file is None:
        if in_table and path is not None:
            add(0, in_table[-1].number, "checkpoint_file_missing", path=str(path))
        trusted, source = in_table, "table"
    else:
        trusted, source = in_file, "file"
        stored = {s.number: s for s in in_table}
        for signed in in_file:
            row = stored.pop(signed.number, None)
            if row is None:
                add(
                    0,
                    signed.number,
                    "checkpoint_rolled_back",
                    number=signed.number,
                    at=local_iso_text(signed),
                )
            elif row.mac != signed.mac:
                add(0, signed.number, "checkpoint_differs", number=signed.number)
        begins = in_file[0].number if in_file else 1
        for number in sorted(n for n in stored if n >= begins):
            add(0, number, "checkpoint_not_in_file", number=number)
    if not trusted:
        return Anchor()
    last = trusted[-1]
    # A file begun anew after a restore: the heads signed before it are the table's.
    before = [t for t in in_table if t.number < trusted[0].number]
    heads = expected_heads([*before, *trusted])
    if heads_digest(heads) != last.line.get("heads_digest"):
        add(0, last.number, "checkpoint_digest", number=last.number)
    access = last.line.get("access")
    return Anchor(
        number=last.number,
        at=local_iso_text(last),
        source=source,
        heads=heads,
        access=(int(access[0]), str(access[1])) if access else None,
    )


def local_iso_text(signed: SignedLine) -> str:
    from datetime import datetime

    return local_iso(datetime.fromisoformat(str(signed.line["at"]))) or ""


def _access_rows(connection: Connection) -> Iterator[Row[Any]]:
    query = select(ACCESS_LOG).where(ACCESS_LOG.c.seq.is_not(None)).order_by(ACCESS_LOG.c.seq)
    result = connection.execution_options(stream_results=True, yield_per=5000).execute(query)
    yield from result


def verify_access_log(connection: Connection, keys: KeyRing, signed: Anchor, add: Finding) -> int:
    """The access log's chain from row 1: every row MACed, linked and in place; the head row
    its last; and what the latest checkpoint signed of it still there. Rows from before the
    chain (no seq) are accepted only before its first row. Returns the rows checked."""
    expected_seq, previous, checked, first_id = 1, GENESIS, 0, None
    signed_seq, signed_hash = signed.access or (0, "")
    broken = False
    for row in _access_rows(connection):
        checked += 1
        first_id = row.id if first_id is None else first_id
        if row.seq == signed_seq and row.hash != signed_hash:
            add(0, row.seq, "access_row_differs", seq=row.seq, number=signed.number)
        if broken:
            continue
        wrong = verify_access_row(dict(row._mapping), expected_seq, previous, keys)
        if wrong is not None:
            add(wrong.case_id, wrong.seq, wrong.code, **wrong.params)
            broken = True
            continue
        expected_seq, previous = expected_seq + 1, row.hash
    last = expected_seq - 1
    head = connection.execute(
        select(LOG_HEAD.c.seq, LOG_HEAD.c.hash).where(LOG_HEAD.c.name == ACCESS_CHAIN)
    ).first()
    if not broken and head is not None and (head.seq, head.hash) != (last, previous):
        add(0, last + 1, "access_head_mismatch", head=head.seq, rows=last)
    if signed_seq > last and not broken:
        add(0, last + 1, "access_rows_gone", first=last + 1, last=signed_seq, number=signed.number)
    if first_id is not None:
        outside = connection.execute(
            select(func.count())
            .select_from(ACCESS_LOG)
            .where(ACCESS_LOG.c.seq.is_(None), ACCESS_LOG.c.id > first_id)
        ).scalar_one()
        if outside:
            add(0, 0, "access_outside_chain", count=outside)
    return checked


def check_access(context: Context, signed: Anchor, add: Finding) -> int:
    with reading(context.engine) as connection:
        return verify_access_log(connection, context.keys, signed, add)


def load_anchor(context: Context, add: Finding) -> Anchor:
    with reading(context.engine) as connection:
        return anchor(context, connection, add)


# --- what a new checkpoint signs ----------------------------------------------------------------


def current_heads(connection: Connection) -> tuple[Heads, int]:
    """Every case's chain head as its row holds it, and how many audit records there are."""
    rows = connection.execute(
        select(CASE.c.id, CASE.c.audit_seq, CASE.c.audit_hash).where(CASE.c.audit_seq > 0)
    )
    heads: Heads = {int(r.id): (int(r.audit_seq), str(r.audit_hash)) for r in rows}
    records = connection.execute(select(func.count()).select_from(AUDIT)).scalar_one()
    return heads, int(records)


def access_head(connection: Connection) -> tuple[int, str] | None:
    row = connection.execute(
        select(LOG_HEAD.c.seq, LOG_HEAD.c.hash).where(LOG_HEAD.c.name == ACCESS_CHAIN)
    ).first()
    return None if row is None else (int(row.seq), str(row.hash))
