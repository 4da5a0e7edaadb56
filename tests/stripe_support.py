"""localstripe for the tests: a real HTTP server speaking the Stripe API, one per test session.

`localstripe_url` starts it as a subprocess on a free 127.0.0.1 port (each pytest-xdist worker
is a session of its own, so workers never share one) and fails, never skips, when it cannot.
Its store is kept in memory only (the stock server also pickles it to a fixed file in /tmp,
which two servers would share), and each test starts from an empty store.

What localstripe does not do (Connect, `application_fee_amount`, `transfer_data`,
`reverse_transfer`, idempotency keys, `charge.refunded` and dispute events) is tested with
`RecordingHTTPClient` under the real SDK and with payloads signed by
`stripe.WebhookSignature.generate_signature_header` (docs/settlement.md).
"""

import json
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import stripe

API_KEY = "sk_test_localstripe"
WEBHOOK_SECRET = "whsec_localstripe_test"

_LAUNCH = """
import sys
from aiohttp import web
import localstripe.resources
import localstripe.server
localstripe.resources.Store.dump_to_disk = lambda self: None
web.run_app(localstripe.server.app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _ready(base: str) -> bool:
    try:
        response = httpx.get(f"{base}/v1/customers", auth=(API_KEY, ""), timeout=1)
    except httpx.TransportError:
        return False
    return response.status_code == 200


@pytest.fixture(scope="session")
def localstripe_server() -> Iterator[str]:
    """The base URL of this session's localstripe."""
    for _ in range(3):  # a port taken between choosing and binding it: choose again
        port = free_port()
        server = _start(port)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while server.poll() is None and time.monotonic() < deadline and not _ready(base):
            time.sleep(0.1)
        if server.poll() is None and _ready(base):
            break
        server.kill()
        _, err = server.communicate(timeout=10)
    else:
        pytest.fail(f"localstripe did not start: {err.decode(errors='replace')[-2000:]}")
    try:
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


@pytest.fixture
def localstripe_url(localstripe_server: str) -> str:
    """This session's localstripe, emptied for the test."""
    httpx.delete(f"{localstripe_server}/_config/data", timeout=5).raise_for_status()
    return localstripe_server


def register_webhook(base: str, url: str, secret: str = WEBHOOK_SECRET) -> None:
    """Have localstripe sign and send its events to `url` (its `/_config/webhooks/{id}`)."""
    response = httpx.post(
        f"{base}/_config/webhooks/market", data={"url": url, "secret": secret}, timeout=5
    )
    response.raise_for_status()


def stripe_client(base: str) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": base}, max_network_retries=0)


def card(base: str, number: str = "4242424242424242") -> str:
    """A PaymentMethod for a test card number (what Stripe.js makes in a browser)."""
    method = stripe_client(base).v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    return str(method.id)


DECLINED_ON_CHARGE = "4000000000000341"  # attaches, then every charge is declined


def signed(payload: dict[str, Any], secret: str = WEBHOOK_SECRET, **when: int) -> tuple[bytes, str]:
    """A webhook body and its Stripe-Signature header, as Stripe would send them."""
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, **when)
    return body.encode(), header


def event(kind: str, obj: dict[str, Any], *, event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "data": {"object": obj},
    }


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


@dataclass
class RecordingHTTPClient(stripe.HTTPClient):
    """An SDK transport that records each request and answers from `respond`.

    `respond(request)` returns (status, body); raising `stripe.APIConnectionError` from it
    simulates a lost answer (after the fact, when `accepted` says the provider acted).
    """

    respond: Callable[[Recorded], tuple[int, dict[str, Any]]]
    requests: list[Recorded] = field(default_factory=list)
    name = "recording"

    def __post_init__(self) -> None:
        super().__init__()

    def request(  # type: ignore[override]
        self, method: str, url: str, headers: Any, post_data: Any = None
    ) -> tuple[str, int, dict[str, str]]:
        parsed = urllib.parse.urlsplit(url)
        query = post_data.decode() if isinstance(post_data, bytes) else (post_data or parsed.query)
        recorded = Recorded(
            method=method.upper(),
            path=parsed.path,
            params=dict(urllib.parse.parse_qsl(query, keep_blank_values=True)),
            idempotency_key=(headers or {}).get("Idempotency-Key"),
        )
        self.requests.append(recorded)
        status, body = self.respond(recorded)
        return json.dumps(body), status, {"request-id": "req_test"}

    def close(self) -> None:
        return None


