"""A transfer to a bank, or a reversal of it, that the provider refuses is tried again after the
documented delays with the next attempt (a new idempotency key), a lost answer to a retry is
resent with the same key, and after the last attempt it is left to an operator and listed by
`reconcile`; nothing is transferred or reversed twice. Through the real SDK on a recording
transport (localstripe has no Connect). SQLite and PostgreSQL."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from market.models import utcnow
from market.service import Market
from market.settings import Settings
from market.settlement.payments import proceeds, retries
from market.settlement.tables import LedgerTransaction, Payment, PaymentAttempt
from tests.integration.test_stripe_connect import (
    bank_books,
    of_trade,
    pooled_sale,
    refund_by_operator,
    reversals_sent,
    transfers_sent,
)
from tests.stripe_support import (
    FakeStripe,
    RecordingHTTPClient,
    market_on_recorder,
    typed_params_problems,
)


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def recorder(fake: FakeStripe) -> RecordingHTTPClient:
    return RecordingHTTPClient(respond=fake)


@pytest.fixture
def market(settings: Settings, recorder: RecordingHTTPClient) -> Iterator[Market]:
    with market_on_recorder(settings, recorder) as market:
        yield market


class Clock:
    """The payment run's clock, moved forward by the test."""

    def __init__(self) -> None:
        self.at = utcnow()

    def __call__(self) -> datetime:
        return self.at

    def after(self, delay: timedelta) -> None:
        self.at += delay


@pytest.fixture
def clock(market: Market) -> Clock:
    clock = Clock()
    market.settlement.payments.now = clock
    return clock


def _transfers_booked(market: Market, payment: Payment) -> int:
    with Session(market.db) as session:
        return len(
            session.exec(
                select(LedgerTransaction).where(
                    LedgerTransaction.kind == "payment.transferred",
                    LedgerTransaction.reference_id == payment.id,
                )
            ).all()
        )


def _attempts(market: Market, payment: Payment) -> list[tuple[str, int, str]]:
    with Session(market.db) as session:
        rows = session.exec(
            select(PaymentAttempt)
            .where(PaymentAttempt.payment_id == payment.id)
            .order_by(col(PaymentAttempt.attempt))
        ).all()
    return [(a.operation, a.attempt, a.status) for a in rows if a.operation.startswith("transfer")]


def test_a_refused_transfer_is_retried_after_its_delay_with_a_new_key_and_settles_once(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, clock: Clock
) -> None:
    fake.refuse_transfers = 1
    bank, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    share = proceeds.transfer_share(invoice)
    assert payment.transfer_id is None and fake.transfers == []
    assert _attempts(market, payment) == [("transfer", 1, "failed")]
    assert _transfers_booked(market, payment) == 0
    assert bank_books(market, bank)[0] == share  # still owed to the bank
    # Waiting for its retry is no mismatch: the run retries it.
    assert market.settlement.reconcile() == []

    clock.after(timedelta(seconds=59))
    market.settlement.run_payments()  # too early: nothing is sent
    assert len(transfers_sent(recorder)) == 1

    clock.after(timedelta(seconds=1))
    market.settlement.run_payments()
    market.settlement.run_payments()  # made: nothing more is sent
    payment, _ = of_trade(market, trade)
    keys = [r.idempotency_key for r in transfers_sent(recorder)]
    assert keys == [f"dm_trade_{trade.id}_transfer_1", f"dm_trade_{trade.id}_transfer_2"]
    assert [t["amount"] for t in fake.transfers] == [share]
    assert payment.transfer_id == fake.transfers[0]["id"]
    assert _attempts(market, payment) == [("transfer", 1, "failed"), ("transfer", 2, "succeeded")]
    assert _transfers_booked(market, payment) == 1
    assert bank_books(market, bank)[0] == 0
    assert typed_params_problems(recorder.requests) == []
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


