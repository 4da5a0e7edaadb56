"""Where the test suite finds PostgreSQL and Redis (overridable by environment variables)."""

import os


def postgres_admin_url() -> str:
    """A libpq URL of a database the tests may connect to in order to create their own."""
    return os.environ.get(
        "DATAMARKET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )


def redis_url() -> str:
    return os.environ.get("DATAMARKET_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
