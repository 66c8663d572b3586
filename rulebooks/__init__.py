"""The shipped rulebooks (data) and the loader that validates them.

Layout: `rulebooks/<id>/<version>.yaml`, one file per version; `municipalities.yaml` says which
rulebook each municipality follows. A broken file is refused at load with file, path and reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from statemachine.errors import RulebookInvalid
from statemachine.rulebook import Rulebook

SHIPPED = Path(__file__).resolve().parent
DEFAULT_RULEBOOK = "default"


# libyaml's safe loader when present: the same data, about 8 times faster at start-up.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class UnknownRulebook(LookupError):
    """No rulebook (version) by that name (`reference`), or none in force on a date (`on`)."""

    def __init__(self, message: str, *, reference: str, on: date | None = None) -> None:
        self.reference = reference
        self.on = on
        super().__init__(message)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except OSError as error:
        raise RulebookInvalid(str(path), [("(file)", error.strerror or str(error))]) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise RulebookInvalid(str(path), [(where, f"not valid YAML: {error}")]) from None


def load(path: Path | str) -> Rulebook:
    """Read and validate one rulebook file; raises RulebookInvalid naming file, path and reason."""
    path = Path(path)
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise RulebookInvalid(str(path), [("(file)", "a rulebook is a mapping at the top level")])
    try:
        rulebook = Rulebook.model_validate(raw)
    except ValidationError as error:
        problems: list[tuple[str, str]] = []
        for e in error.errors():
            # Cross-field checks of the whole rulebook carry their own paths (Rulebook._consistent).
            nested = e.get("ctx", {}).get("problems")
            if nested:
                problems.extend((str(where), str(why)) for where, why in nested)
            else:
                problems.append((".".join(str(p) for p in e["loc"]) or "(top)", e["msg"]))
        raise RulebookInvalid(str(path), problems) from None
    return rulebook


@dataclass(frozen=True)
class Catalogue:
    """Every rulebook version known to this installation, and which municipality follows which."""

    rulebooks: tuple[Rulebook, ...]
    municipalities: tuple[tuple[str, str], ...]

    def rulebook_id_for(self, municipality: str) -> str:
        return dict(self.municipalities).get(municipality, DEFAULT_RULEBOOK)

    def versions(self, rulebook_id: str) -> list[Rulebook]:
        return sorted(
            (r for r in self.rulebooks if r.id == rulebook_id), key=lambda r: r.effective_from
        )

    def get(self, rulebook_id: str, version: str) -> Rulebook:
        for rulebook in self.rulebooks:
            if rulebook.id == rulebook_id and rulebook.version == version:
                return rulebook
        known = ", ".join(sorted(r.key for r in self.rulebooks))
        raise UnknownRulebook(
            f"no rulebook {rulebook_id}@{version} (known: {known})",
            reference=f"{rulebook_id}@{version}",
        )

    def in_force(self, rulebook_id: str, on: date) -> Rulebook:
        """The version of `rulebook_id` in force on `on` (a case is pinned to it for good)."""
        candidates = [r for r in self.versions(rulebook_id) if r.effective_from <= on]
        if not candidates:
            raise UnknownRulebook(
                f"no version of rulebook {rulebook_id} is in force on {on}",
                reference=rulebook_id,
                on=on,
            )
        return candidates[-1]

    def taking_over(self, pinned: Rulebook, on: date) -> Rulebook | None:
        """The version that takes a case pinned to `pinned` over on `on`: the latest version of
        its rulebook in force then that applies to open cases and is newer than `pinned`; None
        when the case keeps its version (docs/decisions/015-law-in-force-on-the-event-date.md).

        A version with `applies_to_open_cases: false` (a municipality's new service level)
        takes over nothing, and does not stop an earlier change of law from taking over."""
        found = None
        for candidate in self.versions(pinned.id):
            if candidate.effective_from > on:
                break
            if candidate.applies_to_open_cases and candidate.effective_from > pinned.effective_from:
                found = candidate
        return found

    def taken_over(self, on: date) -> dict[tuple[str, str], Rulebook]:
        """Every (id, version) whose open cases a version in force on `on` takes over, with the
        version that takes them (`taking_over`); empty when no change of law is due."""
        found: dict[tuple[str, str], Rulebook] = {}
        for rulebook in self.rulebooks:
            successor = self.taking_over(rulebook, on)
            if successor is not None:
                found[(rulebook.id, rulebook.version)] = successor
        return found

    def resolve(self, reference: str, default_id: str) -> Rulebook:
        """`id@version` or a bare version of `default_id`."""
        rulebook_id, _, version = reference.rpartition("@")
        return self.get(rulebook_id or default_id, version)


def _rulebook_files(directory: Path) -> Iterable[Path]:
    return sorted(p for p in directory.glob("*/*.yaml") if p.is_file())


def read_catalogue(directories: Iterable[Path] = ()) -> Catalogue:
    """Load the shipped rulebooks and those under extra directories (same layout)."""
    rulebooks: dict[str, Rulebook] = {}
    municipalities: dict[str, str] = {}
    for directory in (SHIPPED, *directories):
        for path in _rulebook_files(directory):
            rulebook = load(path)
            if (path.parent.name, path.stem) != (rulebook.id, rulebook.version):
                raise RulebookInvalid(
                    str(path),
                    [("id/version", f"file must be {rulebook.id}/{rulebook.version}.yaml")],
                )
            rulebooks[rulebook.key] = rulebook
        mapping_file = directory / "municipalities.yaml"
        if mapping_file.exists():
            raw = _read_yaml(mapping_file) or {}
            municipalities.update(
                {str(k): str(v) for k, v in raw.get("municipalities", {}).items()}
            )
    for municipality, rulebook_id in municipalities.items():
        if not any(r.id == rulebook_id for r in rulebooks.values()):
            raise RulebookInvalid(
                "municipalities.yaml", [(municipality, f"unknown rulebook {rulebook_id}")]
            )
    return Catalogue(tuple(rulebooks.values()), tuple(sorted(municipalities.items())))


@cache
def shipped_catalogue(extra: tuple[str, ...] = ()) -> Catalogue:
    """The catalogue, read once per process."""
    return read_catalogue(Path(p) for p in extra)
