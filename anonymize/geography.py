"""Japanese geography: address -> municipality -> prefecture -> region -> *.

The 47 prefectures (JIS X 0401 codes) and the eight regions ship in prefectures.csv.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from anonymize.errors import HierarchyMissingValue
from anonymize.hierarchy import ROOT, Hierarchy

# A municipality ends at the first 市, 区 (Tokyo's special wards), 町 or 村 after at least one
# character, after an optional 郡 (district); a following 市 belongs to it (四日市市, 大町市);
# wards of designated cities (横浜市中区) are cut to the city.
_MUNICIPALITY = re.compile(r"^(?:.+?郡)?.+?[市区町村]市?")


@dataclass(frozen=True)
class Prefecture:
    """One of the 47 prefectures."""

    code: str
    name: str
    name_en: str
    region: str
    region_en: str


@lru_cache(maxsize=1)
def prefectures() -> tuple[Prefecture, ...]:
    """The 47 prefectures in JIS order."""
    text = resources.files("anonymize").joinpath("prefectures.csv").read_text("utf-8")
    return tuple(Prefecture(**row) for row in csv.DictReader(io.StringIO(text)))


def regions() -> list[str]:
    """The eight regions, in JIS order of their first prefecture."""
    return list(dict.fromkeys(p.region for p in prefectures()))


def split_address(address: str) -> tuple[Prefecture, str] | None:
    """Return (prefecture, municipality label) of an address, or None if no prefecture leads it."""
    text = unicodedata.normalize("NFKC", address).strip()
    for prefecture in prefectures():
        short = prefecture.name if prefecture.name == "北海道" else prefecture.name[:-1]
        for head in (prefecture.name, short):
            if text.startswith(head) and (head == prefecture.name or _short_ok(text, head)):
                rest = text[len(head) :]
                match = _MUNICIPALITY.match(rest)
                municipality = match.group(0) if match else ""
                return prefecture, prefecture.name + municipality
    return None


def _short_ok(text: str, head: str) -> bool:
    """Accept a prefecture name without 都府県 only when a municipality follows directly."""
    return bool(_MUNICIPALITY.match(text[len(head) :]))


def geography_hierarchy(addresses: Iterable[str], column: str = "address") -> Hierarchy:
    """Addresses (or bare prefecture names) -> municipality -> prefecture -> region -> *."""
    rows = []
    missing = 0
    for address in sorted(set(addresses)):
        split = split_address(address)
        if split is None:
            missing += 1
            continue
        prefecture, municipality = split
        rows.append((address, municipality, prefecture.name, prefecture.region, ROOT))
    if missing:
        raise HierarchyMissingValue(column, missing, missing)
    return Hierarchy.from_rows(rows)


def prefecture_hierarchy() -> Hierarchy:
    """Prefecture -> region -> * for columns that already hold prefecture names."""
    return Hierarchy.from_rows((p.name, p.region, ROOT) for p in prefectures())
