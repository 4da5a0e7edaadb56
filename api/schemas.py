"""Request and response shapes of the API; responses never expose table-only fields."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ParticipantCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["business", "individual", "info_bank"]
    recipient_category: str | None = Field(default=None, max_length=50)


class OperatorParticipantCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["business", "individual", "info_bank", "operator"]
    recipient_category: str | None = Field(default=None, max_length=50)
    credit_limit_yen: int = Field(default=0, ge=0)


class ParticipantPublic(Public):
    id: str
    name: str
    kind: str
    recipient_category: str | None
    credit_limit_yen: int
    created_at: datetime


class Registration(BaseModel):
    participant: ParticipantPublic
    api_key: str = Field(description="Shown once; the market stores only its hash.")


class DatasetPublic(Public):
    id: str
    seller_id: str
    title: str
    description: str
    category: str
    data_class: str
    columns: list[str]
    tags: list[str]
    row_count: int
    size_bytes: int
    source_encoding: str
    sha256: str
    quality_score: int
    privacy_k: int | None
    source_dataset_id: str | None
    public_report: dict[str, Any] | None
    created_at: datetime


class ListingCreate(BaseModel):
    dataset_id: str
    price_yen: int = Field(gt=0, description="Price per licence, whole yen.")
    licence_count: int | None = Field(default=None, gt=0, description="null: unlimited licences")
    allowed_purposes: list[str] = Field(min_length=1, description="Codes from GET /purposes")
    allowed_recipients: list[str] = Field(
        default_factory=list,
        description="Participant ids or 'category:<name>'; empty: anyone not denied",
    )
    denied_recipients: list[str] = Field(
        default_factory=list, description="Participant ids or 'category:<name>' never served"
    )
    term_days: int | None = Field(default=None, gt=0, description="Licence term; null: perpetual")
    exclusive: bool = Field(default=False, description="Exclusive licence (licence_count 1)")


class ListingPublic(Public):
    id: str
    dataset_id: str
    seller_id: str
    instrument: str
    price_yen: int
    licence_count: int | None
    licences_sold: int
    allowed_purposes: list[str]
    allowed_recipients: list[str]
    denied_recipients: list[str]
    term_days: int | None
    exclusive: bool
    status: str
    created_at: datetime


class BidCreate(BaseModel):
    instrument: str = Field(
        min_length=3, max_length=140, examples=["mobility.traffic/non_personal"]
    )
    max_price_yen: int = Field(gt=0)
    purpose: str = Field(description="One leaf purpose code from GET /purposes")
    quantity: int = Field(default=1, gt=0, le=1000, description="Distinct datasets wanted")
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"
    min_quality: int = Field(default=0, ge=0, le=100)
    min_k: int | None = Field(default=None, ge=2)
    required_tags: list[str] = Field(default_factory=list)
    required_columns: list[str] = Field(default_factory=list)
    dataset_id: str | None = Field(default=None, description="Only this dataset (N licences of it)")
    min_term_days: int | None = Field(default=None, gt=0, description="Shortest acceptable term")
    exclusive: bool | None = Field(default=None, description="Require (or refuse) exclusivity")


class BidPublic(Public):
    id: str
    buyer_id: str
    instrument: str
    max_price_yen: int
    quantity: int
    filled: int
    purpose: str
    time_in_force: str
    status: str
    created_at: datetime


class TradePublic(Public):
    id: str
    seq: int
    instrument: str
    bid_id: str
    listing_id: str
    buyer_id: str
    seller_id: str
    dataset_id: str
    price_yen: int
    quantity: int
    created_at: datetime


class BidResult(BaseModel):
    bid: BidPublic
    trades: list[TradePublic]


class LicencePublic(Public):
    id: str
    trade_id: str
    dataset_id: str
    purpose: str
    exclusive: bool
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class InvoicePublic(Public):
    id: str
    buyer_id: str
    trade_id: str
    amount_yen: int
    status: str
    issued_at: datetime
    paid_at: datetime | None


class TradingModeSet(BaseModel):
    mode: Literal["continuous", "periodic"]
    interval_seconds: int | None = Field(
        default=None, gt=0, le=86_400, description="periodic only: run an auction every N seconds"
    )


class ColumnProposal(BaseModel):
    kind: str = Field(
        description="identifying, quasi_identifying, sensitive, insensitive or linking"
    )
    category: str = Field(description="category of personal information (name, address, age, ...)")
    reason: str = Field(description="why the detector proposes this")


class AnonymizationJobCreate(BaseModel):
    """Anonymize one of your personal datasets into a listable 匿名加工情報 dataset."""

    dataset_id: str
    spec: dict[str, Any] = Field(
        description=(
            "title, category, columns {name: {kind, category}}, k, and optionally l, t, "
            "suppression (0-0.5) and algorithm (auto|optimal|mondrian)"
        ),
        examples=[
            {
                "title": "Health checkups 2026 (anonymized)",
                "category": "healthcare.checkup",
                "columns": {
                    "氏名": {"kind": "identifying", "category": "name"},
                    "年齢": {"kind": "quasi_identifying", "category": "age"},
                    "性別": {"kind": "quasi_identifying", "category": "gender"},
                    "診断": {"kind": "sensitive"},
                },
                "k": 5,
            }
        ],
    )


class AnonymizationJobPublic(Public):
    id: str
    source_dataset_id: str
    status: str
    progress: int
    stage: str
    error: str | None
    result_dataset_id: str | None
    created_at: datetime
    finished_at: datetime | None
