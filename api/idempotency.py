"""The `Idempotency-Key` header on POST requests that change money or the order book."""

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Header, Request, Response
from pydantic import BaseModel
from sqlmodel import Session

from market.idempotency import Claim, fingerprint
from market.models import Participant
from market.service import Market

M = TypeVar("M", bound=BaseModel)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=100,
        pattern=r"^[\x20-\x7e]+$",
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
    produce: Callable[[Claim | None], Any],
    render: Callable[[Session, Any], M],
) -> M:
    """Produce the response once per key; a retry gets the stored one, flagged in a header.

    `produce` runs the use case with the claim, which stores `render`'s output in the use case's
    own transaction.
    """
    stored, replayed = market.idempotent(
        participant=participant,
        key=key,
        request_hash=fingerprint(request.method, request.url.path, body.model_dump(mode="json")),
        render=lambda session, result: render(session, result).model_dump(mode="json"),
        produce=produce,
    )
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return model.model_validate(stored)
