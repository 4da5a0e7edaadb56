"""The revisions table: every version of a dataset, the newest mirrored on the dataset row."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from market.models import _created, new_id


class DatasetRevision(SQLModel, table=True):
    """One version of a dataset: its stored bytes (`blob_id`), their facts and their quality.

    Revision 1 is the original upload (stored under the dataset's id); it is recorded here when
    the first new revision arrives, before the dataset row takes the new revision's facts.
    """

    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    dataset_id: str = Field(foreign_key="dataset.id", index=True)
    number: int
    blob_id: str = Field(max_length=64)
    note: str = Field(default="", max_length=1000)
    columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    row_count: int
    size_bytes: int
    source_encoding: str = Field(max_length=20)
    sha256: str = Field(max_length=64)
    quality_score: int
    quality: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    linkable_columns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _created()
