"""Connect destination charges and their refunds through the real SDK on a recording transport
(localstripe has no Connect): each request's path, parameters (checked against the SDK's typed
parameters) and idempotency key. SQLite and PostgreSQL."""

import re
from collections.abc import Iterator

import pytest
from sqlmodel import Session, select

from market import db
from market.models import Invoice, Listing, Participant, Trade
from market.service import Market
from market.settings import Settings
from market.settlement.ledger import trial_balance
from market.settlement.payments import proceeds
from market.settlement.tables import InvoiceRefund, LedgerTransaction, Payment
from market.trading.commands import PlaceBid
from tests.factories import offer_licences, place_bid, sensor_csv, upload
from tests.integration.test_persons_engine import HEALTH, delegating, pool
from tests.stripe_support import (
    FakeStripe,
    Recorded,
    RecordingHTTPClient,
    market_on_recorder,
    typed_params_problems,
)

PURPOSE = "research.academic"
INSTRUMENT = "mobility.traffic/non_personal"
SELLER_ACCOUNT = "acct_1SellerTest"
BANK_ACCOUNT = "acct_1BankTest"
REVERSAL_PATH = r"^/v1/transfers/[^/]+/reversals$"


def reversals_sent(recorder: RecordingHTTPClient) -> list[Recorded]:
    return [r for r in recorder.requests if r.method == "POST" and re.match(REVERSAL_PATH, r.path)]


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
        # The charge's balance transaction, for the provider's fee.
        ("GET", f"/v1/payment_intents/{payment.intent_id}", None),
    ]
    assert recorder.requests[-1].params == {"expand[0]": "latest_charge.balance_transaction"}
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
    # The seller was paid through Stripe: the market owes it nothing; it kept its fee, less
    # the provider's processing fee of the whole charge (3.6% of 1,100 yen), which it pays.
    assert balances.get(f"payable:seller:{seller.id}", 0) == 0
    assert balances["expense:provider_fees"] == 40
    assert balances["clearing:payments"] == 110 - 40
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


def pooled_sale(market: Market, *, run: bool = True) -> tuple[Participant, Trade]:
    """A card buyer's trade of a bank's pool, approved by its board (the records provided);
    with `run`, charged and its share transferred."""
    operator, _ = market.accounts.register(name="Ops", kind="operator")
    bank, _ = market.accounts.register(name="Bank", kind="info_bank")
    market.settlement.set_connected_account(
        operator=operator, seller_id=bank.id, account_id=BANK_ACCOUNT, reason="onboarded"
    )
    for i in range(3):
        delegating(market, bank, f"p{i}")
    listing = pool(market, bank, min_cohort=3)
    lab, _ = market.accounts.register(
        name="Lab", kind="business", recipient_category="research", credit_limit_yen=0
    )
    lab = market.accounts.set_verification(
        operator=operator, participant_id=lab.id, verified=True, reason="checked register"
    )
    market.settlement.register_card(buyer=lab, payment_method_id="pm_card_visa")
    order = PlaceBid(
        instrument=HEALTH,
        max_price_yen=300,
        purpose="research.medical",
        dataset_id=listing.dataset_id,
    )
    [trade] = market.orders.place_bid(buyer=lab, order=order).trades
    [(_, request)] = market.banks.board(bank=bank)
    market.banks.decide(bank=bank, request_id=request.id, approve=True, reason="承認", member=None)
    if run:
        market.settlement.run_payments()
    return bank, trade


def of_trade(market: Market, trade: Trade) -> tuple[Payment, Invoice]:
    with Session(market.db) as session:
        payment = session.exec(select(Payment).where(Payment.trade_id == trade.id)).one()
        invoice = session.exec(select(Invoice).where(Invoice.trade_id == trade.id)).one()
    return payment, invoice


def charged_before_transfer(market: Market) -> tuple[Participant, Payment, Invoice]:
    """A bank's pooled sale charged by the payment run, its share not transferred yet: the
    bank, the payment and the invoice."""
    bank, trade = pooled_sale(market, run=False)
    with db.unit_of_work(market.db) as session:
        [payment] = proceeds.charge_pooled_trades(session=session)
        payment_id = payment.id
    market.settlement.payments.advance(payment_id)
    payment, invoice = of_trade(market, trade)
    return bank, payment, invoice


