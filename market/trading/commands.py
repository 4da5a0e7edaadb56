"""Typed order commands: what a participant asks the order desk to do.

Routers build these from validated request bodies; the desk (market/trading/desk.py) turns them into
engine commands. Field names are the HTTP API's, so `docs/market-rules.md` describes both.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class LicenceTerms:
    """What every ask states: price, how many licences, for which purposes and recipients."""

    price_yen: int
    allowed_purposes: list[str]
    licence_count: int | None = None
    allowed_recipients: list[str] = field(default_factory=list)
    denied_recipients: list[str] = field(default_factory=list)
    term_days: int | None = None
    exclusive: bool = False
    price_includes_tax: bool = False


@dataclass(frozen=True, kw_only=True)
class OfferLicences:
    """An ask: licences of one of the seller's datasets."""

    dataset_id: str
    terms: LicenceTerms


@dataclass(frozen=True, kw_only=True)
class OfferRecords:
    """An ask for records kept in PDSs, priced per record: a bank's pool or a person's own."""

    categories: list[str]
    terms: LicenceTerms
    min_cohort: int = 1


@dataclass(frozen=True, kw_only=True)
class PlaceBid:
    """A bid for licences on one instrument, with the constraints an ask must meet."""

    instrument: str
    max_price_yen: int
    purpose: str
    quantity: int = 1
    time_in_force: str = "GTC"
    min_quality: int = 0
    min_k: int | None = None
    required_tags: list[str] = field(default_factory=list)
    required_columns: list[str] = field(default_factory=list)
    dataset_id: str | None = None
    min_term_days: int | None = None
    exclusive: bool | None = None
    confirms_linkable_consent: bool = False
