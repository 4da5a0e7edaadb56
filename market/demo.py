"""Demo data and a short trading scenario, run through the same services as the API.

Seeding is idempotent: each demo participant, dataset, listing and the trading round is looked up
first and created only when missing, so a second run adds nothing. API keys are stored only as
hashes, so the keys file is the one place the demo's plaintext keys live: a key that is missing
from it or no longer authenticates is replaced by a freshly issued one.
"""

import csv
import io
import json
import os
import random
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from market import db
from market.data.desk import DescribeDataset
from market.errors import MarketError
from market.models import (
    AnonymizationJob,
    Bid,
    Dataset,
    Invoice,
    Licence,
    Listing,
    Participant,
    Trade,
)
from market.participants import issue_api_key
from market.service import Market
from market.settlement.tables import InvoiceRefund
from market.trading.commands import LicenceTerms, OfferLicences, PlaceBid

OPERATOR = "Market Operations"
CLINIC = "みなと健診クリニック"
KEYS_FILE = "demo-keys.json"
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
CHECKUP_TITLE = "健診結果 2026 (synthetic)"
CHECKUP_SPEC: dict[str, object] = {
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
}


DEMO_PURPOSES = {"research.academic", "research.medical", "public.policy", "marketing.analytics"}
FAMILY_NAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN_NAMES = ["太郎", "花子", "一郎", "美咲", "健太", "陽菜", "翔", "さくら"]
WARDS = ["東京都新宿区", "東京都世田谷区", "東京都練馬区", "神奈川県横浜市", "埼玉県さいたま市"]


@dataclass(frozen=True)
class DemoParticipant:
    role: str  # "operator", "seller" or "buyer"
    name: str
    id: str
    api_key: str


@dataclass
class DemoResult:
    """The demo participants with working keys, and what this run added."""

    participants: list[DemoParticipant] = field(default_factory=list)
    created: int = 0
    trades: list[Trade] = field(default_factory=list)
    anonymized_dataset_id: str = ""
    anonymized_holder: str | None = None  # a demo buyer holding a licence to it
    # With a Stripe key: each card buyer's payment status (and a refund of the paid one).
    card_payments: dict[str, str] = field(default_factory=dict)

    @property
    def already_seeded(self) -> bool:
        return self.created == 0 and not self.trades

    @property
    def operator_key(self) -> str:
        return next(p.api_key for p in self.participants if p.role == "operator")

    def keys(self) -> dict[str, object]:
        """The keys file's content: the operator's key, and sellers' and buyers' keys by name."""
        by_role: dict[str, dict[str, str]] = {"seller": {}, "buyer": {}}
        for participant in self.participants:
            if participant.role in by_role:
                by_role[participant.role][participant.name] = participant.api_key
        return {
            "operator": self.operator_key,
            "sellers": by_role["seller"],
            "buyers": by_role["buyer"],
        }


def read_demo_keys(path: Path) -> dict[str, str]:
    """Keys by participant name from an earlier run's keys file; empty if absent or unreadable."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(saved, dict):
        return {}
    keys = {OPERATOR: saved["operator"]} if isinstance(saved.get("operator"), str) else {}
    for role in ("sellers", "buyers"):
        group = saved.get(role)
        if isinstance(group, dict):
            keys.update({n: k for n, k in group.items() if isinstance(k, str)})
    return keys


def write_demo_keys(path: Path, result: DemoResult) -> None:
    """Write the keys file owner-only (0600), replacing any earlier one in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(result.keys(), handle, ensure_ascii=False, indent=2)
    os.replace(tmp, path)


