"""A refund of a bank's pooled sale made in Stripe's dashboard (reported by a signed
`charge.refunded`, which localstripe never sends) takes the bank's part back from its transfer
as the market's own refund does: reversed once whatever the order or repetition of the events,
or left off a transfer not yet sent; the bank's payable never goes below zero. Through the real
SDK on a recording transport. SQLite and PostgreSQL."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import Session, col, select

from market.service import Market
from market.settings import Settings
from market.settlement.payments import proceeds
from market.settlement.tables import LedgerTransaction, Payment, PaymentAttempt
from tests.integration.test_stripe_connect import (
    bank_books,
    charged_before_transfer,
    of_trade,
    pooled_sale,
    refund_by_operator,
    reversals_sent,
    transfers_sent,
)
from tests.stripe_support import (
    FakeStripe,
    RecordingHTTPClient,
    event,
    market_on_recorder,
    signed,
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
    with market_on_recorder(settings, recorder, webhooks=True) as market:
        yield market


def refunded_event(fake: FakeStripe, payment: Payment, event_id: str) -> dict[str, Any]:
    """The `charge.refunded` Stripe sends for the payment's charge as it stands now."""
    intent = fake.intents[payment.intent_id or ""]
    charge = {
        "id": intent["charge"],
        "object": "charge",
        "payment_intent": intent["id"],
        "amount_refunded": intent["refunded"],
    }
    return event("charge.refunded", charge, event_id=event_id)


def deliver(market: Market, payload: dict[str, Any]) -> str:
    body, header = signed(payload)
    return market.settlement.handle_webhook(payload=body, signature=header)


def _reversal_attempts(market: Market, payment: Payment) -> list[PaymentAttempt]:
    with Session(market.db) as session:
        return list(
            session.exec(
                select(PaymentAttempt).where(
                    PaymentAttempt.payment_id == payment.id,
                    col(PaymentAttempt.operation).startswith(proceeds.REVERSAL_OPERATION),
                )
            )
        )


