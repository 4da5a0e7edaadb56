"""Settlement: the double-entry ledger, invoices (適格請求書), fees and consumption tax, credit,
refunds, seller statements, and the checks that the books agree (docs/settlement.md).

Import from the modules: `ledger`, `invoices`, `credit`, `tax`, `registration`, `refunds`,
`statements`, `documents`, `check`, `reconcile`, `disputes`, and `payments/` (card payments
through Stripe, at the folder's edge).
"""
