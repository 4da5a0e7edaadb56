"""Packed codes: several small code columns folded into one, to cut roll-ups from the records.

Rolling the records up costs one gather per column. Packing columns whose domains multiply
to at most 2^17 into one code lets a roll-up gather once per pack, from a lookup table that
folds the level maps and the radix weights of all its columns together. The lookup tables
stay in the CPU cache; the records are walked in chunks so that the keys of a chunk do too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from anonymize.encoding import IntArray

PACK_LIMIT = 2**17


@dataclass(frozen=True)
class PackedCodes:
    """Column indices of each pack and the packed code of every class, per pack."""

    packs: tuple[tuple[int, ...], ...]
    codes: tuple[IntArray, ...]


def pack(codes: Sequence[IntArray], sizes: Sequence[int], limit: int = PACK_LIMIT) -> PackedCodes:
    """Group columns into as few packs as first-fit decreasing finds, each product <= `limit`."""
    packs: list[list[int]] = []
    products: list[int] = []
    for j in sorted(range(len(sizes)), key=lambda j: (-sizes[j], j)):
        fitting = [p for p, product in enumerate(products) if product * sizes[j] <= limit]
        if fitting:
            packs[fitting[0]].append(j)
            products[fitting[0]] *= sizes[j]
        else:
            packs.append([j])
            products.append(sizes[j])
    packed = []
    for members in packs:
        # Index arrays of the platform's width: numpy gathers with them without converting.
        value = np.zeros(len(codes[0]), dtype=np.intp)
        for j in members:
            value = value * sizes[j] + codes[j]
        packed.append(value)
    return PackedCodes(tuple(tuple(p) for p in packs), tuple(packed))


class PackedKeys:
    """Mixed-radix keys at target domains, computed per slice of the packed codes."""

    def __init__(self, packed: PackedCodes, lifts: Sequence[IntArray], sizes: Sequence[int]):
        space = 1
        for size in sizes:
            space *= size
        strides = [1] * len(sizes)
        for j in range(len(sizes) - 2, -1, -1):
            strides[j] = strides[j + 1] * sizes[j + 1]
        self.space = space
        self.dtype: type[np.signedinteger[Any]] = np.int32 if space < 2**31 else np.int64
        self.codes = packed.codes
        self.tables: list[IntArray] = []
        for members in packed.packs:
            table: IntArray = np.zeros(1, dtype=self.dtype)
            for j in members:
                weighted: IntArray = (lifts[j] * strides[j]).astype(self.dtype)
                table = (table[:, None] + weighted[None, :]).ravel()
            self.tables.append(table)

    def keys(self, start: int = 0, stop: int | None = None) -> IntArray:
        """Keys of the classes in [start, stop)."""
        keys: IntArray = self.tables[0][self.codes[0][start:stop]]
        for table, codes in zip(self.tables[1:], self.codes[1:], strict=True):
            keys += table[codes[start:stop]]
        return keys


def packed_keys(
    packed: PackedCodes, lifts: Sequence[IntArray], sizes: Sequence[int]
) -> PackedKeys | None:
    """Keys at the target domains `sizes`, or None if they overflow int64."""
    space = 1
    for size in sizes:
        space *= size
    if space >= 2**62:
        return None
    return PackedKeys(packed, lifts, sizes)
