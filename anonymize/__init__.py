"""anonymize package."""
