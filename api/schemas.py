"""Request and response shapes of the API; responses never expose table-only fields."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from market.anonymization import JobSpec
from market.listings import MAX_TERM_DAYS
from market.money import MAX_QUANTITY, MAX_YEN
from market.vocabulary import ParticipantKind, SelfServiceKind

# Request bodies are strict: an unknown field, a boolean where a number belongs, a number out of
# the range the market and its 64-bit money columns hold, or a control character in text is a 422
# naming the field, never a 500 or a silently different order.
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
Yen = Annotated[int, Field(strict=True, ge=1, le=MAX_YEN)]
Count = Annotated[int, Field(strict=True, ge=1, le=MAX_YEN)]
Text = Annotated[str, Field(pattern=_NO_CONTROL)]
Code = Annotated[str, Field(min_length=1, max_length=140, pattern=r"^[A-Za-z0-9_.:/-]+$")]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Reason = Annotated[str, Field(min_length=1, max_length=500, pattern=_NO_CONTROL)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class SecurityProfile(Request):
    """A recipient's security measures, self-declared until an operator verifies them."""

    certifications: list[Annotated[str, Field(max_length=100, pattern=_NO_CONTROL)]] = Field(
        default_factory=list, max_length=20, examples=[["ISMS (ISO/IEC 27001)", "Privacy Mark"]]
    )
    encryption_at_rest: bool = False
    retention_days: int | None = Field(default=None, strict=True, ge=0, le=36_500)
    contact: str | None = Field(default=None, max_length=200, pattern=_NO_CONTROL)


class ParticipantCreate(Request):
    name: str = Field(min_length=1, max_length=200, pattern=_NO_CONTROL)
    kind: SelfServiceKind
    display_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        pattern=_NO_CONTROL,
        description="Shown to other participants on your listings (your name is never shown)",
    )
    recipient_category: str | None = Field(
        default=None,
        max_length=50,
        pattern=r"^[a-z0-9_]+$",
        description="Self-declared; counts for listings' recipient rules once an operator verifies it",
    )
    country: CountryCode = "JP"
    security_profile: SecurityProfile | None = None


class OperatorParticipantCreate(ParticipantCreate):
    kind: ParticipantKind  # type: ignore[assignment]
    credit_limit_yen: int = Field(default=0, strict=True, ge=0, le=MAX_YEN)


class ParticipantPublic(Public):
    id: str
    name: str
    kind: str
    display_name: str | None
    recipient_category: str | None
    country: str
    security_profile: dict[str, Any] | None
    verification: str
    verified_at: datetime | None
    credit_limit_yen: int
    created_at: datetime


class ApiKeyPublic(Public):
    id: str
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(BaseModel):
    api_key: str = Field(description="Shown once; the market stores only its hash.")


class Revocation(Request):
    reason: Reason


class CreditGrant(Request):
    credit_limit_yen: int = Field(strict=True, ge=0, le=MAX_YEN)
    reason: Reason


class DepositCreate(Request):
    amount_yen: Yen
    reference: str = Field(
        min_length=1, max_length=100, pattern=_NO_CONTROL, description="Bank transfer reference"
    )
    reason: Reason


class VerificationSet(Request):
    verified: bool
    reason: Reason


class InvoicePayment(Request):
    reference: str = Field(
        min_length=1, max_length=100, pattern=_NO_CONTROL, description="Bank transfer reference"
    )
    reason: Reason = "bank transfer received"


class SellerBalance(BaseModel):
    gross_sales_yen: int = Field(description="What buyers paid or owe for your licences")
    fees_yen: int = Field(description="The market's fees on those sales")
    earned_yen: int = Field(description="Gross sales less fees")
    paid_out_yen: int = Field(description="Paid to you so far")
    balance_yen: int = Field(description="Earned and not yet paid out")


class BidAmend(Request):
    max_price_yen: Yen | None = None
    quantity: int | None = Field(
        default=None,
        strict=True,
        ge=1,
        le=MAX_QUANTITY,
        description="New total licences wanted (more than already bought)",
    )


class ListingAmend(Request):
    price_yen: Yen | None = None
    licence_count: Count | None = Field(
        default=None, description="New total licence count (more than already sold)"
    )


class CreditStanding(BaseModel):
    credit_limit_yen: int
    deposit_yen: int
    unpaid_invoices_yen: int
    reserved_by_open_bids_yen: int
    available_yen: int


class OperatorActionPublic(Public):
    id: int
    operator_id: str
    action: str
    target_id: str
    reason: str
    details: dict[str, Any]
    created_at: datetime


