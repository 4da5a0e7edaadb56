"""`python -m bench.http [--databases sqlite,postgresql] [--seconds N] [--concurrency 1,8,64]
[--workers N] [--json]`."""

import argparse
import os

from bench.http.run import main

parser = argparse.ArgumentParser(prog="python -m bench.http", description=__doc__)
parser.add_argument("--databases", default="sqlite,postgresql")
parser.add_argument("--concurrency", default="1,8,64")
parser.add_argument("--seconds", type=int, default=10, help="per wrk run")
parser.add_argument("--buyers", type=int, default=200)
parser.add_argument(
    "--batch", type=int, default=100, help="orders per POST /orders/batch (0: skip)"
)
parser.add_argument(
    "--postgres-admin-url",
    default=os.environ.get(
        "DATAMARKET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    ),
    help="a database to connect to in order to create the benchmark's own",
)
parser.add_argument("--workers", type=int, default=1, help="API worker processes (both servers)")
parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
arguments = parser.parse_args()
main(
    arguments.databases.split(","),
    [int(c) for c in arguments.concurrency.split(",")],
    arguments.seconds,
    arguments.buyers,
    arguments.postgres_admin_url,
    arguments.json,
    arguments.batch,
    arguments.workers,
)
