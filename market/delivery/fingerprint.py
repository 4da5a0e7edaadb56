"""Per-licence fingerprints of delivered CSV copies, and their detection in a leaked copy (pure).

Two channels, neither of which changes a value (docs/delivery.md):

- Row order. Within each block of `BLOCK_ROWS` consecutive stored rows, a licence's copy lists
  the rows in ascending order of v = SipHash-2-4(order key, row content). Dropping rows keeps
  what remains in ascending order, and v is computed over the columns by name, so reordering
  columns changes nothing. In a copy made for another licence, or in any unrelated file, v of
  neighbouring rows rises or falls like a coin toss.
- Quoting. A row is written with every field quoted when a keyed bit of the row is 1, with
  minimal quoting otherwise. A CSV reader sees the same values either way. This channel
  survives row reordering (`sort`, `shuf`, `grep`) as long as the bytes of each line are kept,
  and is lost when a tool re-serializes the file.

Values stay exactly as stored (the quasi-identifiers and sensitive values of 匿名加工情報 above
all), so every class of equal quasi-identifiers and the verified privacy level are unchanged.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from market.csv_formulas import FORMULA_STARTS, is_formula_like
from market.csv_ingest import decode_csv_bytes
from market.errors import InvalidRequest

BLOCK_ROWS = 10_000
KEY_LABEL = b"datamarket fingerprint v1\x00"
# A leak is named only with this many informative neighbour pairs (order) or rows (quoting) and
# this share agreeing; an unrelated file passes with probability below 1e-11 (docs/delivery.md).
MIN_EVIDENCE = 64
ORDER_THRESHOLD = 0.75
FORMAT_THRESHOLD = 0.9
_NEEDS_QUOTES = r'[",\r\n]'
_MIX = np.uint64(0x9E3779B97F4A7C15)

UInt64Array = npt.NDArray[np.uint64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class FingerprintKey:
    """A licence's two SipHash keys, as the 16-character strings pandas' hash takes."""

    order: str
    quoting: str


def licence_key(master_key: bytes, licence_id: str) -> FingerprintKey:
    """The fingerprint key of one licence: HKDF-SHA256(master key, info = label + licence id)."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_LABEL + licence_id.encode()
    )
    derived = hkdf.derive(master_key)
    # pandas takes a 16-byte key as text: 7 bits of each byte, 112 key bits per channel.
    return FingerprintKey(_as_text(derived[:16]), _as_text(derived[16:]))


def _as_text(key: bytes) -> str:
    return "".join(chr(byte & 0x7F) for byte in key)


@dataclass(frozen=True)
class RowValues:
    """The rows of a table as codes into the distinct values of its columns, in a fixed order.

    The distinct values of all columns sit in one array (each column's codes offset into it), so
    a key hashes them in one call and gathers by code: that is what lets a trace score one leak
    against thousands of licences.
    """

    codes: list[npt.NDArray[np.intp]]
    distinct: npt.NDArray[np.object_]

    def __len__(self) -> int:
        return len(self.codes[0]) if self.codes else 0


def row_values(frame: pd.DataFrame, columns: Sequence[str]) -> RowValues:
    """The table's rows, columns taken by name in the given (the dataset's) order."""
    codes, distinct, offset = [], [], 0
    for name in columns:
        column_codes, column_distinct = pd.factorize(frame[name], use_na_sentinel=False)
        codes.append(np.asarray(column_codes, dtype=np.intp) + offset)
        distinct.append(np.asarray(column_distinct, dtype=object))
        offset += len(column_distinct)
    return RowValues(codes, np.concatenate(distinct) if distinct else np.array([], dtype=object))


def keyed_row_hash(values: RowValues, key: str) -> UInt64Array:
    """A keyed 64-bit hash of every row: SipHash-2-4 of each value, chained column by column.

    The chaining (xor, multiply by an odd constant, fold the high bits down) makes the result
    depend on each value and its column position; SipHash makes it unpredictable without the key.
    """
    hashed = np.asarray(
        pd.util.hash_array(values.distinct, encoding="utf8", hash_key=key, categorize=False),
        dtype=np.uint64,
    )
    chained = np.zeros(len(values), dtype=np.uint64)
    for codes in values.codes:
        chained ^= hashed[codes]
        chained *= _MIX
        chained ^= chained >> np.uint64(29)
    return chained


def mark_block(block: pd.DataFrame, key: FingerprintKey) -> tuple[pd.DataFrame, BoolArray]:
    """One block of stored rows in the licence's order, with the rows to write fully quoted."""
    values = row_values(block, list(block.columns))
    order = np.argsort(keyed_row_hash(values, key.order), kind="stable")
    quote_all = (keyed_row_hash(values, key.quoting) & np.uint64(1)).astype(bool)[order]
    return block.iloc[order], quote_all


def _quoted(cells: pd.Series) -> pd.Series:
    return '"' + cells.str.replace('"', '""', regex=False) + '"'


def _needs_quotes(cells: pd.Series, single_column: bool) -> pd.Series:
    needs = cells.str.contains(_NEEDS_QUOTES, regex=True)
    # A row of one empty field must be written "" or a reader takes it for a blank line.
    return needs | (cells == "") if single_column else needs


