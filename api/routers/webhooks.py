"""The payment provider's webhook: `POST /webhooks/stripe` (docs/settlement.md, "Webhooks").

Stripe calls it, not participants: it is left out of the API's document. The route only reads
the raw body and the signature header and hands them to the settlement desk; a bad or stale
signature is a 400 problem and changes nothing.
"""

from typing import Annotated

from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool

from api.deps import MarketDep

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks/stripe", include_in_schema=False)
async def stripe_webhook(
    request: Request,
    market: MarketDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> dict[str, str]:
    payload = await request.body()
    outcome = await run_in_threadpool(
        market.settlement.handle_webhook, payload=payload, signature=stripe_signature
    )
    return {"received": "ok", "outcome": outcome}
