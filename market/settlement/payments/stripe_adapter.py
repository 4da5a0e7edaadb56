"""The Stripe adapter: the `Payments` interface over the official SDK's `StripeClient`.

Amounts are JPY, a zero-decimal currency: whole yen go to Stripe as they are. The HTTP client
is a parameter, so tests put a recording client (or a failing one) under the real SDK, and
`api_base` points it at another Stripe-API server (localstripe). Nothing personal is sent: a
Customer carries only the participant's id in its metadata.
"""

from typing import Any

import stripe

from market.settlement.payments.provider import (
    IntentState,
    ProviderDeclined,
    ProviderUnavailable,
    TransferState,
)

CURRENCY = "jpy"
# Errors after which Stripe may or may not have acted: the attempt is retried with its key.
UNKNOWN_OUTCOME = (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError)


def _plain(obj: Any) -> Any:
    """An SDK object as plain dicts and lists (ids stay strings)."""
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None or isinstance(obj, str):
        return default
    try:
        value = obj[name]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _failure(error: stripe.StripeError) -> str:
    code = getattr(error, "code", None) or type(error).__name__
    decline = _plain(getattr(error, "error", None))
    decline_code = _get(decline, "decline_code")
    return f"{code}: {decline_code}" if decline_code else str(code)


def _transfer_state(transfer: Any) -> TransferState:
    """A Transfer as plain data: its amount and `amount_reversed` (what its reversals took)."""
    transfer = _plain(transfer)
    destination = _get(transfer, "destination")
    return TransferState(
        transfer_id=str(_get(transfer, "id")),
        amount_yen=int(_get(transfer, "amount", 0)),
        reversed_yen=int(_get(transfer, "amount_reversed", 0)),
        destination=_get(destination, "id") if isinstance(destination, dict) else destination,
        transfer_group=_get(transfer, "transfer_group"),
        metadata=dict(_get(transfer, "metadata", {}) or {}),
    )


