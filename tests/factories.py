"""Small builders of test data."""

import csv
import io


def sensor_csv(rows: int = 5, *, columns: tuple[str, ...] = ("sensor_id", "reading")) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for i in range(rows):
        writer.writerow([f"S{i:03d}"] + [str(i * 7 + j) for j in range(len(columns) - 1)])
    return out.getvalue().encode()


def list_sensor_dataset(market, *, price_yen: int = 1_000, **terms):  # type: ignore[no-untyped-def]
    """Register a seller, upload a non-personal dataset and list it; returns (seller, dataset, listing)."""
    seller, _ = market.register(name="Seller", kind="business")
    dataset = market.upload_dataset(
        seller=seller,
        raw=sensor_csv(),
        title="t",
        category="mobility.traffic",
        data_class="non_personal",
    )
    terms = {"licence_count": None, "allowed_purposes": ["research"], **terms}
    listing = market.list_dataset(
        seller=seller, dataset_id=dataset.id, price_yen=price_yen, **terms
    )
    return seller, dataset, listing


def register_buyer(  # type: ignore[no-untyped-def]
    market, *, category: str | None = None, credit_limit_yen: int = 1_000_000, verified: bool = True
):
    """A buyer with credit; its declared category verified by an operator unless `verified=False`."""
    buyer, _ = market.register(
        name="Buyer",
        kind="business",
        recipient_category=category,
        credit_limit_yen=credit_limit_yen,
    )
    if verified:
        operator, _ = market.register(name="Ops", kind="operator")
        buyer = market.set_verification(
            operator=operator, participant_id=buyer.id, verified=True, reason="checked registry"
        )
    return buyer
