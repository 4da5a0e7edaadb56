"""Request and response shapes of the API; responses never expose table-only fields."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    computed_field,
    model_validator,
)

from market.anonymization import JobSpec
from market.models import BidBase, TradeBase, utcnow
from market.money import MAX_QUANTITY, MAX_YEN
from market.personal.categories import CATEGORIES
from market.purposes import PURPOSE_GROUPS, PURPOSES, expand_purposes, require_leaf_purpose
from market.quality import DatasetSchema
from market.trading.commands import LicenceTerms, OfferLicences, OfferRecords, PlaceBid
from market.trading.listings import MAX_LICENCE_COUNT, MAX_TERM_DAYS
from market.vocabulary import ParticipantKind, SelfServiceKind

# Request bodies are strict: an unknown field, a boolean where a number belongs, a number out of
# the range the market and its 64-bit money columns hold, or a control character in text is a 422
# naming the field, never a 500 or a silently different order.
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


def _no_bool_or_text(value: Any) -> Any:
    # JSON has one number type, so 5.0 is the whole number 5 (as the published schema's
    # "integer" says); true and "5" are not numbers at all.
    if isinstance(value, bool | str):
        raise ValueError("send a whole number, not true/false or text")
    return value


# The validator comes after the bounds, or the schema would lose them (`ge` for `minimum`).
WHOLE_NUMBER = BeforeValidator(_no_bool_or_text)
WholeNumber = Annotated[int, WHOLE_NUMBER]
Yen = Annotated[int, Field(ge=1, le=MAX_YEN), WHOLE_NUMBER]
Count = Annotated[int, Field(ge=1, le=MAX_LICENCE_COUNT), WHOLE_NUMBER]
Text = Annotated[str, Field(pattern=_NO_CONTROL)]
Code = Annotated[str, Field(min_length=1, max_length=140, pattern=r"^[A-Za-z0-9_.:/-]+$")]
# Closed vocabularies are published as enums, so a client (or a fuzzer) knows every accepted
# code from the schema; the domain still checks them and names the code it refused.


def _purpose_code(code: str) -> str:
    """A leaf or group code of the taxonomy (UnknownPurpose is a ValueError: a 422 naming it)."""
    expand_purposes([code])
    return code


LeafPurpose = Annotated[
    str,
    Field(max_length=140, json_schema_extra={"enum": sorted(PURPOSES)}),
    AfterValidator(require_leaf_purpose),
]
PurposeCode = Annotated[
    str,
    Field(max_length=140, json_schema_extra={"enum": sorted(PURPOSES) + sorted(PURPOSE_GROUPS)}),
    AfterValidator(_purpose_code),
]
RecordCategory = Annotated[str, Field(max_length=60, json_schema_extra={"enum": list(CATEGORIES)})]
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
    encryption_at_rest: StrictBool = False
    retention_days: Annotated[int, Field(ge=0, le=36_500), WHOLE_NUMBER] | None = None
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
    credit_limit_yen: WholeNumber = Field(default=0, ge=0, le=MAX_YEN)


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
    taxable_business: bool | None = Field(
        default=None, description="null: not declared (businesses taxable, individuals not)"
    )
    invoice_registration_number: str | None = None
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
    credit_limit_yen: WholeNumber = Field(ge=0, le=MAX_YEN)
    reason: Reason


class DepositCreate(Request):
    amount_yen: Yen
    reference: str = Field(
        min_length=1, max_length=100, pattern=_NO_CONTROL, description="Bank transfer reference"
    )
    reason: Reason


class VerificationSet(Request):
    verified: StrictBool
    reason: Reason


class InvoicePayment(Request):
    reference: str = Field(
        min_length=1, max_length=100, pattern=_NO_CONTROL, description="Bank transfer reference"
    )
    reason: Reason = "bank transfer received"


class SellerBalance(BaseModel):
    gross_sales_yen: int = Field(description="Your sales before consumption tax")
    consumption_tax_yen: int = Field(description="Consumption tax on those sales")
    fees_yen: int = Field(description="The market's fees on those sales, before their tax")
    fee_tax_yen: int = Field(description="Consumption tax on the market's fees")
    refunded_yen: int = Field(description="Your share of refunds to buyers")
    earned_yen: int = Field(description="Gross sales less fees")
    paid_out_yen: int = Field(description="Paid to you so far")
    balance_yen: int = Field(description="Earned and not yet paid out")


def _one_of_required(*names: str) -> dict[str, Any]:
    """Schema: at least one of `names` present and not null (an amendment must change something)."""
    return {
        "anyOf": [{"required": [name], "properties": {name: {"type": "integer"}}} for name in names]
    }


class BidAmend(Request):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_one_of_required("max_price_yen", "quantity")
    )

    max_price_yen: Yen | None = None
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY), WHOLE_NUMBER] | None = Field(
        default=None,
        description="New total licences wanted (more than already bought)",
    )


class ListingAmend(Request):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=_one_of_required("price_yen", "licence_count")
    )

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
    fee_bps: int | None = Field(default=None, description="null: the market's default fee")
    fee_minimum_yen: int = 0


class InstrumentFeesSet(Request):
    fee_bps: WholeNumber = Field(ge=0, le=10_000, description="Market fee in basis points")
    fee_minimum_yen: WholeNumber = Field(default=0, ge=0, le=MAX_YEN)
    reason: Reason


class TaxProfileSet(Request):
    taxable_business: StrictBool = Field(
        description="Whether you charge consumption tax (an individual not trading as a "
        "business does not)"
    )
    invoice_registration_number: str | None = Field(
        default=None,
        pattern=r"^T[0-9]{13}$",
        description="Qualified-invoice registration number, T + 13 digits (a corporation's "
        "13 digits are its corporate number, check digit verified)",
    )


class InvoiceRefundCreate(Request):
    amount_yen: Yen = Field(description="Refunded to the buyer, tax included")
    reason: Reason


class InvoiceRefundPublic(Public):
    id: str
    invoice_id: str
    amount_yen: int
    net_yen: int
    tax_yen: int
    reason: str
    created_at: datetime


class PayoutCreate(Request):
    amount_yen: Yen
    reference: str = Field(
        min_length=1, max_length=100, pattern=_NO_CONTROL, description="Bank transfer reference"
    )
    reason: Reason


class StatementInvoice(BaseModel):
    invoice_id: str
    issued_on: str = Field(description="Date in JST")
    item: str
    net_yen: int
    tax_rate_percent: int
    tax_yen: int
    amount_yen: int
    fee_yen: int
    fee_tax_yen: int
    status: str
    qualified: bool


class StatementRefund(BaseModel):
    refund_id: str
    invoice_id: str
    refunded_on: str = Field(description="Date in JST")
    amount_yen: int
    tax_yen: int
    fee_yen: int
    fee_tax_yen: int


class SellerStatement(BaseModel):
    month: str = Field(description="YYYY-MM, a calendar month in JST")
    sales_yen: int = Field(description="Sales before consumption tax")
    consumption_tax_yen: int
    fees_yen: int = Field(description="The market's fees, before their tax")
    fee_tax_yen: int
    refunded_yen: int = Field(description="Your share of refunds made this month")
    earned_yen: int
    payouts_yen: int
    invoices: list[StatementInvoice]
    refunds: list[StatementRefund]


class Registration(BaseModel):
    participant: ParticipantPublic
    api_key: str = Field(description="Shown once; the market stores only its hash.")


class QualityComponentPublic(BaseModel):
    """One component of a quality score (docs/quality.md)."""

    name: str = Field(
        description="completeness, validity, uniqueness, consistency, currentness, privacy, "
        "utility or credibility"
    )
    status: Literal["measured", "not_measured"]
    score: float | None = Field(description="0-100; null when not measured")
    weight: int = Field(description="The documented weight, out of 100")
    effective_weight: float = Field(
        description="Its share of the score once unmeasured components' weight is redistributed"
    )
    formula: str
    explanation: str


class QualityComponentDetail(QualityComponentPublic):
    details: dict[str, Any] = Field(description="The counts behind the score, by column or rule")


class QualitySummary(BaseModel):
    """A quality score with its components, as listings show it."""

    score: int = Field(description="0-100, the score bids' min_quality is compared with")
    method: str = Field(description="Version of the scoring method")
    measured_at: datetime
    components: list[QualityComponentPublic]


class QualityPublic(QualitySummary):
    """How a dataset's quality score was measured: every component, its weight and why."""

    dataset_id: str
    exact: float = Field(description="The weighted score before rounding")
    rows: int
    columns: int
    components: list[QualityComponentDetail]  # type: ignore[assignment]


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
    quality: QualitySummary | None = Field(
        default=None,
        description="The components of quality_score (null for datasets scored before they were "
        "kept); GET /datasets/{id}/quality adds the counts behind each",
    )
    data_schema: DatasetSchema | None = Field(
        default=None, description="The seller's column dictionary and rules, as uploaded"
    )
    privacy_k: int | None
    source_dataset_id: str | None
    public_report: dict[str, Any] | None
    created_at: datetime


