"""Delivered copies: a stored dataset streamed block by block, fingerprinted for one licence.

Memory holds one block of `BLOCK_ROWS` rows (plus the store's 64 KiB chunk and the CSV parser's
buffer) whatever the size of the dataset: the row-order mark permutes rows within a block only.
"""

import io
from collections.abc import Iterable, Iterator, Sequence

import pandas as pd

from market.delivery.fingerprint import (
    BLOCK_ROWS,
    FingerprintKey,
    count_formula_cells,
    excel_safe_frame,
    header_line,
    mark_block,
    serialize,
)


class _ChunkReader(io.RawIOBase):
    """A binary file over an iterator of byte chunks, read once from the start."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            piece = next(self._chunks, None)
            if piece is None:
                return 0
            self._pending = memoryview(piece)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def read_blocks(chunks: Iterable[bytes], rows: int = BLOCK_ROWS) -> Iterator[pd.DataFrame]:
    """The rows of a stored UTF-8 CSV (header first), `rows` at a time, values as exact text."""
    handle = io.BufferedReader(_ChunkReader(chunks))
    with pd.read_csv(
        handle, dtype=str, na_filter=False, chunksize=rows, encoding="utf-8"
    ) as blocks:
        yield from blocks


def copy_chunks(
    chunks: Iterable[bytes],
    columns: Sequence[str],
    *,
    key: FingerprintKey | None,
    excel_safe: bool,
) -> Iterator[bytes]:
    """The delivered CSV, piece by piece: the licence's fingerprint when `key` is given.

    The marks are computed on the values as delivered (after the optional `'` prefixes), so a
    trace reads them from either kind of copy.
    """
    yield header_line(columns, excel_safe=excel_safe)
    for block in read_blocks(chunks):
        values = excel_safe_frame(block) if excel_safe else block
        if key is None:
            yield serialize(values)
            continue
        marked, quote_all = mark_block(values, key)
        yield serialize(marked, quote_all)


def formula_cell_count(chunks: Iterable[bytes], columns: Sequence[str]) -> int:
    """Formula-like cells in a stored CSV (header included), read block by block."""
    header = pd.DataFrame([list(columns)], columns=list(columns), dtype=str)
    return count_formula_cells(header) + sum(
        count_formula_cells(block) for block in read_blocks(chunks)
    )
