"""Refunds take back sale, tax, fee and fee tax in proportion, never more than remains."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from market.models import Invoice
from market.settlement.refunds import apportion, split_refund
from market.settlement.tax import charge_for


@st.composite
def invoices_and_refunds(draw):  # type: ignore[no-untyped-def]
    charge = charge_for(
        unit_price_yen=draw(st.integers(1, 10**9)),
        quantity=draw(st.integers(1, 10)),
        price_includes_tax=draw(st.booleans()),
        seller_taxable=draw(st.booleans()),
        fee_bps=draw(st.integers(0, 10_000)),
        fee_minimum_yen=draw(st.integers(0, 10_000)),
    )
    invoice = Invoice(
        buyer_id="b",
        trade_id="t",
        amount_yen=charge.total_yen,
        net_yen=charge.net_yen,
        tax_yen=charge.tax_yen,
        fee_yen=charge.fee_yen,
        fee_tax_yen=charge.fee_tax_yen,
    )
    cuts = draw(st.lists(st.integers(1, charge.total_yen), max_size=4, unique=True))
    points = sorted({0, charge.total_yen, *cuts})
    return invoice, [b - a for a, b in itertools.pairwise(points)]


@given(invoices_and_refunds())
def test_refunds_in_any_parts_add_up_to_the_invoice(case) -> None:  # type: ignore[no-untyped-def]
    invoice, amounts = case
    earlier = (0, 0, 0, 0, 0)
    for amount in amounts:
        net, tax, fee, fee_tax = split_refund(invoice=invoice, amount_yen=amount, earlier=earlier)
        assert min(net, tax, fee, fee_tax, amount - fee - fee_tax) >= 0
        assert net + tax == amount
        earlier = (
            earlier[0] + amount,
            earlier[1] + net,
            earlier[2] + tax,
            earlier[3] + fee,
            earlier[4] + fee_tax,
        )
    assert earlier == (
        invoice.amount_yen,
        invoice.net_yen,
        invoice.tax_yen,
        invoice.fee_yen,
        invoice.fee_tax_yen,
    )


def test_a_part_is_split_in_proportion_rounded_down() -> None:
    # 1,100 = 1,000 + 100 tax; refunding 550 takes back 50 tax.
    assert apportion(550, [(1_000, 1_000), (100, 100)], 1_100) == [500, 50]
    # What a component cannot hold flows to the next.
    assert apportion(3, [(0, 0), (10, 1), (10, 5)], 11) == [0, 1, 2]
