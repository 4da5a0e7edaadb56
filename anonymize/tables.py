"""Reading seller tables: UTF-8 or CP932 (Shift_JIS) text, every cell kept as text."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from anonymize.hierarchy import decode_text


def read_table(source: str | Path | bytes, sep: str = ",") -> pd.DataFrame:
    """Load a delimited table with a header; encoding detected between UTF-8 and CP932."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    return pd.read_csv(io.StringIO(decode_text(raw)), sep=sep, dtype=str, keep_default_na=False)
