"""Compiled build of `matching` (extension modules written here by `python -m matching._build`)."""
