"""Demo data and a short trading scenario, run through the same services as the API."""

import csv
import io
import random
from dataclasses import dataclass, field

from market.models import Listing, Participant, Trade
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


DEMO_PURPOSES = {"research.academic", "research.medical", "public.policy", "marketing.analytics"}
FAMILY_NAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN_NAMES = ["太郎", "花子", "一郎", "美咲", "健太", "陽菜", "翔", "さくら"]
WARDS = ["東京都新宿区", "東京都世田谷区", "東京都練馬区", "神奈川県横浜市", "埼玉県さいたま市"]


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


def _checkup_csv(rng: random.Random, rows: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["氏名", "住所", "年齢", "性別", "診断"])
    for i in range(rows):
        writer.writerow(
            [
                rng.choice(FAMILY_NAMES) + rng.choice(GIVEN_NAMES),
                f"{rng.choice(WARDS)}{rng.randint(1, 5)}-{rng.randint(1, 30)}-{i}",
                rng.randint(20, 89),
                rng.choice(["男", "女"]),
                rng.choice(["正常", "高血圧", "糖尿病", "脂質異常症"]),
            ]
        )
    return out.getvalue().encode("cp932")


def _anonymized_listing(market: Market, rng: random.Random) -> Listing:
    """A clinic's synthetic checkup records, anonymized (k=5, l=2) and listed as 匿名加工情報."""
    clinic, _ = market.register(name="みなと健診クリニック", kind="business")
    source = market.upload_dataset(
        seller=clinic,
        raw=_checkup_csv(rng, 600),
        title="健診結果 2026 (synthetic)",
        category="healthcare.checkup",
        data_class="personal",
    )
    job = market.start_anonymization(
        seller=clinic,
        dataset_id=source.id,
        spec={
            "title": "健診結果 2026 匿名加工情報 (synthetic)",
            "category": "healthcare.checkup",
            "columns": {
                "氏名": {"kind": "identifying", "category": "name"},
                "住所": {"kind": "quasi_identifying", "category": "address"},
                "年齢": {"kind": "quasi_identifying", "category": "age"},
                "性別": {"kind": "quasi_identifying", "category": "gender"},
                "診断": {"kind": "sensitive"},
            },
            "k": 5,
            "l": 2,
        },
    )
    market.jobs.wait()
    finished = market.job(participant=clinic, job_id=job.id)
    if finished.result_dataset_id is None:
        raise RuntimeError(f"the demo anonymization job failed: {finished.error}")
    return market.list_dataset(
        seller=clinic,
        dataset_id=finished.result_dataset_id,
        price_yen=50_000,
        licence_count=5,
        allowed_purposes=["research.medical", "research.statistics"],
    )


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
            name=name, kind="business", recipient_category=category, credit_limit_yen=500_000
        )
        buyers.append(buyer)
        result.buyer_keys[name] = key
    listings.append(_anonymized_listing(market, rng))
    for listing in listings:
        buyer = rng.choice(buyers)
        outcome = market.place_bid(
            buyer=buyer,
            instrument=listing.instrument,
            max_price_yen=listing.price_yen,
            purpose=rng.choice(sorted(set(listing.allowed_purposes) & DEMO_PURPOSES)),
            quantity=1,
        )
        result.trades.extend(outcome.trades)
    return result
