"""Datasets as the market keeps them: uploads, anonymization jobs and the stored bytes."""
