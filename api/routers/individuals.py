"""Individuals: their PDS records, conditions, delegation, requests, receipts, and sign-in.

Shapes live here beside their routes (docs/personal-data.md shows an example of each body).
Changing conditions, delegation or account needs a session signed in with the password within
the last few minutes; everything else also accepts the person's API key.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from api.deps import MarketDep
from api.schemas import PurposeCode, RecordCategory, WholeNumber
from market.models import Participant
from market.participants import InvalidApiKey
from market.personal import records as record_files
from market.personal.categories import CATEGORIES
from market.personal.signin import is_session_token
from market.personal.tables import (
    ConditionsVersion,
    ConsentReceipt,
    PersonSession,
    ProvisionRecord,
    ProvisionRequest,
)

router = APIRouter(tags=["individuals"])
_bearer = HTTPBearer(
    auto_error=False,
    description="A session token ps_<id>_<secret> (POST /sessions) or an API key dm_<id>_<secret>",
)
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Code = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9_.]+$")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Shape(BaseModel):
    model_config = ConfigDict(from_attributes=True)


@dataclass
class Caller:
    participant: Participant
    session: PersonSession | None


def current_caller(
    market: MarketDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None:
        raise InvalidApiKey("send 'Authorization: Bearer <session token or API key>'")
    token = credentials.credentials
    if is_session_token(token):
        person, row = market.pds.session_of(token)
        return Caller(person, row)
    return Caller(market.accounts.authenticate(token), None)


CurrentCaller = Annotated[Caller, Depends(current_caller)]


# sign-in
class PasswordSet(Body):
    password: str = Field(min_length=10, max_length=200)
    current_password: str | None = Field(default=None, max_length=200)


class SignIn(Body):
    participant_id: Id
    password: str = Field(min_length=1, max_length=200)


class Reauthenticate(Body):
    password: str = Field(min_length=1, max_length=200)


class SessionPublic(Shape):
    token: str | None = Field(default=None, description="Shown once, at sign-in")
    person_id: str
    expires_at: datetime
    authenticated_at: datetime


@router.put("/me/password", status_code=204)
def set_password(body: PasswordSet, market: MarketDep, caller: CurrentCaller) -> None:
    """Set your first password (with your API key), or change it by also sending the current one."""
    market.pds.set_password(
        person=caller.participant, password=body.password, current_password=body.current_password
    )


@router.post("/sessions", response_model=SessionPublic, status_code=201)
def sign_in(body: SignIn, market: MarketDep) -> SessionPublic:
    """Sign in with your password; the session token expires (see `expires_at`)."""
    row, token = market.pds.sign_in(person_id=body.participant_id, password=body.password)
    return SessionPublic(
        token=token,
        person_id=row.person_id,
        expires_at=row.expires_at,
        authenticated_at=row.authenticated_at,
    )


@router.post("/sessions/reauthenticate", response_model=SessionPublic)
def reauthenticate(body: Reauthenticate, market: MarketDep, caller: CurrentCaller) -> SessionPublic:
    """Enter your password again so that changes of conditions or delegation are allowed."""
    if caller.session is None:
        raise InvalidApiKey("re-authentication applies to a signed-in session (POST /sessions)")
    row = market.pds.reauthenticate(row=caller.session, password=body.password)
    return SessionPublic.model_validate(row)


@router.delete("/sessions/current", status_code=204)
def sign_out(market: MarketDep, caller: CurrentCaller) -> None:
    if caller.session is not None:
        market.pds.sign_out(row=caller.session)


# account and guardianship
class AccountUpdate(Body):
    birth_date: date | None = Field(default=None, description="Set once; a minor needs a guardian")
    guardian_id: Id | None = Field(default=None, description="An adult individual participant")


class AccountPublic(Shape):
    birth_date: date | None
    guardian_id: str | None


@router.put("/me/account", response_model=AccountPublic)
def set_account(body: AccountUpdate, market: MarketDep, caller: CurrentCaller) -> Any:
    """Record your birth date and, for a minor, the guardian who confirms your conditions."""
    return market.pds.set_account(
        person=caller.participant,
        birth_date=body.birth_date,
        guardian_id=body.guardian_id,
        signed_in=caller.session,
    )


# records
class RecordCreate(Body):
    category: RecordCategory = Field(description="A code from GET /categories")
    data: dict[str, Any] = Field(description="Fields of the category's schema")


class RecordPublic(Shape):
    id: str
    category: str
    sensitive: bool = Field(description="要配慮個人情報 (special-care-required)")
    source: str
    created_at: datetime
    data: dict[str, Any]


class PortableImport(Body):
    format: Literal["datamarket.pds/1"]
    records: list[RecordCreate] = Field(
        min_length=1, max_length=record_files.MAX_RECORDS_PER_IMPORT
    )


class ImportResult(BaseModel):
    stored: int
    ids: list[str]


class CategoryPublic(BaseModel):
    code: str
    ja: str
    en: str
    sensitive: bool
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")


def _record_public(row: Any, data: dict[str, Any]) -> RecordPublic:
    return RecordPublic(
        id=row.id,
        category=row.category,
        sensitive=row.sensitive,
        source=row.source,
        created_at=row.created_at,
        data=data,
    )


@router.get("/categories", response_model=list[CategoryPublic], response_model_by_alias=True)
def categories() -> list[CategoryPublic]:
    """Personal record categories, each with its JSON Schema; `sensitive` marks 要配慮個人情報."""
    return [
        CategoryPublic(
            code=c.code,
            ja=c.ja,
            en=c.en,
            sensitive=c.sensitive,
            schema=c.schema.model_json_schema(),
        )
        for c in CATEGORIES.values()
    ]


@router.post("/me/records", response_model=RecordPublic, status_code=201)
def store_record(body: RecordCreate, market: MarketDep, caller: CurrentCaller) -> RecordPublic:
    """Store one record in your PDS, encrypted at rest."""
    [row] = market.pds.store_records(
        person=caller.participant, items=[(body.category, body.data)], source="api"
    )
    return _record_public(row, market.pds.record_data(record_id=row.id))


@router.post("/me/records/import", response_model=ImportResult, status_code=201)
def import_portable(body: PortableImport, market: MarketDep, caller: CurrentCaller) -> ImportResult:
    """Import many records from the portable JSON document; one invalid record rejects all."""
    rows = market.pds.store_records(
        person=caller.participant,
        items=[(r.category, r.data) for r in body.records],
        source="import_json",
    )
    return ImportResult(stored=len(rows), ids=[r.id for r in rows])


@router.post("/me/records/import-csv", response_model=ImportResult, status_code=201)
def import_csv(
    market: MarketDep,
    caller: CurrentCaller,
    category: Annotated[
        str, Form(min_length=1, max_length=60, json_schema_extra={"enum": list(CATEGORIES)})
    ],
    file: Annotated[UploadFile, File(description="CSV whose header names the category's fields")],
) -> ImportResult:
    """Import a CSV of one category (UTF-8 or Shift_JIS); one invalid row rejects all."""
    raw = file.file.read(market.settings.max_upload_bytes + 1)
    items = record_files.parse_csv(category, raw)
    rows = market.pds.store_records(person=caller.participant, items=items, source="import_csv")
    return ImportResult(stored=len(rows), ids=[r.id for r in rows])


@router.get("/me/records", response_model=list[RecordPublic])
def my_records(
    market: MarketDep, caller: CurrentCaller, category: str | None = None
) -> list[RecordPublic]:
    """Your records, newest first (optionally of one category)."""
    return [
        _record_public(row, data)
        for row, data in market.pds.records(person=caller.participant, category=category)
    ]


# conditions
class ConditionsBody(Body):
    purposes: list[PurposeCode] = Field(
        min_length=1, description="Purpose codes or groups (GET /purposes)"
    )
    categories: list[RecordCategory] = Field(min_length=1, description="Record categories covered")
    allowed_recipient_categories: list[Code] = Field(default_factory=list)
    denied_recipient_categories: list[Code] = Field(default_factory=list)
    allowed_recipients: list[Id] = Field(default_factory=list, description="Participant ids")
    denied_recipients: list[Id] = Field(default_factory=list, description="Participant ids")
    abroad_allowed: StrictBool = False
    anonymized_only: StrictBool = False
    min_price_per_record_yen: WholeNumber = Field(default=0, ge=0)
    expires_at: AwareDatetime | None = None


class ConditionsVersionPublic(Shape):
    version: int
    status: Literal["in_effect", "awaiting_guardian", "superseded", "never_confirmed"]
    conditions: dict[str, Any] = Field(validation_alias="body")
    created_at: datetime
    effective_at: datetime | None
    superseded_at: datetime | None
    confirmed_by: str | None


class ConditionsPublic(BaseModel):
    current: ConditionsVersionPublic | None = Field(description="The version in effect")
    pending: ConditionsVersionPublic | None = Field(description="Waiting for the guardian")
    history: list[ConditionsVersionPublic] = Field(description="Every version, newest first")


class WardConditions(Shape):
    person_id: str
    version: int
    conditions: dict[str, Any] = Field(validation_alias="body")
    created_at: datetime


@router.put("/me/conditions", response_model=ConditionsVersionPublic)
def put_conditions(
    body: ConditionsBody, market: MarketDep, caller: CurrentCaller
) -> ConditionsVersion:
    """Set your conditions: a new version (in effect at once, or after your guardian confirms)."""
    return market.pds.put_conditions(
        person=caller.participant, body=body.model_dump(mode="json"), signed_in=caller.session
    )


@router.get("/me/conditions", response_model=ConditionsPublic)
def get_conditions(market: MarketDep, caller: CurrentCaller) -> ConditionsPublic:
    history = [
        ConditionsVersionPublic.model_validate(v)
        for v in market.pds.conditions_history(person_id=caller.participant.id)
    ]
    return ConditionsPublic(
        current=next((v for v in history if v.status == "in_effect"), None),
        pending=next((v for v in history if v.status == "awaiting_guardian"), None),
        history=history,
    )


@router.get("/me/wards", response_model=list[WardConditions])
def wards_waiting(market: MarketDep, caller: CurrentCaller) -> list[ConditionsVersion]:
    """Conditions of the minors you are guardian of, waiting for your confirmation."""
    return market.pds.waiting_for_guardian(guardian=caller.participant)


@router.post(
    "/me/wards/{person_id}/conditions/{version}/confirm", response_model=ConditionsVersionPublic
)
def confirm_ward_conditions(
    person_id: str, version: int, market: MarketDep, caller: CurrentCaller
) -> ConditionsVersion:
    """As guardian, confirm a minor's conditions version; it takes effect now."""
    return market.pds.confirm_for_ward(
        guardian=caller.participant, person_id=person_id, version=version
    )


