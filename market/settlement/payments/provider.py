"""The payments interface the market drives, its results, and the embedded default.

Everything here is plain data: the Stripe adapter (`stripe_adapter.py`) translates it to and
from the SDK, and the rest of settlement never imports `stripe`.
"""

from dataclasses import dataclass, field
from typing import Protocol

# Stripe's smallest JPY charge; a trade below it is settled by invoice.
MINIMUM_CHARGE_YEN = 50


@dataclass(frozen=True)
class IntentState:
    """What the provider says about one PaymentIntent."""

    intent_id: str
    status: str  # requires_confirmation, requires_capture, succeeded, canceled, ...
    amount_yen: int
    received_yen: int = 0
    charge_id: str | None = None
    failure: str | None = None
    refunded_yen: int = 0
    metadata: dict[str, str] = field(default_factory=dict)
    # The provider's processing fee of the charge (its balance transaction), when known.
    fee_yen: int | None = None


@dataclass(frozen=True)
class TransferState:
    """What the provider says about one Transfer to a connected account."""

    transfer_id: str
    amount_yen: int
    reversed_yen: int = 0  # taken back by its reversals
    destination: str | None = None
    transfer_group: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


class ProviderDeclined(Exception):
    """A definite failure: the provider answered and refused (a declined card, a bad request)."""

    def __init__(self, reason: str, intent: IntentState | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.intent = intent


class ProviderUnavailable(Exception):
    """No answer (timeout, connection lost, a 5xx): the call may or may not have taken effect."""


class Payments(Protocol):
    """The payment provider, as the market uses it. `key` is the idempotency key of a call."""

    name: str

    def create_customer(self, *, participant_id: str, key: str) -> str: ...

    def attach_card(self, *, customer_id: str, payment_method_id: str, key: str) -> None: ...

    def create_intent(
        self,
        *,
        amount_yen: int,
        customer_id: str,
        payment_method_id: str,
        manual_capture: bool,
        destination: str | None,
        application_fee_yen: int,
        metadata: dict[str, str],
        key: str,
        transfer_group: str | None = None,
    ) -> IntentState: ...

    def confirm_intent(self, *, intent_id: str, key: str) -> IntentState: ...

    def capture_intent(
        self, *, intent_id: str, amount_yen: int, application_fee_yen: int | None, key: str
    ) -> IntentState: ...

    def cancel_intent(self, *, intent_id: str, key: str) -> IntentState: ...

    def retrieve_intent(self, *, intent_id: str) -> IntentState | None: ...

    def refund(self, *, intent_id: str, amount_yen: int, connect: bool, key: str) -> str: ...

    def transfer(
        self,
        *,
        amount_yen: int,
        destination: str,
        transfer_group: str,
        source_charge: str | None,
        metadata: dict[str, str],
        key: str,
    ) -> str:
        """Move money from the platform to a connected account; returns the Transfer's id."""
        ...

    def reverse_transfer(
        self, *, transfer_id: str, amount_yen: int, metadata: dict[str, str], key: str
    ) -> str:
        """Take (part of) a Transfer back from the connected account; returns the reversal's id."""
        ...

    def refunded_elsewhere(self, *, intent_id: str, captured_yen: int) -> int:
        """Yen refunded on the PaymentIntent by refunds the market did not ask for."""
        ...

    def list_intents(self) -> list[IntentState]: ...

    def retrieve_transfer(self, *, transfer_id: str) -> TransferState | None:
        """The Transfer with its amount reversed; None when the provider has no such Transfer."""
        ...

    def list_transfers(self, *, transfer_group: str) -> list[TransferState]:
        """Every Transfer of a transfer group."""
        ...


class InvoiceOnly:
    """The embedded default: no provider. Every trade is settled by invoice (請求書払い)."""

    name = "invoice"

    def _refuse(self) -> ProviderDeclined:
        return ProviderDeclined(
            "card payments are not configured on this market (set DATAMARKET_STRIPE_API_KEY); "
            "trades are settled by invoice"
        )

    def create_customer(self, *, participant_id: str, key: str) -> str:
        raise self._refuse()

    def attach_card(self, *, customer_id: str, payment_method_id: str, key: str) -> None:
        raise self._refuse()

    def create_intent(self, **_: object) -> IntentState:
        raise self._refuse()

    def confirm_intent(self, *, intent_id: str, key: str) -> IntentState:
        raise self._refuse()

    def capture_intent(self, **_: object) -> IntentState:
        raise self._refuse()

    def cancel_intent(self, *, intent_id: str, key: str) -> IntentState:
        raise self._refuse()

    def retrieve_intent(self, *, intent_id: str) -> IntentState | None:
        return None

    def refund(self, *, intent_id: str, amount_yen: int, connect: bool, key: str) -> str:
        raise self._refuse()

    def transfer(self, **_: object) -> str:
        raise self._refuse()

    def reverse_transfer(self, **_: object) -> str:
        raise self._refuse()

    def refunded_elsewhere(self, *, intent_id: str, captured_yen: int) -> int:
        return 0

    def list_intents(self) -> list[IntentState]:
        return []

    def retrieve_transfer(self, *, transfer_id: str) -> TransferState | None:
        return None

    def list_transfers(self, *, transfer_group: str) -> list[TransferState]:
        return []
