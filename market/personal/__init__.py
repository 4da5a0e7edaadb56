"""The person's own store (PDS): records, conditions, consent receipts, explanations, sign-in."""
