"""Card payments: a small `Payments` interface, the embedded default (invoices, no provider) and
the Stripe adapter at its edge, the in-transaction booking of payments, the driver that calls
the provider with persisted attempts, webhooks and reconciliation against the provider
(docs/settlement.md, "Card payments").
"""
