"""Consent receipts in the shape of ISO/IEC TS 27560:2023 (names follow the W3C DPV guide to it)."""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from market.events import record_event
from market.models import new_id
from market.personal.categories import CATEGORIES
from market.personal.recipients import RecipientView
from market.personal.tables import ConsentReceipt, ProvisionRequest

SCHEMA_VERSION = "ISO/IEC TS 27560:2023"
LAWFUL_BASIS = "APPI art. 27(1): consent of the person to provision to a third party"
ABROAD_BASIS = "APPI art. 28(1): consent to provision to a third party in a foreign country"


def receipt_document(
    *,
    receipt_id: str,
    person_id: str,
    request: ProvisionRequest,
    recipient: RecipientView,
    controller: tuple[str, str, str],
    method: str,
    conditions_version: int,
    at: datetime,
) -> dict[str, Any]:
    """The receipt: header, processing, parties and event. Pure."""
    controller_id, controller_name, controller_role = controller
    lawful_basis = [LAWFUL_BASIS]
    if recipient.declared_country != "JP":
        lawful_basis.append(ABROAD_BASIS)
    validity = f"P{request.term_days}D" if request.term_days is not None else None
    return {
        "schema_version": SCHEMA_VERSION,
        "record_id": receipt_id,
        "pii_principal_id": person_id,
        "processing": {
            "privacy_notice": {"request_id": request.id, "explanation": "see explanation"},
            "language": ["ja", "en"],
            "purposes": [
                {"purpose": request.purpose, "purpose_type": request.purpose.split(".")[0]}
            ],
            "lawful_basis": lawful_basis,
            "pii_information": [
                {"pii_type": code, "sensitive": CATEGORIES[code].sensitive}
                for code in request.categories
            ],
            "pii_controllers": [
                {"id": controller_id, "name": controller_name, "role": controller_role}
            ],
            "recipient_third_parties": [
                {
                    "id": recipient.id,
                    "name": recipient.name,
                    "category": recipient.declared_category,
                    "country": recipient.declared_country,
                    "verification": "verified" if recipient.verified else "self_declared",
                }
            ],
            "collection_method": method,
            "processing_method": "anonymized" if request.anonymized else "identifiable",
            "jurisdiction": "JP",
            "processing_location": recipient.declared_country,
            "retention_period": validity,
            "withdrawal_method": "the person's PDS (stopping future provision)",
            "conditions_version": conditions_version,
        },
        "event": {
            "time": at.isoformat(),
            "validity_duration": validity,
            "entity_id": person_id if method == "explicit" else controller_id,
            "type": "given" if method == "explicit" else "delegated",
            "state": "active",
        },
    }


def issue_receipt(
    *,
    session: Session,
    person_id: str,
    request: ProvisionRequest,
    recipient: RecipientView,
    controller: tuple[str, str, str],
    method: str,
    conditions_version: int,
    at: datetime,
) -> ConsentReceipt:
    receipt_id = new_id()
    receipt = ConsentReceipt(
        id=receipt_id,
        person_id=person_id,
        recipient_id=recipient.id,
        controller_id=controller[0],
        request_id=request.id,
        purpose=request.purpose,
        method=method,
        conditions_version=conditions_version,
        receipt=receipt_document(
            receipt_id=receipt_id,
            person_id=person_id,
            request=request,
            recipient=recipient,
            controller=controller,
            method=method,
            conditions_version=conditions_version,
            at=at,
        ),
        created_at=at,
    )
    session.add(receipt)
    record_event(
        session,
        "ConsentRecorded",
        {"receipt_id": receipt_id, "request_id": request.id, "method": method},
    )
    return receipt


def receipts_of(*, session: Session, person_id: str) -> list[ConsentReceipt]:
    query = select(ConsentReceipt).where(ConsentReceipt.person_id == person_id)
    return list(session.exec(query.order_by(col(ConsentReceipt.created_at).desc())))


def expires(at: datetime, term_days: int | None) -> datetime | None:
    return at + timedelta(days=term_days) if term_days is not None else None