# The SDK's typed request parameters of each call the market makes (stripe.params).
TYPED_PARAMS: list[tuple[str, str, type]] = [
    ("POST", r"^/v1/customers$", stripe.params.CustomerCreateParams),
    ("POST", r"^/v1/payment_methods/[^/]+/attach$", stripe.params.PaymentMethodAttachParams),
    ("POST", r"^/v1/payment_intents$", stripe.params.PaymentIntentCreateParams),
    ("POST", r"^/v1/payment_intents/[^/]+/confirm$", stripe.params.PaymentIntentConfirmParams),
    ("POST", r"^/v1/payment_intents/[^/]+/capture$", stripe.params.PaymentIntentCaptureParams),
    ("POST", r"^/v1/payment_intents/[^/]+/cancel$", stripe.params.PaymentIntentCancelParams),
    ("GET", r"^/v1/payment_intents/[^/]+$", stripe.params.PaymentIntentRetrieveParams),
    ("GET", r"^/v1/payment_intents$", stripe.params.PaymentIntentListParams),
    ("POST", r"^/v1/refunds$", stripe.params.RefundCreateParams),
    ("GET", r"^/v1/refunds$", stripe.params.RefundListParams),
    ("POST", r"^/v1/transfers$", stripe.params.TransferCreateParams),
    ("GET", r"^/v1/transfers$", stripe.params.TransferListParams),
    ("GET", r"^/v1/transfers/[^/]+$", stripe.params.TransferRetrieveParams),
    ("POST", r"^/v1/transfers/[^/]+/reversals$", stripe.params.TransferReversalCreateParams),
]


def top_level(params: dict[str, Any]) -> set[str]:
    """`transfer_data[destination]` → `transfer_data`."""
    return {name.split("[", 1)[0] for name in params}


def typed_params_problems(requests: list[Recorded]) -> list[str]:
    """Each recorded request whose path is not a known call, or that sends a parameter the
    SDK's typed parameters of that call do not have."""
    import re

    problems = []
    for request in requests:
        typed = next(
            (
                t
                for m, pattern, t in TYPED_PARAMS
                if m == request.method and re.match(pattern, request.path)
            ),
            None,
        )
        if typed is None:
            problems.append(f"{request.method} {request.path}: not a call the market makes")
            continue
        allowed = typed.__required_keys__ | typed.__optional_keys__  # type: ignore[attr-defined]
        unknown = top_level(request.params) - allowed
        if unknown:
            problems.append(f"{request.method} {request.path}: unknown {sorted(unknown)}")
    return problems


def _refusal(code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "code": code, "message": message}}


DECLINING_METHOD = "pm_card_chargeDeclined"  # Stripe's test card that attaches but declines