def transfers_sent(recorder: RecordingHTTPClient) -> list[Recorded]:
    return [r for r in recorder.requests if r.method == "POST" and r.path == "/v1/transfers"]


def test_a_banks_pooled_sale_is_charged_on_the_platform_then_its_share_transferred(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    bank, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    assert (payment.status, invoice.status) == ("succeeded", "paid")
    assert (payment.destination, payment.transfer_to) == (None, BANK_ACCOUNT)
    [create] = [
        r
        for r in recorder.requests
        if r.path == "/v1/payment_intents" and r.idempotency_key == f"dm_trade_{trade.id}_create_1"
    ]
    # A charge on the platform: no destination, no application fee, the trade's transfer group.
    assert create.params["transfer_group"] == f"trade_{trade.id}"
    assert create.params["amount"] == str(invoice.amount_yen)
    assert "transfer_data[destination]" not in create.params
    assert "application_fee_amount" not in create.params
    [transfer] = transfers_sent(recorder)
    share = invoice.amount_yen - invoice.fee_yen - invoice.fee_tax_yen
    assert transfer.params == {
        "amount": str(share),
        "currency": "jpy",
        "destination": BANK_ACCOUNT,
        "transfer_group": f"trade_{trade.id}",
        "source_transaction": payment.charge_id,
        "metadata[payment_id]": payment.id,
    }
    assert transfer.idempotency_key == f"dm_trade_{trade.id}_transfer_1"
    assert payment.transfer_id == fake.transfers[0]["id"]
    assert typed_params_problems(recorder.requests) == []

    market.settlement.run_payments()  # transferred once
    assert len(transfers_sent(recorder)) == 1
    with Session(market.db) as session:
        balances = trial_balance(session=session)
    # The bank was paid through Stripe; the market keeps its fee less the provider's.
    assert balances.get(f"payable:seller:{bank.id}", 0) == 0
    assert balances["clearing:payments"] == invoice.amount_yen - share - (
        payment.provider_fee_yen or 0
    )
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


def test_a_transfer_whose_answer_was_lost_is_resent_with_its_key_and_booked_once(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    fake.faults.append(("POST", "/v1/transfers", "lost"))
    bank, trade = pooled_sale(market)
    payment, _ = of_trade(market, trade)
    assert payment.transfer_id is None
    market.settlement.run_payments()
    payment, _ = of_trade(market, trade)
    sent = transfers_sent(recorder)
    assert [r.idempotency_key for r in sent] == [f"dm_trade_{trade.id}_transfer_1"] * 2
    assert len(fake.transfers) == 1 and payment.transfer_id == fake.transfers[0]["id"]
    with Session(market.db) as session:
        transferred = session.exec(
            select(LedgerTransaction).where(
                LedgerTransaction.kind == "payment.transferred",
                LedgerTransaction.reference_id == payment.id,
            )
        ).all()
        assert trial_balance(session=session).get(f"payable:seller:{bank.id}", 0) == 0
    assert len(transferred) == 1
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


def bank_books(market: Market, bank: Participant) -> tuple[int, list[str]]:
    """The bank's payable (what the market owes it) and the kinds of transactions booked."""
    with Session(market.db) as session:
        balances = trial_balance(session=session)
        kinds = [t.kind for t in session.exec(select(LedgerTransaction))]
    return -balances.get(f"payable:seller:{bank.id}", 0), kinds


def refund_by_operator(market: Market, invoice: Invoice, amount_yen: int) -> InvoiceRefund:
    operator, _ = market.accounts.register(name="Refunds", kind="operator")
    return market.settlement.refund_invoice(
        operator=operator, invoice_id=invoice.id, amount_yen=amount_yen, reason="complaint"
    )


def test_a_full_refund_of_a_pooled_sale_reverses_the_whole_transfer_once(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    bank, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    refund = refund_by_operator(market, invoice, invoice.amount_yen)
    market.settlement.run_payments()

    [reversal] = reversals_sent(recorder)
    share = proceeds.transfer_share(invoice)
    assert reversal.path == f"/v1/transfers/{payment.transfer_id}/reversals"
    assert reversal.params == {"amount": str(share), "metadata[payment_id]": payment.id}
    assert reversal.idempotency_key == f"dm_trade_{trade.id}_transfer_reversal:{refund.id}_1"
    assert [r["transfer"] for r in fake.reversals] == [payment.transfer_id]
    assert typed_params_problems(recorder.requests) == []
    owed, kinds = bank_books(market, bank)
    assert owed == 0
    assert kinds.count("payment.transfer_reversed") == 1
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


def test_a_partial_refund_reverses_the_banks_part_and_a_lost_answer_is_resent_with_its_key(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe
) -> None:
    bank, trade = pooled_sale(market)
    _, invoice = of_trade(market, trade)
    fake.faults.append(("POST", "/reversals", "lost"))
    amount = invoice.amount_yen // 3
    refund = refund_by_operator(market, invoice, amount)
    market.settlement.run_payments()  # resent: the first answer was lost
    market.settlement.run_payments()  # answered: nothing more is sent

    sent = reversals_sent(recorder)
    key = f"dm_trade_{trade.id}_transfer_reversal:{refund.id}_1"
    assert [r.idempotency_key for r in sent] == [key, key]
    # The market's fee and its tax are taken back rounded down; the bank's part is the rest.
    bank_part = (
        amount
        - invoice.fee_yen * amount // invoice.amount_yen
        - invoice.fee_tax_yen * amount // invoice.amount_yen
    )
    assert 0 < bank_part < proceeds.transfer_share(invoice)
    assert {r.params["amount"] for r in sent} == {str(bank_part)}
    assert len(fake.reversals) == 1 and fake.reversals[0]["amount"] == bank_part
    assert typed_params_problems(recorder.requests) == []
    owed, kinds = bank_books(market, bank)
    assert owed == 0
    assert kinds.count("payment.transfer_reversed") == 1

    # The rest refunded later reverses what is left of the transfer, exactly.
    refund_by_operator(market, invoice, invoice.amount_yen - amount)
    reversed_yen = sum(r["amount"] for r in fake.reversals)
    assert reversed_yen == proceeds.transfer_share(invoice)
    owed, _ = bank_books(market, bank)
    assert owed == 0
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


@pytest.mark.parametrize("whole", [False, True])
def test_a_refund_before_the_transfer_leaves_the_transfer_only_what_is_left(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, whole: bool
) -> None:
    bank, payment, invoice = charged_before_transfer(market)
    assert (payment.status, payment.transfer_id, transfers_sent(recorder)) == (
        "succeeded",
        None,
        [],
    )

    amount = invoice.amount_yen if whole else invoice.amount_yen // 2
    refund = refund_by_operator(market, invoice, amount)  # its payment run transfers what is left
    market.settlement.run_payments()

    left = proceeds.transfer_share(invoice) - proceeds.bank_part(refund)
    transfers = transfers_sent(recorder)
    if whole:
        assert left == 0 and transfers == [] and fake.transfers == []
    else:
        assert [t.params["amount"] for t in transfers] == [str(left)]
        assert left > 0
    assert reversals_sent(recorder) == []
    assert typed_params_problems(recorder.requests) == []
    owed, kinds = bank_books(market, bank)
    assert owed == 0
    assert "payment.transfer_reversed" not in kinds
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []


@pytest.mark.parametrize(("fault", "whole"), [("timeout", False), ("lost", True)])
def test_a_refund_while_the_transfers_answer_is_missing_reverses_the_transfer_once_made(
    market: Market, recorder: RecordingHTTPClient, fake: FakeStripe, fault: str, whole: bool
) -> None:
    fake.faults.append(("POST", "/v1/transfers", fault))
    bank, trade = pooled_sale(market)
    payment, invoice = of_trade(market, trade)
    assert payment.transfer_id is None
    amount = invoice.amount_yen if whole else invoice.amount_yen // 2

    refund = refund_by_operator(market, invoice, amount)  # the transfer is resent first
    payment, _ = of_trade(market, trade)
    share = proceeds.transfer_share(invoice)
    # The transfer keeps its terms under its key; the refund's part is reversed after it.
    assert {t.params["amount"] for t in transfers_sent(recorder)} == {str(share)}
    [reversal] = reversals_sent(recorder)
    assert reversal.path == f"/v1/transfers/{payment.transfer_id}/reversals"
    assert reversal.params["amount"] == str(proceeds.bank_part(refund))
    assert len(fake.transfers) == 1 and payment.transfer_id == fake.transfers[0]["id"]
    owed, _ = bank_books(market, bank)
    assert owed == 0
    assert market.settlement.check() == []
    assert market.settlement.reconcile() == []
