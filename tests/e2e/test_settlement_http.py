"""Invoices over HTTP: tax profile, a qualified invoice a buyer can keep, the seller's copy, a
refund's return invoice, instrument fees and the monthly statement."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from market.settings import Settings
from tests.e2e.test_market_slice import (
    PROBLEM,
    auth,
    register,
    register_buyer,
    upload,
)

MARKET_NUMBER = "T7000012050002"


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        data_dir=tmp_path / "var",
        database_url=database_url,
        master_key="11" * 32,
        redis_url=None,
        market_legal_name="市場株式会社",
        market_invoice_registration_number=MARKET_NUMBER,
    )


def test_a_buyer_keeps_a_qualified_invoice_and_a_refund_issues_a_return_invoice(
    http: httpx.Client, operator_key: str
) -> None:
    seller = register(http, "東都センサー株式会社")
    wrong = http.put(
        "/me/tax-profile",
        headers=auth(seller),
        json={"taxable_business": True, "invoice_registration_number": "T8000012050002"},
    )
    assert wrong.status_code == 422 and wrong.headers["content-type"] == PROBLEM
    assert "check digit" in wrong.json()["detail"]
    profile = http.put(
        "/me/tax-profile",
        headers=auth(seller),
        json={"taxable_business": True, "invoice_registration_number": "T2000012020001"},
    )
    assert profile.status_code == 200, profile.text
    assert profile.json()["invoice_registration_number"] == "T2000012020001"

    dataset = upload(http, seller, b"a,b\n1,2\n3,4\n", title="<script>alert(1)</script>")
    assert dataset.status_code == 201, dataset.text
    listing = http.post(
        "/listings",
        headers=auth(seller),
        json={
            "dataset_id": dataset.json()["id"],
            "price_yen": 1_099,
            "price_includes_tax": True,
            "allowed_purposes": ["research"],
        },
    )
    assert listing.status_code == 201, listing.text
    assert listing.json()["price_includes_tax"] is True
    instrument = listing.json()["instrument"]
    fees = http.put(
        f"/operator/instruments/{instrument}/fees",
        headers=auth(operator_key),
        json={"fee_bps": 500, "fee_minimum_yen": 0, "reason": "introductory rate"},
    )
    assert fees.status_code == 200 and fees.json()["fee_bps"] == 500

    buyer = register_buyer(http, operator_key, "Buyer Lab")
    bid = http.post(
        "/bids",
        headers=auth(buyer),
        json={"instrument": instrument, "max_price_yen": 1_099, "purpose": "research.academic"},
    )
    assert bid.status_code == 201 and len(bid.json()["trades"]) == 1, bid.text
    [invoice] = http.get("/invoices", headers=auth(buyer)).json()
    assert (invoice["net_yen"], invoice["tax_yen"], invoice["amount_yen"]) == (1_000, 99, 1_099)
    assert invoice["qualified"] is True and invoice["overdue"] is False

    document = http.get(f"/invoices/{invoice['id']}/document", headers=auth(buyer))
    assert document.status_code == 200
    assert document.headers["content-type"].startswith("text/html")
    page = document.text
    for expected in ("適格請求書", "Qualified invoice", MARKET_NUMBER, "市場株式会社", "Buyer Lab"):
        assert expected in page
    assert "¥1,099" in page and "¥99" in page and "10%" in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    copy = http.get(f"/invoices/{invoice['id']}/document", headers=auth(seller)).text
    assert "写し" in copy and "Market fee" in copy
    outsider = register(http, "Someone else")
    hidden = http.get(f"/invoices/{invoice['id']}/document", headers=auth(outsider))
    assert hidden.status_code == 404

    paid = http.post(
        f"/operator/invoices/{invoice['id']}/paid",
        headers=auth(operator_key),
        json={"reference": "MUFG 1"},
    )
    assert paid.status_code == 200
    refund = http.post(
        f"/operator/invoices/{invoice['id']}/refund",
        headers=auth(operator_key),
        json={"amount_yen": 1_099, "reason": "dataset withdrawn"},
    )
    assert refund.status_code == 201, refund.text
    assert (refund.json()["net_yen"], refund.json()["tax_yen"]) == (1_000, 99)
    returned = http.get(f"/refunds/{refund.json()['id']}/document", headers=auth(buyer))
    assert returned.status_code == 200 and "適格返還請求書" in returned.text
    again = http.post(
        f"/operator/invoices/{invoice['id']}/refund",
        headers=auth(operator_key),
        json={"amount_yen": 1, "reason": "twice"},
    )
    assert again.status_code == 409
    assert len(http.get(f"/invoices/{invoice['id']}/refunds", headers=auth(buyer)).json()) == 1

    jst_month = (datetime.now(UTC) + timedelta(hours=9)).strftime("%Y-%m")
    statement = http.get(f"/sales/statements/{jst_month}", headers=auth(seller)).json()
    assert [line["invoice_id"] for line in statement["invoices"]] == [invoice["id"]]
    assert statement["fees_yen"] == 50 and statement["fee_tax_yen"] == 5
    assert statement["refunded_yen"] == 1_099 - 55
    assert http.get("/sales/statements/2026-13", headers=auth(seller)).status_code == 422