def _formula_cells(cells: pd.Series) -> BoolArray:
    """Which cells a spreadsheet would run as formulas; the cheap test first, the exact one
    (market/csv_formulas.py) only on cells that start with a trigger."""
    found = np.zeros(len(cells), dtype=bool)
    candidates = np.flatnonzero(cells.str.startswith(FORMULA_STARTS).to_numpy(dtype=bool))
    if len(candidates):
        found[candidates] = cells.iloc[candidates].map(is_formula_like).to_numpy(dtype=bool)
    return found


def excel_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with `'` before every cell a spreadsheet would run as a formula."""
    out = frame.copy()
    for name in out.columns:
        cells = out[name]
        formula = _formula_cells(cells)
        if formula.any():
            out[name] = cells.where(~formula, "'" + cells)
    return out


def count_formula_cells(frame: pd.DataFrame) -> int:
    """How many cells of the table a spreadsheet could run as formulas."""
    return sum(int(_formula_cells(frame[name]).sum()) for name in frame.columns)


def serialize(frame: pd.DataFrame, quote_all: BoolArray | None = None) -> bytes:
    """Rows as UTF-8 CSV with `\\n` line ends: minimal quoting, or every field quoted where
    `quote_all` says so (the values a reader sees are the same)."""
    if frame.empty:
        return b""
    single = len(frame.columns) == 1
    fields = []
    for name in frame.columns:
        cells = frame[name].astype(str)
        quoted = _quoted(cells)
        minimal = cells.where(~_needs_quotes(cells, single), quoted)
        fields.append(minimal if quote_all is None else minimal.where(~quote_all, quoted))
    lines = fields[0]
    if len(fields) > 1:
        lines = lines.str.cat(pd.concat(fields[1:], axis=1), sep=",")
    return ("\n".join(lines.tolist()) + "\n").encode("utf-8")


def header_line(columns: Sequence[str], *, excel_safe: bool) -> bytes:
    """The header row, quoted as the rest of a delivery (one row: the csv module suffices)."""
    names = ["'" + n if excel_safe and is_formula_like(n) else n for n in columns]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(names)
    return out.getvalue().encode("utf-8")


@dataclass(frozen=True)
class Leak:
    """A leaked copy as read: its values, and which lines were written fully quoted."""

    frame: pd.DataFrame
    fully_quoted: BoolArray | None  # None when lines are not rows (a cell holds a line break)
    informative: BoolArray | None  # rows whose quoting says something (not quoted anyway)


def read_leak(raw: bytes) -> Leak:
    """Read a leaked CSV (UTF-8 or CP932) with its header; values as text, exactly as written."""
    text, _ = decode_csv_bytes(raw)
    text = text.removeprefix("\ufeff")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, na_filter=False, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        raise InvalidRequest(
            "the file is not a CSV table with a header row; a trace needs the column names"
        ) from None
    frame.columns = [str(name).strip() for name in frame.columns]
    lines = pd.Series([line.removesuffix("\r") for line in text.split("\n") if line.strip()])
    if len(lines) != len(frame) + 1 or frame.empty:
        return Leak(frame, None, None)
    rows = lines.iloc[1:].reset_index(drop=True)
    fully_quoted = (rows.str.startswith('"') & rows.str.endswith('"')).to_numpy(dtype=bool)
    single = len(frame.columns) == 1
    first = _needs_quotes(frame.iloc[:, 0], single).to_numpy(dtype=bool)
    last = _needs_quotes(frame.iloc[:, -1], single).to_numpy(dtype=bool)
    return Leak(frame, fully_quoted, ~(first & last))


@dataclass(frozen=True)
class ChannelScore:
    """How many informative observations agree with a licence's mark, out of how many."""

    agreeing: int
    informative: int

    @property
    def share(self) -> float:
        return self.agreeing / self.informative if self.informative else 0.0

    def matches(self, threshold: float) -> bool:
        return self.informative >= MIN_EVIDENCE and self.share >= threshold


@dataclass(frozen=True)
class Evidence:
    """Both channels' agreement of a leak with one licence's fingerprint."""

    order: ChannelScore
    quoting: ChannelScore

    @property
    def matches(self) -> bool:
        return self.order.matches(ORDER_THRESHOLD) or self.quoting.matches(FORMAT_THRESHOLD)


def score(leak: Leak, values: RowValues, key: FingerprintKey) -> Evidence:
    """Compare a leak with a licence's marks; `values` are the leak's rows with the columns in
    the dataset's order (`row_values(leak.frame, dataset.columns)`).

    Order: among neighbouring rows with different v, the share where v rises (1 for the
    licence's copy less some rows, about 1/2 otherwise). Quoting: among rows whose quoting is
    informative, the share whose full quoting equals the licence's keyed bit.
    """
    rises = keyed_row_hash(values, key.order)
    before, after = rises[:-1], rises[1:]
    order = ChannelScore(int((after > before).sum()), int((after != before).sum()))
    if leak.fully_quoted is None or leak.informative is None:
        return Evidence(order, ChannelScore(0, 0))
    bits = (keyed_row_hash(values, key.quoting) & np.uint64(1)).astype(bool)
    useful = leak.informative
    agreeing = int((bits[useful] == leak.fully_quoted[useful]).sum())
    return Evidence(order, ChannelScore(agreeing, int(useful.sum())))
