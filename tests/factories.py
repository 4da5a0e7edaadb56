"""Small builders of test data, and the counts tests compare before and after."""

import csv
import io
from typing import Any

from sqlmodel import Session, func, select

from market.data.desk import DescribeDataset
from market.models import Dataset, JournalCommand, Listing, Participant
from market.service import Market
from market.trading.commands import LicenceTerms, OfferLicences, PlaceBid
from market.trading.desk import BidOutcome


def place_bid(market: Market, *, buyer: Participant, claim: Any = None, **order: Any) -> BidOutcome:
    """Place a bid from keyword terms (the fields of `PlaceBid`)."""
    return market.orders.place_bid(buyer=buyer, order=PlaceBid(**order), claim=claim)


def offer_licences(
    market: Market, *, seller: Participant, dataset_id: str, claim: Any = None, **terms: Any
) -> Listing:
    """List a dataset from keyword terms (the fields of `LicenceTerms`)."""
    offer = OfferLicences(dataset_id=dataset_id, terms=LicenceTerms(**terms))
    return market.orders.offer_licences(seller=seller, offer=offer, claim=claim)


def upload(market: Market, *, seller: Participant, raw: bytes, **about: Any) -> Dataset:
    """Upload a dataset from keyword facts (the fields of `DescribeDataset`)."""
    return market.data.upload_dataset(seller=seller, raw=raw, about=DescribeDataset(**about))


def sensor_csv(rows: int = 5, *, columns: tuple[str, ...] = ("sensor_id", "reading")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for i in range(rows):
        writer.writerow([f"S{i:03d}"] + [str(i * 7 + j) for j in range(len(columns) - 1)])
    return out.getvalue().encode()


def list_sensor_dataset(market, *, price_yen: int = 1_000, **terms):  # type: ignore[no-untyped-def]
    """Register a seller, upload a non-personal dataset and list it; returns (seller, dataset, listing)."""
    seller, _ = market.accounts.register(name="Seller", kind="business")
    dataset = upload(
        market,
        seller=seller,
        raw=sensor_csv(),
        title="t",
        category="mobility.traffic",
        data_class="non_personal",
    )
    terms = {"licence_count": None, "allowed_purposes": ["research"], **terms}
    listing = offer_licences(
        market, seller=seller, dataset_id=dataset.id, price_yen=price_yen, **terms
    )
    return seller, dataset, listing


def register_buyer(  # type: ignore[no-untyped-def]
    market, *, category: str | None = None, credit_limit_yen: int = 1_000_000, verified: bool = True
):
    """A buyer with credit; its declared category verified by an operator unless `verified=False`."""
    buyer, _ = market.accounts.register(
        name="Buyer",
        kind="business",
        recipient_category=category,
        credit_limit_yen=credit_limit_yen,
    )
    if verified:
        operator, _ = market.accounts.register(name="Ops", kind="operator")
        buyer = market.accounts.set_verification(
            operator=operator, participant_id=buyer.id, verified=True, reason="checked registry"
        )
    return buyer


def journal_rows(market: Market) -> int:
    """How many commands the engine journal holds."""
    with Session(market.db) as session:
        return session.exec(select(func.count()).select_from(JournalCommand)).one()
