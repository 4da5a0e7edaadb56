"""How well fingerprints trace, measured on synthetic data: `datamarket bench fingerprint`.

Pure and seeded: a table shaped like 匿名加工情報 (generalized quasi-identifiers, repeated rows),
copies for many licences, each attacked (10% of rows dropped, columns reordered, rewritten by a
CSV library), and many unrelated files with the same columns, each scored against every licence.
"""

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd

from market.delivery.copies import copy_chunks
from market.delivery.fingerprint import (
    FingerprintKey,
    Leak,
    licence_key,
    read_leak,
    row_values,
    score,
)

COLUMNS = ("age", "sex", "prefecture", "diagnosis", "visits")


def synthetic_table(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """A table of strings with the value repetition of a k-anonymous release."""
    return pd.DataFrame(
        {
            "age": rng.choice(["20-29", "30-39", "40-49", "50-59", "60-69"], rows),
            "sex": rng.choice(["男", "女"], rows),
            "prefecture": rng.choice(["東京都", "大阪府", "北海道", "福岡県"], rows),
            "diagnosis": rng.choice(["高血圧", "糖尿病", "喘息", "なし", "=1+2"], rows),
            "visits": rng.integers(0, 30, rows).astype(str),
        }
    )


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def deliver(stored: bytes, key: FingerprintKey) -> bytes:
    """The copy a licence holder downloads."""
    return b"".join(copy_chunks([stored], list(COLUMNS), key=key, excel_safe=False))


def attack(copy: bytes, rng: np.random.Generator, drop: float) -> bytes:
    """A leaker's edit: drop a share of the rows, shuffle the columns, save with pandas."""
    frame = pd.read_csv(io.BytesIO(copy), dtype=str, na_filter=False)
    kept = np.sort(rng.choice(len(frame), size=round(len(frame) * (1 - drop)), replace=False))
    columns = list(rng.permutation(frame.columns))
    return to_csv(frame.iloc[kept][columns])


def drop_lines(copy: bytes, rng: np.random.Generator, drop: float) -> bytes:
    """A leaker's edit with a text tool: lines dropped and the rest shuffled, bytes kept."""
    header, *lines = copy.decode("utf-8").splitlines()
    kept = rng.permutation(len(lines))[: round(len(lines) * (1 - drop))]
    return "\n".join([header, *(lines[i] for i in kept)]).encode("utf-8") + b"\n"


@dataclass
class Measurement:
    licences: int
    rows: int
    traced: int  # attacked copies named to exactly their licence (order channel)
    traced_by_quoting: int  # shuffled text-edited copies named to exactly their licence
    unrelated_files: int
    comparisons: int  # unrelated file x licence pairs scored
    false_matches: int
    highest_unrelated_order_share: float
    highest_unrelated_quoting_share: float


def _matching(leak: Leak, keys: list[FingerprintKey]) -> list[int]:
    values = row_values(leak.frame, COLUMNS)
    return [i for i, key in enumerate(keys) if score(leak, values, key).matches]


def measure(
    *, licences: int = 100, rows: int = 1_000, unrelated: int = 200, seed: int = 12
) -> Measurement:
    """Trace every licence's attacked copy, then score unrelated files against every licence."""
    rng = np.random.default_rng(seed)
    master = rng.bytes(32)
    keys = [licence_key(master, f"licence-{i:05d}") for i in range(licences)]
    stored = to_csv(synthetic_table(rows, rng))
    traced = by_quoting = 0
    for i, key in enumerate(keys):
        copy = deliver(stored, key)
        traced += _matching(read_leak(attack(copy, rng, 0.1)), keys) == [i]
        by_quoting += _matching(read_leak(drop_lines(copy, rng, 0.1)), keys) == [i]
    false_matches = comparisons = 0
    top_order = top_quoting = 0.0
    for n in range(unrelated):
        leak = read_leak(_unrelated(n, stored, rows, master, rng))
        values = row_values(leak.frame, COLUMNS)
        for key in keys:
            evidence = score(leak, values, key)
            comparisons += 1
            false_matches += evidence.matches
            top_order = max(top_order, evidence.order.share)
            top_quoting = max(top_quoting, evidence.quoting.share)
    return Measurement(
        licences=licences,
        rows=rows,
        traced=traced,
        traced_by_quoting=by_quoting,
        unrelated_files=unrelated,
        comparisons=comparisons,
        false_matches=false_matches,
        highest_unrelated_order_share=round(top_order, 4),
        highest_unrelated_quoting_share=round(top_quoting, 4),
    )


def _unrelated(n: int, stored: bytes, rows: int, master: bytes, rng: np.random.Generator) -> bytes:
    """In turn: the same rows shuffled, a fresh table with the same columns, a copy made for a
    licence outside the set (as delivered, quoting kept), and the stored original sorted."""
    kind = n % 4
    if kind == 0:
        frame = pd.read_csv(io.BytesIO(stored), dtype=str, na_filter=False)
        return to_csv(frame.sample(frac=1.0, random_state=rng.integers(2**31)))
    if kind == 1:
        return to_csv(synthetic_table(rows, rng))
    if kind == 2:
        return deliver(stored, licence_key(master, f"outsider-{n}"))
    frame = pd.read_csv(io.BytesIO(stored), dtype=str, na_filter=False)
    return to_csv(frame.sort_values(list(rng.permutation(COLUMNS))))
