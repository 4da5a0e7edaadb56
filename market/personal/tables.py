"""Tables of the PDS: records (contents live encrypted in the blob store), conditions, sign-in,
provision requests, consent receipts and provision records."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from market.models import _created, _optional_ts, _yen, new_id


class PersonalRecord(SQLModel, table=True):
    """One record of a person; its contents are the blob `id` in the store, sealed at rest."""

    id: str = Field(default_factory=new_id, primary_key=True)
    person_id: str = Field(foreign_key="participant.id", index=True)
    category: str = Field(max_length=40, index=True)
    sensitive: bool = False
    source: str = Field(default="api", max_length=20)
    size_bytes: int = 0
    created_at: datetime = _created()


class PersonAccount(SQLModel, table=True):
    """What the PDS knows about the person beyond the participant row: age and guardian."""

    person_id: str = Field(foreign_key="participant.id", primary_key=True)
    birth_date: date | None = None
    guardian_id: str | None = Field(default=None, foreign_key="participant.id")
    created_at: datetime = _created()


class ConditionsVersion(SQLModel, table=True):
    """One version of a person's standing conditions; versions are never changed, only superseded."""

    __table_args__ = (UniqueConstraint("person_id", "version"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    person_id: str = Field(foreign_key="participant.id", index=True)
    version: int
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(max_length=20)
    confirmed_by: str | None = Field(default=None, foreign_key="participant.id")
    created_at: datetime = _created()
    effective_at: datetime | None = _optional_ts()
    superseded_at: datetime | None = _optional_ts()


class PersonCredential(SQLModel, table=True):
    person_id: str = Field(foreign_key="participant.id", primary_key=True)
    password_hash: str = Field(max_length=200)
    updated_at: datetime = _created()


class PersonSession(SQLModel, table=True):
    """A signed-in session: token `ps_<id>_<secret>`, only the secret's SHA-256 is kept."""

    id: str = Field(primary_key=True, max_length=32)
    person_id: str = Field(foreign_key="participant.id", index=True)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = _created()
    authenticated_at: datetime = _created()
    expires_at: datetime = _created()
    revoked_at: datetime | None = _optional_ts()


class ProvisionRequest(SQLModel, table=True):
    """A recipient's request for personal data: of one person (direct) or a bank's pool."""

    id: str = Field(default_factory=new_id, primary_key=True)
    recipient_id: str = Field(foreign_key="participant.id", index=True)
    channel: str = Field(max_length=10)
    holder_id: str = Field(foreign_key="participant.id", index=True)
    purpose: str = Field(max_length=50)
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    price_per_record_yen: int = _yen()
    anonymized: bool = False
    term_days: int | None = None
    min_cohort: int = 1
    status: str = Field(max_length=20, index=True)
    reason: str | None = Field(default=None, max_length=2000)
    explanation: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    reference: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = _created()
    decided_at: datetime | None = _optional_ts()


class ConsentReceipt(SQLModel, table=True):
    """A consent receipt (ISO/IEC TS 27560 shape in `receipt`); columns index what is searched."""

    id: str = Field(default_factory=new_id, primary_key=True)
    person_id: str = Field(foreign_key="participant.id", index=True)
    recipient_id: str = Field(foreign_key="participant.id", index=True)
    controller_id: str = Field(foreign_key="participant.id")
    request_id: str = Field(foreign_key="provisionrequest.id", index=True)
    purpose: str = Field(max_length=50)
    method: str = Field(max_length=20)
    conditions_version: int
    status: str = Field(default="active", max_length=20)
    receipt: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()


class ProvisionRecord(SQLModel, table=True):
    """APPI arts. 29-30: one provision as booked by the provider's side or the recipient's side.

    The recipient's side names the person only by a per-recipient pseudonymous reference.
    """

    id: str = Field(default_factory=new_id, primary_key=True)
    side: str = Field(max_length=10)
    book_owner_id: str = Field(foreign_key="participant.id", index=True)
    person_id: str = Field(foreign_key="participant.id", index=True)
    person_ref: str = Field(max_length=64)
    provider_id: str = Field(foreign_key="participant.id")
    recipient_id: str = Field(foreign_key="participant.id")
    request_id: str = Field(foreign_key="provisionrequest.id", index=True)
    consent_receipt_id: str = Field(foreign_key="consentreceipt.id")
    purpose: str = Field(max_length=50)
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    record_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    provided_at: datetime = _created()
