"""A seeded catalog of N listings written with Core bulk inserts, as a busy market would hold it.

Titles combine a place (Japanese or English), a subject and a year, so a search term matches a
known share of the listings: a place about 1 in 50, a subject about 1 in 20, a serial number one.
Each dataset gets its catalog entry the way the market's flush event writes it
(`market.catalog.indexing.entry_values`); the database's triggers fill SQLite's FTS indexes
(trigrams, and the grams of migration 0018) and every listing's card (migration 0015) as rows
arrive, as they do in the market.
"""

import random
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Engine, Table

from market.catalog.indexing import entry_values
from market.catalog.tables import catalog_entries
from market.models import Dataset, Listing, Participant

BATCH = 5_000
PLACES = [
    "東京",
    "大阪",
    "名古屋",
    "札幌",
    "福岡",
    "仙台",
    "広島",
    "京都",
    "神戸",
    "横浜",
    "千葉",
    "埼玉",
    "静岡",
    "新潟",
    "熊本",
    "鹿児島",
    "那覇",
    "金沢",
    "長野",
    "岡山",
    "Tokyo",
    "Osaka",
    "Nagoya",
    "Sapporo",
    "Fukuoka",
    "Sendai",
    "Hiroshima",
    "Kyoto",
    "Kobe",
    "Yokohama",
    "Chiba",
    "Saitama",
    "Shizuoka",
    "Niigata",
    "Kumamoto",
    "Kagoshima",
    "Naha",
    "Kanazawa",
    "Nagano",
    "Okayama",
    "関東",
    "関西",
    "東北",
    "九州",
    "北海道",
    "Kanto",
    "Kansai",
    "Tohoku",
    "Kyushu",
    "Hokkaido",
]
SUBJECTS = [
    ("交通量", "traffic counts", "mobility.traffic"),
    ("医療機関 受診", "outpatient visits", "health.visits"),
    ("血圧測定値", "blood pressure readings", "health.vitals"),
    ("気象観測", "weather observations", "environment.weather"),
    ("購買履歴", "retail purchases", "retail.pos"),
    ("電力消費", "electricity use", "energy.power"),
    ("人流", "foot traffic", "mobility.people"),
    ("駐車場 稼働", "parking occupancy", "mobility.parking"),
    ("観光客数", "tourist arrivals", "tourism.arrivals"),
    ("農作物 収量", "crop yields", "agriculture.yield"),
    ("水質", "water quality", "environment.water"),
    ("大気汚染", "air pollution", "environment.air"),
    ("物流 配送", "delivery routes", "logistics.delivery"),
    ("不動産 価格", "property prices", "realestate.prices"),
    ("求人", "job postings", "labour.jobs"),
    ("健康診断", "health checkups", "health.checkup"),
    ("血糖値", "glucose readings", "health.vitals"),
    ("騒音", "noise levels", "environment.noise"),
    ("公共交通 乗降", "transit ridership", "mobility.transit"),
    ("宿泊", "hotel stays", "tourism.hotels"),
]
TAGS = ["iot", "交通", "医療", "ヘルスケア", "気象", "retail", "energy", "観光", "open", "daily"]
KINDS = ["business"] * 4 + ["info_bank", "individual"]
STATUSES = ["open"] * 9 + ["sold_out"]
CLASSES = ["non_personal", "non_personal", "anonymized"]


def _rows(table: Table, rows: list[dict[str, Any]], engine: Engine) -> None:
    with engine.begin() as connection:
        for first in range(0, len(rows), BATCH):
            connection.execute(table.insert(), rows[first : first + BATCH])


def seed_catalog(engine: Engine, listings: int, seed: int = 1) -> dict[str, Any]:
    """Write `listings` datasets, their catalog entries and listings; returns a few known ids."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    sellers = [
        {
            "id": f"seller{i:04d}",
            "name": f"Seller {i}",
            "kind": KINDS[i % len(KINDS)],
            "display_name": f"Shop {i}",
            "country": "JP",
            "verification": "unverified",
            "credit_limit_yen": 0,
            "created_at": start,
        }
        for i in range(300)
    ]
    _rows(Participant.__table__, sellers, engine)  # type: ignore[attr-defined]
    datasets, entries, offers = [], [], []
    for i in range(listings):
        place = rng.choice(PLACES)
        subject_ja, subject_en, category = rng.choice(SUBJECTS)
        data_class = rng.choice(CLASSES)
        seller = sellers[rng.randrange(len(sellers))]
        created = start + timedelta(seconds=i)
        about = SimpleNamespace(
            title=f"{place} {subject_ja} {2015 + i % 11} #{i:06d}",
            description=f"{subject_en} in {place}, {rng.choice(['hourly', 'daily', 'monthly'])}",
            category=category,
            tags=rng.sample(TAGS, rng.randint(1, 3)),
            columns=["地点", "値", "日付"],
            data_schema={"update_frequency_days": rng.choice([1, 7, 30, 365])},
        )
        dataset_id = f"ds{i:08d}"
        datasets.append(
            {
                "id": dataset_id,
                "seller_id": seller["id"],
                "title": about.title,
                "description": about.description,
                "category": category,
                "data_class": data_class,
                "columns": about.columns,
                "tags": about.tags,
                "row_count": 1_000,
                "size_bytes": 30_000,
                "source_encoding": "utf-8",
                "sha256": f"{i:064x}",
                "quality_score": rng.randint(40, 100),
                "privacy_k": rng.randint(2, 50) if data_class == "anonymized" else None,
                "data_schema": about.data_schema,
                "created_at": created,
            }
        )
        entries.append({"dataset_id": dataset_id, **entry_values(about, None)})
        offers.append(
            {
                "id": f"ls{i:08d}",
                "dataset_id": dataset_id,
                "seller_id": seller["id"],
                "instrument": f"{category}/{data_class}",
                "price_yen": rng.randint(1, 1_000) * 100,
                "licence_count": None,
                "licences_sold": 0,
                "allowed_purposes": ["research"],
                "allowed_recipients": [],
                "denied_recipients": [],
                "term_days": None,
                "exclusive": False,
                "price_includes_tax": False,
                "status": rng.choice(STATUSES),
                "created_at": created,
            }
        )
    _rows(Dataset.__table__, datasets, engine)  # type: ignore[attr-defined]
    _rows(catalog_entries, entries, engine)
    _rows(Listing.__table__, offers, engine)  # type: ignore[attr-defined]
    middle = offers[listings // 2]
    rare = next(i for i in range(listings // 3, listings) if offers[i]["status"] == "open")
    return {
        "listing_id": middle["id"],
        "dataset_id": middle["dataset_id"],
        "serial": f"#{rare:06d}",
    }
