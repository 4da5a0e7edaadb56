"""Registration and identity."""

from fastapi import APIRouter

from api.deps import CurrentParticipant, MarketDep
from api.ratelimit import REGISTRATION_LIMIT
from api.schemas import (
    CreditStanding,
    InstrumentPublic,
    ParticipantCreate,
    ParticipantPublic,
    Registration,
)
from market.models import Instrument
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
    participant, api_key = market.register(**body.model_dump())
    return Registration(participant=ParticipantPublic.model_validate(participant), api_key=api_key)


@router.get("/me", response_model=ParticipantPublic)
def me(participant: CurrentParticipant) -> ParticipantPublic:
    return ParticipantPublic.model_validate(participant)


@router.get("/me/credit", response_model=CreditStanding)
def my_credit(market: MarketDep, participant: CurrentParticipant) -> dict[str, int]:
    """What you may still commit to bids: credit limit plus deposits, less unpaid invoices and
    the worst-case cost reserved by your open bids."""
    return market.credit_standing(participant)


@router.get("/instruments", response_model=list[InstrumentPublic], tags=["buyers"])
def instruments(market: MarketDep) -> list[Instrument]:
    """The registered order books (`<category>/<data class>`); bids name one of them."""
    return market.instruments()


@router.get("/purposes", response_model=dict[str, str])
def purposes() -> dict[str, str]:
    """The fixed purpose taxonomy (docs/purposes.md)."""
    return PURPOSES