class StripePayments:
    """Customers, PaymentIntents (held or charged), Connect destination charges, separate
    charges and transfers, and refunds."""

    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        api_base: str = "https://api.stripe.com",
        http_client: stripe.HTTPClient | None = None,
    ) -> None:
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            http_client=http_client,
            # The market retries itself, with the attempt's own key (market/settlement/payments).
            max_network_retries=0,
        )

    def _call(self, work: Any) -> Any:
        try:
            return work()
        except UNKNOWN_OUTCOME as exc:
            raise ProviderUnavailable(type(exc).__name__) from None
        except stripe.CardError as exc:
            raise ProviderDeclined(
                f"the card was declined ({_failure(exc)})",
                self._intent_of_error(exc),
            ) from None
        except stripe.StripeError as exc:
            raise ProviderDeclined(
                f"the payment provider refused the request ({_failure(exc)})"
            ) from None

    def _intent_of_error(self, error: stripe.StripeError) -> IntentState | None:
        intent = _get(_plain(getattr(error, "error", None)), "payment_intent")
        return self._state(intent) if intent else None

    def _charge(self, charge: Any) -> tuple[str | None, int | None, int]:
        """(charge id, amount captured if known, amount refunded) of an intent's latest charge."""
        if charge is None:
            return None, None, 0
        if isinstance(charge, str):
            charge = _plain(self.client.v1.charges.retrieve(charge))
        charge_id = _get(charge, "id")
        refunded = int(_get(charge, "amount_refunded", 0))
        captured = _get(charge, "amount_captured")
        if captured is None and _get(charge, "captured", False):
            # localstripe has no amount_captured and books the part a partial capture released
            # as a refund: only refunds the market asked for (they carry its metadata) count.
            ours = [
                r
                for r in _plain(self.client.v1.refunds.list({"charge": charge_id}))["data"]
                if _get(r, "metadata", {}).get("market_refund")
            ]
            released = refunded - sum(int(r["amount"]) for r in ours)
            return charge_id, int(_get(charge, "amount", 0)) - released, refunded - released
        return charge_id, None if captured is None else int(captured), refunded

    def _fee(self, charge: Any) -> int | None:
        """The processing fee of a charge: its balance transaction's `fee` when the answer has
        it expanded (`retrieve_intent` asks for it), else None."""
        transaction = _get(charge, "balance_transaction")
        if transaction is None or isinstance(transaction, str):
            return None
        fee = _get(transaction, "fee")
        return None if fee is None else int(fee)

    def _state(self, intent: Any) -> IntentState:
        intent = _plain(intent)
        status = str(_get(intent, "status", "unknown"))
        charge_id, captured, refunded = self._charge(_get(intent, "latest_charge"))
        received = _get(intent, "amount_received")
        if received is None:
            received = captured if captured is not None else 0
        if status != "succeeded":
            received = 0
        error = _get(intent, "last_payment_error")
        failure = None
        if error is not None:
            failure = str(_get(error, "decline_code") or _get(error, "code") or "declined")
        return IntentState(
            intent_id=str(_get(intent, "id")),
            status=status,
            amount_yen=int(_get(intent, "amount", 0)),
            received_yen=int(received),
            charge_id=charge_id,
            failure=failure,
            refunded_yen=refunded,
            metadata=dict(_get(intent, "metadata", {}) or {}),
            fee_yen=self._fee(_get(intent, "latest_charge")) if status == "succeeded" else None,
        )

    def create_customer(self, *, participant_id: str, key: str) -> str:
        customer = self._call(
            lambda: self.client.v1.customers.create(
                {"metadata": {"participant_id": participant_id}},
                {"idempotency_key": key},
            )
        )
        return str(customer.id)

    def attach_card(self, *, customer_id: str, payment_method_id: str, key: str) -> None:
        self._call(
            lambda: self.client.v1.payment_methods.attach(
                payment_method_id, {"customer": customer_id}, {"idempotency_key": key}
            )
        )

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
    ) -> IntentState:
        params: dict[str, Any] = {
            "amount": amount_yen,
            "currency": CURRENCY,
            "customer": customer_id,
            "payment_method": payment_method_id,
            "capture_method": "manual" if manual_capture else "automatic",
            "metadata": metadata,
        }
        if destination is not None:
            # A destination charge: the seller's connected account receives the charge less
            # the market's fee (one seller per charge).
            params["transfer_data"] = {"destination": destination}
            if not manual_capture:
                params["application_fee_amount"] = application_fee_yen
        if transfer_group is not None:
            # Separate charges and transfers: the charge stays on the platform, and transfers
            # of the same group pay the connected accounts their shares afterwards.
            params["transfer_group"] = transfer_group
        intent = self._call(
            lambda: self.client.v1.payment_intents.create(params, {"idempotency_key": key})  # type: ignore[arg-type]
        )
        return self._state(intent)

    def confirm_intent(self, *, intent_id: str, key: str) -> IntentState:
        intent = self._call(
            lambda: self.client.v1.payment_intents.confirm(intent_id, {}, {"idempotency_key": key})
        )
        return self._state(intent)

    def capture_intent(
        self, *, intent_id: str, amount_yen: int, application_fee_yen: int | None, key: str
    ) -> IntentState:
        params: dict[str, Any] = {"amount_to_capture": amount_yen}
        if application_fee_yen is not None:
            params["application_fee_amount"] = application_fee_yen
        intent = self._call(
            lambda: self.client.v1.payment_intents.capture(
                intent_id,
                params,  # type: ignore[arg-type]
                {"idempotency_key": key},
            )
        )
        return self._state(intent)

    def cancel_intent(self, *, intent_id: str, key: str) -> IntentState:
        intent = self._call(
            lambda: self.client.v1.payment_intents.cancel(intent_id, {}, {"idempotency_key": key})
        )
        return self._state(intent)

    def retrieve_intent(self, *, intent_id: str) -> IntentState | None:
        try:
            intent = self._call(
                lambda: self.client.v1.payment_intents.retrieve(
                    intent_id, {"expand": ["latest_charge.balance_transaction"]}
                )
            )
        except ProviderDeclined:
            return None
        return self._state(intent)

    def refund(self, *, intent_id: str, amount_yen: int, connect: bool, key: str) -> str:
        params: dict[str, Any] = {
            "payment_intent": intent_id,
            "amount": amount_yen,
            "metadata": {"market_refund": key},
        }
        if connect:
            # Take the seller's share back from its connected account, and the market's fee.
            params["reverse_transfer"] = True
            params["refund_application_fee"] = True
        refund = self._call(
            lambda: self.client.v1.refunds.create(params, {"idempotency_key": key})  # type: ignore[arg-type]
        )
        return str(refund.id)

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
        params: dict[str, Any] = {
            "amount": amount_yen,
            "currency": CURRENCY,
            "destination": destination,
            "transfer_group": transfer_group,
            "metadata": metadata,
        }
        if source_charge is not None:
            # Paid out of this charge's funds, available when they are.
            params["source_transaction"] = source_charge
        made = self._call(
            lambda: self.client.v1.transfers.create(params, {"idempotency_key": key})  # type: ignore[arg-type]
        )
        return str(made.id)

    def reverse_transfer(
        self, *, transfer_id: str, amount_yen: int, metadata: dict[str, str], key: str
    ) -> str:
        # POST /v1/transfers/{id}/reversals, as `stripe.Transfer.create_reversal` sends it, on
        # this adapter's client (its key, base address and HTTP client).
        reversal = self._call(
            lambda: self.client.v1.transfers.reversals.create(
                transfer_id,
                {"amount": amount_yen, "metadata": metadata},
                {"idempotency_key": key},
            )
        )
        return str(reversal.id)

    def refunded_elsewhere(self, *, intent_id: str, captured_yen: int) -> int:
        """Yen refunded on the PaymentIntent by refunds without the market's metadata (made in
        Stripe's dashboard), whatever became of the market's own refund calls."""
        listed = self._call(
            lambda: self.client.v1.refunds.list({"payment_intent": intent_id, "limit": 100})
        )
        amounts = [
            int(_get(r, "amount", 0))
            for r in (_plain(r) for r in listed.auto_paging_iter())
            if not _get(r, "metadata", {}).get("market_refund")
            and _get(r, "status") not in ("failed", "canceled")
        ]
        intent = _plain(
            self._call(
                lambda: self.client.v1.payment_intents.retrieve(
                    intent_id, {"expand": ["latest_charge"]}
                )
            )
        )
        charge = _get(intent, "latest_charge")
        released = int(_get(charge, "amount", 0)) - captured_yen
        if _get(charge, "amount_captured") is None and released in amounts:
            # localstripe books the part a partial capture released as a refund of its own.
            amounts.remove(released)
        return sum(amounts)

    def list_intents(self) -> list[IntentState]:
        page = self._call(lambda: self.client.v1.payment_intents.list({"limit": 100}))
        return [self._state(intent) for intent in page.auto_paging_iter()]

    def retrieve_transfer(self, *, transfer_id: str) -> TransferState | None:
        def retrieve() -> Any:
            try:
                return self.client.v1.transfers.retrieve(transfer_id)
            except stripe.InvalidRequestError as exc:
                if exc.code == "resource_missing":
                    return None
                raise

        found = self._call(retrieve)
        return None if found is None else _transfer_state(found)

    def list_transfers(self, *, transfer_group: str) -> list[TransferState]:
        page = self._call(
            lambda: self.client.v1.transfers.list({"transfer_group": transfer_group, "limit": 100})
        )
        return [_transfer_state(transfer) for transfer in page.auto_paging_iter()]
