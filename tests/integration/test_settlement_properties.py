"""Property: any sequence of trades, repricings, fee changes, payments, deposits and refunds
leaves every ledger transaction balanced and unchanged, the trial balance at zero, and the
ledger in agreement with the invoices (SQLite and PostgreSQL)."""

import contextlib
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlmodel import Session

from market.errors import Conflict, CreditLimitExceeded
from market.events import InProcessBus
from market.models import Invoice, Listing, Participant
from market.service import Market
from market.settings import Settings
from market.settlement.check import check_ledger
from tests.factories import offer_licences, place_bid, sensor_csv, upload

LISTINGS = 3
operations = st.one_of(
    st.tuples(st.just("trade"), st.integers(0, LISTINGS - 1), st.booleans()),
    st.tuples(st.just("reprice"), st.integers(0, LISTINGS - 1), st.integers(1, 50_000)),
    st.tuples(
        st.just("fees"), st.integers(0, LISTINGS - 1), st.integers(0, 3_000), st.integers(0, 500)
    ),
    st.tuples(st.just("pay"), st.integers(0, 1_000)),
    st.tuples(st.just("deposit"), st.integers(1, 20_000)),
    st.tuples(st.just("refund"), st.integers(0, 1_000), st.integers(1, 100)),
)


class Scenario:
    """A market with three listings (taxable and registered, tax-inclusive, an individual)."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self.operator, _ = market.accounts.register(name="Ops", kind="operator")
        registered, _ = market.accounts.register(name="Registered KK", kind="business")
        registered = market.settlement.set_tax_profile(
            participant=registered,
            taxable_business=True,
            invoice_registration_number="T2000012020001",
        )
        person, _ = market.accounts.register(name="Person", kind="individual")
        self.listings: list[Listing] = []
        for i, (seller, inclusive) in enumerate(
            [(registered, False), (registered, True), (person, False)]
        ):
            dataset = upload(
                market,
                seller=seller,
                raw=sensor_csv(3 + i),
                title="t",
                category=f"cat{i}.data",
                data_class="non_personal",
            )
            self.listings.append(
                offer_licences(
                    market,
                    seller=seller,
                    dataset_id=dataset.id,
                    price_yen=1_000 * (i + 1),
                    licence_count=None,
                    allowed_purposes=["research"],
                    price_includes_tax=inclusive,
                )
            )
        self.prepaid, _ = market.accounts.register(name="Prepaid KK", kind="business")

    def apply(self, op: tuple[Any, ...]) -> None:
        handler = getattr(self, f"_{op[0]}")
        handler(*op[1:])

    def _trade(self, index: int, prepaid: bool) -> None:
        listing = self.listings[index]
        if prepaid:
            buyer = self.prepaid
        else:
            buyer, _ = self.market.accounts.register(
                name="B", kind="business", credit_limit_yen=10**9
            )
        price = self.market.find(Listing, id=listing.id)[0].price_yen
        with contextlib.suppress(CreditLimitExceeded):
            place_bid(
                self.market,
                buyer=buyer,
                instrument=listing.instrument,
                max_price_yen=price,
                purpose="research.academic",
                time_in_force="IOC",
            )

    def _reprice(self, index: int, price: int) -> None:
        self.market.orders.amend_listing(
            seller=self._seller(index), listing_id=self.listings[index].id, price_yen=price
        )

    def _seller(self, index: int) -> Participant:
        return self.market.find(Participant, id=self.listings[index].seller_id)[0]

    def _fees(self, index: int, bps: int, minimum: int) -> None:
        self.market.settlement.set_instrument_fees(
            operator=self.operator,
            instrument=self.listings[index].instrument,
            fee_bps=bps,
            fee_minimum_yen=minimum,
            reason="property test",
        )

    def _pay(self, pick: int) -> None:
        issued = self.market.find(Invoice, status="issued", limit=500)
        if issued:
            invoice = issued[pick % len(issued)]
            self.market.credit.mark_invoice_paid(
                operator=self.operator, invoice_id=invoice.id, reference="r", reason="paid"
            )

    def _deposit(self, amount: int) -> None:
        self.market.credit.record_deposit(
            operator=self.operator,
            participant_id=self.prepaid.id,
            amount_yen=amount,
            reference="d",
            reason="deposit",
        )

    def _refund(self, pick: int, percent: int) -> None:
        paid = self.market.find(Invoice, status="paid", limit=500)
        if not paid:
            return
        invoice = paid[pick % len(paid)]
        left = invoice.amount_yen - invoice.refunded_yen
        with contextlib.suppress(Conflict):
            self.market.settlement.refund_invoice(
                operator=self.operator,
                invoice_id=invoice.id,
                amount_yen=max(1, left * percent // 100),
                reason="refund",
            )


def test_any_sequence_of_settlement_operations_keeps_the_books_sound(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"market_invoice_registration_number": "T7000012050002"}
    )
    with Market(configured, bus=InProcessBus()) as market:
        scenario = Scenario(market)

        @hypothesis_settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        )
        @given(st.lists(operations, min_size=1, max_size=8))
        def run(ops: list[tuple[Any, ...]]) -> None:
            for op in ops:
                scenario.apply(op)
            with Session(market.db) as session:
                assert check_ledger(session=session) == []
            assert sum(market.credit.trial_balance().values()) == 0

        run()
