"""The market's fixed vocabularies, defined once: participant kinds, data classes, statuses.

Columns store the plain string values; `StrEnum` members compare equal to them.
"""

from enum import StrEnum


class ParticipantKind(StrEnum):
    BUSINESS = "business"
    INDIVIDUAL = "individual"
    INFO_BANK = "info_bank"
    OPERATOR = "operator"


SELLER_KINDS = frozenset(
    {ParticipantKind.BUSINESS, ParticipantKind.INDIVIDUAL, ParticipantKind.INFO_BANK}
)


class DataClass(StrEnum):
    PERSONAL = "personal"
    ANONYMIZED = "anonymized"
    NON_PERSONAL = "non_personal"


class Verification(StrEnum):
    UNVERIFIED = "unverified"
    VERIFIED = "verified"


class BidStatus(StrEnum):
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ListingStatus(StrEnum):
    OPEN = "open"
    SOLD_OUT = "sold_out"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"


class InvoiceStatus(StrEnum):
    ISSUED = "issued"
    PAID = "paid"


class SelfServiceKind(StrEnum):
    """The kinds a participant may register itself as (operators are created by operators)."""

    BUSINESS = "business"
    INDIVIDUAL = "individual"
    INFO_BANK = "info_bank"