# delegation
class DelegationBody(Body):
    bank_id: Id


class DelegationPublic(BaseModel):
    mode: Literal["self_control", "delegated"]
    bank_id: str | None
    started_at: datetime | None
    ended_at: datetime | None = None


@router.put("/me/delegation", response_model=DelegationPublic)
def delegate(body: DelegationBody, market: MarketDep, caller: CurrentCaller) -> DelegationPublic:
    """Delegate decisions within your conditions to one information bank (later requests)."""
    row = market.pds.delegate(
        person=caller.participant, bank_id=body.bank_id, signed_in=caller.session
    )
    return DelegationPublic(mode="delegated", bank_id=row.bank_id, started_at=row.started_at)


@router.delete("/me/delegation", response_model=DelegationPublic)
def end_delegation(market: MarketDep, caller: CurrentCaller) -> DelegationPublic:
    """Return to self-control: you approve or decline each later request yourself."""
    ended = market.pds.end_delegation(person=caller.participant, signed_in=caller.session)
    return DelegationPublic(
        mode="self_control",
        bank_id=ended.bank_id if ended else None,
        started_at=ended.started_at if ended else None,
        ended_at=ended.ended_at if ended else None,
    )


@router.get("/me/delegation", response_model=DelegationPublic)
def my_delegation(market: MarketDep, caller: CurrentCaller) -> DelegationPublic:
    row = market.pds.delegation(person=caller.participant)
    if row is None:
        return DelegationPublic(mode="self_control", bank_id=None, started_at=None)
    return DelegationPublic(mode="delegated", bank_id=row.bank_id, started_at=row.started_at)


