"""Small synthetic people tables for behaviour tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

PREFECTURE_ADDRESSES = [
    "東京都千代田区千代田1-1",
    "東京都新宿区西新宿2-8-1",
    "神奈川県横浜市中区山下町1",
    "大阪府大阪市北区梅田3-1",
    "北海道札幌市中央区北1条西2",
    "福岡県福岡市博多区博多駅前1",
]


def people(rows: int = 400, seed: int = 7) -> pd.DataFrame:
    """A table with every kind of column, all text as sellers upload it."""
    rng = np.random.default_rng(seed)
    ages = rng.integers(18, 99, rows)
    return pd.DataFrame(
        {
            "氏名": [f"山田 太郎{i}" for i in range(rows)],
            "マイナンバー": ["123456789018"] * rows,
            "会員ID": [f"M{i:05d}" for i in range(rows)],
            "年齢": ages.astype(str),
            "性別": rng.choice(["男", "女"], rows),
            "住所": rng.choice(PREFECTURE_ADDRESSES, rows),
            "病名": rng.choice(["風邪", "骨折", "糖尿病", "高血圧", "喘息"], rows),
            "購入額": rng.integers(100, 10_000, rows).astype(str),
        }
    )
