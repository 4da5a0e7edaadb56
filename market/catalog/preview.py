"""Sample previews of a listing: a few rows a buyer can look at before bidding.

Only `non_personal` data shows real rows. For personal and anonymized data a real row would be a
provision (of personal data, or of 匿名加工情報 to someone who holds no licence), so the preview
is made up from the column dictionary alone: values of each declared type, drawn from the
declared code list or range, with a generator seeded by the dataset id (the same preview on every
request). No stored value is read for it.
"""

import codecs
import csv
import io
import random
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

PREVIEW_ROWS = 5
MAX_PREVIEW_BYTES = 1 << 18
_EPOCH = date(2024, 1, 1)


def real_rows(chunks: Iterable[bytes], rows: int = PREVIEW_ROWS) -> list[list[str]]:
    """The first `rows` data rows of a stored UTF-8 CSV, reading no more of it than needed."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    text, ended, read = "", True, 0
    for chunk in chunks:
        text += decoder.decode(chunk)
        read += len(chunk)
        # A quoted cell may hold line breaks, so lines are only an upper bound on rows.
        if text.count("\n") > rows + 1 or read >= MAX_PREVIEW_BYTES:
            ended = False
            break
    records = list(csv.reader(io.StringIO(text)))
    if not ended:
        records = records[:-1]  # the last record may be cut off
    return [list(record) for record in records[1 : rows + 1]]


def synthetic_rows(
    dictionary: list[dict[str, Any]], seed: str, rows: int = PREVIEW_ROWS
) -> list[list[str]]:
    """Rows of made-up values that fit each column's declared type, codes and range."""
    # Seeded for a stable preview; nothing secret depends on it.
    generator = random.Random(seed)  # noqa: S311
    return [[_value(column, generator, index) for column in dictionary] for index in range(rows)]


def _value(column: dict[str, Any], generator: random.Random, index: int) -> str:
    codes = column.get("codes")
    if codes:
        return str(generator.choice(codes))
    kind = column.get("type", "string")
    low, high = column.get("minimum"), column.get("maximum")
    if kind in ("integer", "number"):
        start = float(low) if low is not None else 0.0
        stop = float(high) if high is not None else start + 100.0
        value = generator.uniform(start, stop)
        return str(round(value)) if kind == "integer" else f"{value:.2f}"
    if kind in ("date", "datetime"):
        stop_day = date.fromisoformat(str(high)[:10]) if high is not None else None
        if low is not None:
            start_day = date.fromisoformat(str(low)[:10])
        else:
            start_day = stop_day - timedelta(days=365) if stop_day else _EPOCH
        span = ((stop_day or start_day + timedelta(days=365)) - start_day).days
        day = start_day + timedelta(days=generator.randrange(max(span, 0) + 1))
        if kind == "date":
            return day.isoformat()
        return f"{day.isoformat()}T{generator.randrange(24):02d}:00:00Z"
    if kind == "boolean":
        return generator.choice(["true", "false"])
    return f"sample-{index + 1}"
