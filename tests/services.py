"""Check that the services the test suite needs answer; exit non-zero naming any that does not.

`make test` runs this first so a missing PostgreSQL or Redis stops the run at once with a clear
message instead of failing test by test.
"""

import sys

from tests.service_urls import postgres_admin_url, redis_url


def check_postgres() -> str | None:
    import psycopg

    url = postgres_admin_url()
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("select 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {url} cannot be reached ({exc.__class__.__name__}: {exc})"
    return None


def check_redis() -> str | None:
    import redis

    url = redis_url()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {url} cannot be reached ({exc})"
    return None


def main() -> int:
    problems = [p for p in (check_postgres(), check_redis()) if p]
    for problem in problems:
        print(f"test services: {problem}", file=sys.stderr)
    if problems:
        print(
            "start them (see README 'Tests'), or point DATAMARKET_TEST_POSTGRES_URL / "
            "DATAMARKET_TEST_REDIS_URL at running servers",
            file=sys.stderr,
        )
        return 1
    print("test services: PostgreSQL and Redis answer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
