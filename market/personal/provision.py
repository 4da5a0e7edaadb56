"""Provision of a person's records to a recipient, booked on both sides (APPI arts. 29-30).

Each provision relies on one consent receipt; the recipient's book names the person only by a
pseudonymous reference that is stable for that recipient and differs across recipients.
"""

import hashlib
import hmac
from datetime import datetime

from sqlmodel import Session, col, select

from market.events import record_event
from market.personal.consent import issue_receipt
from market.personal.recipients import RecipientView
from market.personal.records import record_ids_of
from market.personal.tables import ConsentReceipt, ProvisionRecord, ProvisionRequest


def person_ref(key: bytes, recipient_id: str, person_id: str) -> str:
    """HMAC-SHA256(key, recipient, person), shortened: linkable only within one recipient."""
    mac = hmac.new(key, f"{recipient_id}\x00{person_id}".encode(), hashlib.sha256)
    return "p_" + mac.hexdigest()[:32]


def provide(
    *,
    session: Session,
    request: ProvisionRequest,
    person_id: str,
    recipient: RecipientView,
    controller: tuple[str, str, str],
    method: str,
    conditions_version: int,
    at: datetime,
    ref_key: bytes,
) -> tuple[ConsentReceipt, list[ProvisionRecord]]:
    """Issue the receipt and book the provision of the person's records in the request's categories."""
    receipt = issue_receipt(
        session=session,
        person_id=person_id,
        request=request,
        recipient=recipient,
        controller=controller,
        method=method,
        conditions_version=conditions_version,
        at=at,
    )
    record_ids = record_ids_of(session=session, person_id=person_id, categories=request.categories)
    reference = person_ref(ref_key, recipient.id, person_id)
    books = [
        ProvisionRecord(
            side=side,
            book_owner_id=owner,
            person_id=person_id,
            person_ref=reference,
            provider_id=controller[0],
            recipient_id=recipient.id,
            request_id=request.id,
            consent_receipt_id=receipt.id,
            purpose=request.purpose,
            categories=list(request.categories),
            record_ids=record_ids,
            provided_at=at,
        )
        for side, owner in (("provider", controller[0]), ("recipient", recipient.id))
    ]
    session.add_all(books)
    record_event(
        session,
        "PersonalDataProvided",
        {"request_id": request.id, "receipt_id": receipt.id, "records": len(record_ids)},
    )
    return receipt, books


def provisions_about(*, session: Session, person_id: str) -> list[ProvisionRecord]:
    """The provider-side records of every provision of this person's data."""
    query = select(ProvisionRecord).where(
        ProvisionRecord.person_id == person_id, ProvisionRecord.side == "provider"
    )
    return list(session.exec(query.order_by(col(ProvisionRecord.provided_at).desc())))


def provisions_booked_by(*, session: Session, owner_id: str) -> list[ProvisionRecord]:
    """The provision records a provider (bank) or a recipient keeps."""
    query = select(ProvisionRecord).where(ProvisionRecord.book_owner_id == owner_id)
    return list(session.exec(query.order_by(col(ProvisionRecord.provided_at).desc())))


def provided_for_request(*, session: Session, request_id: str) -> list[ProvisionRecord]:
    query = select(ProvisionRecord).where(
        ProvisionRecord.request_id == request_id, ProvisionRecord.side == "recipient"
    )
    return list(session.exec(query.order_by(col(ProvisionRecord.person_ref))))
