"""`python -m bench.quality [--rows N] [--columns N] [--repeats N] [--seed N] [--json]`."""

import argparse
import sys

from bench.quality.run import main

parser = argparse.ArgumentParser(prog="python -m bench.quality", description=__doc__)
parser.add_argument("--rows", type=int, default=1_000_000)
parser.add_argument("--columns", type=int, default=10)
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
arguments = parser.parse_args()
sys.exit(
    0
    if main(arguments.rows, arguments.columns, arguments.repeats, arguments.seed, arguments.json)
    else 1
)
