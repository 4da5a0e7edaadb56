"""Delivery of licensed data: per-licence fingerprinted copies, signed download URLs, tracing."""
