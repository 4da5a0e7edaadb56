"""SQLModel tables of the market. API request and response shapes live in api/schemas.py."""

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, TypeDecorator, text
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and read back timezone-aware, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the market stores UTC-aware timestamps only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A random (version 4) UUID as 32 hex digits; the same value as `uuid.uuid4().hex`,
    built without the UUID object (every order takes one or two: a third of the cost)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    return raw.hex()


def _created() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


def _optional_ts() -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))


def _yen(default: int | None = None, *, nullable: bool = False) -> Any:
    """A money column: integer yen in a 64-bit column (32-bit INTEGER overflows on PostgreSQL)."""
    if nullable:
        return Field(default=default, sa_column=Column(BigInteger(), nullable=True))
    if default is None:
        return Field(sa_column=Column(BigInteger(), nullable=False))
    return Field(default=default, sa_column=Column(BigInteger(), nullable=False))


class Participant(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20, index=True)
    display_name: str | None = Field(default=None, max_length=100)
    recipient_category: str | None = Field(default=None, max_length=50)
    country: str = Field(default="JP", max_length=2)
    security_profile: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    # The declared category, country and security profile count only once an operator verified them.
    verification: str = Field(default="unverified", max_length=20)
    verified_at: datetime | None = _optional_ts()
    credit_limit_yen: int = _yen(0)
    # Consumption tax (docs/settlement.md): null means not declared, which is taxable for
    # businesses and information banks and not for individuals.
    taxable_business: bool | None = None
    invoice_registration_number: str | None = Field(default=None, max_length=14)
    created_at: datetime = _created()


class ApiKey(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=32)
    participant_id: str = Field(foreign_key="participant.id", index=True)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = _created()
    revoked_at: datetime | None = _optional_ts()


