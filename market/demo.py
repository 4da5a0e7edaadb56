"""Demo data and a short trading scenario, run through the same services as the API."""

import csv
import io
import random
from dataclasses import dataclass, field

from market.models import Participant, Trade
from market.service import Market

SELLERS = [
    (
        "東都交通センサー株式会社",
        "mobility.traffic",
        "Tokyo road traffic counts",
        ["traffic", "tokyo"],
    ),
    (
        "Kansai Weather Grid KK",
        "environment.weather",
        "Osaka street-level weather",
        ["weather", "osaka"],
    ),
    (
        "北海道スマート農業組合",
        "agriculture.sensors",
        "Hokkaido farm soil sensors",
        ["soil", "hokkaido"],
    ),
]
BUYERS = [
    ("Mirai Mobility Lab", "research"),
    ("株式会社データ分析研究所", "analytics"),
    ("City of Yokohama EBPM Office", "public"),
]


@dataclass
class DemoResult:
    operator_key: str
    buyer_keys: dict[str, str]
    seller_keys: dict[str, str]
    trades: list[Trade] = field(default_factory=list)


def _sensor_csv(rng: random.Random, columns: list[str], rows: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for i in range(rows):
        writer.writerow(
            [f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:00", f"S{rng.randint(1, 40):03d}"]
            + [rng.randint(0, 500) for _ in columns[2:]]
        )
    return out.getvalue()


def seed_demo(market: Market, *, seed: int = 7) -> DemoResult:
    """Register demo participants, upload and list datasets, and trade a few licences."""
    rng = random.Random(seed)  # noqa: S311  (demo data, not secrets)
    _, operator_key = market.register(name="Market Operations", kind="operator")
    result = DemoResult(operator_key=operator_key, buyer_keys={}, seller_keys={})
    listings = []
    for index, (name, category, title, tags) in enumerate(SELLERS):
        seller, key = market.register(name=name, kind="business")
        result.seller_keys[name] = key
        for part in range(2):
            text = _sensor_csv(rng, ["timestamp", "sensor_id", "value_a", "value_b"], 200)
            raw = text.encode("cp932" if index == 0 else "utf-8")
            dataset = market.upload_dataset(
                seller=seller,
                raw=raw,
                title=f"{title} #{part + 1}",
                category=category,
                data_class="non_personal",
                description="Synthetic demo data",
                tags=tags,
            )
            listings.append(
                market.list_dataset(
                    seller=seller,
                    dataset_id=dataset.id,
                    price_yen=rng.choice([5_000, 8_000, 12_000, 20_000]),
                    licence_count=rng.choice([None, 3, 10]),
                    allowed_purposes=["research", "public.policy", "marketing.analytics"],
                )
            )
    buyers: list[Participant] = []
    for name, category in BUYERS:
        buyer, key = market.register(
            name=name, kind="business", recipient_category=category, credit_limit_yen=200_000
        )
        buyers.append(buyer)
        result.buyer_keys[name] = key
    for listing in listings:
        buyer = rng.choice(buyers)
        outcome = market.place_bid(
            buyer=buyer,
            instrument=listing.instrument,
            max_price_yen=20_000,
            purpose=rng.choice(["research.academic", "public.policy", "marketing.analytics"]),
            quantity=1,
        )
        result.trades.extend(outcome.trades)
    return result
