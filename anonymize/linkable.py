"""Detect data a recipient could link to a person (個人関連情報, APPI art. 2(7) and art. 31).

Cookie IDs, device IDs, advertising IDs (IDFA / GAID) and location traces identify nobody by
themselves, so they are not personal information to the seller; a buyer that can join them to
what it holds makes them personal information, so providing them needs the buyer to confirm it
holds the people's consent (APPI art. 31). A column is found by its name (kanji, kana or romaji)
or by its values: UUID-shaped advertising IDs, MAC addresses, long opaque tokens (cookies and
hashed device IDs), latitude/longitude pairs in one column or in two adjacent columns, and
geohashes. Values are tested once per distinct value with pandas' vectorised string methods;
findings name columns and counts, never a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from anonymize.idcodes import normalize

#: Share of a column's present cells that must have a shape for the column to be found by it.
VALUE_SHARE = 0.9


class LinkableKind(StrEnum):
    """What kind of linkable identifier a column holds."""

    COOKIE_ID = "cookie_id"
    DEVICE_ID = "device_id"
    ADVERTISING_ID = "advertising_id"
    LOCATION = "location"


@dataclass(frozen=True)
class LinkableColumn:
    """One column found to hold linkable data, and why (counts and names only)."""

    column: str
    kind: LinkableKind
    reason: str


# (kind, name keywords), matched against the name lower-cased with spaces, "_" and "-" removed.
_NAMES: tuple[tuple[LinkableKind, tuple[str, ...]], ...] = (
    (LinkableKind.COOKIE_ID, ("cookie", "クッキー", "sessionid")),
    (
        LinkableKind.ADVERTISING_ID,
        ("idfa", "gaid", "adid", "aaid", "advertisingid", "adverid", "広告id", "広告識別子"),
    ),
    (
        LinkableKind.DEVICE_ID,
        (
            "deviceid",
            "device",
            "デバイス",
            "端末id",
            "端末識別",
            "端末番号",
            "imei",
            "udid",
            "androidid",
            "idfv",
            "macaddress",
            "macaddr",
        ),
    ),
    (
        LinkableKind.LOCATION,
        ("latitude", "longitude", "緯度", "経度", "geohash", "位置情報", "gps", "latlon", "latlng"),
    ),
)
# Short location names must be the whole name (or a whole word): "lat" is not "plate".
_SHORT_LOCATION = re.compile(r"(?:^|[^a-z])(lat|lon|lng)(?:$|[^a-z])")

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_MAC = r"[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}"
_OPAQUE = r"[0-9A-Za-z_\-+/=.]{16,128}"
_COORDINATE = r"-?\d{1,3}\.\d{3,}"
_PAIR = rf"\(?\s*({_COORDINATE})\s*[,/ ]\s*({_COORDINATE})\s*\)?"
_GEOHASH = r"[0-9bcdefghjkmnpqrstuvwxyz]{5,12}"


def detect_linkable(frame: pd.DataFrame) -> tuple[LinkableColumn, ...]:
    """Every column of `frame` holding cookie, device or advertising IDs or location traces."""
    names = [str(name) for name in frame.columns]
    texts = [_present_counts(frame.iloc[:, i]) for i in range(len(names))]
    found: dict[str, LinkableColumn] = {}
    for name, counts in zip(names, texts, strict=True):
        finding = _by_name(name) or _by_values(name, counts)
        if finding is not None:
            found[name] = finding
    for (left, left_counts), (right, right_counts) in zip(
        zip(names, texts, strict=True), zip(names[1:], texts[1:], strict=True), strict=False
    ):
        if left in found or right in found:
            continue
        if _coordinates(left_counts, 90) and _coordinates(right_counts, 180):
            reason = "with the next column, values are latitude/longitude pairs"
            found[left] = LinkableColumn(left, LinkableKind.LOCATION, reason)
            found[right] = LinkableColumn(
                right,
                LinkableKind.LOCATION,
                "with the previous column, values are latitude/longitude pairs",
            )
    return tuple(found[name] for name in names if name in found)


def linkable_identifiers(frame: pd.DataFrame) -> tuple[LinkableColumn, ...]:
    """Columns holding cookie, device or advertising IDs by name, or UUID or MAC values.

    What a release scan blocks: long opaque tokens are left out, since the anonymizer's own
    unlinkable replacement codes (standard 3) have that shape.
    """
    ids = (LinkableKind.COOKIE_ID, LinkableKind.DEVICE_ID, LinkableKind.ADVERTISING_ID)
    return tuple(
        found
        for found in detect_linkable(frame)
        if found.kind in ids and "opaque tokens" not in found.reason
    )


def _present_counts(column: pd.Series) -> pd.Series:
    """Distinct present values (stripped text) and how many cells hold each."""
    text = column.dropna().astype(str).str.strip()
    return text[text != ""].value_counts(sort=False)


def _by_name(name: str) -> LinkableColumn | None:
    text = normalize(name).lower()
    squeezed = re.sub(r"[\s_\-]", "", text)
    for kind, keywords in _NAMES:
        for keyword in keywords:
            if keyword in squeezed:
                return LinkableColumn(name, kind, f"column name matches {keyword!r}")
    short = _SHORT_LOCATION.search(text)
    if short is not None:
        return LinkableColumn(name, LinkableKind.LOCATION, f"column name matches {short[1]!r}")
    return None


def _share(counts: pd.Series, matches: pd.Series[bool] | npt.NDArray[np.bool_]) -> float:
    """Share of present cells whose distinct value matches."""
    total = int(counts.sum())
    return float(counts[np.asarray(matches, dtype=bool)].sum()) / total if total else 0.0


def _by_values(name: str, counts: pd.Series) -> LinkableColumn | None:
    if counts.empty:
        return None
    values = pd.Series(counts.index.astype(str), index=counts.index)
    share = _share(counts, values.str.fullmatch(_UUID))
    if share >= VALUE_SHARE:
        return LinkableColumn(
            name,
            LinkableKind.ADVERTISING_ID,
            f"{share:.0%} of values are UUIDs, the shape of advertising IDs (IDFA/GAID)",
        )
    share = _share(counts, values.str.fullmatch(_MAC))
    if share >= VALUE_SHARE:
        return LinkableColumn(
            name, LinkableKind.DEVICE_ID, f"{share:.0%} of values are MAC addresses"
        )
    if _pairs(values, counts) >= VALUE_SHARE:
        return LinkableColumn(name, LinkableKind.LOCATION, "values are latitude/longitude pairs")
    if _geohashes(values, counts) >= VALUE_SHARE:
        return LinkableColumn(name, LinkableKind.LOCATION, "values are geohashes")
    if _opaque_tokens(values, counts) >= VALUE_SHARE:
        return LinkableColumn(
            name,
            LinkableKind.COOKIE_ID,
            "values are long, distinct opaque tokens (cookie or hashed device IDs)",
        )
    return None


def _pairs(values: pd.Series, counts: pd.Series) -> float:
    parts = values.str.extract(f"^{_PAIR}$")
    latitude = pd.to_numeric(parts[0], errors="coerce")
    longitude = pd.to_numeric(parts[1], errors="coerce")
    fits = (latitude.abs() <= 90) & (longitude.abs() <= 180)
    return _share(counts, fits.to_numpy())


def _coordinates(counts: pd.Series, bound: int) -> bool:
    """Whether a column holds fine-grained coordinates (3+ decimals) within ±bound."""
    if counts.empty or len(counts) < 2:
        return False
    values = pd.Series(counts.index.astype(str), index=counts.index)
    shaped = values.str.fullmatch(_COORDINATE).to_numpy(dtype=bool)
    numbers = pd.to_numeric(values.where(shaped), errors="coerce").abs()
    return _share(counts, shaped & (numbers <= bound).to_numpy()) >= VALUE_SHARE


def _geohashes(values: pd.Series, counts: pd.Series) -> float:
    """Geohash alphabet (no a, i, l, o), one length, mostly with a digit: not plain words."""
    shaped = values.str.fullmatch(_GEOHASH).to_numpy(dtype=bool)
    lengths = values.str.len().to_numpy()
    if not shaped.any() or len(np.unique(lengths[shaped])) != 1:
        return 0.0
    with_digit = values.str.contains(r"\d", regex=True).to_numpy(dtype=bool)
    if _share(counts, shaped & with_digit) < 0.5:
        return 0.0
    return _share(counts, shaped)


def _opaque_tokens(values: pd.Series, counts: pd.Series) -> float:
    """Long tokens of one length, mixing letters and digits, nearly all distinct."""
    if int(counts.sum()) < 2 or len(counts) < 0.9 * int(counts.sum()):
        return 0.0
    shaped = values.str.fullmatch(_OPAQUE).to_numpy(dtype=bool)
    mixed = (
        values.str.contains(r"\d", regex=True) & values.str.contains(r"[A-Za-z]", regex=True)
    ).to_numpy(dtype=bool)
    lengths = values.str.len().to_numpy()
    if not (shaped & mixed).any():
        return 0.0
    common = np.bincount(lengths[shaped & mixed]).argmax()
    return _share(counts, shaped & mixed & (lengths == common))
