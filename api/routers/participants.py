"""Registration and identity."""

from fastapi import APIRouter

from api.deps import CurrentParticipant, MarketDep
from api.schemas import ParticipantCreate, ParticipantPublic, Registration
from market.purposes import PURPOSES

router = APIRouter(tags=["participants"])


@router.post("/participants", response_model=Registration, status_code=201)
def register(body: ParticipantCreate, market: MarketDep) -> Registration:
    """Register a business, individual or information bank; the API key is shown only here."""
    participant, api_key = market.register(
        name=body.name,
        kind=body.kind,
        recipient_category=body.recipient_category,
        credit_limit_yen=market.settings.default_credit_limit_yen,
    )
    return Registration(participant=ParticipantPublic.model_validate(participant), api_key=api_key)


@router.get("/me", response_model=ParticipantPublic)
def me(participant: CurrentParticipant) -> ParticipantPublic:
    return ParticipantPublic.model_validate(participant)


@router.get("/purposes", response_model=dict[str, str])
def purposes() -> dict[str, str]:
    """The fixed purpose taxonomy (docs/purposes.md)."""
    return PURPOSES
