"""`python -m bench.catalog [--listings N] [--requests N] [--postgres-url URL] [--json]`."""

import argparse

from bench.catalog.run import main

parser = argparse.ArgumentParser(prog="python -m bench.catalog", description=__doc__)
parser.add_argument("--listings", type=int, default=100_000)
parser.add_argument("--requests", type=int, default=200, help="timed requests per query")
parser.add_argument(
    "--postgres-url", default=None, help="a PostgreSQL server to bench too (a database is made)"
)
parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
arguments = parser.parse_args()
main(arguments.listings, arguments.requests, arguments.postgres_url, arguments.json)
