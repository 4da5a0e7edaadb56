"""`python -m bench.anonymize [--sizes 1e6,1e7] [--skip-peer] [--json]`."""

from __future__ import annotations

import argparse

from bench.anonymize.run import main

parser = argparse.ArgumentParser(prog="python -m bench.anonymize", description=__doc__)
parser.add_argument("--sizes", default="1000000", help="synthetic row counts, comma-separated")
parser.add_argument("--skip-peer", action="store_true", help="do not run anonypy")
parser.add_argument("--json", action="store_true", help="last line: one JSON object")
parser.add_argument("--skip-adult", action="store_true", help="only the peer and the scale runs")
parser.add_argument("--algorithms", default="optimal,mondrian", help="algorithms at scale")
arguments = parser.parse_args()
main(
    [int(float(size)) for size in arguments.sizes.split(",") if size.strip()],
    arguments.skip_peer,
    arguments.json,
    arguments.skip_adult,
    arguments.algorithms,
)
