"""Per-licence fingerprints: copies differ only in the mark, and a trace names the right licence."""

import csv
import io

import numpy as np
import pandas as pd
import pytest

from anonymize import Config, Definition, KAnonymity, anonymize
from anonymize.verify import class_sizes, verify
from market.delivery.copies import copy_chunks, formula_cell_count, read_blocks
from market.delivery.fingerprint import (
    BLOCK_ROWS,
    MIN_EVIDENCE,
    FingerprintKey,
    licence_key,
    read_leak,
    row_values,
    score,
)
from market.errors import InvalidRequest

MASTER = bytes(range(32))
COLUMNS = ["age", "sex", "prefecture", "diagnosis", "note"]


def stored_csv(rows: int, seed: int = 1) -> bytes:
    """A stored dataset as the market writes it: repeated rows, Japanese, quotes and commas."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.choice(["20-29", "30-39", "40-49", "50-59"], rows),
            "sex": rng.choice(["男", "女"], rows),
            "prefecture": rng.choice(["東京都", "大阪府", "北海道"], rows),
            "diagnosis": rng.choice(["高血圧", "糖尿病", "なし", "=1+2"], rows),
            "note": rng.choice(["", 'says "hi"', "a,b", "line\nbreak", "x"], rows),
        }
    )
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def keys(count: int) -> list[FingerprintKey]:
    return [licence_key(MASTER, f"lic{i:04d}") for i in range(count)]


def deliver(stored: bytes, key: FingerprintKey | None, *, excel_safe: bool = False) -> bytes:
    # The store yields 64 KiB chunks; small pieces here make rows straddle them.
    pieces = [stored[i : i + 1000] for i in range(0, len(stored), 1000)]
    return b"".join(copy_chunks(pieces, COLUMNS, key=key, excel_safe=excel_safe))


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def leaked_copy(copy: bytes, rng: np.random.Generator) -> bytes:
    """10% of the rows dropped, the columns reordered, saved again by a CSV library."""
    frame = pd.read_csv(io.BytesIO(copy), dtype=str, na_filter=False)
    kept = np.sort(rng.choice(len(frame), size=round(len(frame) * 0.9), replace=False))
    columns = list(frame.columns)
    while columns == list(frame.columns):
        columns = list(rng.permutation(frame.columns))
    return frame.iloc[kept][columns].to_csv(index=False, lineterminator="\n").encode("utf-8")


def named(leak_bytes: bytes, candidates: list[FingerprintKey]) -> list[int]:
    leak = read_leak(leak_bytes)
    values = row_values(leak.frame, COLUMNS)
    return [i for i, key in enumerate(candidates) if score(leak, values, key).matches]


@pytest.fixture(scope="module")
def stored() -> bytes:
    return stored_csv(600)


@pytest.fixture(scope="module")
def copies(stored: bytes) -> list[bytes]:
    return [deliver(stored, key) for key in keys(100)]


def test_copies_for_100_licences_differ_only_in_the_watermark(
    stored: bytes, copies: list[bytes]
) -> None:
    original = rows_of(stored)
    for copy in copies:
        delivered = rows_of(copy)
        assert delivered[0] == original[0]
        assert sorted(delivered[1:]) == sorted(original[1:])
    # Every copy is its own: the rows' order (and quoting) differ between any two licences.
    assert len(set(copies)) == 100
    assert len({tuple(map(tuple, rows_of(c))) for c in copies}) == 100
    # The same licence gets the same copy on every download.
    assert deliver(stored, keys(1)[0]) == copies[0]


def test_trace_names_every_licence_from_a_copy_with_rows_dropped_and_columns_reordered(
    copies: list[bytes],
) -> None:
    rng = np.random.default_rng(7)
    candidates = keys(100)
    for i, copy in enumerate(copies):
        assert named(leaked_copy(copy, rng), candidates) == [i]


def test_unrelated_files_match_no_licence(stored: bytes) -> None:
    """False-match rate on files with the dataset's columns: 0 of 15,100 comparisons here;
    `datamarket bench fingerprint` measures more (docs/delivery.md)."""
    candidates = keys(100)
    frame = pd.read_csv(io.BytesIO(stored), dtype=str, na_filter=False)
    unrelated = []
    for n in range(50):
        unrelated.append(frame.sample(frac=1.0, random_state=n).to_csv(index=False))
        unrelated.append(stored_csv(600, seed=1_000 + n).decode())
        unrelated.append(deliver(stored, licence_key(MASTER, f"outsider{n}")).decode())
    unrelated.append(stored.decode())
    false_matches = sum(len(named(text.encode(), candidates)) for text in unrelated)
    assert false_matches == 0


def test_the_quoting_mark_traces_a_copy_whose_lines_were_shuffled(copies: list[bytes]) -> None:
    rng = np.random.default_rng(3)
    for i, copy in enumerate(copies[:20]):
        # A record may span lines (a cell holds a line break): shuffle whole records.
        frame = pd.read_csv(io.BytesIO(copy), dtype=str, na_filter=False)
        simple = ~frame["note"].str.contains("\n")
        lines = copy.decode().split("\n")
        header, records = lines[0], [line for line in lines[1:] if line]
        assert len(records) > len(frame)  # the multi-line records are left out below
        whole = [r for r in records if r.count('"') % 2 == 0 and "break" not in r]
        kept = list(rng.permutation(whole))[: round(len(whole) * 0.9)]
        leak = "\n".join([header, *kept]) + "\n"
        assert simple.sum() > MIN_EVIDENCE
        assert named(leak.encode(), keys(20)) == [i]


def test_too_few_rows_are_never_named(stored: bytes) -> None:
    key = keys(1)[0]
    copy = rows_of(deliver(stored, key))
    few = io.StringIO()
    csv.writer(few, lineterminator="\n").writerows(copy[: MIN_EVIDENCE // 2])
    assert named(few.getvalue().encode(), [key]) == []


def test_an_excel_safe_copy_is_traced_and_keeps_its_formula_prefixes(stored: bytes) -> None:
    key = keys(1)[0]
    safe = deliver(stored, key, excel_safe=True)
    cells = [cell for row in rows_of(safe)[1:] for cell in row]
    assert "'=1+2" in cells and "=1+2" not in cells
    assert named(leaked_copy(safe, np.random.default_rng(5)), keys(10)) == [0]
    assert formula_cell_count([stored], COLUMNS) == sum(cell == "'=1+2" for cell in cells)


def test_a_copy_larger_than_a_block_streams_in_pieces_and_is_traced() -> None:
    stored = stored_csv(2 * BLOCK_ROWS + 500, seed=4)
    key = keys(3)[2]
    pieces = list(copy_chunks([stored], COLUMNS, key=key, excel_safe=False))
    assert len(pieces) == 1 + 3  # the header, then one piece per block
    copy = b"".join(pieces)
    assert sorted(rows_of(copy)[1:]) == sorted(rows_of(stored)[1:])
    assert named(leaked_copy(copy, np.random.default_rng(2)), keys(3)) == [2]
    assert [len(b) for b in read_blocks([stored])] == [BLOCK_ROWS, BLOCK_ROWS, 500]


def test_the_verifier_measures_the_same_k_on_a_fingerprinted_anonymized_copy() -> None:
    rng = np.random.default_rng(9)
    data = pd.DataFrame(
        {
            "age": rng.integers(20, 80, 800).astype(str),
            "sex": rng.choice(["M", "F"], 800),
            "disease": rng.choice(["flu", "asthma", "none", "gout"], 800),
            "visits": rng.integers(0, 9, 800).astype(str),
        }
    )
    definition = Definition.of(quasi=["age", "sex"], sensitive=["disease"], insensitive=["visits"])
    config = Config((KAnonymity(5),))
    released = anonymize(data, definition, None, config).output
    stored = released.to_csv(index=False, lineterminator="\n").encode("utf-8")
    copy = b"".join(copy_chunks([stored], list(released.columns), key=keys(1)[0], excel_safe=False))
    delivered = pd.read_csv(io.BytesIO(copy), dtype=str, na_filter=False)
    as_stored = pd.read_csv(io.BytesIO(stored), dtype=str, na_filter=False)
    assert not delivered.equals(as_stored)  # the order is the licence's
    before, after = (
        verify(as_stored, ["age", "sex"], config),
        verify(delivered, ["age", "sex"], config),
    )
    assert after.k == before.k >= 5
    assert sorted(class_sizes(delivered, ["age", "sex"])) == sorted(
        class_sizes(as_stored, ["age", "sex"])
    )


def test_a_file_that_is_no_csv_table_is_refused_with_a_reason() -> None:
    for raw in (b"", b'a,b\n1,2,3\n"open'):
        with pytest.raises(InvalidRequest, match="header row"):
            read_leak(raw)