MAX_LIST = 100
Recipient = Annotated[
    str, Field(min_length=1, max_length=80, pattern=r"^(category:[a-z0-9_]+|[A-Za-z0-9_-]+)$")
]
Tag = Annotated[str, Field(min_length=1, max_length=100, pattern=_NO_CONTROL)]
TermDays = Annotated[int, Field(ge=1, le=MAX_TERM_DAYS), WHOLE_NUMBER]


class PoolCreate(Request):
    """Records kept in PDSs offered per record: a bank's delegators' or an individual's own."""

    categories: list[Annotated[str, Field(pattern=r"^[a-z0-9_]+$", max_length=60)]] = Field(
        min_length=1, max_length=20, description="Record categories (GET /categories)"
    )
    min_cohort: int = Field(
        default=1,
        strict=True,
        ge=1,
        le=1_000_000,
        description="No trade delivers the records of fewer people (1 for an individual)",
    )


class ListingCreate(Request):
    dataset_id: Id | None = Field(default=None, description="The dataset offered (or `pool`)")
    pool: PoolCreate | None = Field(
        default=None,
        description="Instead of a dataset: records kept in PDSs, priced per record "
        "(docs/personal-data.md)",
    )
    price_yen: Yen = Field(description="Price per licence (per record for a pool), whole yen.")
    licence_count: Count | None = Field(default=None, description="null: unlimited licences")
    allowed_purposes: list[PurposeCode] = Field(
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
    exclusive: StrictBool = Field(default=False, description="Exclusive licence (licence_count 1)")
    price_includes_tax: StrictBool = Field(
        default=False,
        description="Whether price_yen includes 10% consumption tax (docs/settlement.md)",
    )

    @model_validator(mode="after")
    def _one_offer(self) -> "ListingCreate":
        if (self.dataset_id is None) == (self.pool is None):
            raise ValueError("send either dataset_id or pool, not both and not neither")
        return self

    def command(self) -> OfferLicences | OfferRecords:
        """The order desk's command for this request (market/trading/commands.py)."""
        terms = LicenceTerms(
            price_yen=self.price_yen,
            allowed_purposes=list(self.allowed_purposes),
            licence_count=self.licence_count,
            allowed_recipients=list(self.allowed_recipients),
            denied_recipients=list(self.denied_recipients),
            term_days=self.term_days,
            exclusive=self.exclusive,
            price_includes_tax=self.price_includes_tax,
        )
        if self.pool is not None:
            return OfferRecords(
                categories=list(self.pool.categories), min_cohort=self.pool.min_cohort, terms=terms
            )
        # The validator above makes dataset_id present when there is no pool.
        return OfferLicences(dataset_id=self.dataset_id or "", terms=terms)


class CohortPublic(BaseModel):
    """How many people's records a purchase would deliver for the caller's purpose."""

    listing_id: str
    purpose: str
    min_cohort: int
    below_minimum: bool = Field(description="True: no trade for this purpose and recipient now")
    people: int | None = Field(description="Null whenever below the minimum (never a small count)")


class BidCreate(Request):
    instrument: str = Field(
        min_length=3,
        max_length=140,
        pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*/(personal|anonymized|non_personal)$",
        examples=["mobility.traffic/non_personal"],
    )
    max_price_yen: Yen
    purpose: LeafPurpose = Field(description="One leaf purpose code from GET /purposes")
    quantity: WholeNumber = Field(
        default=1, ge=1, le=MAX_QUANTITY, description="Distinct datasets wanted"
    )
    time_in_force: Literal["GTC", "IOC", "FOK"] = "GTC"
    min_quality: WholeNumber = Field(default=0, ge=0, le=100)
    min_k: Annotated[int, Field(ge=2, le=1_000_000), WHOLE_NUMBER] | None = None
    required_tags: list[Tag] = Field(default_factory=list, max_length=MAX_LIST)
    required_columns: list[Tag] = Field(default_factory=list, max_length=MAX_LIST)
    dataset_id: Id | None = Field(default=None, description="Only this dataset (N licences of it)")
    min_term_days: TermDays | None = Field(default=None, description="Shortest acceptable term")
    exclusive: StrictBool | None = Field(
        default=None, description="Require (or refuse) exclusivity"
    )
    confirms_linkable_consent: StrictBool = Field(
        default=False,
        description="The buyer holds the people's consent to receive data linkable to them "
        "(個人関連情報, APPI art. 31); required to buy a listing flagged `linkable`",
    )

    def command(self) -> PlaceBid:
        """The order desk's command for this request (market/trading/commands.py)."""
        return PlaceBid(
            instrument=self.instrument,
            max_price_yen=self.max_price_yen,
            purpose=self.purpose,
            quantity=self.quantity,
            time_in_force=self.time_in_force,
            min_quality=self.min_quality,
            min_k=self.min_k,
            required_tags=list(self.required_tags),
            required_columns=list(self.required_columns),
            dataset_id=self.dataset_id,
            min_term_days=self.min_term_days,
            exclusive=self.exclusive,
            confirms_linkable_consent=self.confirms_linkable_consent,
        )


# The public members of SQLModel families (market/models.py): a table's fields are declared once.
# Every field is in the response (required), defaults included.
FAMILY_CONFIG: Any = ConfigDict(
    from_attributes=True, json_schema_serialization_defaults_required=True
)


class BidPublic(BidBase):
    """A bid: the fields of `market.models.BidBase`."""

    model_config = FAMILY_CONFIG


class TradePublic(TradeBase):
    """A trade: the fields of `market.models.TradeBase`."""

    model_config = FAMILY_CONFIG


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


class DownloadUrl(BaseModel):
    """A short-lived link to one licence's copy; only the buyer's own API key can use it."""

    url: str = Field(description="GET it with your API key before `expires_at`")
    revision: int = Field(description="The dataset revision the link serves")
    expires_at: datetime


class InvoicePublic(Public):
    id: str
    buyer_id: str
    trade_id: str
    amount_yen: int = Field(description="What the buyer pays, consumption tax included")
    net_yen: int = Field(description="Before consumption tax")
    tax_rate_percent: int
    tax_yen: int
    refunded_yen: int
    price_includes_tax: bool
    qualified: bool = Field(description="A qualified invoice (適格請求書)")
    status: str
    issued_at: datetime
    paid_at: datetime | None
    due_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        """Issued and past its due date."""
        return self.status == "issued" and self.due_at is not None and utcnow() > self.due_at


class TradingModeSet(Request):
    # Schema of the rule the market checks: an interval only with periodic mode.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "anyOf": [
                {"properties": {"mode": {"const": "periodic"}}},
                {"properties": {"interval_seconds": {"type": "null"}}},
            ]
        },
    )

    mode: Literal["continuous", "periodic"]
    interval_seconds: Annotated[int, Field(gt=0, le=86_400), WHOLE_NUMBER] | None = Field(
        default=None, description="periodic only: run an auction every N seconds"
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
