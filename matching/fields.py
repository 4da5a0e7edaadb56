"""Strict reading of JSON fields, and the flattened constraint schema of bids and asks."""

from enum import Enum
from typing import Any, TypeVar

from .terms import AskTerms, BidConstraints
from .types import DATA_CLASSES

E = TypeVar("E", bound=Enum)

BID_FIELDS = (
    "purpose",
    "data_classes",
    "min_quality",
    "min_k",
    "required_tags",
    "required_columns",
    "recipient_categories",
    "dataset_id",
    "min_term_days",
    "exclusive",
    "held_datasets",
    "confirms_linkable_consent",
)
ASK_FIELDS = (
    "dataset_id",
    "data_class",
    "quality",
    "k",
    "tags",
    "columns",
    "allowed_purposes",
    "allowed_recipients",
    "denied_recipients",
    "term_days",
    "exclusive",
    "purpose_recipients",
    "linkable",
)


class FieldReader:
    """Reads fields off a JSON object with exact types and reports fields left unread."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.read: set[str] = set()

    def has(self, key: str) -> bool:
        """Whether the field is present."""
        return key in self.data

    def take(self, key: str) -> Any:
        """The raw value of a field (None when absent)."""
        self.read.add(key)
        return self.data.get(key)

    def text(self, key: str) -> str:
        """A required string field."""
        value = self.take(key)
        if not isinstance(value, str):
            raise ValueError(f"{key!r} must be a string")
        return value

    def optional_text(self, key: str) -> str | None:
        """An optional string field."""
        value = self.take(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{key!r} must be a string or null")
        return value

    def integer(self, key: str) -> int:
        """A required integer field (booleans and floats are refused)."""
        value = self.take(key)
        if type(value) is not int:
            raise ValueError(f"{key!r} must be an integer")
        return value

    def optional_integer(self, key: str, required: bool = False) -> int | None:
        """An integer-or-null field; `required` means the key must be present."""
        if required and key not in self.data:
            raise ValueError(f"{key!r} is required (null for unlimited)")
        value = self.take(key)
        if value is not None and type(value) is not int:
            raise ValueError(f"{key!r} must be an integer or null")
        return value

    def flag(self, key: str, default: bool) -> bool:
        """A boolean field."""
        value = self.take(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ValueError(f"{key!r} must be true or false")
        return value

    def optional_flag(self, key: str) -> bool | None:
        """A boolean-or-null field."""
        value = self.take(key)
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"{key!r} must be true, false or null")
        return value

    def names(self, key: str, default: frozenset[str] = frozenset()) -> frozenset[str]:
        """A list of strings, as a set."""
        value = self.take(key)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{key!r} must be a list of strings")
        return frozenset(value)

    def recipients_by_purpose(self, key: str) -> frozenset[tuple[str, str]] | None:
        """An object mapping each purpose to a list of recipients, as (purpose, recipient) pairs."""
        value = self.take(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ValueError(f"{key!r} must map purposes to lists of recipients")
        pairs: set[tuple[str, str]] = set()
        for purpose, recipients in value.items():
            if not isinstance(recipients, list) or not all(isinstance(r, str) for r in recipients):
                raise ValueError(f"{key!r} must map purposes to lists of recipients")
            pairs.update((purpose, r) for r in recipients)
        return frozenset(pairs)

    def choice(self, key: str, kind: type[E]) -> E:
        """An enumeration value given by its string."""
        value = self.take(key)
        for member in kind:
            if member.value == value:
                return member
        allowed = ", ".join(repr(m.value) for m in kind)
        raise ValueError(f"{key!r} must be one of {allowed}")

    def refuse(self, keys: tuple[str, ...], message: str) -> None:
        """Raise when any of `keys` is present."""
        if any(key in self.data for key in keys):
            raise ValueError(message)

    def finish(self) -> None:
        """Raise when the object holds fields nobody read."""
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise ValueError(f"unknown field(s): {', '.join(unknown)}")

    def constraints(self) -> BidConstraints:
        """The flattened constraint fields of a bid."""
        return BidConstraints(
            purpose=self.text("purpose"),
            data_classes=self.names("data_classes", DATA_CLASSES),
            min_quality=self.optional_integer("min_quality") or 0,
            min_k=self.optional_integer("min_k"),
            required_tags=self.names("required_tags"),
            required_columns=self.names("required_columns"),
            recipient_categories=self.names("recipient_categories"),
            dataset_id=self.optional_text("dataset_id"),
            min_term_days=self.optional_integer("min_term_days"),
            exclusive=self.optional_flag("exclusive"),
            held_datasets=self.names("held_datasets"),
            confirms_linkable_consent=self.flag("confirms_linkable_consent", False),
        )

    def terms(self) -> AskTerms:
        """The flattened term fields of an ask."""
        return AskTerms(
            dataset_id=self.text("dataset_id"),
            data_class=self.text("data_class"),
            quality=self.optional_integer("quality") or 0,
            k=self.optional_integer("k"),
            tags=self.names("tags"),
            columns=self.names("columns"),
            allowed_purposes=self.names("allowed_purposes"),
            allowed_recipients=self.names("allowed_recipients"),
            denied_recipients=self.names("denied_recipients"),
            term_days=self.optional_integer("term_days"),
            exclusive=self.flag("exclusive", False),
            purpose_recipients=self.recipients_by_purpose("purpose_recipients"),
            linkable=self.flag("linkable", False),
        )


def constraints_to_dict(constraints: BidConstraints) -> dict[str, Any]:
    """Bid constraints as flattened JSON fields."""
    return {
        "purpose": constraints.purpose,
        "data_classes": sorted(constraints.data_classes),
        "min_quality": constraints.min_quality,
        "min_k": constraints.min_k,
        "required_tags": sorted(constraints.required_tags),
        "required_columns": sorted(constraints.required_columns),
        "recipient_categories": sorted(constraints.recipient_categories),
        "dataset_id": constraints.dataset_id,
        "min_term_days": constraints.min_term_days,
        "exclusive": constraints.exclusive,
        # Written only when set, so journals and hashes of bids without it are unchanged.
        **(
            {"held_datasets": sorted(constraints.held_datasets)}
            if constraints.held_datasets
            else {}
        ),
        **({"confirms_linkable_consent": True} if constraints.confirms_linkable_consent else {}),
    }


def terms_to_dict(terms: AskTerms) -> dict[str, Any]:
    """Ask terms as flattened JSON fields."""
    return {
        "dataset_id": terms.dataset_id,
        "data_class": terms.data_class,
        "quality": terms.quality,
        "k": terms.k,
        "tags": sorted(terms.tags),
        "columns": sorted(terms.columns),
        "allowed_purposes": sorted(terms.allowed_purposes),
        "allowed_recipients": sorted(terms.allowed_recipients),
        "denied_recipients": sorted(terms.denied_recipients),
        "term_days": terms.term_days,
        "exclusive": terms.exclusive,
        # Written only when set, so journals and hashes of asks without it are unchanged.
        **(
            {"purpose_recipients": recipients_to_dict(terms.purpose_recipients)}
            if terms.purpose_recipients is not None
            else {}
        ),
        **({"linkable": True} if terms.linkable else {}),
    }


def recipients_to_dict(pairs: frozenset[tuple[str, str]]) -> dict[str, list[str]]:
    """(purpose, recipient) pairs as an object of sorted lists, purposes in order."""
    grouped: dict[str, list[str]] = {}
    for purpose, recipient in sorted(pairs):
        grouped.setdefault(purpose, []).append(recipient)
    return grouped
