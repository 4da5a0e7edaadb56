"""The demo with a Stripe key, against localstripe (issue 12's Done-when): a buyer without credit
pays by card, another's card is declined, and the operator refunds half of the paid trade."""

from collections.abc import Iterator

import pytest

from market.demo import CARD_BUYERS, seed_demo
from market.events import InProcessBus
from market.models import Invoice, Participant
from market.service import Market
from market.settings import Settings
from market.settlement.tables import InvoiceRefund
from tests.stripe_support import API_KEY, WEBHOOK_SECRET, stripe_client

pytest_plugins = ["tests.stripe_support"]


@pytest.fixture
def market(settings: Settings, localstripe_url: str) -> Iterator[Market]:
    configured = settings.model_copy(
        update={
            "stripe_api_key": API_KEY,
            "stripe_api_base": localstripe_url,
            "stripe_webhook_secret": WEBHOOK_SECRET,
        }
    )
    with Market(configured, bus=InProcessBus()) as market:
        yield market


def test_the_demo_pays_declines_and_refunds_by_card(market: Market, localstripe_url: str) -> None:
    result = seed_demo(market)
    (payer, _), (declined, _) = CARD_BUYERS
    assert result.card_payments == {payer: "succeeded", declined: "failed"}

    [buyer] = market.find(Participant, name=payer)
    [invoice] = market.find(Invoice, buyer_id=buyer.id)
    assert invoice.status == "paid"
    [refund] = market.find(InvoiceRefund, invoice_id=invoice.id)
    assert refund.amount_yen == invoice.amount_yen // 2
    [payment] = market.settlement.payments_of(buyer=buyer)
    intent = stripe_client(localstripe_url).v1.payment_intents.retrieve(payment.intent_id or "")
    charges = stripe_client(localstripe_url).v1.refunds.list({"payment_intent": intent.id})
    assert [r.amount for r in charges.data] == [refund.amount_yen]

    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []
    # A second run changes nothing: no second charge, no second refund.
    again = seed_demo(market)
    assert again.card_payments == result.card_payments
    assert len(market.find(InvoiceRefund, invoice_id=invoice.id)) == 1
    assert len(market.settlement.payments_of(buyer=buyer)) == 1