class Dataset(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    seller_id: str = Field(foreign_key="participant.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    category: str = Field(max_length=100)
    data_class: str = Field(max_length=20)
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    row_count: int
    size_bytes: int
    source_encoding: str = Field(max_length=20)
    sha256: str = Field(max_length=64)
    # The rows' content whatever their order, column order or quoting (market/datasets.py).
    content_digest: str | None = Field(default=None, max_length=64, index=True)
    quality_score: int = 0
    privacy_k: int | None = None
    source_dataset_id: str | None = Field(default=None, foreign_key="dataset.id")
    public_report: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    # The seller's column dictionary and rules (market.quality.DatasetSchema), and the quality
    # breakdown behind quality_score (market.quality.QualityReport.to_dict()); datasets scored
    # before breakdowns were kept have none.
    data_schema: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    quality: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Columns a buyer could link to a person (個人関連情報: cookie, device and advertising IDs,
    # location traces), found on upload by anonymize.linkable (market/revisions).
    linkable_columns: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    created_at: datetime = _created()


class Listing(SQLModel, table=True):
    # GET /listings: open listings, newest first, without a scan and sort.
    __table_args__ = (
        Index("ix_listing_status_created", "status", "created_at", "id"),
        Index("ix_listing_status_price", "status", "price_yen", "id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    dataset_id: str = Field(foreign_key="dataset.id", index=True)
    seller_id: str = Field(foreign_key="participant.id", index=True)
    instrument: str = Field(max_length=140, index=True)
    price_yen: int = _yen()
    licence_count: int | None = None
    licences_sold: int = 0
    allowed_purposes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    allowed_recipients: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    denied_recipients: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    term_days: int | None = None
    exclusive: bool = False
    # Whether price_yen includes consumption tax (docs/settlement.md).
    price_includes_tax: bool = False
    # Linkable data (個人関連情報): only bids confirming the people's consent match it.
    linkable: bool = False
    # What its licences cover: "revision" (the one bought), "history" (it and every earlier
    # one) or "updates" (it and every revision published during the term); market/revisions.
    covers: str = Field(default="revision", max_length=20)
    status: str = Field(default="open", max_length=20)
    status_reason: str | None = Field(default=None, max_length=300)
    created_at: datetime = _created()


class BidBase(SQLModel):
    """A bid as its buyer sees it; `api.schemas.BidPublic` is this family's public member."""

    id: str = Field(default_factory=new_id, primary_key=True)
    buyer_id: str = Field(foreign_key="participant.id", index=True)
    instrument: str = Field(max_length=140, index=True)
    max_price_yen: int = _yen()
    quantity: int
    filled: int = 0
    purpose: str = Field(max_length=50)
    time_in_force: str = Field(default="GTC", max_length=3)
    status: str = Field(default="open", max_length=20)
    status_reason: str | None = Field(default=None, max_length=300)
    created_at: datetime = _created()


class Bid(BidBase, table=True):
    # A buyer's bids by status, newest first; the open bids the risk stage rebuilds from.
    __table_args__ = (
        Index("ix_bid_buyer_status_created", "buyer_id", "status", "created_at", "id"),
        Index("ix_bid_status", "status"),
    )

    # The most records one licence may deliver (PDS listings invoice price × records; 1 for a
    # dataset): the risk stage reserves max price × this per licence (market/banks/orders.py).
    records_per_licence: int = 1
    constraints: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )


class TradeBase(SQLModel):
    """A trade as its parties see it; `api.schemas.TradePublic` is this family's public member."""

    id: str = Field(default_factory=new_id, primary_key=True)
    seq: int = Field(index=True)
    instrument: str = Field(max_length=140)
    bid_id: str = Field(foreign_key="bid.id", index=True)
    listing_id: str = Field(foreign_key="listing.id", index=True)
    buyer_id: str = Field(foreign_key="participant.id", index=True)
    seller_id: str = Field(foreign_key="participant.id", index=True)
    dataset_id: str = Field(foreign_key="dataset.id")
    price_yen: int = _yen()
    quantity: int
    created_at: datetime = _created()


class Trade(TradeBase, table=True):
    # The buyer confirmed it holds the people's consent to receive linkable data (APPI art. 31).
    linkable_consent: bool = False


class Licence(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    trade_id: str = Field(foreign_key="trade.id", index=True)
    buyer_id: str = Field(foreign_key="participant.id", index=True)
    dataset_id: str = Field(foreign_key="dataset.id", index=True)
    purpose: str = Field(max_length=50)
    exclusive: bool = False
    # The dataset revision bought and what the licence covers (market/revisions).
    revision: int = 1
    covers: str = Field(default="revision", max_length=20)
    created_at: datetime = _created()
    expires_at: datetime | None = _optional_ts()
    revoked_at: datetime | None = _optional_ts()


class Invoice(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    buyer_id: str = Field(foreign_key="participant.id", index=True)
    trade_id: str = Field(foreign_key="trade.id", index=True)
    amount_yen: int = _yen()
    status: str = Field(default="issued", max_length=20)
    issued_at: datetime = _created()
    paid_at: datetime | None = _optional_ts()
    # Settlement (market/settlement, docs/settlement.md): amount_yen = net_yen + tax_yen.
    seller_id: str | None = Field(default=None, foreign_key="participant.id", index=True)
    net_yen: int = _yen(0)
    tax_yen: int = _yen(0)
    tax_rate_percent: int = 0
    fee_yen: int = _yen(0)
    fee_tax_yen: int = _yen(0)
    refunded_yen: int = _yen(0)
    price_includes_tax: bool = False
    qualified: bool = False
    due_at: datetime | None = _optional_ts()
    # The invoice's wording as issued (names, registration numbers, item): never recomputed.
    particulars: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )


class LedgerEntry(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    transaction_id: str = Field(max_length=32, index=True)
    account: str = Field(max_length=120, index=True)
    debit_yen: int = _yen(0)
    credit_yen: int = _yen(0)
    memo: str = Field(default="", max_length=200)
    created_at: datetime = _created()


class Instrument(SQLModel, table=True):
    """An order book: created by the first listing of its category and data class, or by an operator."""

    name: str = Field(primary_key=True, max_length=140)
    created_by: str = Field(foreign_key="participant.id")
    created_at: datetime = _created()
    # The market fee on its trades: null takes the settings' market_fee_bps.
    fee_bps: int | None = None
    fee_minimum_yen: int = _yen(0)


class OperatorAction(SQLModel, table=True):
    """The operator audit log: who did what to whom, when and why. Rows are never changed."""

    id: int | None = Field(default=None, primary_key=True)
    operator_id: str = Field(foreign_key="participant.id", index=True)
    action: str = Field(max_length=60, index=True)
    target_id: str = Field(max_length=64, index=True)
    reason: str = Field(max_length=500)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()


class JournalCommand(SQLModel, table=True):
    """Every command the matching engine accepted input from, in order: replayed on start."""

    seq: int | None = Field(default=None, primary_key=True)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # The command format the payload is written in (matching.COMMAND_FORMATS); rows written
    # before formats were recorded are format 1.
    format: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = _created()


class OutboxEvent(SQLModel, table=True):
    """A domain event written in the same transaction as its change, published after commit."""

    # The publisher reads unpublished ids in id order from a partial index that holds only them,
    # and prunes delivered rows by age through the second (market/outbox.py).
    __table_args__ = (
        Index(
            "ix_outboxevent_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
        Index("ix_outboxevent_published_at", "published_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=60, index=True)
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()
    published_at: datetime | None = _optional_ts()


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a request sent with an Idempotency-Key, replayed to retries."""

    participant_id: str = Field(foreign_key="participant.id", primary_key=True)
    key: str = Field(primary_key=True, max_length=100)
    request_hash: str = Field(max_length=64)
    # SQL NULL (not JSON null) until the work completes, so conditional updates can test for it.
    response: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    created_at: datetime = _created()


class AnonymizationJob(SQLModel, table=True):
    """A run of the anonymization pipeline over a seller's personal dataset."""

    id: str = Field(default_factory=new_id, primary_key=True)
    seller_id: str = Field(foreign_key="participant.id", index=True)
    source_dataset_id: str = Field(foreign_key="dataset.id", index=True)
    spec: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default="queued", max_length=20, index=True)
    progress: int = 0
    stage: str = Field(default="", max_length=200)
    error: str | None = Field(default=None, max_length=2000)
    result_dataset_id: str | None = Field(default=None, foreign_key="dataset.id")
    created_at: datetime = _created()
    finished_at: datetime | None = _optional_ts()
    # Where the seller's labels and the detector's findings disagreed, and who won (with the
    # seller's reason): shown to operators.
    overrides: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )


import market.banks.tables  # noqa: E402
import market.catalog.tables  # noqa: E402
import market.personal.tables  # noqa: E402
import market.ratings.tables  # noqa: E402
import market.revisions.tables  # noqa: E402
import market.settlement.tables  # noqa: E402
import market.trading.tables  # noqa: E402,F401
