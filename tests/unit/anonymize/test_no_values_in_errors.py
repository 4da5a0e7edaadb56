"""Errors name columns and counts, never cell values (personal data must not reach logs)."""

from __future__ import annotations

import pandas as pd
import pytest

from anonymize import (
    AnonymizationError,
    Config,
    Definition,
    Hierarchy,
    KAnonymity,
    anonymize,
    geography_hierarchy,
)

SECRET = "秘密太郎0901234567"


def table() -> pd.DataFrame:
    return pd.DataFrame({"q": ["a", "b", SECRET] * 4, "s": ["x"] * 12})


@pytest.mark.parametrize(
    "attempt",
    [
        lambda: anonymize(
            table(),
            Definition.of(quasi=["q"], insensitive=["s"]),
            {"q": Hierarchy.flat(["a", "b"])},
            Config((KAnonymity(2),)),
        ),
        lambda: anonymize(
            table().assign(s=["090-1234-5678"] * 12),
            Definition.of(quasi=["q"], insensitive=["s"]),
            None,
            Config((KAnonymity(2),)),
        ),
        lambda: geography_hierarchy([SECRET], column="住所"),
        lambda: anonymize(table(), Definition.of(quasi=["q"]), None, Config((KAnonymity(2),))),
        lambda: anonymize(
            table(), Definition.of(quasi=["q"], insensitive=["s"]), None, Config((KAnonymity(50),))
        ),
    ],
)
def test_error_messages_carry_no_cell_values(attempt):
    with pytest.raises(AnonymizationError) as error:
        attempt()
    message = str(error.value)
    assert SECRET not in message and "1234" not in message