class InstrumentCreate(Request):
    name: str = Field(
        min_length=3,
        max_length=140,
        pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*/(personal|anonymized|non_personal)$",
        examples=["mobility.traffic/non_personal"],
    )


class InstrumentPublic(Public):
    name: str
    created_at: datetime


class Registration(BaseModel):
    participant: ParticipantPublic
    api_key: str = Field(description="Shown once; the market stores only its hash.")


class DatasetPublic(Public):
    id: str
    seller_id: str | None = Field(description="Shown to the dataset's seller and operators only")
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


MAX_LIST = 100
Recipient = Annotated[
    str, Field(min_length=1, max_length=80, pattern=r"^(category:[a-z0-9_]+|[A-Za-z0-9_-]+)$")
]
Tag = Annotated[str, Field(min_length=1, max_length=100, pattern=_NO_CONTROL)]
TermDays = Annotated[int, Field(strict=True, ge=1, le=MAX_TERM_DAYS)]


class ListingCreate(Request):
    dataset_id: Id
    price_yen: Yen = Field(description="Price per licence, whole yen.")
    licence_count: Count | None = Field(default=None, description="null: unlimited licences")
    allowed_purposes: list[Code] = Field(
        min_length=1, max_length=MAX_LIST, description="Codes from GET /purposes"
    )
    allowed_recipients: list[Recipient] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Participant ids or 'category:<name>'; empty: anyone not denied",
    )
    denied_recipients: list[Recipient] = Field(
        default_factory=list,
        max_length=MAX_LIST,
        description="Participant ids or 'category:<name>' never served",
    )
    term_days: TermDays | None = Field(default=None, description="Licence term; null: perpetual")
    exclusive: bool = Field(default=False, description="Exclusive licence (licence_count 1)")


class ListingPublic(BaseModel):
    """A listing as every participant sees it: what is offered, never who may not buy it."""

    id: str
    dataset_id: str
    instrument: str
    seller_kind: str
    seller_display_name: str
    price_yen: int
    licence_count: int | None
    licences_sold: int
    allowed_purposes: list[str]
    term_days: int | None
    exclusive: bool
    status: str
    status_reason: str | None
    created_at: datetime
    title: str
    description: str
    data_class: str
    columns: list[str]
    tags: list[str]
    row_count: int
    quality_score: int
    privacy_k: int | None
    announcement: str | None = Field(
        description="The public notice of 匿名加工情報 (anonymized data only)"
    )
    allowed_recipients: list[str] | None = Field(
        default=None, description="Shown to the listing's seller only"
    )
    denied_recipients: list[str] | None = Field(
        default=None, description="Shown to the listing's seller only"
    )


class BidCreate(Request):
    instrument: str = Field(
        min_length=3,
        max_length=140,
        pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*/(personal|anonymized|non_personal)$",
        examples=["mobility.traffic/non_personal"],
    )
    max_price_yen: Yen
    purpose: Code = Field(description="One leaf purpose code from GET /purposes")
    quantity: int = Field(
        default=1, strict=True, ge=1, le=MAX_QUANTITY, description="Distinct datasets wanted"
    )
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"
    min_quality: int = Field(default=0, strict=True, ge=0, le=100)
    min_k: int | None = Field(default=None, strict=True, ge=2, le=1_000_000)
    required_tags: list[Tag] = Field(default_factory=list, max_length=MAX_LIST)
    required_columns: list[Tag] = Field(default_factory=list, max_length=MAX_LIST)
    dataset_id: Id | None = Field(default=None, description="Only this dataset (N licences of it)")
    min_term_days: TermDays | None = Field(default=None, description="Shortest acceptable term")
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
    status_reason: str | None
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


class TradingModeSet(Request):
    mode: Literal["continuous", "periodic"]
    interval_seconds: int | None = Field(
        default=None, gt=0, le=86_400, description="periodic only: run an auction every N seconds"
    )


class ColumnProposal(BaseModel):
    kind: str = Field(
        description="identifying, quasi_identifying, sensitive, insensitive or linking"
    )
    category: str = Field(description="category of personal information (name, address, age, ...)")
    reason: str = Field(
        description="why the detector proposes this (ignored when the proposal is sent back as "
        "`spec.columns`). A column found to hold names, identification codes, phone numbers, "
        "e-mail addresses or linking IDs is removed, and one holding addresses or dates is "
        "generalized, whatever it is labelled; labelling any other column less protected needs "
        "an `override_reason`"
    )


class AnonymizationJobCreate(Request):
    """Anonymize one of your personal datasets into a listable 匿名加工情報 dataset."""

    dataset_id: Id
    spec: JobSpec


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
