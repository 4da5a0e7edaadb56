"""Refunds take back sale, tax, fee and fee tax in proportion, never more than remains."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from market.models import Invoice
from market.settlement.refunds import apportion, split_fee, split_refund
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


@given(invoices_and_refunds(), st.lists(st.booleans(), min_size=5, max_size=5))
def test_refunds_at_the_provider_and_the_market_together_take_back_exactly_each_part(  # type: ignore[no-untyped-def]
    case, at_provider
) -> None:
    """Refunds made in the provider's dashboard and the market's own, in any order and parts,
    never take more than the seller's share from its payable, and together all of it."""
    invoice, amounts = case
    seller_total = invoice.amount_yen - invoice.fee_yen - invoice.fee_tax_yen
    market = (0, 0, 0, 0, 0)  # amount, net, tax, fee, fee tax of the market's refunds
    elsewhere = (0, 0, 0)  # amount, fee, fee tax of refunds at the provider
    seller_taken = 0
    for amount, provider in zip(amounts, at_provider, strict=False):
        if provider:
            taken = (market[0] + elsewhere[0], market[3] + elsewhere[1], market[4] + elsewhere[2])
            seller, fee, fee_tax = split_fee(invoice=invoice, amount_yen=amount, taken=taken)
            elsewhere = (elsewhere[0] + amount, elsewhere[1] + fee, elsewhere[2] + fee_tax)
        else:
            net, tax, fee, fee_tax = split_refund(
                invoice=invoice, amount_yen=amount, earlier=market, elsewhere=elsewhere
            )
            seller = amount - fee - fee_tax
            market = (
                market[0] + amount,
                market[1] + net,
                market[2] + tax,
                market[3] + fee,
                market[4] + fee_tax,
            )
        assert min(seller, fee, fee_tax) >= 0 and seller + fee + fee_tax == amount
        seller_taken += seller
        assert seller_taken <= seller_total
    assert seller_taken == seller_total
    assert market[3] + elsewhere[1] == invoice.fee_yen
    assert market[4] + elsewhere[2] == invoice.fee_tax_yen
