"""Consumption tax and fees, worked by hand (docs/settlement.md, "Tax rules")."""

from market.settlement.tax import charge_for, tax_on, tax_within


def _charge(
    price: int,
    quantity: int = 1,
    *,
    inclusive: bool = False,
    taxable: bool = True,
    bps: int = 1000,
    minimum: int = 0,
):  # type: ignore[no-untyped-def]
    return charge_for(
        unit_price_yen=price,
        quantity=quantity,
        price_includes_tax=inclusive,
        seller_taxable=taxable,
        fee_bps=bps,
        fee_minimum_yen=minimum,
    )


def test_tax_on_a_tax_exclusive_price_is_rounded_down() -> None:
    assert tax_on(999) == 99  # 99.9
    assert tax_on(12_345) == 1_234  # 1,234.5
    assert tax_on(10) == 1


def test_tax_within_a_tax_inclusive_price_is_rounded_down() -> None:
    assert tax_within(11_000) == 1_000  # 11,000 x 10/110
    assert tax_within(1_099) == 99  # 99.909...
    assert tax_within(10) == 0  # 0.909...


def test_tax_is_rounded_once_per_invoice_not_per_licence() -> None:
    # Three licences at 335 yen: 1,005 yen, tax 100.5 -> 100. Per licence it would be 33 x 3 = 99.
    charge = _charge(335, 3)
    assert (charge.net_yen, charge.tax_yen, charge.total_yen) == (1_005, 100, 1_105)


def test_a_tax_inclusive_price_is_what_the_buyer_pays() -> None:
    charge = _charge(1_099, inclusive=True)
    assert (charge.net_yen, charge.tax_yen, charge.total_yen) == (1_000, 99, 1_099)
    # The fee is charged on the sale before tax: 10% of 1,000, and 10% tax on that.
    assert (charge.fee_yen, charge.fee_tax_yen, charge.seller_yen) == (100, 10, 989)


def test_an_individual_seller_charges_no_tax_but_the_fee_carries_its_own() -> None:
    charge = _charge(5_000, taxable=False)
    assert (charge.tax_rate_percent, charge.tax_yen, charge.total_yen) == (0, 0, 5_000)
    assert (charge.fee_yen, charge.fee_tax_yen, charge.seller_yen) == (500, 50, 4_450)
    inclusive = _charge(5_000, inclusive=True, taxable=False)
    assert inclusive == charge  # no tax inside either


def test_the_minimum_fee_applies_but_never_takes_more_than_the_buyer_pays() -> None:
    charge = _charge(1_000, bps=100, minimum=300)  # 1% would be 10 yen
    assert (charge.fee_yen, charge.fee_tax_yen, charge.seller_yen) == (300, 30, 770)
    tiny = _charge(100, taxable=False, minimum=500)
    # 500 + 50 exceeds the 100 yen paid: the fee becomes 100 x 100/110 -> 90, its tax 9.
    assert (tiny.fee_yen, tiny.fee_tax_yen, tiny.seller_yen) == (90, 9, 1)
