"""The constraint schema: what an ask offers and what a bid demands, and when they fit."""

from dataclasses import dataclass
from typing import Final, final

from .types import DATA_CLASSES, MAX_QUALITY

EMPTY: Final[frozenset[str]] = frozenset()


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class AskTerms:
    """Licence terms and restrictions carried by an ask (one dataset per ask)."""

    dataset_id: Final[str]
    data_class: Final[str]
    quality: Final[int]
    k: Final[int | None]
    tags: Final[frozenset[str]]
    columns: Final[frozenset[str]]
    allowed_purposes: Final[frozenset[str]]
    allowed_recipients: Final[frozenset[str]]
    denied_recipients: Final[frozenset[str]]
    term_days: Final[int | None]
    exclusive: Final[bool]
    # Per purpose, the only recipients (ids or category claims) the ask may serve, as
    # (purpose, recipient) pairs; None: no such rule. An information bank's pool carries, for
    # each purpose, the recipients whose cohort of consenting people reaches its minimum.
    purpose_recipients: Final[frozenset[tuple[str, str]] | None]
    # Holds data a buyer could link to a person (個人関連情報, APPI art. 31): only bids that
    # confirm they hold the people's consent may buy it.
    linkable: Final[bool]

    def __init__(
        self,
        dataset_id: str,
        data_class: str,
        quality: int = 0,
        k: int | None = None,
        tags: frozenset[str] = EMPTY,
        columns: frozenset[str] = EMPTY,
        allowed_purposes: frozenset[str] = EMPTY,
        allowed_recipients: frozenset[str] = EMPTY,
        denied_recipients: frozenset[str] = EMPTY,
        term_days: int | None = None,
        exclusive: bool = False,
        purpose_recipients: frozenset[tuple[str, str]] | None = None,
        linkable: bool = False,
    ) -> None:
        self.dataset_id = dataset_id
        self.data_class = data_class
        self.quality = quality
        self.k = k
        self.tags = tags
        self.columns = columns
        self.allowed_purposes = allowed_purposes
        self.allowed_recipients = allowed_recipients
        self.denied_recipients = denied_recipients
        self.term_days = term_days
        self.exclusive = exclusive
        self.purpose_recipients = purpose_recipients
        self.linkable = linkable


@final
@dataclass(init=False, eq=True, unsafe_hash=True, slots=True)
class BidConstraints:
    """What a buyer demands of the data it bids for, and who it is."""

    purpose: Final[str]
    data_classes: Final[frozenset[str]]
    min_quality: Final[int]
    min_k: Final[int | None]
    required_tags: Final[frozenset[str]]
    required_columns: Final[frozenset[str]]
    recipient_categories: Final[frozenset[str]]
    dataset_id: Final[str | None]
    min_term_days: Final[int | None]
    exclusive: Final[bool | None]
    # Datasets the buyer already licenses for this purpose: never bought again.
    held_datasets: Final[frozenset[str]]
    # The buyer confirms it holds the consent of the people linkable data is about (APPI art. 31).
    confirms_linkable_consent: Final[bool]

    def __init__(
        self,
        purpose: str,
        data_classes: frozenset[str] = DATA_CLASSES,
        min_quality: int = 0,
        min_k: int | None = None,
        required_tags: frozenset[str] = EMPTY,
        required_columns: frozenset[str] = EMPTY,
        recipient_categories: frozenset[str] = EMPTY,
        dataset_id: str | None = None,
        min_term_days: int | None = None,
        exclusive: bool | None = None,
        held_datasets: frozenset[str] = EMPTY,
        confirms_linkable_consent: bool = False,
    ) -> None:
        self.purpose = purpose
        self.data_classes = data_classes
        self.min_quality = min_quality
        self.min_k = min_k
        self.required_tags = required_tags
        self.required_columns = required_columns
        self.recipient_categories = recipient_categories
        self.dataset_id = dataset_id
        self.min_term_days = min_term_days
        self.exclusive = exclusive
        self.held_datasets = held_datasets
        self.confirms_linkable_consent = confirms_linkable_consent


