"""`python -m bench.api [--columns N] [--rows R] [--uploads U] [--json]`: /health during uploads."""

import argparse

from bench.api.upload_stall import main

parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__)
parser.add_argument("--shape", choices=["wide", "big"], default="wide")
parser.add_argument("--columns", type=int, default=None, help="override the shape's column count")
parser.add_argument("--rows", type=int, default=None, help="override the shape's row count")
parser.add_argument("--uploads", type=int, default=3)
parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")
arguments = parser.parse_args()
main(arguments.shape, arguments.columns, arguments.rows, arguments.uploads, arguments.json)
