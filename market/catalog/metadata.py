"""Listing metadata a seller sets on a dataset, in the shape of AWS Data Exchange and Snowflake
Marketplace listings: column dictionary, coverage, update frequency and licence terms.

The column dictionary adds semantic tags, units and descriptions to the dataset's declared schema
(market.quality.DatasetSchema: types and code lists stay there, where quality is measured against
them). A listing's purposes, term and exclusivity are the listing's own; the metadata names the
licence template they complete and any custom terms.
"""

from datetime import date
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from market.models import Dataset

UpdateFrequency = Literal[
    "realtime", "hourly", "daily", "weekly", "monthly", "quarterly", "yearly", "irregular", "once"
]
UPDATE_FREQUENCIES: tuple[str, ...] = UpdateFrequency.__args__  # type: ignore[attr-defined]

# The market's standard licences: every one forbids redistribution and re-identification
# (docs/catalog.md); the listing adds purposes, term and exclusivity.
LICENCE_TEMPLATES: dict[str, str] = {
    "dm-standard-1.0": "Data market standard licence 1.0: use by the licensee alone, for the "
    "listed purposes and term; no redistribution, no re-identification; delete at the end of term",
    "dm-research-1.0": "Data market research licence 1.0: the standard licence, restricted to "
    "non-commercial research; results may be published in aggregate form only",
    "dm-commercial-1.0": "Data market commercial licence 1.0: the standard licence, allowing "
    "derived products that do not contain or reproduce the data",
}
DEFAULT_TEMPLATE: Final = "dm-standard-1.0"
LicenceTemplate = Literal["dm-standard-1.0", "dm-research-1.0", "dm-commercial-1.0"]

_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
# Free text of several lines: tabs and line breaks, and no other control character (a NUL would
# fail in PostgreSQL).
TEXT_BLOCK = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
Line = Annotated[str, Field(min_length=1, max_length=200, pattern=_NO_CONTROL)]
Paragraph = Annotated[str, Field(min_length=1, max_length=1000, pattern=_NO_CONTROL)]
SemanticTag = Annotated[
    str,
    Field(
        min_length=1,
        max_length=60,
        pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$",
        examples=["geo.latitude", "time.observed_at", "measure.temperature"],
    ),
]


def _iso_text(value: Any) -> Any:
    # A date arrives as ISO text (YYYY-MM-DD); a number is not a date.
    if not isinstance(value, str | date):
        raise ValueError("send a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_text)]
Tag = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\x00-\x1f\x7f,]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnNote(Strict):
    """What the dictionary adds to one column: its meaning, unit and description."""

    name: Line = Field(description="the column's name in the dataset's header")
    semantic_tag: SemanticTag | None = None
    unit: Annotated[str, Field(max_length=50, pattern=_NO_CONTROL)] | None = None
    description: Paragraph | None = None


class Coverage(Strict):
    """The period and places the data covers."""

    period_start: IsoDate | None = None
    period_end: IsoDate | None = None
    geography: list[Line] = Field(
        default_factory=list,
        max_length=50,
        description="places covered: ISO 3166 codes (JP, JP-13) or names (東京都)",
        examples=[["JP-13", "JP-14"]],
    )

    @model_validator(mode="after")
    def _period_in_order(self) -> "Coverage":
        if self.period_start and self.period_end and self.period_start > self.period_end:
            raise ValueError("coverage.period_start is after coverage.period_end")
        return self


class LicenceTerms(Strict):
    """A standard licence template and the seller's custom terms beside it."""

    template: LicenceTemplate = DEFAULT_TEMPLATE
    custom_terms: list[Paragraph] = Field(default_factory=list, max_length=20)


class ListingMetadata(Strict):
    """Everything a seller tells buyers about a dataset beyond the file itself."""

    title: Line | None = Field(default=None, description="replaces the dataset's title")
    description: Annotated[str, Field(max_length=4000, pattern=TEXT_BLOCK)] | None = Field(
        default=None, description="replaces the dataset's description"
    )
    tags: list[Tag] | None = Field(
        default=None, max_length=50, description="replace the dataset's tags"
    )
    columns: list[ColumnNote] = Field(default_factory=list, max_length=1000)
    coverage: Coverage = Field(default_factory=Coverage)
    update_frequency: UpdateFrequency | None = None
    licence: LicenceTerms = Field(default_factory=LicenceTerms)

    @model_validator(mode="after")
    def _columns_once(self) -> "ListingMetadata":
        names = [c.name for c in self.columns]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"columns described twice: {', '.join(repeated)}")
        return self

    def unknown_columns(self, dataset: Dataset) -> list[str]:
        """Described columns the dataset does not have."""
        return [c.name for c in self.columns if c.name not in dataset.columns]

    def stored(self) -> dict[str, Any]:
        """What the catalog keeps (the title, description and tags go to the dataset itself)."""
        return self.model_dump(mode="json", exclude={"title", "description", "tags"})


def frequency_of_days(days: float | None) -> str | None:
    """The named update frequency closest to a declared `update_frequency_days`."""
    if days is None:
        return None
    for name, limit in (
        ("realtime", 1 / 48),
        ("hourly", 1 / 12),
        ("daily", 2),
        ("weekly", 10),
        ("monthly", 45),
        ("quarterly", 135),
        ("yearly", 500),
    ):
        if days <= limit:
            return name
    return "irregular"


def column_dictionary(
    columns: list[str], data_schema: dict[str, Any] | None, details: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """Each column with its declared type and code list and the seller's notes on it."""
    declared = {c["name"]: c for c in (data_schema or {}).get("columns", [])}
    notes = {c["name"]: c for c in (details or {}).get("columns", [])}
    dictionary = []
    for name in columns:
        schema, note = declared.get(name, {}), notes.get(name, {})
        dictionary.append(
            {
                "name": name,
                "type": schema.get("type", "string"),
                "semantic_tag": note.get("semantic_tag"),
                "unit": note.get("unit") or schema.get("unit"),
                "description": note.get("description") or schema.get("description"),
                "codes": schema.get("codes"),
                "minimum": schema.get("minimum"),
                "maximum": schema.get("maximum"),
            }
        )
    return dictionary


def licence_view(
    details: dict[str, Any] | None, *, purposes: list[str], term_days: int | None, exclusive: bool
) -> dict[str, Any]:
    """The licence a listing offers: its template, the listing's own terms, the custom terms."""
    terms = (details or {}).get("licence") or {}
    template: str = terms.get("template", DEFAULT_TEMPLATE)
    return {
        "template": template,
        "template_summary": LICENCE_TEMPLATES[template],
        "purposes": purposes,
        "term_days": term_days,
        "exclusive": exclusive,
        "redistribution": "forbidden",
        "custom_terms": terms.get("custom_terms", []),
    }
