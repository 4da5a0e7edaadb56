"""Benchmarks of the HTTP API served by uvicorn in a separate process."""