class FakeStripe:
    """A small stateful Stripe for the recording client: customers, intents (held, captured,
    cancelled, declined), refunds, transfers and their reversals (retrieved, listed by transfer
    group), the balance transaction of a succeeded charge (with a 3.6% fee, expanded when
    asked); Idempotency-Key honoured as Stripe does (a repeated key returns the first answer,
    a refusal included). `faults` injects failures: each entry (method, path suffix, kind)
    fires once, kind `lost` (the call takes effect, the answer is lost), `timeout` (no effect,
    no answer) or `error` (a 500, no effect). `refuse_transfers` and `refuse_reversals` refuse
    that many of the next transfers or reversals (a 400, as for a connected account that
    cannot receive them, or a balance too low to reverse from); a reversal beyond what is left
    of its transfer is refused too."""

    def __init__(self, *, decline: bool = False) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: list[dict[str, Any]] = []
        self.transfers: list[dict[str, Any]] = []
        self.reversals: list[dict[str, Any]] = []
        self.refuse_transfers = 0
        self.refuse_reversals = 0
        self.fees: dict[str, int] = {}  # a fee other than 3.6%, by PaymentIntent
        self.balance_pending = False  # charges have no balance transaction yet
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}
        self.faults: list[tuple[str, str, str]] = []
        self.decline = decline
        self.count = 0

    def _id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}_{self.count:04d}"

    def refund_elsewhere(self, intent_id: str, amount_yen: int) -> dict[str, Any]:
        """A refund made at the provider, not by the market (in Stripe's dashboard): no
        metadata of the market's."""
        return self._refund(self.intents[intent_id], amount_yen, metadata={})

    def _refund(
        self, intent: dict[str, Any], amount_yen: int, *, metadata: dict[str, str]
    ) -> dict[str, Any]:
        intent["refunded"] += amount_yen
        refund = {
            "id": self._id("re"),
            "object": "refund",
            "amount": amount_yen,
            "charge": intent["charge"],
            "payment_intent": intent["id"],
            "metadata": metadata,
            "status": "succeeded",
        }
        self.refunds.append(refund)
        return refund

    def __call__(self, request: Recorded) -> tuple[int, dict[str, Any]]:
        fault = next(
            (f for f in self.faults if f[0] == request.method and request.path.endswith(f[1])),
            None,
        )
        if fault is not None:
            self.faults.remove(fault)
            if fault[2] == "error":
                return 500, {"error": {"type": "api_error", "message": "injected"}}
            if fault[2] == "timeout":
                raise stripe.APIConnectionError("injected timeout")  # type: ignore[no-untyped-call]
        key = request.idempotency_key
        if key is not None and key in self.answers:
            answer = self.answers[key]
        else:
            answer = self._answer(request)
            if key is not None and request.method == "POST":
                self.answers[key] = answer
        if fault is not None and fault[2] == "lost":
            raise stripe.APIConnectionError(  # type: ignore[no-untyped-call]
                "injected: the answer was lost"
            )
        return answer

    def _answer(self, request: Recorded) -> tuple[int, dict[str, Any]]:
        parts = request.path.strip("/").split("/")
        p = request.params
        if parts[1] == "customers":
            return 200, {"id": self._id("cus"), "object": "customer"}
        if parts[1] == "payment_methods":
            return 200, {"id": parts[2], "object": "payment_method", "customer": p.get("customer")}
        if parts[1] == "transfers":
            return self._transfer_call(request, parts)
        if parts[1] == "refunds" and request.method == "GET":
            found = [r for r in self.refunds if r["payment_intent"] == p.get("payment_intent")]
            return 200, {"object": "list", "url": "/v1/refunds", "has_more": False, "data": found}
        if parts[1] == "refunds":
            metadata = {k[9:-1]: v for k, v in p.items() if k.startswith("metadata[")}
            refunded = self.intents[p["payment_intent"]]
            return 200, self._refund(refunded, int(p["amount"]), metadata=metadata)
        if parts[1] == "payment_intents" and request.method == "GET" and len(parts) == 2:
            return 200, {
                "object": "list",
                "url": "/v1/payment_intents",
                "has_more": False,
                "data": [self._view(i) for i in self.intents.values()],
            }
        if parts[1] == "payment_intents" and len(parts) == 2:
            intent_id = self._id("pi")
            self.intents[intent_id] = {
                "id": intent_id,
                "amount": int(p["amount"]),
                "capture_method": p.get("capture_method", "automatic"),
                "status": "requires_confirmation",
                "metadata": {k[9:-1]: v for k, v in p.items() if k.startswith("metadata[")},
                "charge": None,
                "received": 0,
                "refunded": 0,
                "params": dict(p),
            }
            return 200, self._view(self.intents[intent_id])
        intent = self.intents.get(parts[2])
        if intent is None:
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
        action = parts[3] if len(parts) > 3 else None
        if request.method == "GET":
            expanded = "latest_charge.balance_transaction" in p.values()
            return 200, self._view(intent, balance_transaction=expanded)
        if action == "confirm":
            if self.decline or intent["params"].get("payment_method") == DECLINING_METHOD:
                intent["status"] = "requires_payment_method"
                error = {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.",
                }
                return 402, {"error": error}
            intent["charge"] = self._id("ch")
            if intent["capture_method"] == "manual":
                intent["status"] = "requires_capture"
            else:
                intent["status"], intent["received"] = "succeeded", intent["amount"]
        elif action == "capture":
            intent["status"] = "succeeded"
            intent["received"] = int(p.get("amount_to_capture", intent["amount"]))
            intent["capture_params"] = dict(p)
        elif action == "cancel":
            intent["status"] = "canceled"
        return 200, self._view(intent)

    def _transfer_call(self, request: Recorded, parts: list[str]) -> tuple[int, dict[str, Any]]:
        p = request.params
        metadata = {k[9:-1]: v for k, v in p.items() if k.startswith("metadata[")}
        if len(parts) == 2 and request.method == "GET":
            found = [t for t in self.transfers if t["transfer_group"] == p.get("transfer_group")]
            return 200, {"object": "list", "url": "/v1/transfers", "has_more": False, "data": found}
        if len(parts) == 2:
            if self.refuse_transfers:
                self.refuse_transfers -= 1
                return 400, _refusal("account_invalid", "The destination cannot take transfers.")
            made: dict[str, Any] = {
                "id": self._id("tr"),
                "object": "transfer",
                "amount": int(p["amount"]),
                "amount_reversed": 0,
                "currency": p["currency"],
                "destination": p["destination"],
                "transfer_group": p.get("transfer_group"),
                "source_transaction": p.get("source_transaction"),
                "metadata": metadata,
            }
            self.transfers.append(made)
            return 200, made
        transfer = next((t for t in self.transfers if t["id"] == parts[2]), None)
        if transfer is None:
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing"}}
        if request.method == "GET":
            return 200, transfer
        amount = int(p["amount"])
        if self.refuse_reversals or amount > transfer["amount"] - transfer["amount_reversed"]:
            self.refuse_reversals = max(self.refuse_reversals - 1, 0)
            return 400, _refusal("balance_insufficient", "The account cannot cover the reversal.")
        transfer["amount_reversed"] += amount
        reversal = {
            "id": self._id("trr"),
            "object": "transfer_reversal",
            "transfer": transfer["id"],
            "amount": amount,
            "metadata": metadata,
        }
        self.reversals.append(reversal)
        return 200, reversal

    def fee_of(self, intent_id: str) -> int:
        """The processing fee the provider keeps of a succeeded charge: 3.6% (Stripe's rate
        for cards in Japan), rounded to the yen."""
        if intent_id in self.fees:
            return self.fees[intent_id]
        return (int(self.intents[intent_id]["received"]) * 36 + 500) // 1000

    def _view(self, intent: dict[str, Any], *, balance_transaction: bool = False) -> dict[str, Any]:
        charge = None
        if intent["charge"] is not None:
            charge = {
                "id": intent["charge"],
                "object": "charge",
                "amount_captured": intent["received"],
                "amount_refunded": intent["refunded"],
                "captured": intent["status"] == "succeeded",
                "balance_transaction": None,
            }
            if intent["status"] == "succeeded" and not self.balance_pending:
                transaction = {
                    "id": f"txn_{intent['charge']}",
                    "object": "balance_transaction",
                    "amount": intent["received"],
                    "fee": self.fee_of(intent["id"]),
                }
                charge["balance_transaction"] = (
                    transaction if balance_transaction else transaction["id"]
                )
        return {
            "id": intent["id"],
            "object": "payment_intent",
            "amount": intent["amount"],
            "amount_received": intent["received"],
            "currency": "jpy",
            "status": intent["status"],
            "capture_method": intent["capture_method"],
            "metadata": intent["metadata"],
            "latest_charge": charge,
        }


FAKE_API_BASE = "https://api.stripe.test"


@contextmanager
def market_on_recorder(
    settings: Any, recorder: "RecordingHTTPClient", *, webhooks: bool = False
) -> Iterator[Any]:
    """A started market whose Stripe calls go through `recorder` (to the fake API), with the
    webhook secret set when `webhooks`."""
    from market.events import InProcessBus
    from market.service import Market
    from market.settlement.payments.stripe_adapter import StripePayments

    update = {"stripe_api_key": API_KEY, "stripe_api_base": FAKE_API_BASE}
    if webhooks:
        update["stripe_webhook_secret"] = WEBHOOK_SECRET
    with Market(settings.model_copy(update=update), bus=InProcessBus()) as market:
        market.settlement.use_provider(
            StripePayments(api_key=API_KEY, api_base=FAKE_API_BASE, http_client=recorder)
        )
        yield market
