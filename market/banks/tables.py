"""Tables of the information banks: delegations and data-ethics board cases."""

from datetime import datetime

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
