"""Consumption tax and the market fee on one invoice, in integer yen (pure).

One invoice holds one trade, so one item at one rate. Tax is rounded once per invoice per rate,
down to the yen (端数切捨て): on a tax-exclusive price `floor(net x 10 / 100)`, and out of a
tax-inclusive price `floor(total x 10 / 110)`. A seller that is not a taxable business charges
no tax (rate 0). The market's fee is charged on the tax-exclusive sale, at least the
instrument's minimum, and carries its own 10% tax (rounded down); fee and fee tax together
never exceed what the buyer pays.
"""

from dataclasses import dataclass

CONSUMPTION_TAX_PERCENT = 10


@dataclass(frozen=True)
class Charge:
    """The money of one invoice: what the buyer pays and how it is split."""

    net_yen: int
    tax_yen: int
    tax_rate_percent: int
    fee_yen: int
    fee_tax_yen: int

    @property
    def total_yen(self) -> int:
        """What the buyer pays: the sale and its tax."""
        return self.net_yen + self.tax_yen

    @property
    def seller_yen(self) -> int:
        """What the market owes the seller: the total less the fee and the fee's tax."""
        return self.total_yen - self.fee_yen - self.fee_tax_yen


def tax_on(net_yen: int, rate_percent: int = CONSUMPTION_TAX_PERCENT) -> int:
    """Consumption tax on a tax-exclusive amount, rounded down."""
    return net_yen * rate_percent // 100


def tax_within(total_yen: int, rate_percent: int = CONSUMPTION_TAX_PERCENT) -> int:
    """The consumption tax contained in a tax-inclusive amount, rounded down."""
    return total_yen * rate_percent // (100 + rate_percent)


def market_fee(net_yen: int, fee_bps: int, minimum_yen: int = 0) -> int:
    """The market's fee on a tax-exclusive sale: the rate rounded down, at least the minimum."""
    return max(net_yen * fee_bps // 10_000, minimum_yen)


def charge_for(
    *,
    unit_price_yen: int,
    quantity: int,
    price_includes_tax: bool,
    seller_taxable: bool,
    fee_bps: int,
    fee_minimum_yen: int = 0,
) -> Charge:
    """Split one trade into sale, tax, fee and fee tax."""
    stated = unit_price_yen * quantity
    rate = CONSUMPTION_TAX_PERCENT if seller_taxable else 0
    if price_includes_tax:
        tax = tax_within(stated, rate)
        net = stated - tax
    else:
        net = stated
        tax = tax_on(net, rate)
    total = net + tax
    fee = market_fee(net, fee_bps, fee_minimum_yen)
    fee_tax = tax_on(fee)
    if fee + fee_tax > total:
        # A minimum fee larger than the sale: the fee takes what the buyer pays, tax included.
        fee = total * 100 // (100 + CONSUMPTION_TAX_PERCENT)
        fee_tax = tax_on(fee)
    return Charge(net_yen=net, tax_yen=tax, tax_rate_percent=rate, fee_yen=fee, fee_tax_yen=fee_tax)
