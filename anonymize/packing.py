"""Packed codes: several small code columns folded into one, to cut roll-ups from the base.

Rolling the near-unique base table up costs one gather per column. Packing columns whose
domains multiply to at most 2^16 into one code lets a roll-up gather once per pack, from a
lookup table that folds the level maps and the radix weights of all its columns together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from anonymize.encoding import IntArray

PACK_LIMIT = 2**16


@dataclass(frozen=True)
class PackedCodes:
    """Column indices of each pack and the packed code of every class, per pack."""

    packs: tuple[tuple[int, ...], ...]
    codes: tuple[IntArray, ...]


def pack(codes: IntArray, sizes: Sequence[int], limit: int = PACK_LIMIT) -> PackedCodes:
    """Greedily group consecutive columns while the product of their domains fits `limit`."""
    packs: list[list[int]] = []
    product = limit + 1
    for j, size in enumerate(sizes):
        if product * size > limit:
            packs.append([j])
            product = size
        else:
            packs[-1].append(j)
            product *= size
    packed = []
    for members in packs:
        value = np.zeros(codes.shape[1], dtype=np.int32)
        for j in members:
            value = value * sizes[j] + codes[j]
        packed.append(value)
    return PackedCodes(tuple(tuple(p) for p in packs), tuple(packed))


def packed_keys(
    packed: PackedCodes, lifts: Sequence[IntArray], sizes: Sequence[int]
) -> tuple[IntArray, int] | None:
    """Mixed-radix keys at the target domains `sizes`, or None if they overflow int64."""
    space = 1
    for size in sizes:
        space *= size
    if space >= 2**62:
        return None
    strides = [1] * len(sizes)
    for j in range(len(sizes) - 2, -1, -1):
        strides[j] = strides[j + 1] * sizes[j + 1]
    dtype: type[np.signedinteger[Any]] = np.int32 if space < 2**31 else np.int64
    keys: IntArray = np.zeros(len(packed.codes[0]), dtype=dtype)
    for members, code in zip(packed.packs, packed.codes, strict=True):
        table = np.zeros(1, dtype=np.int64)
        for j in members:
            table = (table[:, None] + (lifts[j] * strides[j])[None, :]).ravel()
        keys += np.take(table.astype(dtype), code)
    return keys, space
