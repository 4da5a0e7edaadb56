"""Tables of the engine owner: snapshots of the engine and the owner's fencing token."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, LargeBinary
from sqlmodel import Field, SQLModel

from market.models import _created


class EngineSnapshot(SQLModel, table=True):
    """The engine's state after journal row `seq`: a restore replays only the rows after it.

    `payload` is the engine's snapshot (`matching.Engine.snapshot`) as zlib-compressed JSON in
    format `format`; `state_hash` is the engine's state hash at that point, checked on restore.
    """

    seq: int = Field(sa_column=Column(BigInteger(), primary_key=True, autoincrement=False))
    format: int
    state_hash: str = Field(max_length=64)
    payload: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
    created_at: datetime = _created()


class EngineOwner(SQLModel, table=True):
    """The one row naming the engine's current owner by its fencing token (`epoch`).

    Each process that becomes the owner raises `epoch`; every trading transaction first checks
    that it is still its own, so a process that lost ownership without noticing commits nothing.
    """

    id: int = Field(primary_key=True)
    epoch: int = Field(sa_column=Column(BigInteger(), nullable=False))
    owner: str = Field(max_length=200)
    acquired_at: datetime = _created()
