"""Catalog reads at scale: GET /listings (plain, search, filters) over 100,000 listings."""