def test_a_lost_answer_to_a_retry_is_resent_with_the_same_key(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, clock: Clock
) -> None:
    fake.refuse_transfers = 1
    bank, trade = pooled_sale(market)
    fake.faults.append(("POST", "/v1/transfers", "lost"))
    clock.after(timedelta(minutes=1))
    market.settlement.run_payments()  # attempt 2 made, its answer lost
    market.settlement.run_payments()  # resent with its key: the first answer comes back

    payment, _ = of_trade(market, trade)
    keys = [r.idempotency_key for r in transfers_sent(recorder)]
    assert [k.rsplit("_", 1)[1] for k in keys if k] == ["1", "2", "2"]
    assert len(fake.transfers) == 1 and payment.transfer_id == fake.transfers[0]["id"]
    assert _transfers_booked(market, payment) == 1
    assert bank_books(market, bank)[0] == 0
    assert market.settlement.reconcile() == []


def test_a_transfer_refused_on_every_attempt_is_left_to_an_operator(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, clock: Clock
) -> None:
    fake.refuse_transfers = retries.MAX_ATTEMPTS + 1
    bank, trade = pooled_sale(market)
    for _ in range(retries.MAX_ATTEMPTS + 2):
        clock.after(timedelta(hours=13))  # past the longest delay
        market.settlement.run_payments()

    payment, invoice = of_trade(market, trade)
    keys = [r.idempotency_key for r in transfers_sent(recorder)]
    assert keys == [f"dm_trade_{trade.id}_transfer_{n}" for n in range(1, retries.MAX_ATTEMPTS + 1)]
    attempts = _attempts(market, payment)
    assert attempts[-1] == ("transfer", retries.MAX_ATTEMPTS, retries.FOR_OPERATOR)
    assert {status for _, _, status in attempts[:-1]} == {"failed"}
    # Nothing was transferred or booked: the market still owes the bank its share.
    assert fake.transfers == [] and payment.transfer_id is None
    assert _transfers_booked(market, payment) == 0
    assert bank_books(market, bank)[0] == proceeds.transfer_share(invoice)
    [mismatch] = market.settlement.reconcile()
    assert (mismatch.kind, mismatch.reference) == ("state_mismatch", payment.id)
    assert f"transfer to the bank was refused {retries.MAX_ATTEMPTS} times" in mismatch.detail
    assert market.settlement.check() == []


def test_a_refused_reversal_is_retried_after_its_delay_and_reverses_once(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, clock: Clock
) -> None:
    bank, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    fake.refuse_reversals = 1
    refund = refund_by_operator(market, invoice, invoice.amount_yen)
    operation = f"{proceeds.REVERSAL_OPERATION}{refund.id}"
    assert _attempts(market, payment)[-1] == (operation, 1, "failed")
    assert fake.reversals == []
    assert market.settlement.reconcile() == []  # waiting for its retry

    clock.after(timedelta(minutes=1))
    market.settlement.run_payments()
    market.settlement.run_payments()
    keys = [r.idempotency_key for r in reversals_sent(recorder)]
    assert keys == [f"dm_trade_{trade.id}_{operation}_1", f"dm_trade_{trade.id}_{operation}_2"]
    share = proceeds.transfer_share(invoice)
    assert [r["amount"] for r in fake.reversals] == [share]
    assert _attempts(market, payment)[-1] == (operation, 2, "succeeded")
    owed, kinds = bank_books(market, bank)
    assert owed == 0
    assert kinds.count("payment.transfer_reversed") == 1
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


def test_a_reversal_refused_on_every_attempt_is_left_to_an_operator(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, clock: Clock
) -> None:
    _, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    fake.refuse_reversals = retries.MAX_ATTEMPTS + 1
    refund_by_operator(market, invoice, invoice.amount_yen)
    for _ in range(retries.MAX_ATTEMPTS + 2):
        clock.after(timedelta(hours=13))
        market.settlement.run_payments()

    assert len(reversals_sent(recorder)) == retries.MAX_ATTEMPTS and fake.reversals == []
    assert fake.transfers[0]["amount_reversed"] == 0
    [mismatch] = market.settlement.reconcile()
    assert (mismatch.kind, mismatch.reference) == ("state_mismatch", payment.id)
    assert "reversal of the transfer to the bank was refused" in mismatch.detail
