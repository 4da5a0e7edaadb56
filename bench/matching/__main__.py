"""`python -m bench.matching [--messages N] [--seed S] [--json]`."""

import argparse

from bench.matching.run import main

parser = argparse.ArgumentParser(prog="python -m bench.matching", description=__doc__)
parser.add_argument("--messages", type=int, default=1_000_000)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
arguments = parser.parse_args()
main(arguments.messages, arguments.seed, arguments.json)
