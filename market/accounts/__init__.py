"""Participants' accounts: registration, API keys, authentication and verification."""
