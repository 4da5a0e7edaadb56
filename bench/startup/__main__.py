"""`python -m bench.startup [--commands N] [--resting N] [--tail N] [--json]`."""

import argparse

from bench.startup.run import main

parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__)
parser.add_argument("--commands", type=int, default=1_000_000)
parser.add_argument("--resting", type=int, default=100_000)
parser.add_argument(
    "--tail",
    type=int,
    default=None,
    help="default: twice the larger of the snapshot interval and --resting",
)
parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
arguments = parser.parse_args()
main(arguments.commands, arguments.resting, arguments.tail, arguments.database_url, arguments.json)