def terms_problem(terms: AskTerms, qty: int | None) -> str | None:
    """Say why ask terms are invalid for an ask of `qty` licences, or None when they are valid."""
    if not terms.dataset_id:
        return "ask terms need a dataset_id"
    if terms.data_class not in DATA_CLASSES:
        return f"unknown data class {terms.data_class!r}"
    if not 0 <= terms.quality <= MAX_QUALITY:
        return "quality must be between 0 and 100"
    if terms.k is not None and terms.data_class != "anonymized":
        return "only anonymized data carries a privacy level k"
    if terms.k is not None and terms.k < 1:
        return "k must be at least 1"
    if not terms.allowed_purposes:
        return "an ask must allow at least one purpose"
    if terms.term_days is not None and terms.term_days < 1:
        return "term_days must be at least 1"
    # An exclusive licence promises the buyer that nobody else gets one, so only one can be sold.
    if terms.exclusive and qty != 1:
        return "an exclusive licence is offered one at a time (qty 1)"
    return None


def constraints_problem(constraints: BidConstraints) -> str | None:
    """Say why bid constraints are invalid, or None when they are valid."""
    if not constraints.purpose:
        return "a bid must state its purpose"
    if not constraints.data_classes:
        return "a bid must accept at least one data class"
    if not constraints.data_classes <= DATA_CLASSES:
        return "unknown data class in data_classes"
    if not 0 <= constraints.min_quality <= MAX_QUALITY:
        return "min_quality must be between 0 and 100"
    if constraints.min_k is not None and constraints.min_k < 1:
        return "min_k must be at least 1"
    if constraints.min_term_days is not None and constraints.min_term_days < 1:
        return "min_term_days must be at least 1"
    if constraints.dataset_id is not None and not constraints.dataset_id:
        return "dataset_id must not be empty"
    return None


def eligible(
    buyer: str, constraints: BidConstraints | None, seller: str, terms: AskTerms | None
) -> bool:
    """Whether a bid may buy from an ask: every constraint on both sides holds.

    A bid without constraints states no purpose, so it may only buy an ask without terms,
    and an ask without terms makes no claim a constrained bid could check.
    """
    if buyer == seller:
        return False
    if constraints is None or terms is None:
        return constraints is None and terms is None
    if terms.data_class not in constraints.data_classes:
        return False
    if terms.quality < constraints.min_quality:
        return False
    # k measures anonymization, so min_k binds anonymized asks only.
    min_k = constraints.min_k
    if min_k is not None and terms.data_class == "anonymized" and (terms.k or 0) < min_k:
        return False
    if constraints.purpose not in terms.allowed_purposes:
        return False
    if constraints.dataset_id is not None and constraints.dataset_id != terms.dataset_id:
        return False
    if terms.dataset_id in constraints.held_datasets:
        return False
    if terms.linkable and not constraints.confirms_linkable_consent:
        return False
    if not constraints.required_tags <= terms.tags:
        return False
    if not constraints.required_columns <= terms.columns:
        return False
    if not recipient_allowed(buyer, constraints.recipient_categories, terms):
        return False
    pairs = terms.purpose_recipients
    if pairs is not None and not serves_for_purpose(pairs, constraints, buyer):
        return False
    return licence_fits(constraints, terms)


def recipient_allowed(buyer: str, categories: frozenset[str], terms: AskTerms) -> bool:
    """Whether the ask's allowed and denied recipients let this buyer receive the data."""
    if buyer in terms.denied_recipients or not categories.isdisjoint(terms.denied_recipients):
        return False
    if not terms.allowed_recipients:
        return True
    return buyer in terms.allowed_recipients or not categories.isdisjoint(terms.allowed_recipients)


def serves_for_purpose(
    pairs: frozenset[tuple[str, str]], constraints: BidConstraints, buyer: str
) -> bool:
    """Whether the ask's per-purpose recipients name this buyer (or a category it holds)."""
    purpose = constraints.purpose
    if (purpose, buyer) in pairs:
        return True
    return any((purpose, category) in pairs for category in constraints.recipient_categories)


def licence_fits(constraints: BidConstraints, terms: AskTerms) -> bool:
    """Whether the licence term and exclusivity on offer meet the bid's requirements."""
    # A licence without a term (None) is perpetual and outlasts any required term.
    wanted = constraints.min_term_days
    if wanted is not None and terms.term_days is not None and terms.term_days < wanted:
        return False
    return constraints.exclusive is None or constraints.exclusive == terms.exclusive
