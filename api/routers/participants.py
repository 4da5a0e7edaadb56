"""Registration and identity."""

from fastapi import APIRouter, Request, Response

from api.deps import CurrentParticipant, MarketDep
from api.paging import Cursor, Limit, paginated
from api.ratelimit import REGISTRATION_LIMIT
from api.schemas import (
    ApiKeyIssued,
    ApiKeyPublic,
    CreditStanding,
    InstrumentPublic,
    ParticipantCreate,
    ParticipantPublic,
    Registration,
    TaxProfileSet,
)
from market.models import ApiKey, Instrument, Participant
from market.purposes import PURPOSES

router = APIRouter(tags=["participants"])


@router.post(
    "/participants",
    response_model=Registration,
    status_code=201,
    dependencies=[REGISTRATION_LIMIT],
)
def register(body: ParticipantCreate, market: MarketDep) -> Registration:
    """Register a business, individual or information bank; the API key is shown only here.

    A new participant has no credit and is `unverified`: an operator grants credit (or records a
    deposit) before it can bid, and verifies its declared category, country and security profile
    before they count for listings' recipient rules.
    """
    participant, api_key = market.accounts.register(**body.model_dump())
    return Registration(participant=ParticipantPublic.model_validate(participant), api_key=api_key)


@router.get("/me", response_model=ParticipantPublic)
def me(participant: CurrentParticipant) -> ParticipantPublic:
    return ParticipantPublic.model_validate(participant)


@router.post("/me/keys", response_model=ApiKeyIssued, status_code=201)
def issue_key(market: MarketDep, participant: CurrentParticipant) -> ApiKeyIssued:
    """Issue another API key (shown only here), so you can rotate keys without downtime."""
    return ApiKeyIssued(api_key=market.accounts.issue_key(participant))


@router.get("/me/keys", response_model=list[ApiKeyPublic])
def my_keys(market: MarketDep, participant: CurrentParticipant) -> list[ApiKey]:
    """Your live API keys (ids only; the secrets are never stored)."""
    return market.accounts.api_keys(participant)


@router.delete("/me/keys/{key_id}", response_model=ApiKeyPublic)
def revoke_key(key_id: str, market: MarketDep, participant: CurrentParticipant) -> ApiKey:
    """Revoke one of your keys; your last live key cannot be revoked."""
    return market.accounts.revoke_own_key(participant=participant, key_id=key_id)


@router.get("/me/credit", response_model=CreditStanding)
def my_credit(market: MarketDep, participant: CurrentParticipant) -> dict[str, int]:
    """What you may still commit to bids: credit limit plus deposits, less unpaid invoices and
    the worst-case cost reserved by your open bids."""
    return market.credit.standing(participant)


@router.get("/instruments", response_model=list[InstrumentPublic], tags=["buyers"])
def instruments(
    market: MarketDep,
    request: Request,
    response: Response,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> list[Instrument]:
    """The registered order books (`<category>/<data class>`), newest first; bids name one."""
    return paginated(request, response, market.instruments(cursor=cursor, limit=limit))


@router.get("/purposes", response_model=dict[str, str])
def purposes() -> dict[str, str]:
    """The fixed purpose taxonomy (docs/purposes.md)."""
    return PURPOSES


@router.put("/me/tax-profile", response_model=ParticipantPublic)
def set_tax_profile(
    body: TaxProfileSet, market: MarketDep, participant: CurrentParticipant
) -> Participant:
    """Declare whether you charge consumption tax, and your invoice registration number.

    Buyers from a registered seller receive qualified invoices (docs/settlement.md).
    """
    return market.settlement.set_tax_profile(
        participant=participant,
        taxable_business=body.taxable_business,
        invoice_registration_number=body.invoice_registration_number,
    )