def test_a_dashboard_refund_reverses_the_banks_part_once_however_its_events_arrive(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    bank, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    share = proceeds.transfer_share(invoice)
    fake.refund_elsewhere(payment.intent_id or "", 100)
    first = refunded_event(fake, payment, "evt_first")
    fake.refund_elsewhere(payment.intent_id or "", 120)
    second = refunded_event(fake, payment, "evt_second")

    # The later event first: it books both refunds (the provider's refunds are asked for);
    # the earlier one, and a redelivery, book nothing more.
    assert deliver(market, second) == f"payment {payment.id} refunded 220 yen more"
    assert deliver(market, first) == f"payment {payment.id} refunded 0 yen more"
    assert deliver(market, second) == "duplicate"
    market.settlement.run_payments()
    market.settlement.run_payments()

    [attempt] = _reversal_attempts(market, payment)
    [reversal] = reversals_sent(recorder)
    with Session(market.db) as session:
        [refunded] = session.exec(
            select(LedgerTransaction).where(
                LedgerTransaction.kind == "payment.refunded_at_provider"
            )
        ).all()
    # The bank's part: the refund less the market fee's and its tax's parts, rounded down.
    bank_part = 220 - invoice.fee_yen * 220 // invoice.amount_yen
    bank_part -= invoice.fee_tax_yen * 220 // invoice.amount_yen
    assert attempt.operation == f"{proceeds.REVERSAL_OPERATION}{refunded.id}"
    assert attempt.status == "succeeded"
    assert reversal.idempotency_key == f"dm_trade_{trade.id}_{attempt.operation}_1"
    assert reversal.path == f"/v1/transfers/{payment.transfer_id}/reversals"
    assert reversal.params == {"amount": str(bank_part), "metadata[payment_id]": payment.id}
    assert [r["amount"] for r in fake.reversals] == [bank_part]
    assert fake.transfers[0]["amount"] - fake.transfers[0]["amount_reversed"] == share - bank_part
    assert typed_params_problems(recorder.requests) == []
    owed, kinds = bank_books(market, bank)
    assert owed == 0
    assert kinds.count("payment.transfer_reversed") == 1
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


@pytest.mark.parametrize("dashboard_first", [True, False])
def test_dashboard_and_market_refunds_together_never_take_more_than_the_banks_share(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, dashboard_first: bool
) -> None:
    """Each refund's fee parts are rounded down; counted one by one, a 10-yen refund and the
    rest would take 2 yen more from the bank than it was paid. Counting every earlier refund,
    whichever side made it, they take exactly the share."""
    bank, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    share = proceeds.transfer_share(invoice)
    first, rest = 10, invoice.amount_yen - 10

    def alone(amount: int) -> int:
        fee = invoice.fee_yen * amount // invoice.amount_yen
        return amount - fee - invoice.fee_tax_yen * amount // invoice.amount_yen

    assert alone(first) + alone(rest) > share  # what per-refund rounding would take

    def at_provider(amount: int, event_id: str) -> None:
        fake.refund_elsewhere(payment.intent_id or "", amount)
        deliver(market, refunded_event(fake, payment, event_id))
        market.settlement.run_payments()

    if dashboard_first:
        at_provider(first, "evt_1")
        assert bank_books(market, bank)[0] >= 0
        refund_by_operator(market, invoice, rest)
    else:
        refund_by_operator(market, invoice, first)
        assert bank_books(market, bank)[0] >= 0
        at_provider(rest, "evt_1")

    assert sum(r["amount"] for r in fake.reversals) == share
    assert fake.transfers[0]["amount_reversed"] == fake.transfers[0]["amount"] == share
    owed, kinds = bank_books(market, bank)
    assert owed == 0
    assert kinds.count("payment.transfer_reversed") == 2
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


@pytest.mark.parametrize("whole", [False, True])
def test_a_dashboard_refund_before_the_transfer_leaves_it_only_what_is_left(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, whole: bool
) -> None:
    bank, payment, invoice = charged_before_transfer(market)
    assert (payment.status, payment.transfer_id) == ("succeeded", None)

    amount = invoice.amount_yen if whole else 100
    fake.refund_elsewhere(payment.intent_id or "", amount)
    deliver(market, refunded_event(fake, payment, "evt_before"))
    market.settlement.run_payments()

    owed, kinds = bank_books(market, bank)
    assert owed == 0
    assert reversals_sent(recorder) == [] and _reversal_attempts(market, payment) == []
    assert "payment.transfer_reversed" not in kinds
    transfers = [int(t.params["amount"]) for t in transfers_sent(recorder)]
    if whole:
        assert transfers == [] and fake.transfers == []
    else:
        bank_part = amount - invoice.fee_yen * amount // invoice.amount_yen
        bank_part -= invoice.fee_tax_yen * amount // invoice.amount_yen
        assert transfers == [proceeds.transfer_share(invoice) - bank_part]
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


def test_a_dashboard_refund_while_the_transfers_answer_is_lost_is_reversed_once_it_is_made(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    fake.faults.append(("POST", "/v1/transfers", "timeout"))
    bank, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    assert payment.transfer_id is None
    fake.refund_elsewhere(payment.intent_id or "", 100)
    deliver(market, refunded_event(fake, payment, "evt_lost"))
    market.settlement.run_payments()  # the transfer is resent with its key, then reversed

    payment, _ = of_trade(market, trade)
    share = proceeds.transfer_share(invoice)
    assert [t.params["amount"] for t in transfers_sent(recorder)] == [str(share)] * 2
    [reversal] = reversals_sent(recorder)
    assert reversal.path == f"/v1/transfers/{payment.transfer_id}/reversals"
    assert fake.transfers[0]["amount_reversed"] == int(reversal.params["amount"]) > 0
    owed, _ = bank_books(market, bank)
    assert owed == 0
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []
