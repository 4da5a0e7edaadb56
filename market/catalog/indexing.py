"""Keeping each dataset's catalog entry (search text, tags, update frequency) in step with it.

A dataset inserted through the ORM gets its entry in the same flush (a mapper event, so every
path that creates datasets — upload, anonymization, pools, revisions — is covered without each
calling the catalog); a change of its title, description, category, tags or schema rewrites the
entry's text. The text is normalized here, in Python, so both databases match the same
characters: NFKC folds full-width and half-width forms (ＡＢＣ, ｶﾀｶﾅ) and case folding makes the
match case-insensitive.
"""

import unicodedata
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, event, insert, inspect, select, update
from sqlalchemy.orm import Mapper

from market.catalog.metadata import frequency_of_days
from market.catalog.tables import catalog_entries
from market.models import Dataset, utcnow

# Fields are joined by a line break: search terms never contain whitespace, so no term can
# match across the end of one field and the start of the next.
FIELD_SEPARATOR = "\n"
_WATCHED = ("title", "description", "category", "tags", "columns", "data_schema")


def normalize(text: str) -> str:
    """Text as search compares it: NFKC-normalized and case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def search_terms(q: str | None) -> list[str]:
    """The distinct terms of a query (whitespace-separated, normalized), in first-seen order."""
    if not q:
        return []
    return list(dict.fromkeys(normalize(q).split()))


def tags_text(tags: Iterable[str]) -> str:
    """Tags as `,tag,tag,`: one LIKE '%,tag,%' finds a tag on either database."""
    return "," + "".join(f"{normalize(tag).strip()}," for tag in tags)


def search_text(dataset: Any, details: dict[str, Any] | None) -> str:
    """The text a dataset is found by: its description, tags, columns and the seller's notes."""
    notes = (details or {}).get("columns", [])
    coverage = (details or {}).get("coverage") or {}
    declared = (dataset.data_schema or {}).get("columns", [])
    fields = [
        dataset.title,
        dataset.description,
        dataset.category,
        *dataset.tags,
        *dataset.columns,
        *(note.get(key) or "" for note in notes for key in ("semantic_tag", "unit", "description")),
        *(column.get("description") or "" for column in declared),
        *coverage.get("geography", []),
    ]
    return FIELD_SEPARATOR.join(normalize(str(field)) for field in fields if field)


def entry_values(dataset: Any, details: dict[str, Any] | None) -> dict[str, Any]:
    """The entry columns that follow from a dataset and its metadata."""
    frequency = (details or {}).get("update_frequency") or frequency_of_days(
        (dataset.data_schema or {}).get("update_frequency_days")
    )
    return {
        "search_text": search_text(dataset, details),
        "tags_text": tags_text(dataset.tags),
        "update_frequency": frequency,
        "updated_at": utcnow(),
    }


@event.listens_for(Dataset, "after_insert")
def _entry_for_new_dataset(_: Mapper[Any], connection: Connection, dataset: Dataset) -> None:
    values = entry_values(dataset, None)
    connection.execute(insert(catalog_entries).values(dataset_id=dataset.id, **values))


@event.listens_for(Dataset, "after_update")
def _entry_follows_dataset(_: Mapper[Any], connection: Connection, dataset: Dataset) -> None:
    state = inspect(dataset)
    if not any(state.attrs[name].history.has_changes() for name in _WATCHED):
        return
    same = catalog_entries.c.dataset_id == dataset.id
    details = connection.execute(select(catalog_entries.c.details).where(same)).scalar_one_or_none()
    values = entry_values(dataset, details)
    updated = connection.execute(update(catalog_entries).where(same).values(**values))
    if updated.rowcount == 0:
        connection.execute(insert(catalog_entries).values(dataset_id=dataset.id, **values))
