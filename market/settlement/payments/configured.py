"""The payment provider a market's settings choose."""

from market.settings import Settings
from market.settlement.payments.provider import InvoiceOnly, Payments
from market.settlement.payments.stripe_adapter import StripePayments


def provider_from(settings: Settings) -> Payments:
    """Stripe when a key is set, else the embedded default (invoices only)."""
    if not settings.stripe_api_key:
        return InvoiceOnly()
    return StripePayments(api_key=settings.stripe_api_key, api_base=settings.stripe_api_base)
