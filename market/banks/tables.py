"""Tables of the information banks: delegations and data-ethics board cases."""

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from market.models import _created, _optional_ts, new_id


class Delegation(SQLModel, table=True):
    """A person's delegation to one bank; the open one (ended_at null) is current."""

    id: str = Field(default_factory=new_id, primary_key=True)
    person_id: str = Field(foreign_key="participant.id", index=True)
    bank_id: str = Field(foreign_key="participant.id", index=True)
    started_at: datetime = _created()
    ended_at: datetime | None = _optional_ts()


class BoardCase(SQLModel, table=True):
    """A request touching 要配慮個人情報, waiting for (or decided by) the bank's data-ethics board."""

    request_id: str = Field(foreign_key="provisionrequest.id", primary_key=True)
    bank_id: str = Field(foreign_key="participant.id", index=True)
    status: str = Field(default="pending", max_length=20, index=True)
    member: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=2000)
    created_at: datetime = _created()
    decided_at: datetime | None = _optional_ts()


class PersonalListing(SQLModel, table=True):
    """A listing of records kept in PDSs: a bank's pool (its delegators') or one person's own.

    `recipients` is the per-purpose recipient map last pushed to the engine with the ask's terms,
    so a refresh pushes an `Update` only when it changed.
    """

    listing_id: str = Field(foreign_key="listing.id", primary_key=True)
    holder_id: str = Field(foreign_key="participant.id", index=True)
    channel: str = Field(max_length=10)
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    min_cohort: int = 1
    recipients: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = _created()
    refreshed_at: datetime = _created()


class ProvisionalTrade(SQLModel, table=True):
    """A trade of PDS records waiting for a decision (the bank's board or the person).

    Keeps the licences the engine traded, so a rejection unwinds exactly them with the engine's
    journaled `Unwind`; `status` becomes `settled` or `unwound` when it is decided.
    """

    trade_id: str = Field(foreign_key="trade.id", primary_key=True)
    request_id: str = Field(foreign_key="provisionrequest.id", index=True)
    licences: int
    status: str = Field(default="provisional", max_length=20)
    created_at: datetime = _created()
    concluded_at: datetime | None = _optional_ts()
