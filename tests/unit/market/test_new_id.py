"""`new_id` builds version-4 UUIDs without the UUID object: the same shape `uuid.uuid4().hex` has."""

import re
import uuid

from market.models import new_id
from market.orphans import GENERATED_ID


def test_ids_are_random_version_4_uuids_in_32_hex_digits() -> None:
    ids = [new_id() for _ in range(5_000)]
    assert len(set(ids)) == len(ids)
    for value in ids:
        parsed = uuid.UUID(hex=value)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert parsed.hex == value
        assert GENERATED_ID.fullmatch(value)
    # Every bit outside the version and variant fields varies across the draws.
    varying = 0
    for value in ids:
        varying |= int(value, 16) ^ int(ids[0], 16)
    fixed = (0xF << 76) | (0b11 << 62)
    assert varying == (2**128 - 1) & ~fixed
    assert re.fullmatch(r"[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}", ids[0])