# requests, consents, provisions
class ExplainedRecipient(BaseModel):
    id: str
    name: str
    category: str | None
    country: str
    verification: Literal["verified", "self_declared"]


class ExplainedPurpose(BaseModel):
    code: str
    label: str


class ExplainedBenefit(BaseModel):
    price_per_record_yen: int
    note: str


class ExplainedAbroad(BaseModel):
    country: str
    regime: str
    recipient_measures: dict[str, Any]


class Explanation(BaseModel):
    recipient: ExplainedRecipient
    purpose: ExplainedPurpose
    items: list[str]
    sensitive_items: list[str] = Field(description="Items that are 要配慮個人情報")
    anonymized: bool
    term: str
    benefit: ExplainedBenefit
    security_profile: dict[str, Any] = Field(description="`status`: verified or self_declared")
    abroad: ExplainedAbroad | None = Field(description="APPI art. 28(2): set when abroad")
    text: str


class Explanations(BaseModel):
    ja: Explanation
    en: Explanation


class RequestPublic(Shape):
    id: str
    recipient_id: str
    channel: Literal["direct", "pool"]
    purpose: str
    categories: list[str]
    price_per_record_yen: int
    term_days: int | None
    anonymized: bool
    status: Literal["pending", "board_pending", "provided", "declined", "rejected", "cancelled"]
    reason: str | None
    created_at: datetime
    decided_at: datetime | None
    explanation: Explanations


