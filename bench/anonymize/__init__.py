"""Benchmark of the anonymization pipeline: Adult against ARX's figures and anonypy, and scale."""
