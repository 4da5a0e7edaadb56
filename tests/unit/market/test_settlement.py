from hypothesis import given
from hypothesis import strategies as st

from market.settlement import market_fee, trade_postings


@given(gross=st.integers(0, 10**12), fee_bps=st.integers(0, 10_000))
def test_trade_postings_balance_and_fee_never_exceeds_gross(gross: int, fee_bps: int) -> None:
    postings = trade_postings(gross_yen=gross, fee_bps=fee_bps, buyer_id="b", seller_id="s")
    assert sum(p.debit_yen for p in postings) == sum(p.credit_yen for p in postings) == gross
    assert 0 <= market_fee(gross, fee_bps) <= gross
    assert all(p.debit_yen >= 0 and p.credit_yen >= 0 for p in postings)


def test_fee_is_rounded_down_to_whole_yen() -> None:
    assert market_fee(12_345, 1000) == 1_234
    postings = trade_postings(gross_yen=12_345, fee_bps=1000, buyer_id="b", seller_id="s")
    assert [(p.account, p.debit_yen, p.credit_yen) for p in postings] == [
        ("receivable:buyer:b", 12_345, 0),
        ("payable:seller:s", 0, 11_111),
        ("revenue:market_fee", 0, 1_234),
    ]