def next_steps(result: DemoResult, *, base_url: str, keys_path: Path) -> list[str]:
    """Shell lines that try the seeded market as operator, buyer and seller (runnable as printed)."""
    keys = shlex.quote(str(keys_path))
    url = base_url.rstrip("/")
    holder = result.anonymized_holder
    buyer = holder or next(p.name for p in result.participants if p.role == "buyer")

    def read(group: str, name: str) -> str:
        code = f'import json,sys; print(json.load(open(sys.argv[1]))["{group}"][sys.argv[2]])'
        return f"python3 -c {shlex.quote(code)} {keys} {shlex.quote(name)}"

    operator_code = 'import json,sys; print(json.load(open(sys.argv[1]))["operator"])'
    lines = [
        f"OPERATOR=$(python3 -c {shlex.quote(operator_code)} {keys})",
        f"BUYER=$({read('buyers', buyer)})",
        f"SELLER=$({read('sellers', CLINIC)})",
        "# the operator watches the trades",
        f'curl -fsS -H "Authorization: Bearer $OPERATOR" {url}/operator/trades',
        "# a buyer looks at open listings and at the licences it holds",
        f'curl -fsS -H "Authorization: Bearer $BUYER" {url}/listings',
        f'curl -fsS -H "Authorization: Bearer $BUYER" {url}/licences',
    ]
    if holder is not None:
        lines += [
            "# ... and downloads the 匿名加工情報 it licensed",
            f'curl -fsS -H "Authorization: Bearer $BUYER" -o demo-anonymized.csv '
            f"{url}/datasets/{result.anonymized_dataset_id}/download",
        ]
    lines += [
        "# the clinic (seller of 匿名加工情報) sees its datasets; anyone reads the public announcement",
        f'curl -fsS -H "Authorization: Bearer $SELLER" {url}/datasets',
        f"curl -fsS {url}/announcements/{result.anonymized_dataset_id}",
    ]
    if result.card_payments:
        card_buyer = CARD_BUYERS[0][0]
        lines += [
            "# card payments through Stripe: "
            + ", ".join(f"{name}: {status}" for name, status in result.card_payments.items()),
            f"CARD_BUYER=$({read('buyers', card_buyer)})",
            f'curl -fsS -H "Authorization: Bearer $CARD_BUYER" {url}/payments',
            f'curl -fsS -H "Authorization: Bearer $OPERATOR" {url}/operator/disputes',
        ]
    return lines


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


class _Seeder:
    """Finds or creates each demo object, counting what it creates."""

    def __init__(self, market: Market, known_keys: Mapping[str, str]) -> None:
        self.market = market
        self.known_keys = known_keys
        self.result = DemoResult()

    def participant(self, role: str, name: str, kind: str, **fields: Any) -> Participant:
        """The demo participant of this name and kind, registered if missing, with a working key."""
        found = self.market.find(Participant, limit=500, name=name, kind=kind)
        if found:
            participant = found[-1]  # the oldest, should an earlier version have duplicated it
            key = self._working_key(participant, self.known_keys.get(name))
        else:
            participant, key = self.market.accounts.register(name=name, kind=kind, **fields)
            self.result.created += 1
        self.result.participants.append(DemoParticipant(role, name, participant.id, key))
        return participant

    def _working_key(self, participant: Participant, key: str | None) -> str:
        if key is not None:
            try:
                if self.market.accounts.authenticate(key).id == participant.id:
                    return key
            except MarketError:
                pass
        with db.unit_of_work(self.market.db) as session:
            return issue_api_key(session=session, participant=participant)

    def dataset(self, seller: Participant, *, raw: bytes, about: DescribeDataset) -> Dataset:
        found = self.market.find(Dataset, limit=1, seller_id=seller.id, title=about.title)
        if found:
            return found[0]
        self.result.created += 1
        return self.market.data.upload_dataset(seller=seller, raw=raw, about=about)

    def listing(self, seller: Participant, dataset_id: str, terms: LicenceTerms) -> Listing:
        found = self.market.find(Listing, limit=1, dataset_id=dataset_id)
        if found:
            return found[0]
        self.result.created += 1
        offer = OfferLicences(dataset_id=dataset_id, terms=terms)
        return self.market.orders.offer_licences(seller=seller, offer=offer)

    def anonymized(self, clinic: Participant, source: Dataset) -> str:
        """The id of the clinic's 匿名加工情報 made from `source`, running the job if needed."""
        for attempt in range(2):
            jobs = self.market.find(AnonymizationJob, source_dataset_id=source.id)
            done = next((job.result_dataset_id for job in jobs if job.result_dataset_id), None)
            if done is not None:
                return done
            if attempt == 0 and any(job.status in ("queued", "running") for job in jobs):
                self.market.jobs.wait()  # a job an interrupted run left behind, resumed on start
                continue
            break
        job = self.market.data.start_anonymization(
            seller=clinic, dataset_id=source.id, spec=CHECKUP_SPEC
        )
        self.market.jobs.wait()
        finished = self.market.data.job(participant=clinic, job_id=job.id)
        if finished.result_dataset_id is None:
            raise RuntimeError(f"the demo anonymization job failed: {finished.error}")
        return finished.result_dataset_id


