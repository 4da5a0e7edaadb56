"""Ratings of deliveries by paying buyers, and the seller credibility built from them (docs/quality.md)."""
