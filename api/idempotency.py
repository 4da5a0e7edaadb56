"""The `Idempotency-Key` header on POST requests that change money or the order book."""

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import Header, Request, Response
from pydantic import BaseModel

from market.idempotency import fingerprint
from market.models import Participant
from market.service import Market

M = TypeVar("M", bound=BaseModel)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Send a unique key to make a retried request safe: it returns the first response.",
    ),
]


def run_idempotent(
    *,
    market: Market,
    participant: Participant,
    key: str | None,
    request: Request,
    response: Response,
    body: BaseModel,
    model: type[M],
    produce: Callable[[], M],
) -> M:
    """Produce the response once per key; a retry gets the stored one, flagged in a header."""
    stored, replayed = market.idempotent(
        participant=participant,
        key=key,
        request_hash=fingerprint(request.method, request.url.path, body.model_dump(mode="json")),
        produce=lambda: produce().model_dump(mode="json"),
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return model.model_validate(stored)
