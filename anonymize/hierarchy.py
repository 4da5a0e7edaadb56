"""Generalization hierarchies as data, in ARX's format: value;level1;...;*.

Each row lists one original value and its generalization at every level; the last level is
the root. A hierarchy is valid when equal labels at one level have equal labels above it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from anonymize.errors import InvalidHierarchy
from anonymize.text import decode_japanese_text

ROOT = "*"


@dataclass(frozen=True)
class Hierarchy:
    """A generalization hierarchy: rows of (value, level 1, ..., root)."""

    rows: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        _validate(self.rows)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[str]]) -> Hierarchy:
        """Build from an iterable of rows (value first, root last)."""
        return cls(tuple(tuple(str(cell) for cell in row) for row in rows))

    @classmethod
    def from_csv(cls, source: str | Path, sep: str = ";") -> Hierarchy:
        """Load an ARX hierarchy file (UTF-8 or CP932)."""
        raw = Path(source).read_bytes()
        text = decode_text(raw)
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        return cls.from_rows(row for row in reader if row)

    @classmethod
    def flat(cls, values: Iterable[str]) -> Hierarchy:
        """A two-level hierarchy: each value, then the root."""
        return cls.from_rows((value, ROOT) for value in sorted(set(values)))

    @property
    def height(self) -> int:
        """Number of levels including the original values and the root."""
        return len(self.rows[0])

    @property
    def values(self) -> list[str]:
        """The original (level-0) values."""
        return [row[0] for row in self.rows]

    def level(self, level: int) -> list[str]:
        """Labels at one level, row by row."""
        return [row[level] for row in self.rows]


def decode_text(raw: bytes) -> str:
    """Decode bytes as UTF-8 (with or without BOM), falling back to CP932 (Shift_JIS)."""
    return decode_japanese_text(raw)[0]


def _validate(rows: tuple[tuple[str, ...], ...]) -> None:
    """Raise InvalidHierarchy unless the rows form a tree with one root."""
    if not rows:
        raise InvalidHierarchy("a hierarchy needs at least one row")
    height = len(rows[0])
    if any(len(row) != height for row in rows):
        raise InvalidHierarchy("every hierarchy row needs the same number of levels")
    leaves = [row[0] for row in rows]
    if len(set(leaves)) != len(leaves):
        raise InvalidHierarchy(f"{len(leaves) - len(set(leaves))} value(s) are listed twice")
    if height > 1 and len({row[-1] for row in rows}) != 1:
        raise InvalidHierarchy("the last level must be a single root value")
    for level in range(1, height - 1):
        parent: dict[str, str] = {}
        for row in rows:
            if parent.setdefault(row[level], row[level + 1]) != row[level + 1]:
                raise InvalidHierarchy(
                    f"level {level} has a label with two different parents at level {level + 1}"
                )
