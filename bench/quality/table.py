"""A seeded table of text cells, as the market reads CSV, with its declaration.

Columns cycle through the declared types (a code-like id, integer, number, date, datetime, code
list, free text, boolean); about 2% of cells are empty, 1% break their declaration and 0.5% of
rows repeat an earlier row, so every check has work to do.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from market.quality import DatasetSchema

START = datetime(2026, 1, 1, tzinfo=UTC)
CODES = ["北海道", "東京都", "大阪府", "福岡県", "沖縄県"]


def _column(kind: str, rows: int, rng: np.random.Generator) -> tuple[pd.Series, dict[str, Any]]:
    if kind == "id":
        values = pd.Series(rng.integers(0, 10_000_000, rows)).map("S{:07d}".format)
        return values, {"pattern": "S[0-9]{7}"}
    if kind == "integer":
        values = pd.Series(rng.integers(0, 120, rows)).astype(str)
        return values, {"type": "integer", "minimum": 0, "maximum": 110}
    if kind == "number":
        values = pd.Series(np.round(rng.normal(50, 15, rows), 2)).astype(str)
        return values, {"type": "number", "minimum": 0, "unit": "km/h"}
    if kind == "date":
        days = pd.to_timedelta(rng.integers(0, 365, rows), unit="D")
        values = pd.Series((pd.Timestamp("2026-01-01") + days).strftime("%Y-%m-%d"))
        return values, {"type": "date", "minimum": "2026-01-01"}
    if kind == "datetime":
        seconds = pd.to_timedelta(rng.integers(0, 365 * 86_400, rows), unit="s")
        values = pd.Series((pd.Timestamp("2026-01-01") + seconds).strftime("%Y-%m-%dT%H:%M:%S"))
        return values, {"type": "datetime"}
    if kind == "code":
        return pd.Series(np.array(CODES, dtype=object)[rng.integers(0, 5, rows)]), {"codes": CODES}
    if kind == "boolean":
        return pd.Series(np.array(["true", "false"], dtype=object)[rng.integers(0, 2, rows)]), {
            "type": "boolean"
        }
    words = np.array(["sunny", "cloudy", "rain", "snow", "晴れ", "曇り", "雨"], dtype=object)
    left, right = words[rng.integers(0, 7, rows)], rng.integers(0, 1000, rows).astype(str)
    return pd.Series(left + " " + right.astype(object)), {}


KINDS = ("id", "integer", "number", "date", "datetime", "code", "text", "boolean")


def build(rows: int, columns: int, seed: int = 1) -> tuple[pd.DataFrame, DatasetSchema]:
    """A table of `rows` × `columns` text cells and the declaration it is scored against."""
    rng = np.random.default_rng(seed)
    data: dict[str, pd.Series] = {}
    declared: list[dict[str, Any]] = []
    for i in range(columns):
        kind = KINDS[i % len(KINDS)]
        values, spec = _column(kind, rows, rng)
        broken = rng.random(rows) < 0.01
        values = values.where(~broken, "n/a")
        values = values.where(rng.random(rows) >= 0.02, "")
        name = f"{kind}_{i}"
        data[name] = values
        declared.append({"name": name, **spec})
    frame = pd.DataFrame(data)
    repeats = rng.random(rows) < 0.005
    sources = rng.integers(0, rows, int(repeats.sum()))
    frame.iloc[np.flatnonzero(repeats)] = frame.iloc[sources].to_numpy()
    names = list(data)
    rules = []
    if "date_3" in names and "datetime_4" in names:
        rules.append("datetime_4 >= date_3")
    if "integer_1" in names and "number_2" in names:
        rules.append("integer_1 < 100 or number_2 >= 0")
    schema = DatasetSchema.model_validate(
        {
            "columns": declared,
            "timestamp_column": "datetime_4" if "datetime_4" in names else None,
            "update_frequency_days": 30,
            "rules": rules,
        }
    )
    return frame, schema


def now() -> datetime:
    """The fixed clock of the benchmark (ages do not depend on the day it runs)."""
    return START + timedelta(days=380)
