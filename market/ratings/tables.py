"""The ratings table: one rating per licence, by the buyer that paid for it."""

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from market.models import _created, new_id


class Rating(SQLModel, table=True):
    """A buyer's 1-5 rating of one paid delivery; `paid_yen` is its weight in the seller's record."""

    id: str = Field(default_factory=new_id, primary_key=True)
    licence_id: str = Field(foreign_key="licence.id", unique=True)
    buyer_id: str = Field(foreign_key="participant.id", index=True)
    seller_id: str = Field(foreign_key="participant.id", index=True)
    dataset_id: str = Field(foreign_key="dataset.id", index=True)
    stars: int
    comment: str | None = Field(default=None, max_length=2000)
    paid_yen: int = Field(sa_column=Column(BigInteger(), nullable=False))
    created_at: datetime = _created()