def seed_demo(market: Market, *, known_keys: Mapping[str, str] | None = None) -> DemoResult:
    """Register demo participants, upload and list datasets, and trade a few licences, once.

    `known_keys` (by participant name, from `read_demo_keys`) are kept when they still work.
    """
    rng = random.Random(7)  # noqa: S311  (demo data, not secrets)
    seeder = _Seeder(market, known_keys or {})
    operator = seeder.participant("operator", OPERATOR, "operator")
    listings = []
    for index, (name, category, title, tags) in enumerate(SELLERS):
        seller = seeder.participant("seller", name, "business")
        for part in range(2):
            text = _sensor_csv(rng, ["timestamp", "sensor_id", "value_a", "value_b"], 200)
            dataset = seeder.dataset(
                seller,
                raw=text.encode("cp932" if index == 0 else "utf-8"),
                about=DescribeDataset(
                    title=f"{title} #{part + 1}",
                    category=category,
                    data_class="non_personal",
                    description="Synthetic demo data",
                    tags=tags,
                ),
            )
            listings.append(
                seeder.listing(
                    seller,
                    dataset.id,
                    LicenceTerms(
                        price_yen=rng.choice([5_000, 8_000, 12_000, 20_000]),
                        licence_count=rng.choice([None, 3, 10]),
                        allowed_purposes=["research", "public.policy", "marketing.analytics"],
                    ),
                )
            )
    buyers = [
        seeder.participant(
            "buyer",
            name,
            "business",
            recipient_category=category,
            credit_limit_yen=500_000,
        )
        for name, category in BUYERS
    ]
    clinic = seeder.participant("seller", CLINIC, "business")
    source = seeder.dataset(
        clinic,
        raw=_checkup_csv(rng, 600),
        about=DescribeDataset(
            title=CHECKUP_TITLE, category="healthcare.checkup", data_class="personal"
        ),
    )
    anonymized_id = seeder.anonymized(clinic, source)
    listings.append(
        seeder.listing(
            clinic,
            anonymized_id,
            LicenceTerms(
                price_yen=50_000,
                licence_count=5,
                allowed_purposes=["research.medical", "research.statistics"],
            ),
        )
    )
    result = seeder.result
    result.anonymized_dataset_id = anonymized_id
    # The trading round runs once: after it, every demo buyer has bids on the book or filled.
    if not any(market.find(Bid, limit=1, buyer_id=buyer.id) for buyer in buyers):
        for listing in listings:
            order = PlaceBid(
                instrument=listing.instrument,
                max_price_yen=listing.price_yen,
                purpose=rng.choice(sorted(set(listing.allowed_purposes) & DEMO_PURPOSES)),
            )
            outcome = market.orders.place_bid(buyer=rng.choice(buyers), order=order)
            result.trades.extend(outcome.trades)
    if market.settings.stripe_api_key:
        _card_round(market, seeder, operator, listings)
    holders = {lic.buyer_id for lic in market.find(Licence, dataset_id=anonymized_id)}
    result.anonymized_holder = next(
        (p.name for p in result.participants if p.role == "buyer" and p.id in holders), None
    )
    return result


# Stripe's test payment methods (localstripe knows them too): one that pays, one whose charges
# are declined after it was attached.
CARD_BUYERS = [
    ("カード払い商事 (card buyer)", "pm_card_visa"),
    ("カード不通商事 (declined card buyer)", "pm_card_chargeCustomerFail"),
]


def _card_round(
    market: Market, seeder: _Seeder, operator: Participant, listings: list[Listing]
) -> None:
    """With Stripe configured: buyers without credit pay by card, one card is declined, and the
    operator refunds half of the paid trade (docs/settlement.md)."""
    for (name, method), listing in zip(CARD_BUYERS, listings, strict=False):
        buyer = seeder.participant("buyer", name, "business")
        if not market.find(Bid, limit=1, buyer_id=buyer.id):
            market.settlement.register_card(buyer=buyer, payment_method_id=method)
            order = PlaceBid(
                instrument=listing.instrument,
                max_price_yen=listing.price_yen,
                purpose="research.statistics",
                dataset_id=listing.dataset_id,
            )
            seeder.result.trades.extend(market.orders.place_bid(buyer=buyer, order=order).trades)
    market.settlement.run_payments()
    payer = next(p for p in seeder.result.participants if p.name == CARD_BUYERS[0][0])
    paid = market.find(Invoice, limit=1, buyer_id=payer.id, status="paid")
    if paid and not market.find(InvoiceRefund, limit=1, invoice_id=paid[0].id):
        market.settlement.refund_invoice(
            operator=operator,
            invoice_id=paid[0].id,
            amount_yen=paid[0].amount_yen // 2,
            reason="demo: half of the licence fee returned",
        )
        market.settlement.run_payments()
    for name, _ in CARD_BUYERS:
        buyer_id = next(p.id for p in seeder.result.participants if p.name == name)
        payments = market.settlement.payments_of(buyer=market.find(Participant, id=buyer_id)[0])
        seeder.result.card_payments[name] = payments[0].status if payments else "none"
