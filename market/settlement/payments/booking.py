"""Card payments inside the market's units of work: authorizations for bids, a charge per trade,
the ledger when the provider reports success, failures and their deadline, card refunds.

Nothing here calls the provider: each function changes rows and the ledger in the caller's
transaction, and the driver (`driver.py`) makes the calls after the commit.
Ledger of a card trade: the invoice is issued as on the embedded default; on success
Dr `clearing:payments` / Cr the buyer's receivable; for a Connect destination charge the
seller's share leaves at once: Dr the seller's payable / Cr `clearing:payments`.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from market.banks.orders import POOL
from market.banks.tables import PersonalListing
from market.errors import Conflict, CreditLimitExceeded, InvalidRequest, MarketError
from market.events import record_event
from market.models import Bid, Invoice, Licence, Listing, Participant, Trade
from market.settlement import refunds
from market.settlement.invoices import (
    claim_invoice_payment,
    invoice_postings,
    payment_postings,
    terms_of,
)
from market.settlement.ledger import (
    FEE_ACCOUNT,
    PAYMENT_CLEARING_ACCOUNT,
    TAX_PAYABLE_ACCOUNT,
    Posting,
    payable,
    post,
    reversal,
)
from market.settlement.payments.provider import MINIMUM_CHARGE_YEN
from market.settlement.payments.states import FINAL, UNBOUND_USABLE, moves_forward
from market.settlement.tables import InvoiceRefund, Payment, PaymentAccount, PaymentAttempt
from market.trading.risk import worst_case_yen

# The operation of a refund's provider call: `refund:<refund id>` (driver.queue_refund).
REFUND_OPERATION = "refund:"
# The card authorization a credit check allowed, waiting for the bid it belongs to.
PENDING_AUTHORIZATION = "card_authorization"


class PaymentPending(Conflict):
    """Data is delivered only after payment, to a buyer without credit."""

    title = "Payment pending"


class CardRefused(InvalidRequest):
    """The payment provider refused the card the buyer gave."""

    title = "Card refused"


class ProviderUnreachable(MarketError):
    """The payment provider did not answer; nothing was kept, and trying again is safe."""

    status = 503
    title = "Payment provider unavailable"


def card_on_file(*, session: Session, buyer_id: str) -> PaymentAccount | None:
    account = session.get(PaymentAccount, buyer_id)
    if account is None or account.payment_method_id is None:
        return None
    return account


def allow_by_card(*, session: Session, buyer: Participant, exposure_yen: int) -> bool:
    """Let a bid the buyer's credit cannot cover rest on a card authorization instead.

    True when card payments are on and the buyer has a card: the bid then holds its
    worst-case cost on the card (`open_authorization` creates the hold's row).
    """
    if not terms_of(session).card_payments or exposure_yen < MINIMUM_CHARGE_YEN:
        return False
    if card_on_file(session=session, buyer_id=buyer.id) is None:
        return False
    session.info[PENDING_AUTHORIZATION] = (buyer.id, exposure_yen)
    return True


def _connected_account(session: Session, seller_id: str) -> str | None:
    account = session.get(PaymentAccount, seller_id)
    return account.connected_account_id if account is not None else None


def open_authorization(*, session: Session, placed_id: str | None) -> None:
    """Create the card hold a credit check allowed for the bid just placed."""
    pending = session.info.pop(PENDING_AUTHORIZATION, None)
    if pending is None:
        return
    buyer_id, exposure = pending
    bid = session.get(Bid, placed_id) if placed_id is not None else None
    if bid is None or bid.buyer_id != buyer_id:
        raise CreditLimitExceeded(
            "a bid held on a card cannot be raised beyond its hold: cancel it and bid again"
        )
    session.add(
        Payment(
            buyer_id=buyer_id,
            bid_id=bid.id,
            amount_yen=exposure,
            destination=_destination_of_bid(session, bid),
        )
    )
    session.flush()


def _destination_of_bid(session: Session, bid: Bid) -> str | None:
    """The seller's connected account when the bid names its dataset (the seller is known);
    never a bank's pool, whose sales are separate charges and transfers."""
    dataset_id = bid.constraints.get("dataset_id")
    if not dataset_id:
        return None
    listing = session.exec(select(Listing).where(Listing.dataset_id == dataset_id)).first()
    if listing is None or _is_pool(session, listing.id):
        return None
    return _connected_account(session, listing.seller_id)


def _is_pool(session: Session, listing_id: str) -> bool:
    personal = session.get(PersonalListing, listing_id)
    return personal is not None and personal.channel == POOL


def charge_trade(*, session: Session, trade: Trade, invoice: Invoice) -> Payment | None:
    """Bind a trade of a card bid to a payment: capture its hold, or charge the card.

    A trade below Stripe's smallest charge stays an invoice. While the bid stays open, its
    remaining licences get a new hold (a capture releases the rest of the old one).
    """
    terms = terms_of(session)
    if not terms.card_payments:
        return None
    bid = session.get(Bid, trade.bid_id)
    if bid is None:
        return None
    usable = session.exec(
        select(Payment)
        .where(
            Payment.bid_id == bid.id,
            col(Payment.trade_id).is_(None),
            col(Payment.status).in_(UNBOUND_USABLE),
        )
        .order_by(col(Payment.created_at))
        .with_for_update()
    ).first()
    if usable is None and not _is_card_bid(session, bid.id):
        return None
    if invoice.amount_yen < MINIMUM_CHARGE_YEN:
        return None
    destination = _connected_account(session, trade.seller_id)
    transfer_to = None
    if _is_pool(session, trade.listing_id):
        # A bank's pooled sale: charged on the platform, the bank's share transferred after.
        transfer_to, destination = destination, None
    payment = usable
    if payment is None:
        payment = Payment(buyer_id=bid.buyer_id, bid_id=bid.id, amount_yen=invoice.amount_yen)
    if payment.status == "requested" and not _create_sent(session, payment):
        # No hold exists yet, nor is one being made: charge the trade directly, to its seller.
        payment.capture_method = "automatic"
        payment.amount_yen = invoice.amount_yen
        payment.destination = destination
    payment.trade_id = trade.id
    payment.transfer_to = transfer_to
    payment.invoice_id = invoice.id
    payment.capture_yen = invoice.amount_yen
    payment.application_fee_yen = invoice.fee_yen + invoice.fee_tax_yen
    if payment.status == "authorized":
        payment.status = "capture_due"
    session.add(payment)
    remaining = bid.quantity - bid.filled
    if bid.status == "open" and remaining > 0:
        session.add(
            Payment(
                buyer_id=bid.buyer_id,
                bid_id=bid.id,
                amount_yen=worst_case_yen(bid.max_price_yen, remaining),
                destination=_destination_of_bid(session, bid),
            )
        )
    session.flush()
    record_event(
        session,
        "PaymentRequested",
        {"payment_id": payment.id, "trade_id": trade.id, "amount_yen": payment.capture_yen},
    )
    return payment


def _create_sent(session: Session, payment: Payment) -> bool:
    """Whether the driver has committed a call creating the payment's PaymentIntent (its
    terms are then fixed: a resend must carry the same)."""
    found = session.exec(
        select(PaymentAttempt.id).where(
            PaymentAttempt.payment_id == payment.id, PaymentAttempt.operation == "create"
        )
    ).first()
    return found is not None


def _is_card_bid(session: Session, bid_id: str) -> bool:
    return session.exec(select(Payment.id).where(Payment.bid_id == bid_id)).first() is not None


def release_authorizations(*, session: Session) -> None:
    """Release the holds of bids that ended (filled, cancelled, expired, rejected) unused."""
    if not terms_of(session).card_payments:
        return
    rows = session.exec(
        select(Payment, Bid)
        .join(Bid, col(Bid.id) == col(Payment.bid_id))
        .where(
            col(Payment.trade_id).is_(None),
            col(Payment.status).in_(("requested", "created", "authorized", "failed")),
            Bid.status != "open",
        )
    ).all()
    for payment, _ in rows:
        payment.status = "cancelled" if payment.status in ("requested", "failed") else "cancel_due"
        session.add(payment)


def paid_by_card(*, session: Session, invoice_id: str) -> Payment | None:
    return session.exec(select(Payment).where(Payment.invoice_id == invoice_id)).first()


def mark_succeeded(*, session: Session, payment: Payment, charge_id: str | None) -> bool:
    """Book a payment's success exactly once (a conditional update); False if already final."""
    result = session.execute(
        update(Payment)
        .where(col(Payment.id) == payment.id, col(Payment.status).not_in(FINAL))
        .values(status="succeeded", charge_id=charge_id or payment.charge_id, failure_reason=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(payment)
    invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
    if invoice is not None and claim_invoice_payment(session=session, invoice_id=invoice.id):
        post(
            session,
            payment_postings(invoice=invoice, source=PAYMENT_CLEARING_ACCOUNT),
            memo=f"card payment {payment.id}",
            kind="invoice.paid",
            reference_id=invoice.id,
        )
        if payment.destination is not None:
            share = invoice.amount_yen - payment.application_fee_yen
            post(
                session,
                [
                    Posting(payable(invoice.seller_id or ""), debit_yen=share),
                    Posting(PAYMENT_CLEARING_ACCOUNT, credit_yen=share),
                ],
                memo=f"destination charge of payment {payment.id}",
                kind="payment.transferred",
                reference_id=payment.id,
            )
    record_event(
        session,
        "PaymentSucceeded",
        {"payment_id": payment.id, "trade_id": payment.trade_id, "amount_yen": payment.capture_yen},
    )
    return True


def move(*, session: Session, payment: Payment, status: str, **fields: Any) -> bool:
    """Move a payment forward to `status`; a step back or sideways changes nothing."""
    session.refresh(payment)
    if not moves_forward(payment.status, status):
        return False
    payment.status = status
    for name, value in fields.items():
        setattr(payment, name, value)
    session.add(payment)
    return True


def mark_failed(*, session: Session, payment: Payment, reason: str, now: datetime) -> bool:
    """Record why a payment failed; a trade's payment gets its deadline."""
    fields: dict[str, Any] = {"failure_reason": reason[:300]}
    if payment.trade_id is not None and payment.deadline_at is None:
        fields["deadline_at"] = now + timedelta(hours=terms_of(session).payment_deadline_hours)
    if not move(session=session, payment=payment, status="failed", **fields):
        return False
    record_event(
        session,
        "PaymentFailed",
        {"payment_id": payment.id, "buyer_id": payment.buyer_id, "reason": reason[:300]},
    )
    return True


def retry_failed(*, session: Session, buyer_id: str, now: datetime) -> list[Payment]:
    """After the buyer changed its card: charge again every failed trade still within its deadline."""
    failed = session.exec(
        select(Payment).where(
            Payment.buyer_id == buyer_id,
            Payment.status == "failed",
            col(Payment.trade_id).is_not(None),
        )
    ).all()
    retried = []
    for payment in failed:
        if payment.deadline_at is not None and payment.deadline_at <= now:
            continue
        payment.status = "requested"
        payment.capture_method = "automatic"
        payment.amount_yen = payment.capture_yen
        payment.intent_id = None
        payment.charge_id = None
        session.add(payment)
        retried.append(payment)
    return retried


def overdue(*, session: Session, now: datetime) -> list[Payment]:
    """The failed payments of trades whose deadline has passed."""
    return list(
        session.exec(
            select(Payment).where(
                Payment.status == "failed",
                col(Payment.trade_id).is_not(None),
                col(Payment.deadline_at) <= now,
            )
        ).all()
    )


def expire_overdue(*, session: Session, now: datetime) -> list[Trade]:
    """Fail the trades whose card payment missed its deadline; returns them, for their
    licences to be given back in the order book (`relisting.give_back`, same transaction).

    The licence is revoked, the invoice cancelled by a reversing transaction, and the
    listing's sold count lowered.
    """
    failed: list[Trade] = []
    for payment in overdue(session=session, now=now):
        if not move(session=session, payment=payment, status="expired"):
            continue
        trade = session.get(Trade, payment.trade_id)
        if trade is None:
            continue
        revoke_licences(session=session, trade_id=trade.id, now=now)
        invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
        if invoice is not None:
            cancelled = session.execute(
                update(Invoice)
                .where(col(Invoice.id) == invoice.id, col(Invoice.status) == "issued")
                .values(status="cancelled")
            )
            if cancelled.rowcount == 1:  # type: ignore[attr-defined]
                post(
                    session,
                    reversal(invoice_postings(invoice=invoice)),
                    memo=f"trade {trade.id} failed: unpaid by its deadline",
                    kind="invoice.cancelled",
                    reference_id=invoice.id,
                )
        listing = session.get(Listing, trade.listing_id)
        if listing is not None:
            listing.licences_sold = max(listing.licences_sold - trade.quantity, 0)
            session.add(listing)
        failed.append(trade)
        record_event(
            session,
            "TradeFailed",
            {"trade_id": trade.id, "payment_id": payment.id, "reason": "unpaid by its deadline"},
        )
    return failed


def revoke_licences(*, session: Session, trade_id: str, now: datetime) -> None:
    for licence in session.exec(select(Licence).where(Licence.trade_id == trade_id)):
        if licence.revoked_at is None:
            licence.revoked_at = now
            session.add(licence)


def require_refundable(*, payment: Payment, amount_yen: int) -> None:
    """Refuse a refund beyond what is left on the card (a refund made at the provider counts)."""
    left = payment.capture_yen - payment.refunded_yen
    if amount_yen > left:
        raise Conflict(
            f"{left:,} yen is left to refund on this card payment; {amount_yen:,} yen is more"
        )


def card_refund_booked(
    *, session: Session, payment: Payment, refund: InvoiceRefund, now: datetime
) -> None:
    """After a refund of a card-paid invoice is booked: track it on the payment, take the
    seller's share back from its connected account, revoke the licence on a full refund."""
    payment.refunded_yen += refund.amount_yen
    session.add(payment)
    if payment.destination is not None:
        share = refund.amount_yen - refund.fee_yen - refund.fee_tax_yen
        post(
            session,
            [
                Posting(PAYMENT_CLEARING_ACCOUNT, debit_yen=share),
                Posting(payable(_seller_of(session, payment)), credit_yen=share),
            ],
            memo=f"transfer reversed for refund {refund.id}",
            kind="payment.transfer_reversed",
            reference_id=refund.id,
        )
    if payment.refunded_yen >= payment.capture_yen and payment.trade_id is not None:
        revoke_licences(session=session, trade_id=payment.trade_id, now=now)


def _seller_of(session: Session, payment: Payment) -> str:
    invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
    return (invoice.seller_id or "") if invoice is not None else ""


@dataclass(frozen=True)
class ProviderRefundBooked:
    """A refund made at the provider as booked: its amount, the part taken back from the
    seller's (or bank's) payable, and its ledger transaction."""

    amount_yen: int
    seller_yen: int
    transaction_id: str


def provider_refund(
    *, session: Session, payment: Payment, refunded_elsewhere_yen: int, now: datetime
) -> ProviderRefundBooked | None:
    """Book refunds made at the provider, not through the market (its webhook reported them);
    None when there is nothing new to book.

    `refunded_elsewhere_yen` is what the provider holds in refunds without the market's
    metadata: the market's own refunds are left out on both sides, so one booked here but not
    yet answered by the provider neither hides nor doubles a refund made in the dashboard.
    The reversing entries take the difference back from the seller and the market in the
    invoice's proportions, counting every refund before it (`refunds.split_fee`: the seller's
    part never exceeds what is left of its share); it has no return invoice (refund through
    the market for one).
    """
    payment = session.exec(select(Payment).where(Payment.id == payment.id).with_for_update()).one()
    invoice = session.get(Invoice, payment.invoice_id) if payment.invoice_id else None
    booked_elsewhere = payment.refunded_yen - _refunded_through_market(session, payment)
    difference = min(
        refunded_elsewhere_yen - booked_elsewhere, payment.capture_yen - payment.refunded_yen
    )
    if invoice is None or difference <= 0:
        return None
    seller_share, fee, fee_tax = refunds.split_fee(
        invoice=invoice,
        amount_yen=difference,
        taken=refunds.taken_back(session, invoice_id=invoice.id),
    )
    lines = [
        Posting(payable(invoice.seller_id or ""), debit_yen=seller_share),
        Posting(FEE_ACCOUNT, debit_yen=fee),
        Posting(TAX_PAYABLE_ACCOUNT, debit_yen=fee_tax),
        Posting(PAYMENT_CLEARING_ACCOUNT, credit_yen=difference),
    ]
    if payment.destination is not None:
        lines += [
            Posting(PAYMENT_CLEARING_ACCOUNT, debit_yen=seller_share),
            Posting(payable(invoice.seller_id or ""), credit_yen=seller_share),
        ]
    transaction_id = post(
        session,
        lines,
        memo=f"refund at the provider of payment {payment.id}",
        kind=refunds.REFUNDED_AT_PROVIDER,
        reference_id=payment.id,
    )
    payment.refunded_yen += difference
    session.add(payment)
    if payment.refunded_yen >= payment.capture_yen and payment.trade_id is not None:
        revoke_licences(session=session, trade_id=payment.trade_id, now=now)
    return ProviderRefundBooked(
        amount_yen=difference, seller_yen=seller_share, transaction_id=transaction_id
    )


def _refunded_through_market(session: Session, payment: Payment) -> int:
    """Yen of the market's own refunds of a card payment (each queued as a refund call)."""
    operations = session.exec(
        select(PaymentAttempt.operation).where(
            PaymentAttempt.payment_id == payment.id,
            col(PaymentAttempt.operation).startswith(REFUND_OPERATION),
        )
    ).all()
    refund_ids = {operation.removeprefix(REFUND_OPERATION) for operation in operations}
    if not refund_ids:
        return 0
    amounts = session.exec(
        select(InvoiceRefund.amount_yen).where(col(InvoiceRefund.id).in_(refund_ids))
    ).all()
    return sum(amounts)


def require_paid(*, session: Session, licence: Licence) -> None:
    """Refuse delivery of a licence whose card payment has not succeeded."""
    payment = session.exec(select(Payment).where(Payment.trade_id == licence.trade_id)).first()
    if payment is None or payment.status == "succeeded":
        return
    why = f": {payment.failure_reason}" if payment.failure_reason else ""
    raise PaymentPending(
        f"licence {licence.id} is delivered once its card payment succeeds; the payment is "
        f"{payment.status}{why}. Data reaches a buyer without credit only after payment"
    )
