"""Trade postings balance, and fee and tax never exceed what the buyer pays (pure)."""

from hypothesis import given
from hypothesis import strategies as st

from market.models import Invoice
from market.settlement.invoices import invoice_postings
from market.settlement.tax import charge_for, market_fee


def _invoice(charge) -> Invoice:  # type: ignore[no-untyped-def]
    return Invoice(
        buyer_id="b",
        seller_id="s",
        trade_id="t",
        amount_yen=charge.total_yen,
        net_yen=charge.net_yen,
        tax_yen=charge.tax_yen,
        fee_yen=charge.fee_yen,
        fee_tax_yen=charge.fee_tax_yen,
    )


@given(
    price=st.integers(1, 10**12),
    quantity=st.integers(1, 1_000),
    includes_tax=st.booleans(),
    taxable=st.booleans(),
    fee_bps=st.integers(0, 10_000),
    minimum=st.integers(0, 10**6),
)
def test_trade_postings_balance_and_fees_never_exceed_the_total(
    price: int, quantity: int, includes_tax: bool, taxable: bool, fee_bps: int, minimum: int
) -> None:
    charge = charge_for(
        unit_price_yen=price,
        quantity=quantity,
        price_includes_tax=includes_tax,
        seller_taxable=taxable,
        fee_bps=fee_bps,
        fee_minimum_yen=minimum,
    )
    postings = invoice_postings(invoice=_invoice(charge))
    debits = sum(p.debit_yen for p in postings)
    assert debits == sum(p.credit_yen for p in postings) == charge.total_yen
    assert all(p.debit_yen >= 0 and p.credit_yen >= 0 for p in postings)
    assert charge.seller_yen >= 0
    stated = charge.total_yen if includes_tax else charge.net_yen
    assert stated == price * quantity


def test_fee_is_rounded_down_to_whole_yen_and_carries_its_own_tax() -> None:
    assert market_fee(12_345, 1000) == 1_234
    charge = charge_for(
        unit_price_yen=12_345,
        quantity=1,
        price_includes_tax=False,
        seller_taxable=True,
        fee_bps=1000,
    )
    # 12,345 x 10% = 1,234.5 -> 1,234 tax; fee 1,234, its tax 123.4 -> 123.
    assert [
        (p.account, p.debit_yen, p.credit_yen) for p in invoice_postings(invoice=_invoice(charge))
    ] == [
        ("receivable:buyer:b", 13_579, 0),
        ("payable:seller:s", 0, 12_222),
        ("revenue:market_fee", 0, 1_234),
        ("tax:consumption_payable", 0, 123),
    ]