class DecisionBody(Body):
    approve: bool = Field(strict=True)


class ConsentPublic(Shape):
    id: str
    request_id: str
    recipient_id: str
    controller_id: str
    purpose: str
    method: Literal["explicit", "delegated"]
    conditions_version: int
    status: str
    created_at: datetime
    receipt: dict[str, Any] = Field(description="ISO/IEC TS 27560 shaped consent record")


class ProvisionPublic(BaseModel):
    id: str
    side: Literal["provider", "recipient"]
    person_ref: str = Field(description="Pseudonymous reference, stable per recipient")
    provider_id: str = Field(
        description="The bank, or for a person's own provision their `person_ref` on the "
        "recipient's side"
    )
    recipient_id: str
    request_id: str
    consent_receipt_id: str
    purpose: str
    categories: list[str]
    records: int
    provided_at: datetime


def provision_public(row: ProvisionRecord) -> ProvisionPublic:
    # A person who provided their own records is named to the recipient only pseudonymously.
    own = row.side == "recipient" and row.provider_id == row.person_id
    return ProvisionPublic(
        id=row.id,
        side=row.side,
        person_ref=row.person_ref,
        provider_id=row.person_ref if own else row.provider_id,
        recipient_id=row.recipient_id,
        request_id=row.request_id,
        consent_receipt_id=row.consent_receipt_id,
        purpose=row.purpose,
        categories=row.categories,
        records=len(row.record_ids),
        provided_at=row.provided_at,
    )


@router.get("/me/requests", response_model=list[RequestPublic])
def my_requests(market: MarketDep, caller: CurrentCaller) -> list[ProvisionRequest]:
    """Requests waiting for your decision, each explained in Japanese and English."""
    return market.pds.pending_requests(person=caller.participant)


@router.post("/me/requests/{request_id}/decision", response_model=RequestPublic)
def decide(
    request_id: str, body: DecisionBody, market: MarketDep, caller: CurrentCaller
) -> ProvisionRequest:
    """Approve (your records are provided under your current conditions) or decline a request."""
    return market.pds.decide(person=caller.participant, request_id=request_id, approve=body.approve)


@router.get("/me/consents", response_model=list[ConsentPublic])
def my_consents(market: MarketDep, caller: CurrentCaller) -> list[ConsentReceipt]:
    """Your consent receipts, newest first."""
    return market.pds.consents(person=caller.participant)


@router.get("/me/provisions", response_model=list[ProvisionPublic])
def my_provisions(market: MarketDep, caller: CurrentCaller) -> list[ProvisionPublic]:
    """Provision records (APPI arts. 29-30): of your data (individuals) or that you keep."""
    return [provision_public(r) for r in market.pds.provisions(participant=caller.participant)]
