"""Connect destination charges and their refunds through the real SDK on a recording transport
(localstripe has no Connect): each request's path, parameters (checked against the SDK's typed
parameters) and idempotency key. SQLite and PostgreSQL."""

from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from market.events import InProcessBus
from market.models import Listing, Participant
from market.service import Market
from market.settings import Settings
from market.settlement.ledger import trial_balance
from market.settlement.payments.stripe_adapter import StripePayments
from market.settlement.tables import LedgerTransaction, Payment
from tests.factories import offer_licences, place_bid, sensor_csv, upload
from tests.stripe_support import (
    API_KEY,
    FakeStripe,
    RecordingHTTPClient,
    typed_params_problems,
)

PURPOSE = "research.academic"
INSTRUMENT = "mobility.traffic/non_personal"
SELLER_ACCOUNT = "acct_1SellerTest"


@pytest.fixture
def fake() -> FakeStripe:
    return FakeStripe()


@pytest.fixture
def recorder(fake: FakeStripe) -> RecordingHTTPClient:
    return RecordingHTTPClient(respond=fake)


@pytest.fixture
def market(settings: Settings, recorder: RecordingHTTPClient) -> Iterator[Market]:
    configured = settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": "https://api.stripe.test"}
    )
    with Market(configured, bus=InProcessBus()) as market:
        market.settlement.use_provider(
            StripePayments(
                api_key=API_KEY, api_base="https://api.stripe.test", http_client=recorder
            )
        )
        yield market


def _connected_listing(market: Market, *, price: int = 1_000) -> tuple[Participant, Listing]:
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    seller, _ = market.accounts.register(name="東都センサー株式会社", kind="business")
    market.settlement.set_connected_account(
        operator=operator, seller_id=seller.id, account_id=SELLER_ACCOUNT, reason="onboarded"
    )
    dataset = upload(
        market,
        seller=seller,
        raw=sensor_csv(5),
        title="交通量",
        category="mobility.traffic",
        data_class="non_personal",
    )
    listing = offer_licences(
        market,
        seller=seller,
        dataset_id=dataset.id,
        price_yen=price,
        licence_count=None,
        allowed_purposes=["research"],
    )
    return seller, listing


def _card_buyer(market: Market) -> Participant:
    buyer, _ = market.accounts.register(name="Buyer KK", kind="business", credit_limit_yen=0)
    market.settlement.register_card(buyer=buyer, payment_method_id="pm_card_visa")
    return buyer


def _payment(market: Market) -> Payment:
    with Session(market.db) as session:
        return session.exec(select(Payment)).one()


def test_a_trade_is_a_destination_charge_to_the_seller_less_the_market_fee(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    seller, listing = _connected_listing(market)
    buyer = _card_buyer(market)
    [trade] = place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=1_000,
        purpose=PURPOSE,
        dataset_id=listing.dataset_id,
    ).trades
    market.settlement.run_payments()

    calls = [(r.method, r.path, r.idempotency_key) for r in recorder.requests]
    payment = _payment(market)
    assert calls == [
        ("POST", "/v1/customers", f"dm_customer_{buyer.id}"),
        ("POST", "/v1/payment_methods/pm_card_visa/attach", f"dm_attach_{buyer.id}_pm_card_visa"),
        ("POST", "/v1/payment_intents", f"dm_trade_{trade.id}_create_1"),
        (
            "POST",
            f"/v1/payment_intents/{payment.intent_id}/confirm",
            f"dm_trade_{trade.id}_confirm_1",
        ),
    ]
    create = recorder.requests[2].params
    assert create["amount"] == "1100" and create["currency"] == "jpy"
    assert create["capture_method"] == "automatic"
    assert create["transfer_data[destination]"] == SELLER_ACCOUNT
    assert create["application_fee_amount"] == "110"  # the fee (10%) and its tax
    assert create["metadata[payment_id]"] == payment.id
    assert typed_params_problems(recorder.requests) == []
    assert payment.status == "succeeded"

    with Session(market.db) as session:
        balances = trial_balance(session=session)
    # The seller was paid through Stripe: the market owes it nothing; it kept its fee.
    assert balances.get(f"payable:seller:{seller.id}", 0) == 0
    assert balances["clearing:payments"] == 110
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


def test_a_held_bid_naming_its_dataset_captures_with_the_fee_and_refunds_reverse_the_transfer(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    seller, listing = _connected_listing(market, price=5_000)
    buyer = _card_buyer(market)
    operator, _ = market.accounts.register(name="Ops2", kind="operator")
    outcome = place_bid(
        market,
        buyer=buyer,
        instrument=INSTRUMENT,
        max_price_yen=2_000,
        purpose=PURPOSE,
        dataset_id=listing.dataset_id,
    )
    market.settlement.run_payments()
    hold = _payment(market)
    assert hold.status == "authorized"
    create = next(r for r in recorder.requests if r.path == "/v1/payment_intents")
    assert create.params["capture_method"] == "manual"
    assert create.params["transfer_data[destination]"] == SELLER_ACCOUNT
    assert "application_fee_amount" not in create.params  # set when the trade's amount is known
    assert create.idempotency_key == f"dm_payment_{hold.id}_create_1"

    market.orders.amend_listing(seller=seller, listing_id=listing.id, price_yen=2_000)
    market.settlement.run_payments()
    paid = _payment(market)
    [trade_id] = [paid.trade_id]
    capture = next(r for r in recorder.requests if r.path.endswith("/capture"))
    assert capture.params == {"amount_to_capture": "2200", "application_fee_amount": "220"}
    assert capture.idempotency_key == f"dm_trade_{trade_id}_capture_1"
    assert paid.status == "succeeded" and outcome.bid.id == paid.bid_id

    refund = market.settlement.refund_invoice(
        operator=operator, invoice_id=paid.invoice_id or "", amount_yen=1_100, reason="half"
    )
    sent = next(r for r in recorder.requests if r.path == "/v1/refunds")
    assert sent.params == {
        "payment_intent": paid.intent_id,
        "amount": "1100",
        "metadata[market_refund]": f"dm_trade_{trade_id}_refund:{refund.id}_1",
        "reverse_transfer": "true",
        "refund_application_fee": "true",
    }
    assert sent.idempotency_key == f"dm_trade_{trade_id}_refund:{refund.id}_1"
    assert typed_params_problems(recorder.requests) == []
    with Session(market.db) as session:
        kinds = [t.kind for t in session.exec(select(LedgerTransaction))]
        balances = trial_balance(session=session)
    assert "payment.transfer_reversed" in kinds
    assert balances.get(f"payable:seller:{seller.id}", 0) == 0
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []
